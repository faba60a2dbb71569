"""The pages' forms (chalicelib/entrypoints/web/pages.py), posted as application/x-www-form-urlencoded."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from chalicelib.entrypoints.api.schemas.common import ApiModel


class InvitationForm(ApiModel):
    csrf: str = Field(min_length=1, max_length=100)
    action: Literal["accept", "decline"]
    name: str = Field(default="", max_length=100)
    password: str = Field(default="", max_length=128)
    locale: str = Field(default="", max_length=10)


class PasswordForm(ApiModel):
    csrf: str = Field(min_length=1, max_length=100)
    password: str = Field(max_length=128)
    password_again: str = Field(max_length=128)


class ConfirmationForm(ApiModel):
    csrf: str = Field(min_length=1, max_length=100)


class CheckoutForm(ApiModel):
    csrf: str = Field(min_length=1, max_length=100)
    action: Literal["pay", "decline"]
    card_number: str = Field(default="", max_length=23)
    holder: str = Field(default="", max_length=100)
    save_card: Literal["yes", ""] = Field(default="", description="the \"save this card\" box, ticked: \"yes\"")


class UnsubscribeForm(ApiModel):
    list_unsubscribe: Literal["One-Click"] = Field(alias="List-Unsubscribe", description="what a mail client's "
                                                   "one-click POST sends (RFC 8058); the link alone is enough")
class ConsoleLoginForm(ApiModel):
    csrf: str = Field(min_length=1, max_length=100)
    email: str = Field(max_length=254)
    password: str = Field(max_length=128)
    code: str = Field(default="", max_length=12, description="the authenticator app's 6-digit code (empty before "
                                                             "enrolment)")


class ConsoleCodeForm(ApiModel):
    csrf: str = Field(min_length=1, max_length=100)
    code: str = Field(max_length=12)


class ConsoleLogoutForm(ApiModel):
    csrf: str = Field(min_length=1, max_length=100)

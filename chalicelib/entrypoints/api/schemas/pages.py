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


# The console's sites and tariffs (chalicelib/entrypoints/web/console_sites.py). Every field may arrive empty: the
# page checks them itself and shows the form again with what is missing.
class ConsoleReasonForm(ApiModel):
    csrf: str = Field(default="", max_length=100)
    reason: str = Field(default="", max_length=500, description="why (kept in the audit trail)")


class ConsoleSiteOwnerForm(ConsoleReasonForm):
    email: str = Field(default="", max_length=254, description="the new owner's account e-mail")
    name: str = Field(default="", max_length=200, description="the contact's name (default: the account's)")
    phone: str = Field(default="", max_length=32)


class ConsoleSiteTariffForm(ConsoleReasonForm):
    code: str = Field(default="", max_length=40)


class ConsoleTariffForm(ConsoleReasonForm):
    code: str = Field(default="", max_length=40, description="a new tariff's code (ignored when editing)")
    name: str = Field(default="", max_length=100)
    price: str = Field(default="", max_length=20, description="UAH, e.g. 310.00 (a change applies from the next "
                                                              "billing month)")
    products: str = Field(default="", max_length=12)
    orders_per_month: str = Field(default="", max_length=12)
    features: str = Field(default="", max_length=2000, description="comma-separated")
    active: str = Field(default="", max_length=3, description="'on' when offered")

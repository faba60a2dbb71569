"""The site owners' billing section's forms (chalicelib/entrypoints/web/billing*.py), posted as
application/x-www-form-urlencoded. Every form carries the session's CSRF token."""
from __future__ import annotations

from pydantic import Field

from chalicelib.entrypoints.api.schemas.common import ApiModel


class WebLoginForm(ApiModel):
    csrf: str = Field(min_length=1, max_length=100)
    email: str = Field(max_length=254)
    password: str = Field(max_length=128)


class WebLogoutForm(ApiModel):
    csrf: str = Field(min_length=1, max_length=100)


class TariffChangeForm(ApiModel):
    """The tariff chosen on the confirmation page (`/billing/{site_id}/tariff`)."""

    csrf: str = Field(min_length=1, max_length=100)
    code: str = Field(default="", max_length=40)


class PaymentMethodForm(ApiModel):
    """"Add a bank card" / "Change the card": to the acquirer's checkout page."""

    csrf: str = Field(min_length=1, max_length=100)


class DeletionForm(ApiModel):
    """The deletion questionnaire: a box for each reason (`reason_<code>` = `yes`) and a comment."""

    csrf: str = Field(min_length=1, max_length=100)
    reason_too_expensive: str = Field(default="", max_length=3)
    reason_missing_features: str = Field(default="", max_length=3)
    reason_moving_to_another_platform: str = Field(default="", max_length=3)
    reason_closing_business: str = Field(default="", max_length=3)
    reason_other: str = Field(default="", max_length=3)
    comment: str = Field(default="", max_length=2000)


class DeletionWithdrawForm(ApiModel):
    csrf: str = Field(min_length=1, max_length=100)

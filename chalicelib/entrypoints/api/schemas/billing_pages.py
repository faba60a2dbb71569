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


class RequisitesForm(ApiModel):
    """The requisites form: the API's fields (RequisitesIn checks them), a blank correction left to the registry;
    `activate` is the button pressed ("1": save and activate Vchasno)."""
    csrf: str = Field(min_length=1, max_length=100)
    tax_id: str = Field(default="", max_length=100)
    iban: str = Field(default="", max_length=100)
    company_name: str = Field(default="", max_length=1000)
    address: str = Field(default="", max_length=1000)
    director: str = Field(default="", max_length=1000)
    activate: str = Field(default="", max_length=10)


class BillingActionForm(ApiModel):
    """A button of the billing section that only acts (activate or deactivate Vchasno, pay an invoice online)."""
    csrf: str = Field(min_length=1, max_length=100)


class ActRequestForm(ApiModel):
    """Ask for the act of a closed billing month (YYYY-MM; SiteActIn checks it)."""
    csrf: str = Field(min_length=1, max_length=100)
    period: str = Field(default="", max_length=20)

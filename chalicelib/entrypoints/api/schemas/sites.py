"""Subscription billing of business accounts: tariffs, sites, usage, requisites, service invoices, contracts."""
from __future__ import annotations

from typing import Literal

from pydantic import EmailStr, Field, StrictInt, model_validator

from chalicelib.entrypoints.api.schemas.common import (
    ApiModel,
    CurrencyCode,
    Locale,
    MoneyIn,
    MoneyOut,
    RequestModel,
)
from chalicelib.processes.site_deal import DELETION_REASONS
from chalicelib.services.sites import MAX_DOMAINS

SiteStatus = Literal["active", "past_due", "blocked", "deletion_requested", "deleted"]


Reason = Literal["too_expensive", "missing_features", "moving_to_another_platform", "closing_business", "other"]


assert set(Reason.__args__) == set(DELETION_REASONS)  # type: ignore[attr-defined]


class Limits(RequestModel):
    products: StrictInt = Field(ge=0, le=10**9)
    orders_per_month: StrictInt = Field(ge=0, le=10**9)


class TariffIn(RequestModel):
    code: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")
    name: str = Field(min_length=1, max_length=100)
    price: MoneyIn
    limits: Limits
    features: list[str] = Field(default_factory=list, max_length=50)


class TariffPatchIn(RequestModel):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    price: MoneyIn | None = Field(default=None, description="applies from the next billing month")
    limits: Limits | None = None
    features: list[str] | None = Field(default=None, max_length=50)
    active: bool | None = None


class TariffOut(ApiModel):
    code: str
    name: str
    price: MoneyOut
    limits: dict[str, int]
    features: list[str]
    active: bool
    price_changes: list[dict]


class TariffList(ApiModel):
    items: list[TariffOut]


class OwnerIn(RequestModel):
    """The site's contact person: invoices, payment reminders and other billing e-mails go to this address."""
    name: str = Field(min_length=1, max_length=200)
    email: EmailStr
    phone: str = Field(min_length=3, max_length=32, description="international (E.164), e.g. +380501234567")
    locale: Locale | None = Field(default=None, description="the language of the billing e-mails; default: the "
                                                            "account holder's")


class SiteIn(RequestModel):
    name: str = Field(min_length=1, max_length=200)
    domains: list[str] = Field(min_length=1, max_length=MAX_DOMAINS, description="host names; IDN allowed")
    owner: OwnerIn
    tariff: str = Field(min_length=1, max_length=40)


class Counter(ApiModel):
    value: int
    limit: int | None


class CountersOut(ApiModel):
    products: Counter
    orders: Counter
    refreshed_at: str | None


class SiteTariff(ApiModel):
    code: str | None
    name: str | None
    price: MoneyOut


class NextTariff(ApiModel):
    code: str
    name: str
    from_: str | None = Field(alias="from")


class AdditionalFeatures(ApiModel):
    tariff: str
    name: str
    features: list[str]


class SiteOut(ApiModel):
    id: str
    service_code: str
    name: str
    domains: list[str]
    owner: dict
    owner_id: str
    status: SiteStatus
    tariff: SiteTariff
    next_tariff: NextTariff | None
    counters: CountersOut
    additional_features: list[AdditionalFeatures]
    vchasno: dict
    payment_method: dict | None
    next_invoice_at: str | None
    deletion: dict | None
    created_at: str
    credit: MoneyOut = Field(description="what the site paid beyond its invoices: spent first on its next invoice, "
                                         "or refunded on request (POST /v1/sites/{site_id}/credit/refund)")


class SiteList(ApiModel):
    items: list[SiteOut]
    next_cursor: str | None


class DomainIn(RequestModel):
    domain: str = Field(min_length=1, max_length=253)


class DomainsOut(ApiModel):
    domains: list[str]


class DomainStatusOut(ApiModel):
    domain: str
    status: Literal["pending", "verified", "taken"] = Field(description=(
        "pending: not proved yet (other sites may claim it too); verified: this site proved it and holds it; "
        "taken: another site proved it first"))
    token: str = Field(description="this site's token for this domain (the same every time)")
    txt_record: str = Field(description="publish this as a DNS TXT record on the domain …")
    well_known_url: str = Field(description="… or serve the token as the body of this address (no redirect to "
                                            "another host)")


class KeyOut(ApiModel):
    key: str = Field(description="shown once; only its hash is kept")
    created_at: str


class UsageIn(RequestModel):
    event_id: str = Field(min_length=1, max_length=200)
    products: StrictInt | None = Field(default=None, ge=0, le=10**9, description="the current number of products")
    orders: StrictInt | None = Field(default=None, ge=0, le=10**6, description="new orders since the last report")

    @model_validator(mode="after")
    def _one_counter(self) -> UsageIn:
        if (self.products is None) == (self.orders is None):
            raise ValueError("send exactly one of products or orders")
        return self


class UsageOut(ApiModel):
    accepted: bool
    duplicate: bool
    event_id: str


class RequisitesIn(RequestModel):
    tax_id: str = Field(min_length=1, max_length=20, description="EDRPOU (8 digits) or RNOKPP (10 digits)")
    iban: str = Field(min_length=1, max_length=64, description="a Ukrainian IBAN (UA…)")
    company_name: str | None = Field(default=None, min_length=1, max_length=300,
                                     description="a correction of the registry's name (kept beside it)")
    address: str | None = Field(default=None, min_length=1, max_length=500,
                                description="a correction of the registry's address (kept beside it)")
    director: str | None = Field(default=None, min_length=1, max_length=200,
                                 description="a correction of the registry's director (kept beside it)")
    activate_vchasno: bool = Field(default=False, description="save and activate Vchasno in one call: both "
                                                              "happen or neither")


class RegistryRecordOut(ApiModel):
    company_name: str
    address: str
    director: str


class RequisitesOut(ApiModel):
    tax_id: str | None
    kind: Literal["company", "sole_proprietor"] | None
    iban: str | None
    company_name: str | None
    address: str | None
    director: str | None
    updated_at: str | None
    vchasno: dict
    registry: RegistryRecordOut | None = Field(default=None, description="what the state registry said, when the "
                                                                         "owner corrected it")
    prefilled_from: str | None = Field(default=None, description="not saved yet: filled in from the owner's site "
                                                                 "with this id")


class VchasnoOut(ApiModel):
    status: Literal["not_activated", "activated"]


class TariffChangeIn(RequestModel):
    code: str = Field(min_length=1, max_length=40)


class WriteOffOut(ApiModel):
    at: str
    by: str
    reason: str


class ServiceInvoiceOut(ApiModel):
    id: str
    site_id: str
    number: str
    period: str
    kind: str
    amount: int
    currency: str
    status: Literal["open", "paid", "void", "written_off"]
    issued_at: str
    due_at: str
    paid_at: str | None
    paid_by: Literal["card", "link", "bank_transfer", "credit"] | None
    lines: list[dict]
    pdf_url: str
    written_off: WriteOffOut | None = Field(default=None, description="an operator's write-off, if any")
    amount_paid: int = Field(description="paid so far: parts of transfers applied, the site's credit spent on it")
    amount_due: int = Field(description="what is still to pay: amount − amount_paid (0 once paid)")
    credit_applied: int = Field(description="of amount_paid, the site's credit spent on it when it was issued")


class ServiceInvoiceList(ApiModel):
    items: list[ServiceInvoiceOut]
    next_cursor: str | None


class SiteContractOut(ApiModel):
    id: str
    kind: Literal["public_offer", "personal"]
    title: str
    version: str | None
    effective_from: str | None
    filename: str
    size: int | None
    uploaded_at: str | None
    url: str


class SiteContractList(ApiModel):
    items: list[SiteContractOut]
    next_cursor: str | None


class LinkOut(ApiModel):
    url: str
    filename: str


class DeletionIn(RequestModel):
    reasons: list[Reason] = Field(min_length=1, max_length=5)
    comment: str = Field(default="", max_length=2000)


class OwnerChangeIn(RequestModel):
    owner: OwnerIn
    user_id: str | None = Field(default=None, max_length=100, description="the new owner's account, if it changes")
    reason: str | None = Field(default=None, min_length=3, max_length=500, description="why (kept in the audit "
                                                                                       "trail)")


class ContractIn(RequestModel):
    file_id: str = Field(min_length=1, max_length=100, description="the signed contract's upload (POST /v1/uploads, "
                         "application/pdf), which the site claims")


class PaymentLinkOut(ApiModel):
    payment_id: str
    url: str
    expires_at: str


class PaymentMethodOut(PaymentLinkOut):
    purpose: Literal["pay_invoice", "verify"]


class AcquirerCard(RequestModel):
    mask: str = Field(min_length=1, max_length=64)
    holder: str = Field(default="", max_length=200)
    token: str | None = Field(default=None, min_length=1, max_length=500,
                              description="the saved card's token; none when the payer did not save the card")


class AcquirerEventIn(RequestModel):
    event_id: str = Field(min_length=1, max_length=200)
    type: str = Field(min_length=1, max_length=100, description=(
        "payment.succeeded | payment.failed | refund.succeeded; any other type is received and ignored"))
    payment_id: str = Field(min_length=1, max_length=200)
    amount: StrictInt = Field(gt=0, lt=10**15)
    currency: str = CurrencyCode
    card: AcquirerCard | None = None
    acquirer_id: str | None = Field(default=None, min_length=1, max_length=200, description=(
        "the acquirer's own id of the payment (Monobank's invoiceId); refunds name it"))


class AcquirerAck(ApiModel):
    received: bool
    duplicate: bool = False
    ignored: bool = False
    outcome: str | None = None


class CardPaymentOut(ApiModel):
    id: str
    site_id: str
    purpose: Literal["link", "pay_invoice", "verify", "autopay"]
    invoice_id: str | None
    amount: int
    currency: str
    status: Literal["pending", "succeeded", "failed", "refund_pending", "refunded"]
    outcome: Literal["applied", "verified", "parked", "declined", "duplicate"] | None
    card_mask: str | None
    created_at: str
    expires_at: str | None
    settled_at: str | None


class CardPaymentList(ApiModel):
    items: list[CardPaymentOut]
    next_cursor: str | None


class SiteActIn(RequestModel):
    period: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="a closed billing month, YYYY-MM")


class SiteActOut(ApiModel):
    id: str
    period: str
    status: Literal["sent"]
    vchasno_document_id: str


class SiteActList(ApiModel):
    items: list[SiteActOut]
    next_cursor: str | None


# --- operators' acts and their audit trail, the shop's own view ------------------------------------------------------

OperatorReason = Field(min_length=3, max_length=500, description="why (kept in the audit trail)")


class OperatorReasonIn(RequestModel):
    reason: str = OperatorReason


class OperatorTariffChangeIn(RequestModel):
    code: str = Field(min_length=1, max_length=40)
    reason: str = OperatorReason


class AuditRecordOut(ApiModel):
    id: str
    actor_id: str
    action: str
    at: str
    before: dict | None
    after: dict | None
    reason: str


class AuditRecordList(ApiModel):
    items: list[AuditRecordOut]
    next_cursor: str | None


class OpenInvoiceOut(ApiModel):
    number: str
    amount: MoneyOut
    due_at: str
    payment_url: str | None = Field(description="a live payment link (the same one for 30 minutes)")


class SiteStatusOut(ApiModel):
    status: SiteStatus
    blocked_since: str | None
    oldest_open_invoice: OpenInvoiceOut | None

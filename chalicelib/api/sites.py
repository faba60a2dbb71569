"""Subscription billing of business accounts (seed 003): tariffs, sites, their usage, requisites,
Vchasno, contracts, service invoices and deletion; operators' acts on them."""
from __future__ import annotations

from typing import Literal

from chalice import Blueprint, Response
from pydantic import BaseModel, EmailStr, Field, StrictInt, model_validator

from chalicelib.api import schemas as s
from chalicelib.api.http import Call, endpoint
from chalicelib.processes.subscription import DELETION_REASONS
from chalicelib.services import service_invoices, sites, tariff_catalog, usage

bp = Blueprint(__name__)
SiteStatus = Literal["active", "past_due", "blocked", "deletion_requested", "deleted"]
Reason = Literal["too_expensive", "missing_features", "moving_to_another_platform", "closing_business", "other"]
assert set(Reason.__args__) == set(DELETION_REASONS)  # type: ignore[attr-defined]


class MoneyIn(s._In):
    amount: StrictInt = Field(ge=0, le=10**12, description="minor units")
    currency: str = s.CurrencyCode


class MoneyOut(BaseModel):
    amount: int
    currency: str


class Limits(s._In):
    products: StrictInt = Field(ge=0, le=10**9)
    orders_per_month: StrictInt = Field(ge=0, le=10**9)


class TariffIn(s._In):
    code: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")
    name: str = Field(min_length=1, max_length=100)
    price: MoneyIn
    limits: Limits
    features: list[str] = Field(default_factory=list, max_length=50)


class TariffPatchIn(s._In):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    price: MoneyIn | None = Field(default=None, description="applies from the next billing month")
    limits: Limits | None = None
    features: list[str] | None = Field(default=None, max_length=50)
    active: bool | None = None


class TariffOut(BaseModel):
    code: str
    name: str
    price: MoneyOut
    limits: dict[str, int]
    features: list[str]
    active: bool
    price_changes: list[dict]


class TariffList(BaseModel):
    items: list[TariffOut]


class OwnerIn(s._In):
    name: str = Field(min_length=1, max_length=200)
    email: EmailStr
    phone: str = Field(min_length=3, max_length=32, description="international (E.164), e.g. +380501234567")


class SiteIn(s._In):
    name: str = Field(min_length=1, max_length=200)
    domains: list[str] = Field(min_length=1, max_length=sites.MAX_DOMAINS, description="host names; IDN allowed")
    owner: OwnerIn
    tariff: str = Field(min_length=1, max_length=40)


class Counter(BaseModel):
    value: int
    limit: int | None


class CountersOut(BaseModel):
    products: Counter
    orders: Counter
    refreshed_at: str | None


class SiteTariff(BaseModel):
    code: str | None
    name: str | None
    price: MoneyOut


class NextTariff(BaseModel):
    code: str
    name: str
    from_: str | None = Field(alias="from")


class AdditionalFeatures(BaseModel):
    tariff: str
    name: str
    features: list[str]


class SiteOut(BaseModel):
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


class SiteList(BaseModel):
    items: list[SiteOut]
    next_cursor: str | None


class DomainIn(s._In):
    domain: str = Field(min_length=1, max_length=253)


class DomainsOut(BaseModel):
    domains: list[str]


class KeyOut(BaseModel):
    key: str = Field(description="shown once; only its hash is kept")
    created_at: str


class UsageIn(s._In):
    event_id: str = Field(min_length=1, max_length=200)
    products: StrictInt | None = Field(default=None, ge=0, le=10**9, description="the current number of products")
    orders: StrictInt | None = Field(default=None, ge=0, le=10**6, description="new orders since the last report")

    @model_validator(mode="after")
    def _one_counter(self) -> UsageIn:
        if (self.products is None) == (self.orders is None):
            raise ValueError("send exactly one of products or orders")
        return self


class UsageOut(BaseModel):
    accepted: bool
    duplicate: bool
    event_id: str


class RequisitesIn(s._In):
    tax_id: str = Field(min_length=1, max_length=20, description="EDRPOU (8 digits) or RNOKPP (10 digits)")
    iban: str = Field(min_length=1, max_length=64, description="a Ukrainian IBAN (UA…)")


class RequisitesOut(BaseModel):
    tax_id: str | None
    kind: Literal["company", "sole_proprietor"] | None
    iban: str | None
    company_name: str | None
    address: str | None
    director: str | None
    updated_at: str | None
    vchasno: dict


class VchasnoOut(BaseModel):
    status: Literal["not_activated", "activated"]


class TariffChangeIn(s._In):
    code: str = Field(min_length=1, max_length=40)


class ServiceInvoiceOut(BaseModel):
    id: str
    site_id: str
    number: str
    period: str
    kind: str
    amount: int
    currency: str
    status: Literal["open", "paid", "void"]
    issued_at: str
    due_at: str
    paid_at: str | None
    paid_by: Literal["card", "link", "bank_transfer"] | None
    lines: list[dict]
    pdf_url: str


class ServiceInvoiceList(BaseModel):
    items: list[ServiceInvoiceOut]
    next_cursor: str | None


class ContractOut(BaseModel):
    id: str
    kind: Literal["public_offer", "personal"]
    title: str
    version: str | None
    effective_from: str | None
    filename: str
    size: int | None
    uploaded_at: str | None
    url: str


class ContractList(BaseModel):
    items: list[ContractOut]
    next_cursor: str | None


class LinkOut(BaseModel):
    url: str
    filename: str


class DeletionIn(s._In):
    reasons: list[Reason] = Field(min_length=1, max_length=5)
    comment: str = Field(default="", max_length=2000)


class OwnerChangeIn(s._In):
    owner: OwnerIn
    user_id: str | None = Field(default=None, max_length=100, description="the new owner's account, if it changes")


class ContractIn(s._In):
    filename: str = Field(min_length=1, max_length=255, pattern=r"^[^/\\]+\.pdf$")
    content_base64: str = Field(min_length=1, description="the signed contract, a PDF, base64-encoded")


def _pdf(filename: str, content: bytes) -> Response:
    return Response(body=content, status_code=200, headers={
        "Content-Type": "application/pdf", "Content-Disposition": f'inline; filename="{filename}"'})


# --- tariffs ---------------------------------------------------------------------------------------------------------

@endpoint(bp, "GET", "/v1/tariffs", summary="Every tariff: price, limits, features", tag="billing",
          response=TariffList)
def list_tariffs(call: Call):
    return tariff_catalog.list_all()


@endpoint(bp, "POST", "/v1/operator/tariffs", summary="Add a tariff", tag="operator", status=201, request=TariffIn,
          response=TariffOut, auth_="operator")
def create_tariff(call: Call):
    b = call.body
    return tariff_catalog.create(call.user, b.code, b.name, b.price.model_dump(), b.limits.model_dump(), b.features)


@endpoint(bp, "PATCH", "/v1/operator/tariffs/{code}", summary="Change a tariff (a new price applies from the next "
          "billing month)", tag="operator", request=TariffPatchIn, response=TariffOut, auth_="operator")
def update_tariff(call: Call):
    changes = call.body.model_dump(exclude_unset=True)
    return tariff_catalog.update(call.user, call.params["code"], changes)


# --- sites -----------------------------------------------------------------------------------------------------------

@endpoint(bp, "POST", "/v1/sites", summary="Create a site: its first invoice (the rest of this month) is issued at "
          "once", tag="billing", status=201, request=SiteIn, response=SiteOut, errors=(409,))
def create_site(call: Call):
    b = call.body
    return sites.create(call.user, b.name, b.domains, b.owner.model_dump(), b.tariff)


@endpoint(bp, "GET", "/v1/sites", summary="My sites", tag="billing", response=SiteList, query=("limit", "cursor"),
          errors=(422,))
def list_sites(call: Call):
    return sites.list_mine(call.user, call.limit, call.cursor)


@endpoint(bp, "GET", "/v1/sites/{site_id}", summary="One site: tariff, counters, Vchasno, payment method",
          tag="billing", response=SiteOut)
def get_site(call: Call):
    return sites.get(call.user, call.params["site_id"])


@endpoint(bp, "POST", "/v1/sites/{site_id}/domains", summary="Connect a domain", tag="billing", status=201,
          request=DomainIn, response=DomainsOut, errors=(403,))
def add_domain(call: Call):
    return sites.add_domain(call.user, call.params["site_id"], call.body.domain)


@endpoint(bp, "DELETE", "/v1/sites/{site_id}/domains/{domain}", summary="Disconnect a domain", tag="billing",
          response=DomainsOut, errors=(403, 409, 422))
def remove_domain(call: Call):
    return sites.remove_domain(call.user, call.params["site_id"], call.params["domain"])


@endpoint(bp, "POST", "/v1/sites/{site_id}/keys", summary="Issue the site's usage key (shown once; the previous "
          "key stops working)", tag="billing", status=201, response=KeyOut, errors=(403,))
def issue_key(call: Call):
    return sites.issue_key(call.user, call.params["site_id"])


@endpoint(bp, "POST", "/v1/sites/{site_id}/usage", summary="Report usage with the site's key (X-Site-Key, no "
          "bearer): the current products, or new orders", tag="billing", request=UsageIn, response=UsageOut,
          auth_="site")
def report_usage(call: Call):
    b = call.body
    return usage.report(call.params["site_id"], call.request.headers.get("x-site-key"), b.event_id, b.products,
                        b.orders)


@endpoint(bp, "GET", "/v1/sites/{site_id}/requisites", summary="The site's requisites", tag="billing",
          response=RequisitesOut)
def get_requisites(call: Call):
    return sites.get_requisites(call.user, call.params["site_id"])


@endpoint(bp, "PUT", "/v1/sites/{site_id}/requisites", summary="Set the requisites (the company's name, address and "
          "director come from the state registry)", tag="billing", request=RequisitesIn, response=RequisitesOut,
          errors=(403, 409))
def put_requisites(call: Call):
    return sites.put_requisites(call.user, call.params["site_id"], call.body.tax_id, call.body.iban)


@endpoint(bp, "POST", "/v1/sites/{site_id}/vchasno/activate", summary="Activate Vchasno (an account must exist for "
          "the requisites' tax id)", tag="billing", response=VchasnoOut, errors=(403,))
def activate_vchasno(call: Call):
    return sites.activate_vchasno(call.user, call.params["site_id"])


@endpoint(bp, "POST", "/v1/sites/{site_id}/vchasno/deactivate", summary="Deactivate Vchasno", tag="billing",
          response=VchasnoOut, errors=(403,))
def deactivate_vchasno(call: Call):
    return sites.deactivate_vchasno(call.user, call.params["site_id"])


@endpoint(bp, "POST", "/v1/sites/{site_id}/tariff", summary="Change the tariff: an upgrade at once (prorated "
          "invoice), a downgrade from the next month", tag="billing", request=TariffChangeIn, response=SiteOut,
          errors=(403,))
def change_tariff(call: Call):
    return sites.change_tariff(call.user, call.params["site_id"], call.body.code)


@endpoint(bp, "GET", "/v1/sites/{site_id}/invoices", summary="The site's service invoices, newest first",
          tag="billing", response=ServiceInvoiceList, query=("limit", "cursor"), errors=(422,))
def list_service_invoices(call: Call):
    site_id = call.params["site_id"]
    sites.visible(call.user, site_id)
    return service_invoices.list_for(site_id, call.limit, call.cursor)


@endpoint(bp, "GET", "/v1/sites/{site_id}/invoices/{invoice_id}", summary="One service invoice", tag="billing",
          response=ServiceInvoiceOut)
def get_service_invoice(call: Call):
    site_id = call.params["site_id"]
    sites.visible(call.user, site_id)
    return service_invoices.get(site_id, call.params["invoice_id"])


@endpoint(bp, "GET", "/v1/sites/{site_id}/invoices/{invoice_id}/pdf", summary="The service invoice as PDF",
          tag="billing", produces="application/pdf")
def get_service_invoice_pdf(call: Call):
    site_id = call.params["site_id"]
    deal = sites.visible(call.user, site_id)
    return _pdf(*service_invoices.pdf(call.user, site_id, call.params["invoice_id"], deal.client_id))


@endpoint(bp, "GET", "/v1/sites/{site_id}/contracts", summary="The public offer and any personal contract",
          tag="billing", response=ContractList)
def list_contracts(call: Call):
    return sites.contracts(call.user, call.params["site_id"])


@endpoint(bp, "GET", "/v1/sites/{site_id}/contracts/{contract_id}", summary="A personal contract: a short-lived "
          "download link", tag="billing", response=LinkOut)
def get_contract(call: Call):
    return sites.contract_link(call.user, call.params["site_id"], call.params["contract_id"])


@endpoint(bp, "GET", "/v1/sites/{site_id}/offer", summary="The public offer as PDF, in the owner's language",
          tag="billing", produces="application/pdf")
def get_offer(call: Call):
    return _pdf(*sites.offer_pdf(call.user, call.params["site_id"]))


@endpoint(bp, "POST", "/v1/sites/{site_id}/deletion-request", summary="Ask to delete the site (a short "
          "questionnaire): no more invoices", tag="billing", request=DeletionIn, response=SiteOut, errors=(403,))
def request_deletion(call: Call):
    return sites.request_deletion(call.user, call.params["site_id"], list(call.body.reasons), call.body.comment)


@endpoint(bp, "POST", "/v1/sites/{site_id}/deletion-request/withdraw", summary="Withdraw the deletion request",
          tag="billing", response=SiteOut, errors=(403,))
def withdraw_deletion(call: Call):
    return sites.withdraw_deletion(call.user, call.params["site_id"])


@endpoint(bp, "POST", "/v1/operator/sites/{site_id}/delete", summary="Complete a site's deletion (invoices and the "
          "ledger stay; the key and domains go)", tag="operator", response=SiteOut, auth_="operator")
def complete_deletion(call: Call):
    return sites.complete_deletion(call.user, call.params["site_id"])


@endpoint(bp, "POST", "/v1/operator/sites/{site_id}/owner", summary="Change a site's owner contact (and owner)",
          tag="operator", request=OwnerChangeIn, response=SiteOut, auth_="operator")
def change_owner(call: Call):
    return sites.change_owner(call.user, call.params["site_id"], call.body.owner.model_dump(), call.body.user_id)


@endpoint(bp, "POST", "/v1/operator/sites/{site_id}/contracts", summary="Upload a site's personal contract (PDF)",
          tag="operator", status=201, request=ContractIn, response=ContractOut, auth_="operator")
def upload_contract(call: Call):
    b = call.body
    return sites.upload_contract(call.user, call.params["site_id"], b.filename, b.content_base64)

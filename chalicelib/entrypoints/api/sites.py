"""Subscription billing of business accounts (seed 003): tariffs, sites, their usage, requisites,
Vchasno, contracts, service invoices and deletion; operators' acts on them."""
from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint, Response

from chalicelib.adapters.files import content_disposition
from chalicelib.entrypoints.api.http import Call, endpoint
from chalicelib.entrypoints.api.http import schema_names as s
from chalicelib.platform.lazy import lazy_modules

if TYPE_CHECKING:
    from chalicelib.services import acts, service_invoices, sites, tariff_catalog, usage
else:  # loaded when a route first runs (chalicelib/platform/lazy.py)
    acts, service_invoices, sites, tariff_catalog, usage = lazy_modules(
        "chalicelib.services", "acts", "service_invoices", "sites", "tariff_catalog", "usage")

bp = Blueprint(__name__)


def _pdf(filename: str, content: bytes) -> Response:
    return Response(body=content, status_code=200, headers={
        "Content-Type": "application/pdf", "Content-Disposition": content_disposition(filename)})


# --- tariffs ---------------------------------------------------------------------------------------------------------

@endpoint(bp, "GET", "/v1/tariffs", summary="Every tariff: price, limits, features", tag="billing",
          response=s.TariffList)
def list_tariffs(call: Call):
    return tariff_catalog.list_all()


@endpoint(bp, "POST", "/v1/operator/tariffs", summary="Add a tariff", tag="operator", status=201, request=s.TariffIn,
          response=s.TariffOut, auth_="operator")
def create_tariff(call: Call):
    b = call.body
    return tariff_catalog.create(call.user, b.code, b.name, b.price.model_dump(), b.limits.model_dump(), b.features)


@endpoint(bp, "PATCH", "/v1/operator/tariffs/{code}", summary="Change a tariff (a new price applies from the next "
          "billing month)", tag="operator", request=s.TariffPatchIn, response=s.TariffOut, auth_="operator")
def update_tariff(call: Call):
    changes = call.body.model_dump(exclude_unset=True)
    return tariff_catalog.update(call.user, call.params["code"], changes)


# --- sites -----------------------------------------------------------------------------------------------------------

@endpoint(bp, "POST", "/v1/sites", summary="Create a site: its first invoice (the rest of this month) is issued at "
          "once", tag="billing", status=201, request=s.SiteIn, response=s.SiteOut, errors=(409,))
def create_site(call: Call):
    b = call.body
    return sites.create(call.user, b.name, b.domains, b.owner.model_dump(), b.tariff)


@endpoint(bp, "GET", "/v1/sites", summary="My sites", tag="billing", response=s.SiteList, query=("limit", "cursor"),
          errors=(422,))
def list_sites(call: Call):
    return sites.list_mine(call.user, call.limit, call.cursor)


@endpoint(bp, "GET", "/v1/sites/{site_id}", summary="One site: tariff, counters, Vchasno, payment method",
          tag="billing", response=s.SiteOut)
def get_site(call: Call):
    return sites.get(call.user, call.params["site_id"])


@endpoint(bp, "POST", "/v1/sites/{site_id}/domains", summary="Connect a domain", tag="billing", status=201,
          request=s.DomainIn, response=s.DomainsOut, errors=(403,))
def add_domain(call: Call):
    return sites.add_domain(call.user, call.params["site_id"], call.body.domain)


@endpoint(bp, "DELETE", "/v1/sites/{site_id}/domains/{domain}", summary="Disconnect a domain", tag="billing",
          response=s.DomainsOut, errors=(403, 409, 422))
def remove_domain(call: Call):
    return sites.remove_domain(call.user, call.params["site_id"], call.params["domain"])


@endpoint(bp, "GET", "/v1/sites/{site_id}/domains/{domain}", summary="A domain's proof: pending until the owner "
          "publishes the token (TXT record or /.well-known file) and asks to verify it; verified; or taken by another "
          "site that proved it first", tag="billing", response=s.DomainStatusOut, errors=(422,))
def domain_status(call: Call):
    return sites.domain_status(call.user, call.params["site_id"], call.params["domain"])


@endpoint(bp, "POST", "/v1/sites/{site_id}/domains/{domain}/verify", summary="Check the published proof of a "
          "domain: the first site to prove it holds it, and the others are told", tag="billing",
          response=s.DomainStatusOut, errors=(403,))
def verify_domain(call: Call):
    return sites.verify_domain(call.user, call.params["site_id"], call.params["domain"])


@endpoint(bp, "POST", "/v1/sites/{site_id}/keys", summary="Issue the site's usage key (shown once; the previous "
          "key stops working; a replay of the request is 409 key_already_issued)", tag="billing", status=201,
          response=s.KeyOut, errors=(403,), issues_secret=True)
def issue_key(call: Call):
    return sites.issue_key(call.user, call.params["site_id"])


@endpoint(bp, "POST", "/v1/sites/{site_id}/usage", summary="Report usage with the site's key (X-Site-Key, no "
          "bearer): the current products, or new orders", tag="billing", request=s.UsageIn, response=s.UsageOut,
          auth_="site")
def report_usage(call: Call):
    b = call.body
    return usage.report(call.params["site_id"], call.request.headers.get("x-site-key"), b.event_id, b.products,
                        b.orders)


@endpoint(bp, "GET", "/v1/sites/{site_id}/requisites", summary="The site's requisites (not set yet: pre-filled "
          "from the owner's other site)", tag="billing",
          response=s.RequisitesOut)
def get_requisites(call: Call):
    return sites.get_requisites(call.user, call.params["site_id"])


@endpoint(bp, "PUT", "/v1/sites/{site_id}/requisites", summary="Set the requisites (the company's name, address and "
          "director come from the state registry; the owner may correct them), and perhaps activate Vchasno in the "
          "same call", tag="billing", request=s.RequisitesIn, response=s.RequisitesOut,
          errors=(403, 409))
def put_requisites(call: Call):
    b = call.body
    return sites.put_requisites(call.user, call.params["site_id"], b.tax_id, b.iban,
                                b.model_dump(include={"company_name", "address", "director"}),
                                activate_vchasno=b.activate_vchasno)


@endpoint(bp, "POST", "/v1/sites/{site_id}/vchasno/activate", summary="Activate Vchasno (an account must exist for "
          "the requisites' tax id)", tag="billing", response=s.VchasnoOut, errors=(403,))
def activate_vchasno(call: Call):
    return sites.activate_vchasno(call.user, call.params["site_id"])


@endpoint(bp, "POST", "/v1/sites/{site_id}/vchasno/deactivate", summary="Deactivate Vchasno", tag="billing",
          response=s.VchasnoOut, errors=(403,))
def deactivate_vchasno(call: Call):
    return sites.deactivate_vchasno(call.user, call.params["site_id"])


@endpoint(bp, "POST", "/v1/sites/{site_id}/tariff", summary="Change the tariff: an upgrade at once (prorated "
          "invoice), a downgrade from the next month", tag="billing", request=s.TariffChangeIn, response=s.SiteOut,
          errors=(403,))
def change_tariff(call: Call):
    return sites.change_tariff(call.user, call.params["site_id"], call.body.code)


@endpoint(bp, "GET", "/v1/sites/{site_id}/invoices", summary="The site's service invoices, newest first",
          tag="billing", response=s.ServiceInvoiceList, query=("limit", "cursor"), errors=(422,))
def list_service_invoices(call: Call):
    site_id = call.params["site_id"]
    sites.visible(call.user, site_id)
    return service_invoices.list_for(site_id, call.limit, call.cursor)


@endpoint(bp, "GET", "/v1/sites/{site_id}/invoices/{invoice_id}", summary="One service invoice", tag="billing",
          response=s.ServiceInvoiceOut)
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


@endpoint(bp, "POST", "/v1/sites/{site_id}/acts", summary="Send the act of services rendered for a closed, paid "
          "month to Vchasno (asked again: the same act)", tag="billing", status=201, also=(200,), request=s.SiteActIn,
          response=s.SiteActOut, errors=(403,))
def request_act(call: Call):
    return acts.request(call.user, call.params["site_id"], call.body.period)


@endpoint(bp, "GET", "/v1/sites/{site_id}/acts", summary="The site's acts sent to Vchasno, newest month first",
          tag="billing", response=s.SiteActList)
def list_acts(call: Call):
    return acts.list_for(call.user, call.params["site_id"])


@endpoint(bp, "GET", "/v1/sites/{site_id}/acts/{act_id}/pdf", summary="An act as PDF: the document sent to "
          "Vchasno", tag="billing", produces="application/pdf")
def get_act_pdf(call: Call):
    return _pdf(*acts.pdf(call.user, call.params["site_id"], call.params["act_id"]))


@endpoint(bp, "GET", "/v1/sites/{site_id}/contracts", summary="The public offer and any personal contract",
          tag="billing", response=s.SiteContractList)
def list_contracts(call: Call):
    return sites.contracts(call.user, call.params["site_id"])


@endpoint(bp, "GET", "/v1/sites/{site_id}/contracts/{contract_id}", summary="A personal contract: a short-lived "
          "download link", tag="billing", response=s.LinkOut)
def get_contract(call: Call):
    return sites.contract_link(call.user, call.params["site_id"], call.params["contract_id"])


@endpoint(bp, "GET", "/v1/sites/{site_id}/offer", summary="The public offer as PDF, in the owner's language",
          tag="billing", produces="application/pdf")
def get_offer(call: Call):
    return _pdf(*sites.offer_pdf(call.user, call.params["site_id"]))


@endpoint(bp, "POST", "/v1/sites/{site_id}/deletion-request", summary="Ask to delete the site (a short "
          "questionnaire): no more invoices", tag="billing", request=s.DeletionIn, response=s.SiteOut, errors=(403,))
def request_deletion(call: Call):
    return sites.request_deletion(call.user, call.params["site_id"], list(call.body.reasons), call.body.comment)


@endpoint(bp, "POST", "/v1/sites/{site_id}/deletion-request/withdraw", summary="Withdraw the deletion request",
          tag="billing", response=s.SiteOut, errors=(403,))
def withdraw_deletion(call: Call):
    return sites.withdraw_deletion(call.user, call.params["site_id"])


@endpoint(bp, "POST", "/v1/operator/sites/{site_id}/delete", summary="Complete a site's deletion (invoices and the "
          "ledger stay; the key and domains go)", tag="operator", response=s.SiteOut, auth_="operator")
def complete_deletion(call: Call):
    return sites.complete_deletion(call.user, call.params["site_id"])


@endpoint(bp, "POST", "/v1/operator/sites/{site_id}/deletion-request/refuse", summary="Refuse a site's deletion "
          "request, with a reason the owner is told (audited): the site is served and billed again", tag="operator",
          request=s.OperatorReasonIn, response=s.SiteOut, auth_="operator", errors=(409,))
def refuse_deletion(call: Call):
    return sites.refuse_deletion(call.user, call.params["site_id"], call.body.reason)


@endpoint(bp, "POST", "/v1/operator/sites/{site_id}/owner", summary="Change a site's owner contact (and owner: "
          "the previous owner's card forgotten, the usage key rotated), audited", tag="operator",
          request=s.OwnerChangeIn, response=s.SiteOut, auth_="operator")
def change_owner(call: Call):
    b = call.body
    return sites.change_owner(call.user, call.params["site_id"], b.owner.model_dump(), b.user_id, b.reason)


@endpoint(bp, "POST", "/v1/operator/sites/{site_id}/tariff", summary="Change a site's tariff by the owner's rules "
          "(an upgrade at once, prorated; a downgrade from the next month), audited with a reason", tag="operator",
          request=s.OperatorTariffChangeIn, response=s.SiteOut, auth_="operator")
def operator_change_tariff(call: Call):
    return sites.change_tariff(call.user, call.params["site_id"], call.body.code, reason=call.body.reason)


@endpoint(bp, "POST", "/v1/operator/sites/{site_id}/autopay/resume", summary="Allow card payments again after "
          "they were stopped (the next card payment saves the card), audited with a reason", tag="operator",
          request=s.OperatorReasonIn, response=s.SiteOut, auth_="operator")
def resume_autopay(call: Call):
    return sites.resume_autopay(call.user, call.params["site_id"], call.body.reason)


@endpoint(bp, "POST", "/v1/operator/sites/{site_id}/invoices/{invoice_id}/write-off", summary="Write an open "
          "invoice off, with a reason (a ledger entry; audited)", tag="operator", request=s.OperatorReasonIn,
          response=s.ServiceInvoiceOut, auth_="operator", moves_money=True)
def write_off_invoice(call: Call):
    return service_invoices.write_off(call.user, call.params["site_id"], call.params["invoice_id"], call.body.reason)


@endpoint(bp, "POST", "/v1/sites/{site_id}/credit/refund", summary="Have the site's credit (what it paid beyond "
          "its invoices) sent back to whoever paid it, instead of spending it on the next invoice", tag="billing",
          response=s.SiteOut, errors=(403, 409), moves_money=True)
def refund_credit(call: Call):
    return sites.refund_credit(call.user, call.params["site_id"])


@endpoint(bp, "POST", "/v1/operator/sites/{site_id}/credit/refund", summary="Send a site's credit back to whoever "
          "paid it, with a reason (audited)", tag="operator", request=s.OperatorReasonIn, response=s.SiteOut,
          auth_="operator", errors=(409,), moves_money=True)
def operator_refund_credit(call: Call):
    return sites.refund_credit(call.user, call.params["site_id"], call.body.reason)


@endpoint(bp, "GET", "/v1/operator/sites/{site_id}/audit", summary="What operators did to the site, newest first: "
          "who, when, what, before → after, why", tag="operator", response=s.AuditRecordList,
          query=("limit", "cursor"), auth_="operator", errors=(422,))
def site_audit(call: Call):
    return sites.audit_trail(call.user, call.params["site_id"], call.limit, call.cursor)


@endpoint(bp, "GET", "/v1/sites/{site_id}/status", summary="The site's billing state for its shop, with the "
          "site's key (X-Site-Key, no bearer): status, since when blocked, the oldest open invoice with a payment "
          "link", tag="billing", response=s.SiteStatusOut, auth_="site")
def site_status(call: Call):
    return sites.status_for_key(call.params["site_id"], call.request.headers.get("x-site-key"))


@endpoint(bp, "POST", "/v1/operator/sites/{site_id}/contracts",
          summary="Attach a site's personal contract: an uploaded PDF", tag="operator", status=201,
          request=s.ContractIn, response=s.SiteContractOut, auth_="operator", errors=(403, 409))
def upload_contract(call: Call):
    return sites.upload_contract(call.user, call.params["site_id"], call.body.file_id)

"""Acts of services rendered (seed 003): on the owner's request, for a closed billing month whose invoices
are paid, while Vchasno is activated — the act's PDF uploaded through the Vchasno adapter, the document id
it returns recorded on the site (`SiteModel.acts`, one per month: asking again returns the same act)."""
from __future__ import annotations

from chalicelib.access.auth import Principal
from chalicelib.adapters.files import get_files
from chalicelib.adapters.vchasno import get_vchasno
from chalicelib.money import periods, tariffs
from chalicelib.money.amounts import Money
from chalicelib.notify import outbox
from chalicelib.platform import clock, config, ids
from chalicelib.platform.errors import Conflict, NotFound, Retryable
from chalicelib.services import idempotency, service_invoices, sites
from chalicelib.store.models import ServiceInvoiceModel, SiteModel
from chalicelib.store.uow import UnitOfWork, run_with_retries

SENT = "sent"


def view(act: dict) -> dict:
    """The act as API.md shapes it (the item keeps its amount and time too)."""
    return {"id": act["id"], "period": act["period"], "status": act["status"],
            "vchasno_document_id": act["vchasno_document_id"]}


def list_for(principal: Principal, site_id: str) -> dict:
    sites.visible(principal, site_id)
    acts = sorted(sites.load_site(site_id).acts or [], key=lambda act: act["period"], reverse=True)
    return {"items": [view(act) for act in acts], "next_cursor": None}


def request(principal: Principal, site_id: str, period: str) -> tuple[int, dict]:
    deal = sites.owned(principal, site_id)
    return run_with_retries(lambda: _request(deal.client_id, site_id, period))


def _request(owner_id: str, site_id: str, period: str) -> tuple[int, dict]:
    site = sites.load_site(site_id)
    existing = next((act for act in site.acts or [] if act["period"] == period), None)
    if existing is not None:
        return 200, view(existing)
    if site.vchasno != sites.ACTIVATED:
        raise Conflict("vchasno_not_activated", "Activate the Vchasno integration first: acts are sent through it")
    if period >= periods.period_of(clock.now()):
        raise Conflict("period_not_closed", f"{period} is not over yet: an act is made for a closed month")
    billed = [invoice for invoice in ServiceInvoiceModel.by_site.query(site_id)
              if invoice.period == period and invoice.status != service_invoices.VOID]
    if not billed or any(invoice.status != service_invoices.PAID for invoice in billed):
        raise Conflict("invoice_unpaid", f"The invoice for {period} is not paid" if billed
                       else f"Nothing was billed for {period}")
    amount = Money(sum(int(invoice.amount) for invoice in billed), tariffs.CURRENCY)
    pdf = _render(site, period, billed, amount)
    number = f"{site.service_code}-{period}"
    document_id = get_vchasno().upload(site.requisites["tax_id"], f"act-{number}.pdf", pdf)
    act_id = ids.derived_id("act", site_id, period)
    key = pdf_key(site_id, act_id)
    get_files().put(key, pdf, "application/pdf")  # the very bytes Vchasno got, for the owner to download
    act = {"id": act_id, "period": period, "status": SENT, "vchasno_document_id": document_id,
           "amount": amount.to_json(), "created_at": clock.iso(clock.now()), "pdf_key": key,
           "filename": f"act-{number}.pdf"}
    uow = UnitOfWork()
    previous = site.acts or []
    unchanged = SiteModel.acts == previous if previous else (SiteModel.acts.does_not_exist() | (SiteModel.acts == []))
    uow.update(site, [SiteModel.acts.set([*previous, act])], condition=unchanged, on_fail=Retryable("acts_changed"))
    outbox.enqueue(uow, owner_id, "act_sent", {
        "site_id": site_id, "site_name": site.name, "period": period, "amount": amount.to_json(),
        "vchasno_document_id": document_id})
    return idempotency.commit(uow, 201, view(act))


def pdf_key(site_id: str, act_id: str) -> str:
    return f"deliverables/sites/{site_id}/acts/{act_id}.pdf"


def pdf(principal: Principal, site_id: str, act_id: str) -> tuple[str, bytes]:
    """The act's PDF: the same document that went to Vchasno (kept when it was sent)."""
    sites.visible(principal, site_id)
    act = next((act for act in sites.load_site(site_id).acts or [] if act["id"] == act_id), None)
    if act is None:
        raise NotFound("not_found", "No such act")
    if not act.get("pdf_key"):
        raise NotFound("act_pdf_not_kept", "This act was sent before its documents were kept; Vchasno has it")
    return act["filename"], get_files().get(act["pdf_key"])


def _render(site: SiteModel, period: str, billed: list[ServiceInvoiceModel], amount: Money) -> bytes:
    from chalicelib.documents.service_act import ServiceAct, render_service_act

    requisites = site.requisites or {}
    in_order = sorted(billed, key=lambda i: int(i.seq))
    return render_service_act(ServiceAct(
        number=f"{site.service_code}-{period}", issued_at=clock.now(), period=period,
        lines=[line for invoice in in_order for line in invoice.lines], amount=amount,
        invoiced_minor=tuple(int(invoice.amount) for invoice in in_order), vat_bps=config.settings.service_vat_bps,
        site_name=site.name, service_code=site.service_code,
        customer_name=requisites.get("company_name") or site.contact.get("name", ""),
        customer_tax_id=requisites.get("tax_id", ""), customer_iban=requisites.get("iban", ""),
        customer_address=requisites.get("address", "")))

"""A site's service invoices: the history the owner (and operators) read, the PDF ("Рахунок на
оплату"), and what paying one by bank transfer means for the bank's matcher (`services/bank.py`):
the invoice marked paid and its money moved from the bank's clearing account (or the suspense account,
when an operator applies a parked transfer, or the card acquirer's account for a card payment) to the
platform's revenue, and the site's subscription told (`invoice_paid`, or `recover` / `unblock` when it was
the last overdue invoice), all in the payment's transaction. Invoices are issued by the subscription
process (`processes/subscription.py`)."""
from __future__ import annotations

from datetime import datetime

from chalicelib import engine
from chalicelib.access.auth import Principal
from chalicelib.money import ledger
from chalicelib.money.amounts import Money
from chalicelib.notify import outbox
from chalicelib.platform import clock
from chalicelib.platform.config import settings
from chalicelib.platform.errors import Conflict, NotFound, Retryable
from chalicelib.processes import Context
from chalicelib.processes.site_deal import (
    BLOCKED,
    INVOICE_OPEN,
    INVOICE_PAID,
    INVOICE_VOID,
    INVOICE_WRITTEN_OFF,
    PAST_DUE,
    number_key,
)
from chalicelib.processes.site_deal import OPEN as SUBSCRIBED
from chalicelib.processes.subscription import PROCESS
from chalicelib.processes.subscription_paying import is_overdue
from chalicelib.services import deals, idempotency, views
from chalicelib.services.pagination import page
from chalicelib.store import audit_log, lookup
from chalicelib.store.models import DealModel, KeyModel, ServiceInvoiceModel, SiteModel, open_due_key
from chalicelib.store.uow import UnitOfWork, run_with_retries

OPEN, PAID, VOID, WRITTEN_OFF = INVOICE_OPEN, INVOICE_PAID, INVOICE_VOID, INVOICE_WRITTEN_OFF
BANK_TRANSFER, CARD, LINK = "bank_transfer", "card", "link"
CARD_SOURCE, SUSPENSE_SOURCE = "card", "suspense"  # the acquirer's account, parked money (`pay`'s sources; and "bank")
NUMBER_PATTERN = r"[A-Z]{2,10}-\d{5,}-\d{3,}"


def load(invoice_id: str) -> ServiceInvoiceModel:
    return lookup.load(ServiceInvoiceModel, invoice_id, what="invoice")


def find_by_number(number: str) -> ServiceInvoiceModel | None:
    try:
        key = KeyModel.get(number_key(number), consistent_read=True)
    except KeyModel.DoesNotExist:
        return None
    if not str(key.target_id).startswith("sin_"):
        return None
    return load(key.target_id)


def due(invoice: ServiceInvoiceModel) -> int:
    """What the invoice still asks for: its amount less what was paid on it so far (parts applied, credit)."""
    return int(invoice.amount) - int(invoice.amount_paid or 0)


def _paid_so_far_unchanged(invoice: ServiceInvoiceModel):
    if invoice.amount_paid is None:
        return ServiceInvoiceModel.amount_paid.does_not_exist()
    return ServiceInvoiceModel.amount_paid == int(invoice.amount_paid)


def pay(uow: UnitOfWork, invoice: ServiceInvoiceModel, payment_id: str, source: str, on_fail: Exception, *,
        amount: int | None = None, paid_by: str = BANK_TRANSFER, card: dict | None = None,
        notify: str = "service_invoice_paid") -> None:
    """A payment of `amount` (default: what is still due) from `source` on the invoice, in `uow`. Less than due
    is a part: revenue, the invoice open for the rest. Otherwise the invoice is paid and the site's subscription
    told; what came beyond the due is the site's credit, in the same transfer. `card` is a card to save for
    auto-pay (the owner paid with it on the payment-method page)."""
    rest = due(invoice)
    received = rest if amount is None else int(amount)
    if received < rest:
        _pay_part(uow, invoice, payment_id, source, on_fail, received)
        return
    paid_at = clock.iso(clock.now())
    surplus = received - rest
    uow.update(invoice, [ServiceInvoiceModel.status.set(PAID), ServiceInvoiceModel.paid_at.set(paid_at),
                         ServiceInvoiceModel.paid_by.set(paid_by),
                         ServiceInvoiceModel.payment_id.set(payment_id),
                         ServiceInvoiceModel.amount_paid.set(int(invoice.amount_paid or 0) + rest),
                         ServiceInvoiceModel.open_due.remove()],
               condition=(ServiceInvoiceModel.status == OPEN) & _paid_so_far_unchanged(invoice), on_fail=on_fail)
    money = Money(rest, invoice.currency)
    ledger.record(uow, ledger.service_payment(_transfer_id(payment_id, source), source, money, ref=invoice.id,
                                              site_id=invoice.site_id, surplus_minor=surplus))
    _tell_subscription(uow, invoice, payment_id, card, credit=surplus)
    outbox.enqueue(uow, invoice.owner_id, notify, {
        "site_id": invoice.site_id, "invoice_id": invoice.id, "number": invoice.number, "period": invoice.period,
        "amount": Money(int(invoice.amount), invoice.currency).to_json(), "paid_at": paid_at})
    if surplus:
        outbox.enqueue(uow, invoice.owner_id, "site_credit_added", {
            "site_id": invoice.site_id, "invoice_id": invoice.id, "number": invoice.number,
            "amount": Money(surplus, invoice.currency).to_json()})


def _transfer_id(payment_id: str, source: str) -> str:
    return f"{payment_id}:applied" if source == SUSPENSE_SOURCE else payment_id


def _pay_part(uow: UnitOfWork, invoice: ServiceInvoiceModel, payment_id: str, source: str, on_fail: Exception,
              received: int) -> None:
    """A part of what is due: revenue now, the invoice open for the rest (its payment link, which asked the
    whole, expires now: the next one asks the rest), and the subscription charges or reminds only the rest."""
    paid, now = int(invoice.amount_paid or 0) + received, clock.now()
    actions = [ServiceInvoiceModel.amount_paid.set(paid),
               ServiceInvoiceModel.open_due.set(open_due_key(invoice.currency, int(invoice.amount) - paid, invoice.id))]
    if invoice.link:  # expired now (its sequence number kept): the next link is a new one
        invoice.link = {**invoice.link, "expires_at": clock.iso(now)}
        actions.append(ServiceInvoiceModel.link.set(invoice.link))
    uow.update(invoice, actions,
               condition=(ServiceInvoiceModel.status == OPEN) & _paid_so_far_unchanged(invoice), on_fail=on_fail)
    money = Money(received, invoice.currency)
    ledger.record(uow, ledger.service_payment(_transfer_id(payment_id, source), source, money, ref=invoice.id))
    invoice.amount_paid = paid
    deal = deals.load(PROCESS, invoice.site_id)
    if deal.status in SUBSCRIBED:
        engine.apply(uow, PROCESS, deal, "invoice_part_paid", Context(now, "system", payload={
            "invoice_id": invoice.id, "payment_id": payment_id, "due": due(invoice)}))
    outbox.enqueue(uow, invoice.owner_id, "service_invoice_part_paid", {
        "site_id": invoice.site_id, "invoice_id": invoice.id, "number": invoice.number, "period": invoice.period,
        "amount": money.to_json(), "amount_due": Money(due(invoice), invoice.currency).to_json()})


def open_invoices(deal: DealModel) -> list[ServiceInvoiceModel]:
    """The site's open invoices, oldest first, each read strongly consistent (the index lags behind): those
    the deal itself records as unpaid (every invoice of the last days, whatever the index shows yet), the
    one it issued last, and those the index lists (older ones)."""
    candidates = {invoice.id for invoice in ServiceInvoiceModel.by_site.query(
        deal.id, filter_condition=ServiceInvoiceModel.status == OPEN)}
    candidates.update((deal.data or {}).get("unpaid") or {})
    last = (deal.data or {}).get("last_invoice")
    if last:
        candidates.add(last["id"])
    fresh = [load(invoice_id) for invoice_id in sorted(candidates)]
    return sorted((invoice for invoice in fresh if invoice.status == OPEN), key=lambda invoice: invoice.issued_at)


def oldest_open_after(deal: DealModel, invoice_id: str) -> dict | None:
    """The issue and due time of the oldest invoice left open once `invoice_id` is paid."""
    left = [invoice for invoice in open_invoices(deal) if invoice.id != invoice_id]
    return {"issued_at": left[0].issued_at, "due_at": min(i.due_at for i in left)} if left else None


def paying_transition(deal: DealModel, oldest_open: dict | None, now: datetime) -> str:
    """`recover` / `unblock` when this payment leaves nothing overdue, else `invoice_paid`."""
    if deal.status in (PAST_DUE, BLOCKED) and not is_overdue(oldest_open, now):
        return "recover" if deal.status == PAST_DUE else "unblock"
    return "invoice_paid"


def _tell_subscription(uow: UnitOfWork, invoice: ServiceInvoiceModel, payment_id: str, card: dict | None, *,
                       credit: int = 0) -> None:
    deal = deals.load(PROCESS, invoice.site_id)
    if deal.status not in SUBSCRIBED:
        return
    now = clock.now()
    left = [other for other in open_invoices(deal) if other.id != invoice.id]
    oldest = {"issued_at": left[0].issued_at, "due_at": min(i.due_at for i in left)} if left else None
    payload = {"invoice_id": invoice.id, "payment_id": payment_id, "card": card, "oldest_open": oldest,
               "credit": credit}
    if card:  # a card saved now charges the invoices still open, however old (once now, then its retries)
        payload["still_open"] = {other.id: {"number": other.number, "amount": due(other),
                                            "issued_at": other.issued_at, "due_at": other.due_at}
                                 for other in left}
    engine.apply(uow, PROCESS, deal, paying_transition(deal, oldest, now), Context(now, "system", payload=payload))


def of_site(site_id: str, invoice_id: str) -> ServiceInvoiceModel:
    invoice = load(invoice_id)
    if invoice.site_id != site_id:
        raise NotFound("not_found", "No such invoice")
    return invoice


def list_for(site_id: str, limit: int, cursor: str | None) -> dict:
    """The site's invoices, newest first."""
    return page(lambda **kw: ServiceInvoiceModel.by_site.query(site_id, scan_index_forward=False, **kw), limit,
                cursor, views.service_invoice)


def get(site_id: str, invoice_id: str) -> dict:
    return views.service_invoice(of_site(site_id, invoice_id))


def write_off(principal: Principal, site_id: str, invoice_id: str, reason: str) -> tuple[int, dict]:
    """An operator's act: an open invoice is no longer owed. The ledger records the amount given up, the
    audit trail who did it and why, the subscription forgets the invoice (it may no longer be overdue), and
    the owner is told — all in one transaction."""
    principal.require_operator()
    return run_with_retries(lambda: _write_off(principal, site_id, invoice_id, reason))


def _write_off(principal: Principal, site_id: str, invoice_id: str, reason: str) -> tuple[int, dict]:
    invoice = of_site(site_id, invoice_id)
    if invoice.status != OPEN:
        raise Conflict("invoice_not_open", f"The invoice is {invoice.status}; only an open invoice is written off")
    now = clock.now()
    uow = UnitOfWork()
    written_off = {"at": clock.iso(now), "by": principal.user_id, "reason": reason}
    uow.update(invoice, [ServiceInvoiceModel.status.set(WRITTEN_OFF), ServiceInvoiceModel.written_off.set(written_off),
                         ServiceInvoiceModel.open_due.remove()],
               condition=(ServiceInvoiceModel.status == OPEN) & _paid_so_far_unchanged(invoice),
               on_fail=Retryable("invoice_changed"))
    money = Money(due(invoice), invoice.currency)  # what was paid of it stays paid
    ledger.record(uow, ledger.service_invoice_written_off(f"{invoice.id}:written_off", money, ref=invoice.id), at=now)
    audit_log.record(uow, subject=audit_log.site_subject(site_id), actor_id=principal.user_id, action="write_off",
                     reason=reason, before={"invoice": invoice.number, "status": OPEN, "amount": money.to_json()},
                     after={"invoice": invoice.number, "status": WRITTEN_OFF}, now=now)
    _tell_subscription(uow, invoice, f"{invoice.id}:written_off", None)
    outbox.enqueue(uow, invoice.owner_id, "service_invoice_written_off", {
        "site_id": invoice.site_id, "invoice_id": invoice.id, "number": invoice.number, "period": invoice.period,
        "amount": money.to_json(), "reason": reason})
    invoice.status, invoice.written_off = WRITTEN_OFF, written_off
    return idempotency.commit(uow, 200, views.service_invoice(invoice))


def pdf(principal: Principal, site_id: str, invoice_id: str, owner_id: str) -> tuple[str, bytes]:
    from chalicelib.documents.service_invoice import ServiceInvoice, render_service_invoice
    from chalicelib.services import accounts

    invoice = of_site(site_id, invoice_id)
    site = SiteModel.get(site_id, consistent_read=True)
    reader = accounts.get_user(owner_id if not principal.is_operator else principal.user_id)
    requisites = site.requisites or {}
    document = ServiceInvoice(
        number=invoice.number, issued_at=clock.parse_iso(invoice.issued_at), due_at=clock.parse_iso(invoice.due_at),
        period=invoice.period, lines=list(invoice.lines), amount=Money(int(invoice.amount), invoice.currency),
        vat_bps=settings.service_vat_bps, site_name=site.name, service_code=site.service_code,
        customer_name=requisites.get("company_name") or site.contact.get("name", ""),
        customer_tax_id=requisites.get("tax_id", ""), customer_iban=requisites.get("iban", ""),
        customer_address=requisites.get("address", ""), customer_email=site.contact.get("email", ""),
        amount_paid=int(invoice.amount_paid or 0) if invoice.status == OPEN else 0,
        credit_applied=int(invoice.credit_applied or 0) if invoice.status == OPEN else 0,
    )
    return f"{invoice.number}.pdf", render_service_invoice(document, reader.locale, reader.timezone)

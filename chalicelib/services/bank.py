"""The bank's side: signed webhooks for incoming transfers, and operators resolving the
transfers that could not be matched to an invoice.

A transfer is credited only when its purpose quotes exactly one known open invoice number and
amount and currency match exactly. Anything else is parked as an unmatched payment (its money
in the suspense account) with the reason, for an operator to apply or return. A transfer the
ledger cannot hold (a currency we keep no balances in, or an amount beyond the currency's bound) is
parked without moving money: its item is the record an operator acts on. One bank
`event_id` is one payment item, written with `attribute_not_exists`, so a redelivered event
changes nothing.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from chalicelib import clock, idempotency, ids, ledger, views
from chalicelib.auth import Principal
from chalicelib.errors import Conflict, Unprocessable
from chalicelib.money import SUPPORTED_CURRENCIES, Money, within_bounds
from chalicelib.observability import logger, metrics
from chalicelib.pagination import page
from chalicelib.services import invoices, notifications
from chalicelib.store import lookup
from chalicelib.store.models import InvoiceModel, PaymentModel
from chalicelib.store.uow import UnitOfWork, run_with_retries

CREDITED, UNMATCHED, APPLIED, RETURNED = "credited", "unmatched", "applied", "returned"
QUEUE = "unmatched"
_NUMBER = re.compile(rf"(?<![A-Z0-9-]){invoices.NUMBER_PATTERN}(?![0-9])")


class _DuplicateEvent(Exception):
    pass


class _InvoiceTaken(Exception):
    """The invoice stopped being open between our read and our commit."""


@dataclass(frozen=True)
class IncomingTransfer:
    event_id: str
    amount_minor: int
    currency: str
    purpose: str
    payer: dict
    received_at: str


def receive_transfer(transfer: IncomingTransfer) -> dict:
    payment_id = ids.derived_id("pay", transfer.event_id)
    try:
        return run_with_retries(lambda: _receive(transfer, payment_id))
    except _DuplicateEvent:
        existing = PaymentModel.get(payment_id, consistent_read=True)
        return {"received": True, "duplicate": True, "payment": views.payment(existing)}


def _receive(transfer: IncomingTransfer, payment_id: str, *, invoice_taken: bool = False) -> dict:
    invoice, reason = _match(transfer, invoice_taken)
    payment = PaymentModel(
        payment_id, event_id=transfer.event_id, amount=transfer.amount_minor, currency=transfer.currency,
        purpose=transfer.purpose, payer=transfer.payer, received_at=transfer.received_at,
        status=CREDITED if invoice else UNMATCHED, reason=reason,
        invoice_id=invoice.id if invoice else None, queue=None if invoice else QUEUE,
    )
    uow = UnitOfWork()
    uow.put(payment, condition=PaymentModel.id.does_not_exist(), on_fail=_DuplicateEvent())
    if invoice is not None:
        _mark_paid(uow, invoice, payment_id, on_fail=_InvoiceTaken())
        ledger.record(uow, ledger.bank_top_up(payment_id, invoice.owner_id, _money(transfer), ref=invoice.id))
    else:
        if _holdable(transfer.amount_minor, transfer.currency):
            ledger.record(uow, ledger.park_unmatched(payment_id, _money(transfer), ref=payment_id))
        notifications.enqueue(uow, notifications.OPERATORS, "payment_unmatched", {
            "payment_id": payment_id, "purpose": transfer.purpose, "reason": reason,
            "amount": {"amount": transfer.amount_minor, "currency": transfer.currency}})
    try:
        uow.commit()
    except _InvoiceTaken:
        return _receive(transfer, payment_id, invoice_taken=True)
    _count(payment)
    return {"received": True, "duplicate": False, "payment": views.payment(payment)}


def _holdable(amount_minor: int, currency: str) -> bool:
    """Whether the ledger can keep this money: a currency it holds, an amount within its bound."""
    return currency in SUPPORTED_CURRENCIES and within_bounds(amount_minor, currency)


def _match(transfer: IncomingTransfer, invoice_taken: bool) -> tuple[InvoiceModel | None, str | None]:
    if transfer.currency in SUPPORTED_CURRENCIES and not within_bounds(transfer.amount_minor, transfer.currency):
        return None, "amount_out_of_range"
    numbers = sorted(set(_NUMBER.findall(transfer.purpose)))
    if not numbers:
        return None, "no_invoice_number"
    if len(numbers) > 1:
        return None, "several_invoice_numbers"
    invoice = invoices.find_by_number(numbers[0])
    if invoice is None:
        return None, "unknown_invoice"
    if invoice_taken or invoice.status != invoices.OPEN:
        return None, "invoice_already_paid"
    if invoice.currency != transfer.currency:
        return None, "currency_mismatch"
    if int(invoice.amount) != transfer.amount_minor:
        return None, "amount_mismatch"
    return invoice, None


def _mark_paid(uow: UnitOfWork, invoice: InvoiceModel, payment_id: str, *, on_fail: Exception) -> None:
    paid_at = clock.iso(clock.now())
    uow.update(invoice, [InvoiceModel.status.set(invoices.PAID), InvoiceModel.paid_at.set(paid_at),
                         InvoiceModel.payment_id.set(payment_id)],
               condition=InvoiceModel.status == invoices.OPEN, on_fail=on_fail)
    notifications.enqueue(uow, invoice.owner_id, "invoice_paid", {
        "invoice_id": invoice.id, "number": invoice.number,
        "amount": {"amount": int(invoice.amount), "currency": invoice.currency}, "paid_at": paid_at})


def _money(transfer: IncomingTransfer) -> Money:
    return Money(transfer.amount_minor, transfer.currency)


def _count(payment: PaymentModel) -> None:
    if payment.status == CREDITED:
        metrics.add_metric(name="InvoicePaid", unit="Count", value=1)
    else:
        metrics.add_metric(name="PaymentUnmatched", unit="Count", value=1)
        logger.info("bank transfer parked as unmatched", extra={"payment_id": payment.id, "reason": payment.reason})


# Operators -----------------------------------------------------------------------------------

def list_unmatched(principal: Principal, limit: int, cursor: str | None) -> dict:
    principal.require_operator()
    return page(lambda **kw: PaymentModel.by_queue.query(QUEUE, **kw), limit, cursor, views.payment)


def get_payment(principal: Principal, payment_id: str) -> dict:
    principal.require_operator()
    return views.payment(_load(payment_id))


def apply_to_invoice(principal: Principal, payment_id: str, invoice_id: str) -> tuple[int, dict]:
    """Credit an unmatched payment to an invoice whose amount and currency it matches exactly."""
    principal.require_operator()
    payment = _load_unmatched(payment_id)
    invoice = invoices.load(invoice_id)
    if invoice.status != invoices.OPEN:
        raise Conflict("invoice_not_open", "The invoice is already paid")
    if invoice.currency != payment.currency:
        raise Unprocessable("currency_mismatch", "The payment's currency differs from the invoice's",
                            field="invoice_id")
    if int(invoice.amount) != int(payment.amount):
        raise Unprocessable("amount_mismatch", "The payment's amount differs from the invoice's", field="invoice_id")
    uow = UnitOfWork()
    _resolve(uow, principal, payment, APPLIED, invoice_id=invoice.id)
    _mark_paid(uow, invoice, payment.id, on_fail=Conflict("invoice_not_open", "The invoice is already paid"))
    money = Money(int(payment.amount), payment.currency)
    ledger.record(uow, ledger.apply_unmatched(f"{payment.id}:applied", invoice.owner_id, money, ref=invoice.id))
    status, body = idempotency.commit(uow, 200, views.payment(payment))
    metrics.add_metric(name="InvoicePaid", unit="Count", value=1)
    return status, body


def mark_for_return(principal: Principal, payment_id: str) -> tuple[int, dict]:
    """Send an unmatched payment back to the payer: its money leaves for the outside world."""
    principal.require_operator()
    payment = _load_unmatched(payment_id)
    uow = UnitOfWork()
    _resolve(uow, principal, payment, RETURNED)
    if _holdable(int(payment.amount), payment.currency):
        money = Money(int(payment.amount), payment.currency)
        ledger.record(uow, ledger.return_unmatched(f"{payment.id}:returned", money, ref=payment.id))
    return idempotency.commit(uow, 200, views.payment(payment))


def _resolve(uow: UnitOfWork, principal: Principal, payment: PaymentModel, status: str,
             invoice_id: str | None = None) -> None:
    resolved_at = clock.iso(clock.now())
    actions = [PaymentModel.status.set(status), PaymentModel.queue.remove(),
               PaymentModel.resolved_by.set(principal.user_id), PaymentModel.resolved_at.set(resolved_at)]
    if invoice_id:
        actions.append(PaymentModel.invoice_id.set(invoice_id))
    uow.update(payment, actions, condition=PaymentModel.status == UNMATCHED,
               on_fail=Conflict("payment_not_unmatched", "The payment was already resolved"))
    payment.status, payment.queue = status, None
    payment.resolved_by, payment.resolved_at = principal.user_id, resolved_at
    payment.invoice_id = invoice_id or payment.invoice_id


def _load(payment_id: str) -> PaymentModel:
    return lookup.load(PaymentModel, payment_id, what="payment")


def _load_unmatched(payment_id: str) -> PaymentModel:
    payment = _load(payment_id)
    if payment.status != UNMATCHED:
        raise Conflict("payment_not_unmatched", f"The payment is already {payment.status}")
    return payment

"""The bank's side: signed webhooks for incoming transfers, and operators resolving the
transfers that could not be matched to an invoice.

One matcher serves every kind of invoice a transfer may pay (`KINDS`): a top-up's proforma invoice
(`PI-2026-000123`, credited to the client's balance) and a site's service invoice (`HOR-11111-007`,
the platform's revenue). The number's pattern says the kind, read the way people type it: in any case,
with any Unicode hyphen, dash or minus sign (U+2010–U+2015, U+2212, U+00AD) and stray spaces around
the dashes (`hor – 11111 – 007`); amounts are never rounded. A transfer is credited only when its
purpose quotes exactly one known open invoice number and amount and currency match exactly; the
kind then writes what paying it means, in the payment's transaction. Anything else is parked as an
unmatched payment (its money in the suspense account) with the reason, for an operator to apply to
an invoice of either kind or return. A transfer the ledger cannot hold (a currency we keep no
balances in, or an amount beyond the currency's bound) is parked without moving money: its item is
the record an operator acts on. One bank `event_id` is one payment item, written with
`attribute_not_exists`, so a redelivered event changes nothing. A transfer for a site's invoice paid
already is parked too, and the owner is told it will be returned; an operator's return sends bank money
back through the bank's payout API to the account it came from (card money, through the acquirer).
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pynamodb.expressions.condition import Condition

from chalicelib.access.auth import Principal
from chalicelib.money import ledger
from chalicelib.money.amounts import SUPPORTED_CURRENCIES, Money, precision, within_bounds
from chalicelib.notify import outbox
from chalicelib.platform import clock, ids
from chalicelib.platform.errors import Conflict, DomainError, NotFound, Retryable, Unprocessable
from chalicelib.platform.observability import logger, metrics
from chalicelib.services import idempotency, invoices, service_invoices, views
from chalicelib.services.pagination import page
from chalicelib.store import audit_log, lookup
from chalicelib.store.models import InvoiceModel, PaymentModel, ServiceInvoiceModel, open_due_keys
from chalicelib.store.uow import UnitOfWork, run_with_retries

CREDITED, UNMATCHED, APPLIED, RETURNED = "credited", "unmatched", "applied", "returned"
QUEUE = "unmatched"
BANK, SUSPENSE = "bank", "suspense"  # where the money paying an invoice comes from


@dataclass(frozen=True)
class InvoiceKind:
    """What the matcher needs of a kind of invoice. Its items have id, owner_id, number, amount,
    currency and status (`open` is the one payable status)."""

    pattern: str  # the number's regular expression
    prefix: str  # its ids' type prefix (`inv`, `sin`), for operators applying a payment by id
    find: Callable[[str], Any]  # number → the invoice, or None
    load: Callable[[str], Any]  # id → the invoice (404 if unknown)
    # (uow, invoice, payment id, BANK | SUSPENSE, the error if it stopped being open; amount=what came, default
    # the due): pay it (or a part of it), move the money
    pay: Callable[..., None]
    due: Callable[[Any], int]  # the invoice → what it still asks for (its amount less what was paid of it)
    subject: Callable[[Any], str]  # the invoice → whose audit trail an operator's inexact application goes in


KINDS = (
    InvoiceKind(invoices.NUMBER_PATTERN, "inv", invoices.find_by_number, invoices.load, invoices.pay, invoices.due,
                lambda invoice: f"user#{invoice.owner_id}"),
    InvoiceKind(service_invoices.NUMBER_PATTERN, "sin", service_invoices.find_by_number, service_invoices.load,
                service_invoices.pay, service_invoices.due,
                lambda invoice: audit_log.site_subject(invoice.site_id)),
)
_NUMBERS = [(re.compile(rf"(?<![A-Z0-9-]){kind.pattern}(?![0-9])"), kind) for kind in KINDS]
_DASHES = re.compile("[\u2010-\u2015\u2212\u00ad]")
_SPACED_DASH = re.compile(r"(?<=[A-Z0-9])\s*-\s*(?=[0-9])")


def as_typed(purpose: str) -> str:
    """A transfer's purpose with its invoice numbers as we write them: upper case, every hyphen, dash or minus
    an ASCII hyphen, no spaces around a dash between a number's parts."""
    return _SPACED_DASH.sub("-", _DASHES.sub("-", purpose.upper()))


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
        return run_with_retries(lambda: _again_if_moved(lambda: _receive(transfer, payment_id)))
    except _DuplicateEvent:
        existing = PaymentModel.get(payment_id, consistent_read=True)
        return {"received": True, "duplicate": True, "payment": views.payment(existing)}


def _receive(transfer: IncomingTransfer, payment_id: str, *, invoice_taken: bool = False) -> dict:
    kind, invoice, reason = _match(transfer, invoice_taken)
    paid_twice = _paid_already(transfer, reason)
    payment = PaymentModel(
        payment_id, event_id=transfer.event_id, amount=transfer.amount_minor, currency=transfer.currency,
        purpose=transfer.purpose, payer=transfer.payer, received_at=transfer.received_at,
        status=CREDITED if invoice else UNMATCHED, reason=reason,
        invoice_id=invoice.id if invoice else (paid_twice.id if paid_twice is not None else None),
        queue=None if invoice else QUEUE,
    )
    uow = UnitOfWork()
    uow.put(payment, condition=PaymentModel.id.does_not_exist(), on_fail=_DuplicateEvent())
    if invoice is not None:
        kind.pay(uow, invoice, payment_id, BANK, _InvoiceTaken())
    else:
        if _holdable(transfer.amount_minor, transfer.currency):
            ledger.record(uow, ledger.park_unmatched(payment_id, _money(transfer), ref=payment_id))
        outbox.enqueue(uow, outbox.OPERATORS, "payment_unmatched", {
            "payment_id": payment_id, "purpose": transfer.purpose, "reason": reason,
            "amount": {"amount": transfer.amount_minor, "currency": transfer.currency}})
        if paid_twice is not None:  # the owner learns it goes back (an operator's return sends it)
            outbox.enqueue(uow, paid_twice.owner_id, "transfer_to_be_returned", {
                "site_id": paid_twice.site_id, "invoice_id": paid_twice.id, "number": paid_twice.number,
                "amount": {"amount": transfer.amount_minor, "currency": transfer.currency}, "payment_id": payment_id})
    try:
        uow.commit()
    except _InvoiceTaken:
        return _receive(transfer, payment_id, invoice_taken=True)
    _count(payment)
    return {"received": True, "duplicate": False, "payment": views.payment(payment)}


def _again_if_moved(use_case: Callable[[], dict]) -> dict:
    """A site's subscription that moved between our read and our commit (a timer, a card payment) is a
    race to run again, not a refusal: a transfer is always received."""
    try:
        return use_case()
    except Conflict as moved:
        if moved.code != "state_changed":
            raise
        raise Retryable("state_changed") from None


def _paid_already(transfer: IncomingTransfer, reason: str | None) -> Any:
    """The site's invoice a parked transfer paid a second time, if that is why it was parked."""
    if reason != "invoice_already_paid":
        return None
    numbers = _NUMBERS[1][0].findall(as_typed(transfer.purpose))
    invoice = service_invoices.find_by_number(numbers[0]) if len(numbers) == 1 else None
    return invoice if invoice is not None and invoice.status == service_invoices.PAID else None


def _holdable(amount_minor: int, currency: str) -> bool:
    """Whether the ledger can keep this money: a currency it holds, an amount within its bound."""
    return currency in SUPPORTED_CURRENCIES and within_bounds(amount_minor, currency)


def _match(transfer: IncomingTransfer, invoice_taken: bool) -> tuple[InvoiceKind, Any, str | None]:
    """(kind, invoice, None) for a transfer that pays exactly one open invoice; else (kind, None, reason)."""
    if transfer.currency in SUPPORTED_CURRENCIES and not within_bounds(transfer.amount_minor, transfer.currency):
        return KINDS[0], None, "amount_out_of_range"
    purpose = as_typed(transfer.purpose)
    found = sorted({(number, index) for index, (pattern, _) in enumerate(_NUMBERS)
                    for number in pattern.findall(purpose)})
    if not found:
        return KINDS[0], None, "no_invoice_number"
    if len(found) > 1:
        return KINDS[0], None, "several_invoice_numbers"
    number, index = found[0]
    kind = KINDS[index]
    invoice = kind.find(number)
    if invoice is None:
        return kind, None, "unknown_invoice"
    if invoice.status == service_invoices.VOID:
        return kind, None, "invoice_void"
    if invoice_taken or invoice.status != invoices.OPEN:
        return kind, None, "invoice_already_paid"
    if invoice.currency != transfer.currency:
        return kind, None, "currency_mismatch"
    if kind.due(invoice) != transfer.amount_minor:  # what is still due, after the parts paid already
        return kind, None, "amount_mismatch"
    return kind, invoice, None


def _kind_of(invoice_id: str) -> InvoiceKind:
    prefix = invoice_id.split("_", 1)[0]
    for kind in KINDS:
        if kind.prefix == prefix:
            return kind
    return KINDS[0]  # an id of no kind is unknown to the first: 404


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


def payment_subject(payment_id: str) -> str:
    return f"payment#{payment_id}"


SEARCH_LIMIT = 200  # the most payments one search of the queue shows
CANDIDATES_LIMIT = 20  # the most invoices a payment's page offers
SIMILAR = 0.75  # how alike (difflib's ratio) a word of the purpose and an invoice number must be to count


@dataclass(frozen=True)
class PaymentSearch:
    """What an operator looks for in the queue; every part optional. Dates are days (`2026-11-22`), both ends in;
    the amount is in the currency's units (`1500.00`, any currency); payer and text match anywhere, in any case."""

    amount: Decimal | None = None
    date_from: str = ""
    date_to: str = ""
    payer: str = ""
    text: str = ""


def search_unmatched(principal: Principal, search: PaymentSearch) -> list[dict]:
    """The unmatched payments that fit the search, oldest first (the queue's order), at most `SEARCH_LIMIT`."""
    principal.require_operator()
    condition: Condition | None = None
    if search.date_from and search.date_to:
        condition = PaymentModel.received_at.between(search.date_from, search.date_to + "\uffff")
    elif search.date_from:
        condition = PaymentModel.received_at >= search.date_from
    elif search.date_to:
        condition = PaymentModel.received_at <= search.date_to + "\uffff"
    payer, text = search.payer.strip().casefold(), search.text.strip().casefold()
    found = []
    for payment in PaymentModel.by_queue.query(QUEUE, condition):
        if search.amount is not None and Decimal(int(payment.amount)).scaleb(-precision(payment.currency)) \
                != search.amount:
            continue
        if payer and payer not in " ".join(str(value) for value in (payment.payer or {}).values()).casefold():
            continue
        if text and text not in payment.purpose.casefold():
            continue
        found.append(views.payment(payment))
        if len(found) >= SEARCH_LIMIT:
            break
    return found


def _words(purpose: str) -> list[str]:
    return [word for word in re.findall(r"[A-Z0-9][A-Z0-9-]{3,}", as_typed(purpose)) if any(c.isdigit() for c in word)]


def _similarity(number: str, words: list[str]) -> float:
    import difflib

    return max((difflib.SequenceMatcher(None, number, word).ratio() for word in words), default=0.0)


def invoice_id_of(principal: Principal, typed: str) -> str:
    """An invoice's id from what an operator typed: its number as people type it (found, or 404), else the id."""
    principal.require_operator()
    number = as_typed(typed.strip())
    for pattern, kind in _NUMBERS:
        if pattern.fullmatch(number):
            invoice = kind.find(number)
            if invoice is None:
                raise NotFound("not_found", "No such invoice")
            return str(invoice.id)
    return typed.strip()


def invoice_state(principal: Principal, invoice_id: str) -> dict:
    """An invoice of either kind as it is now: number, status and what it still asks."""
    principal.require_operator()
    kind = _kind_of(invoice_id)
    invoice = kind.load(invoice_id)
    return {"id": invoice.id, "number": invoice.number, "status": invoice.status, "amount": int(invoice.amount),
            "amount_due": kind.due(invoice), "currency": invoice.currency}


def candidates(principal: Principal, payment_id: str) -> list[dict]:
    """The open invoices (top-ups' and sites') an operator would consider for a payment: those in its currency
    that still ask for exactly its amount, or whose number looks like a word of its purpose (a typo, a missing
    part); the likeliest first, at most `CANDIDATES_LIMIT`. Each says its kind, what it still asks and why it
    is offered.

    Read by key, never by a scan: each number the purpose quotes, by its claim (`invoice#<number>`, the
    matcher's lookup); a site invoice's number with a typo in its sequence, among that site's invoices (its
    service code's claim, then the site's invoices); and the open invoices asking for exactly the amount, on
    the sparse `by_open_due` indexes (a Query per shard of `<currency>#<amount>`)."""
    principal.require_operator()
    payment = _load(payment_id)
    words, amount = _words(payment.purpose), int(payment.amount)
    offered: dict[str, tuple[str, Any]] = {}
    for kind_name, invoice in _quoted(as_typed(payment.purpose)):
        offered.setdefault(invoice.id, (kind_name, invoice))
    for model, kind_name in ((InvoiceModel, "topup"), (ServiceInvoiceModel, "site")):
        for key in open_due_keys(payment.currency, amount):
            for invoice in model.by_open_due.query(key):
                offered.setdefault(invoice.id, (kind_name, invoice))
    found = []
    for kind_name, invoice in offered.values():
        if invoice.status != invoices.OPEN or invoice.currency != payment.currency:
            continue
        if kind_name == "topup" and invoice.kind is not None:  # a card top-up is paid on the acquirer's page
            continue
        due = invoices.due if kind_name == "topup" else service_invoices.due
        rest, likeness = due(invoice), _similarity(invoice.number, words)
        if rest != amount and likeness < SIMILAR:
            continue
        found.append({"id": invoice.id, "number": invoice.number, "kind": kind_name, "owner_id": invoice.owner_id,
                      "site_id": getattr(invoice, "site_id", None), "amount": int(invoice.amount),
                      "amount_due": rest, "currency": invoice.currency, "same_amount": rest == amount,
                      "similar_number": likeness >= SIMILAR, "likeness": round(likeness, 2)})
    found.sort(key=lambda c: (not c["similar_number"], not c["same_amount"], -c["likeness"], c["number"]))
    return found[:CANDIDATES_LIMIT]


_SITE_NUMBER_PART = re.compile(r"(?<![A-Z0-9])[A-Z]{2,10}-(\d{5,})-\d+")


def _quoted(purpose: str) -> list[tuple[str, Any]]:
    """The invoices a purpose (as typed) names: each number it quotes, found by its claim; and for a site
    invoice's number whose sequence part is off, the open invoices of the site its service code names."""
    from chalicelib.services import sites

    found: list[tuple[str, Any]] = []
    for (pattern, kind), kind_name in zip(_NUMBERS, ("topup", "site"), strict=True):
        for number in dict.fromkeys(pattern.findall(purpose)):
            invoice = kind.find(number)
            if invoice is not None:
                found.append((kind_name, invoice))
    for code in dict.fromkeys(_SITE_NUMBER_PART.findall(purpose)):
        site_id = sites.site_of_service_code(code)
        if site_id is not None:
            found += [("site", invoice) for invoice in ServiceInvoiceModel.by_site.query(
                site_id, filter_condition=ServiceInvoiceModel.status == service_invoices.OPEN)]
    return found


def apply_to_invoice(principal: Principal, payment_id: str, invoice_id: str,
                     reason: str | None = None) -> tuple[int, dict]:
    """Credit an unmatched payment to an invoice (a top-up's or a site's). A payment of exactly what the
    invoice still asks for pays it. One of another amount is applied only with the operator's `reason`
    (audited): less than due pays a part and leaves the invoice open for the rest; more pays it and the
    surplus is the site's credit (a top-up's surplus is the client's balance, like the rest of it)."""
    principal.require_operator()
    payment = _load_unmatched(payment_id)
    kind = _kind_of(invoice_id)
    invoice = kind.load(invoice_id)
    if invoice.status != invoices.OPEN:
        raise Conflict("invoice_not_open", f"The invoice is {invoice.status}, not open")
    if invoice.currency != payment.currency:
        raise Unprocessable("currency_mismatch", "The payment's currency differs from the invoice's",
                            field="invoice_id")
    if int(payment.amount) <= 0 or not _holdable(int(payment.amount), payment.currency):
        raise Unprocessable("invalid_amount", "The payment's amount cannot be applied to an invoice",
                            field="payment_id")
    rest = kind.due(invoice)
    exact = int(payment.amount) == rest
    if not exact and reason is None:
        raise Unprocessable("amount_mismatch", f"The payment's amount differs from what the invoice still asks "
                            f"({rest}); give a reason to apply it anyway", field="invoice_id")
    uow = UnitOfWork()
    _resolve(uow, principal, payment, APPLIED, invoice_id=invoice.id)
    kind.pay(uow, invoice, payment.id, SUSPENSE, Conflict("invoice_not_open", "The invoice is already paid"),
             amount=int(payment.amount))
    if reason is not None:
        paid = min(int(payment.amount), rest)
        audit_log.record(uow, subject=kind.subject(invoice), actor_id=principal.user_id, action="apply_payment",
                         reason=reason,
                         before={"invoice": invoice.number, "status": invoices.OPEN, "amount_due": rest},
                         after={"invoice": invoice.number, "payment_id": payment.id,
                                "applied": int(payment.amount), "amount_due": rest - paid,
                                "status": invoices.OPEN if paid < rest else invoices.PAID,
                                "credit": int(payment.amount) - paid})
    status, body = idempotency.commit(uow, 200, views.payment(payment))
    metrics.add_metric(name="InvoicePaid" if int(payment.amount) >= rest else "InvoicePartPaid", unit="Count",
                       value=1)
    return status, body


def mark_for_return(principal: Principal, payment_id: str, reason: str | None = None) -> tuple[int, dict]:
    """Send an unmatched payment back to the payer. A bank transfer's money leaves through the bank; card
    money parked by the acquirer's webhook goes back to the acquirer, which is asked to refund the card
    once the return is booked (the payment is resolved first, so it can never be both applied and
    refunded). If the acquirer does not take the refund, asking to return the payment again asks again:
    a refund is the payment's own, so the acquirer makes it once. A `reason` (the console asks for one) goes
    into the audit trail with the return (`payment#<id>`)."""
    principal.require_operator()
    payment = _load(payment_id)
    if payment.status == RETURNED and payment.acquirer_payment_id:
        _refund_card(payment)  # a repeated return of card money: only the acquirer is asked again
        return 200, views.payment(payment)
    _require_unmatched(payment)
    uow = UnitOfWork()
    _resolve(uow, principal, payment, RETURNED)
    if reason is not None:
        audit_log.record(uow, subject=payment_subject(payment.id), actor_id=principal.user_id,
                         action="return_payment", reason=reason, before={"status": UNMATCHED},
                         after={"status": RETURNED, "amount": int(payment.amount), "currency": payment.currency})
    if _holdable(int(payment.amount), payment.currency):
        money = Money(int(payment.amount), payment.currency)
        move = ledger.return_card_payment if payment.acquirer_payment_id else ledger.return_unmatched
        ledger.record(uow, move(f"{payment.id}:returned", money, ref=payment.id))
    answer = idempotency.commit(uow, 200, views.payment(payment))
    if payment.acquirer_payment_id:
        _refund_card(payment)
    else:
        _return_transfer(payment)
    return answer


def _return_transfer(payment: PaymentModel) -> None:
    """Send a returned bank transfer back through the bank's payout API, to the account it came from (the
    payout id is derived from the payment, so asking twice is paid once)."""
    send_back(("return", payment.id), Money(int(payment.amount), payment.currency),
              str((payment.payer or {}).get("iban") or ""), payment.id)


def send_back(key: tuple[str, ...], money: Money, iban: str, what: str) -> None:
    """Bank money going back to the account it came from, through the bank's payout API (the payout id is
    derived from `key`, so asking twice is paid once). A refusal is logged and counted, never raised: the
    books moved already, and an operator sends it by hand (the metric alarms)."""
    from chalicelib.adapters import payout_bank
    from chalicelib.store.models import PayoutModel

    if not iban:
        logger.warning("money to send back names no account; the bank is not asked", extra={"ref": what})
        return
    payout = PayoutModel(ids.derived_id("po", *key), owner_id=outbox.OPERATORS, amount=money.amount_minor,
                         currency=money.currency, method="iban", destination=iban, status="pending",
                         created_at=clock.iso(clock.now()))
    try:
        payout_bank.get_bank().request_payout(payout)
    except OSError:  # the bank did not answer: an operator sends it by hand (the metric alarms)
        logger.warning("transfer return not taken by the bank", extra={"ref": what})
        metrics.add_metric(name="TransferReturnNotTaken", unit="Count", value=1)


def _refund_card(payment: PaymentModel) -> None:
    """Ask the acquirer to refund parked card money to the card it came from."""
    from chalicelib.adapters import acquirer

    try:
        acquirer.get_acquirer().refund(str(payment.acquirer_payment_id), Money(int(payment.amount), payment.currency))
    except DomainError:  # the acquirer did not answer
        logger.warning("card refund not taken; return the payment again to ask again",
                       extra={"payment_id": payment.id, "acquirer_payment_id": payment.acquirer_payment_id})
        metrics.add_metric(name="CardRefundNotTaken", unit="Count", value=1)


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
    return _require_unmatched(_load(payment_id))


def _require_unmatched(payment: PaymentModel) -> PaymentModel:
    if payment.status != UNMATCHED:
        raise Conflict("payment_not_unmatched", f"The payment is already {payment.status}")
    return payment

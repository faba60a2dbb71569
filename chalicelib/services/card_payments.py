"""Sites paying by card (seed 003): payment links valid PAYMENT_LINK_MINUTES, the page that saves
a card (paying the oldest open invoice, or a 1.00 UAH verification refunded at once), and the acquirer's
signed webhooks that settle them. Charges of the saved card are started by the subscription process
(`processes/subscription.py`); their outcomes come here like every other card payment.

Each webhook `event_id` is claimed (`acqevent#<id>` in keys) in the transaction that applies it, so a
redelivered event changes nothing; a payment's item changes only from `pending` (or `failed`, or
`refund_pending`), so one payment's outcome is applied once whatever its events. A succeeded payment for
an invoice still open pays it, however late: an expired link the acquirer still confirmed, or a charge
confirmed after it was declined (the invoice's pending retries go with it). One for an invoice paid
meanwhile (a link and an auto-charge crossing, two card pages, a card and a transfer racing) is a
duplicate: refunded through the acquirer at once, the owner told, its money in the card clearing account
until the acquirer confirms the refund (the site's `resend_refund` asks again until then). A success for a
payment we never asked for is parked for operators like an unmatched bank transfer, its money in the
suspense account, once per acquirer payment whatever event ids it comes under. A verification's 1.00 UAH
sits in the card clearing account until its refund is confirmed, so the books net it to zero.

A client's card top-up (purpose `topup`) comes through the same webhook; its success is applied by
`services/topups.py` (the balance credited, the action it was for fired), its decline and its duplicate's
refund here like any other payment's. With no site deal to keep its timer, a top-up's awaited refund sits in the
card payments' sparse `by_refund` index, and the `resend_card_refunds` job asks it again every REFUND_RESEND until
the acquirer confirms it.

A charge or a refund the acquirer refuses (4xx) is an outcome, not a pause: a refused charge is a
decline (`charge_refused`: the owner gets a payment link, the retries go on), a refused refund leaves
the money parked for an operator (`refund_refused`, reason `refund_refused`).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from pynamodb.exceptions import PynamoDBException, UpdateError

from chalicelib import engine
from chalicelib.access.auth import Principal
from chalicelib.adapters import acquirer
from chalicelib.money import ledger, tariffs
from chalicelib.money.amounts import SUPPORTED_CURRENCIES, Money, within_bounds
from chalicelib.notify import outbox
from chalicelib.platform import clock, ids
from chalicelib.platform.config import settings
from chalicelib.platform.errors import Conflict, DomainError, Retryable, UpstreamRefused
from chalicelib.platform.observability import logger, metrics
from chalicelib.processes import Context
from chalicelib.processes.site_deal import CHARGE_RESEND
from chalicelib.processes.site_deal import OPEN as SUBSCRIBED
from chalicelib.processes.subscription import PROCESS
from chalicelib.services import bank, deals, idempotency, service_invoices, sites
from chalicelib.services.pagination import page
from chalicelib.store.models import CardPaymentModel, DealModel, KeyModel, PaymentModel, ServiceInvoiceModel
from chalicelib.store.uow import UnitOfWork, run_with_retries

LINK, PAY_INVOICE, VERIFY, AUTOPAY, TOPUP = "link", "pay_invoice", "verify", "autopay", "topup"
PENDING, SUCCEEDED, FAILED, REFUND_PENDING, REFUNDED = "pending", "succeeded", "failed", "refund_pending", "refunded"
REFUNDS_AWAITED = "awaited"  # a client's card payment's `refund_queue` while its refund is not confirmed
REFUND_RESEND = CHARGE_RESEND  # a client's refund unconfirmed this long is asked again, as a site's is
APPLIED, VERIFIED, PARKED, DECLINED, DUPLICATE = "applied", "verified", "parked", "declined", "duplicate"
VERIFICATION = Money(100, tariffs.CURRENCY)  # 1.00 UAH


@dataclass(frozen=True)
class AcquirerEvent:
    event_id: str
    type: str  # payment.succeeded | payment.failed | refund.succeeded
    payment_id: str
    amount_minor: int
    currency: str
    card: dict | None  # {mask, holder, token}, on payments only
    acquirer_id: str | None = None  # the acquirer's own id of the payment (Monobank's invoiceId)


class _Duplicate(Exception):
    pass


class Raced(Exception):
    """The payment or the invoice changed between our read and our commit."""


# --- links and the card page ---------------------------------------------------------------------------------------

def _payable(principal: Principal, site_id: str) -> DealModel:
    deal = sites.owned(principal, site_id)
    if (deal.data or {}).get("autopay_stopped"):
        raise Conflict("autopay_stopped", "Card payments were stopped by support: pay the invoice by bank transfer")
    return deal


def _link(payment: CardPaymentModel) -> dict:
    return {"payment_id": payment.id, "url": payment.url, "expires_at": payment.expires_at}


def payment_link(principal: Principal, site_id: str, invoice_id: str) -> tuple[int, dict]:
    """The invoice's live payment link: the same one until it expires, then a new one."""
    _payable(principal, site_id)
    return run_with_retries(lambda: _live_link(service_invoices.of_site(site_id, invoice_id)))


def _live_link(invoice: ServiceInvoiceModel) -> tuple[int, dict]:
    if invoice.status != service_invoices.OPEN:
        raise Conflict("invoice_not_open", f"The invoice is {invoice.status}")
    now = clock.now()
    link = invoice.link
    if link and clock.parse_iso(link["expires_at"]) > now:
        return 200, {key: link[key] for key in ("payment_id", "url", "expires_at")}
    seq = int(link["seq"]) + 1 if link else 1
    # "Pay online" starts the subscription: the card paying the invoice is saved for auto-pay unless the owner
    # unticks "save this card" on the acquirer's page
    payment = _ask(ids.derived_id("cpy", invoice.id, "link", str(seq)), invoice.site_id, invoice.owner_id, LINK,
                   invoice.id, Money(service_invoices.due(invoice), invoice.currency), invoice.number, save_card=True)
    uow = UnitOfWork()
    uow.put(payment, condition=CardPaymentModel.id.does_not_exist(), on_fail=Retryable("link_race"))
    previous = ServiceInvoiceModel.link == link if link else ServiceInvoiceModel.link.does_not_exist()
    uow.update(invoice, [ServiceInvoiceModel.link.set({**_link(payment), "seq": seq})],
               condition=previous & (ServiceInvoiceModel.status == service_invoices.OPEN),
               on_fail=Retryable("link_race"))
    return idempotency.commit(uow, 200, _link(payment))


def fresh_link(invoice_id: str) -> str:
    """A live payment link's address for a notification (a declined charge)."""
    try:
        return str(run_with_retries(lambda: _live_link(service_invoices.load(invoice_id)))[1]["url"])
    except DomainError:
        return ""


def payment_method(principal: Principal, site_id: str) -> tuple[int, dict]:
    """The page that saves a card. Adding one pays the oldest open invoice with it, or charges 1.00 UAH to verify
    it (refunded as soon as the acquirer confirms it); changing the saved card is always the verification."""
    deal = _payable(principal, site_id)
    changing = bool((deal.data or {}).get("card_token"))
    still_open = [] if changing else service_invoices.open_invoices(deal)
    if still_open:
        invoice_id = still_open[0].id
        purpose, money, what = PAY_INVOICE, Money(service_invoices.due(still_open[0]), tariffs.CURRENCY), \
            still_open[0].number
    else:
        invoice_id, purpose, money = None, VERIFY, VERIFICATION
        what = f"Card verification, {deal.title}"
    payment = _ask(ids.new_id("cpy"), site_id, deal.client_id, purpose, invoice_id, money, what, save_card=True)
    uow = UnitOfWork()
    uow.put(payment, condition=CardPaymentModel.id.does_not_exist())
    return idempotency.commit(uow, 200, {**_link(payment), "purpose": purpose})


def _ask(payment_id: str, site_id: str, owner_id: str, purpose: str, invoice_id: str | None, money: Money,
         description: str, *, save_card: bool) -> CardPaymentModel:
    """Ask the acquirer for a payment page (the same id asked twice is the same page) and make its item."""
    validity = settings.payment_link_minutes * 60
    now = clock.now()
    page = acquirer.get_acquirer().create_payment(payment_id, money, description, validity, save_card)
    return CardPaymentModel(payment_id, site_id=site_id, owner_id=owner_id, purpose=purpose, invoice_id=invoice_id,
                            amount=money.amount_minor, currency=money.currency, status=PENDING, save_card=save_card,
                            url=page.url, acquirer_id=page.acquirer_id,
                            expires_at=clock.iso(now + timedelta(seconds=validity)), created_at=clock.iso(now))


# --- the acquirer's webhook ----------------------------------------------------------------------------------------

def receive(event: AcquirerEvent) -> dict:
    """Apply one webhook event once; a valid event is always received (200)."""
    try:
        answer, after = run_with_retries(lambda: _moved_is_a_race(lambda: _apply(event)))
    except _Duplicate:
        return {"received": True, "duplicate": True}
    if after is not None:
        after()
    return answer


def _moved_is_a_race(use_case: Callable[[], tuple[dict, Callable[[], None] | None]]):
    try:
        return use_case()
    except Raced:
        raise Retryable("card_payment_race") from None
    except Conflict as moved:
        if moved.code != "state_changed":
            raise
        raise Retryable("state_changed") from None


def _claimed(event: AcquirerEvent) -> UnitOfWork:
    """A unit of work that claims the event: committed once, whatever else it writes."""
    uow = UnitOfWork()
    uow.put(KeyModel(f"acqevent#{event.event_id}", target_id=event.payment_id),
            condition=KeyModel.key.does_not_exist(), on_fail=_Duplicate(), first=True)
    return uow


def _apply(event: AcquirerEvent) -> tuple[dict, Callable[[], None] | None]:
    uow = _claimed(event)
    try:
        payment = CardPaymentModel.get(event.payment_id, consistent_read=True)
    except CardPaymentModel.DoesNotExist:
        payment = None
    after = None
    if payment is not None and payment.purpose == TOPUP and event.type == acquirer.SUCCEEDED and _holdable(event):
        from chalicelib.services import topups  # top-ups fire the actions of other services, which use this one

        outcome, after = topups.paid(lambda: _claimed(event), payment, event)
        return _applied(event, outcome), after
    if not _holdable(event):  # money the ledger cannot keep: a record for operators, nothing moved
        outcome = _park_unknown(uow, event, payment, "unsupported_currency") \
            if event.type == acquirer.SUCCEEDED else "ignored"
    elif payment is None:
        outcome = _park_unknown(uow, event, None, "unknown_payment") if event.type == acquirer.SUCCEEDED \
            else "ignored"
    elif event.type == acquirer.SUCCEEDED:
        outcome, after = _succeeded(uow, payment, event)
    elif event.type == acquirer.FAILED:
        outcome = _failed(uow, payment, event)
    elif event.type == acquirer.REFUNDED:
        outcome = _refunded(uow, payment, event)
    else:
        outcome = "ignored"
    uow.commit()
    return _applied(event, outcome), after


def _applied(event: AcquirerEvent, outcome: str) -> dict:
    metrics.add_metric(name="CardPaymentEvent", unit="Count", value=1)
    logger.info("acquirer event applied", extra={"event_id": event.event_id, "payment_id": event.payment_id,
                                                 "type": event.type, "outcome": outcome})
    return {"received": True, "duplicate": False, "ignored": outcome == "ignored", "outcome": outcome}


def settle(uow: UnitOfWork, payment: CardPaymentModel, status: str, outcome: str,
           expected: str = PENDING, card_mask: str | None = None, acquirer_id: str | None = None) -> None:
    """The payment's outcome, from `expected`. A client's payment whose refund is now asked for is queued for
    `resend_refunds` until the acquirer confirms it; leaving `refund_pending` takes it off the queue."""
    now = clock.iso(clock.now())
    actions = [CardPaymentModel.status.set(status), CardPaymentModel.outcome.set(outcome),
               CardPaymentModel.settled_at.set(now)]
    if status == REFUND_PENDING and payment.purpose == TOPUP:
        actions += [CardPaymentModel.refund_queue.set(REFUNDS_AWAITED), CardPaymentModel.refund_asked_at.set(now)]
    elif expected == REFUND_PENDING and payment.purpose == TOPUP:
        actions += [CardPaymentModel.refund_queue.remove(), CardPaymentModel.refund_asked_at.remove()]
    if card_mask:
        actions.append(CardPaymentModel.card_mask.set(card_mask))
    if acquirer_id and not payment.acquirer_id:
        actions.append(CardPaymentModel.acquirer_id.set(acquirer_id))
        payment.acquirer_id = acquirer_id
    uow.update(payment, actions, condition=CardPaymentModel.status == expected, on_fail=Raced())


def _succeeded(uow: UnitOfWork, payment: CardPaymentModel,
               event: AcquirerEvent) -> tuple[str, Callable[[], None] | None]:
    money = Money(event.amount_minor, event.currency)
    if payment.status not in (PENDING, FAILED):
        return "ignored", None  # this payment's outcome is applied already
    was = str(payment.status)  # a success after a decline (the bank changed its mind) is a success
    card = event.card if payment.save_card and event.card and event.card.get("token") else None
    mask = (event.card or {}).get("mask")
    if money != Money(int(payment.amount), payment.currency):
        settle(uow, payment, SUCCEEDED, PARKED, expected=was, card_mask=mask, acquirer_id=event.acquirer_id)
        park(uow, event, payment, "amount_mismatch")
        return PARKED, None
    if payment.purpose == VERIFY:
        settle(uow, payment, REFUND_PENDING, VERIFIED, expected=was, card_mask=mask, acquirer_id=event.acquirer_id)
        ledger.record(uow, ledger.card_verification(f"{payment.id}:verified", money, ref=payment.id))
        _fire(uow, payment.site_id, "save_card", {"card": card, "payment_id": payment.id,
                                                   "refund": money.amount_minor, "acquirer_id": payment.acquirer_id})
        return VERIFIED, lambda: refund(payment, money)
    invoice = service_invoices.load(str(payment.invoice_id))
    if invoice.status != service_invoices.OPEN:  # paid (or void) meanwhile: the money goes back by itself
        settle(uow, payment, REFUND_PENDING, DUPLICATE, expected=was, card_mask=mask, acquirer_id=event.acquirer_id)
        ledger.record(uow, ledger.card_duplicate(f"{payment.id}:duplicate", money, ref=payment.id))
        _fire(uow, payment.site_id, "save_card", {"card": card, "payment_id": payment.id,
                                                   "refund": money.amount_minor, "acquirer_id": payment.acquirer_id})
        outbox.enqueue(uow, payment.owner_id, "card_payment_refunded", {
            "site_id": payment.site_id, "invoice_id": invoice.id, "number": invoice.number,
            "amount": money.to_json(), "card_mask": mask or payment.card_mask or "",
            "reason": "invoice_void" if invoice.status == service_invoices.VOID else "invoice_already_paid"})
        return DUPLICATE, lambda: refund(payment, money)
    settle(uow, payment, SUCCEEDED, APPLIED, expected=was, card_mask=mask, acquirer_id=event.acquirer_id)
    paid_by = service_invoices.LINK if payment.purpose == LINK else service_invoices.CARD
    service_invoices.pay(uow, invoice, payment.id, service_invoices.CARD_SOURCE, Raced(),
                         amount=money.amount_minor, paid_by=paid_by, card=card,
                         notify="card_charge_succeeded" if payment.purpose == AUTOPAY else "service_invoice_paid")
    return APPLIED, None


def _failed(uow: UnitOfWork, payment: CardPaymentModel, event: AcquirerEvent) -> str:
    if payment.status != PENDING:
        return "ignored"
    settle(uow, payment, FAILED, DECLINED, card_mask=(event.card or {}).get("mask"), acquirer_id=event.acquirer_id)
    if payment.purpose == AUTOPAY:
        deal = deals.load(PROCESS, payment.site_id)
        charging = (deal.data or {}).get("charging") or {}
        if deal.status in SUBSCRIBED and charging.get("payment_id") == payment.id:
            invoice = service_invoices.load(str(payment.invoice_id))
            payload = {"payment_id": payment.id, "invoice_id": invoice.id, "number": invoice.number,
                       "amount": service_invoices.due(invoice),
                       "payment_url": fresh_link(invoice.id) if invoice.status == service_invoices.OPEN else ""}
            engine.apply(uow, PROCESS, deal, "charge_declined", Context(clock.now(), "system", payload=payload))
    return DECLINED


def _refunded(uow: UnitOfWork, payment: CardPaymentModel, event: AcquirerEvent) -> str:
    if payment.status != REFUND_PENDING:
        return "ignored"
    money = Money(int(payment.amount), payment.currency)
    settle(uow, payment, REFUNDED, str(payment.outcome), expected=REFUND_PENDING)
    if payment.purpose != TOPUP:  # a client's top-up has no site to tell
        _fire(uow, payment.site_id, "refund_confirmed", {"payment_id": payment.id})
    if payment.outcome == DUPLICATE:  # the owner was told when the refund was asked for
        ledger.record(uow, ledger.card_duplicate_refunded(f"{payment.id}:refunded", money, ref=payment.id))
        return REFUNDED
    ledger.record(uow, ledger.card_verification_refunded(f"{payment.id}:refunded", money, ref=payment.id))
    outbox.enqueue(uow, payment.owner_id, "card_verification_refunded", {
        "site_id": payment.site_id, "amount": money.to_json(), "card_mask": payment.card_mask or ""})
    return REFUNDED


def refund(payment: CardPaymentModel, money: Money) -> None:
    """After the transaction that booked it: give a verification's 1.00 UAH or a duplicate back (the
    subscription's `resend_refund`, or for a client's top-up `resend_refunds`, asks again until the acquirer
    confirms it; a refusal parks it)."""
    try:
        acquirer.get_acquirer().refund(payment.id, money, payment.acquirer_id)
    except UpstreamRefused:
        refund_refused(payment.id)
    except DomainError:
        logger.warning("card refund not taken; asked again later", extra={"payment_id": payment.id})


def resend_refunds(now: datetime) -> dict:
    """The job: a client's refund the acquirer has not confirmed within REFUND_RESEND is asked again (under the
    same payment id: never refunded twice), as a site's subscription asks its refunds again. A refusal ends as
    one when the webhook first asks: the money parked for an operator (`refund_refused`), in one transaction
    with the payment's status change, and the payment off the queue."""
    cutoff = clock.iso(now - REFUND_RESEND)
    asked = refused = 0
    for awaited in CardPaymentModel.by_refund.query(REFUNDS_AWAITED, CardPaymentModel.refund_asked_at <= cutoff):
        try:  # taken by this run: another run, or the confirmation meanwhile, leaves it
            awaited.update(actions=[CardPaymentModel.refund_asked_at.set(clock.iso(now))],
                           condition=(CardPaymentModel.status == REFUND_PENDING)
                           & (CardPaymentModel.refund_asked_at == awaited.refund_asked_at))
        except UpdateError:
            continue
        asked += 1
        try:
            acquirer.get_acquirer().refund(awaited.id, Money(int(awaited.amount), awaited.currency),
                                           awaited.acquirer_id)
        except UpstreamRefused:
            refused += 1
            refund_refused(awaited.id)
        except DomainError:
            logger.warning("card refund not taken; asked again later", extra={"payment_id": awaited.id})
    return {"asked": asked, "refused": refused}


def remember_acquirer_id(payment_id: str, acquirer_id: str | None) -> None:
    """The acquirer's own id of a charge, from its answer, kept for the refunds that name it."""
    if not acquirer_id:
        return
    try:
        CardPaymentModel(payment_id).update(actions=[CardPaymentModel.acquirer_id.set(acquirer_id)],
                                            condition=CardPaymentModel.id.exists())
    except PynamoDBException:  # the webhook brings the same id; this is only the early copy
        logger.info("acquirer id not kept from the charge's answer", extra={"payment_id": payment_id})


def charge_refused(payment_id: str) -> dict:
    """The acquirer refused a charge outright (4xx): a decline like its `payment.failed` webhook."""
    payment = CardPaymentModel.get(payment_id, consistent_read=True)
    return receive(AcquirerEvent(event_id=f"refused:{payment_id}", type=acquirer.FAILED, payment_id=payment_id,
                                 amount_minor=int(payment.amount), currency=payment.currency, card=None))


def refund_refused(payment_id: str) -> None:
    """The acquirer refused a refund outright (4xx): asking again would be refused again, so the money is
    parked for an operator (return it again, or apply it) and the site stops asking."""
    def use_case() -> tuple[dict, None]:
        payment = CardPaymentModel.get(payment_id, consistent_read=True)
        if payment.status != REFUND_PENDING:
            return {}, None
        money = Money(int(payment.amount), payment.currency)
        uow = UnitOfWork()
        settle(uow, payment, SUCCEEDED, PARKED, expected=REFUND_PENDING)
        parked = _parked_payment(payment.id, f"refused:{payment.id}", money, payment, "refund_refused", {})
        uow.put(parked, condition=PaymentModel.id.does_not_exist())
        ledger.record(uow, ledger.park_refused_refund(f"{payment.id}:refund_refused", money, ref=parked.id))
        outbox.enqueue(uow, outbox.OPERATORS, "payment_unmatched", {
            "payment_id": parked.id, "purpose": parked.purpose, "reason": "refund_refused",
            "amount": money.to_json()})
        if payment.purpose != TOPUP:  # a client's top-up has no site to tell
            _fire(uow, payment.site_id, "refund_confirmed", {"payment_id": payment.id})
        uow.commit()
        return {}, None

    run_with_retries(lambda: _moved_is_a_race(use_case))
    logger.warning("card refund refused by the acquirer; parked for operators", extra={"payment_id": payment_id})


def _fire(uow: UnitOfWork, site_id: str, transition: str, payload: dict) -> None:
    deal = deals.load(PROCESS, site_id)
    try:
        engine.apply(uow, PROCESS, deal, transition, Context(clock.now(), "system", payload=payload))
    except Conflict as refused:  # a deleted site, auto-pay stopped: the money is still applied
        logger.info("subscription left as it is", extra={"site_id": site_id, "transition": transition,
                                                         "code": refused.code})


def _holdable(event: AcquirerEvent) -> bool:
    return event.currency in SUPPORTED_CURRENCIES and within_bounds(event.amount_minor, event.currency)


def _parked_payment(card_payment_id: str, event_id: str, money: Money, payment: CardPaymentModel | None,
                    reason: str, card: dict) -> PaymentModel:
    what = f"card payment {card_payment_id}" + (f" for {payment.invoice_id}" if payment and payment.invoice_id else "")
    return PaymentModel(ids.derived_id("pay", "acquirer", card_payment_id), event_id=event_id,
                        amount=money.amount_minor, currency=money.currency, purpose=what,
                        payer={"name": card.get("holder", ""), "card_mask": card.get("mask", "")},
                        received_at=clock.iso(clock.now()), status=bank.UNMATCHED, reason=reason, queue=bank.QUEUE,
                        acquirer_payment_id=card_payment_id, invoice_id=payment.invoice_id if payment else None)


def park(uow: UnitOfWork, event: AcquirerEvent, payment: CardPaymentModel | None, reason: str) -> None:
    """Card money nothing can take is an unmatched payment for operators (apply or return it); money the
    ledger cannot keep (a currency it holds no balances in) is only the record. One acquirer payment is
    parked once, whatever event ids its success comes under."""
    parked = PaymentModel(ids.derived_id("pay", "acquirer", event.payment_id), event_id=event.event_id,
                          amount=event.amount_minor, currency=event.currency,
                          purpose=f"card payment {event.payment_id}" + (
                              f" for {payment.invoice_id}" if payment and payment.invoice_id else ""),
                          payer={"name": (event.card or {}).get("holder", ""),
                                 "card_mask": (event.card or {}).get("mask", "")},
                          received_at=clock.iso(clock.now()), status=bank.UNMATCHED, reason=reason,
                          queue=bank.QUEUE, acquirer_payment_id=event.payment_id)
    uow.put(parked, condition=PaymentModel.id.does_not_exist(), on_fail=_Duplicate())
    if _holdable(event):
        ledger.record(uow, ledger.park_card_payment(parked.id, Money(event.amount_minor, event.currency),
                                                    ref=parked.id))
    outbox.enqueue(uow, outbox.OPERATORS, "payment_unmatched", {
        "payment_id": parked.id, "purpose": parked.purpose, "reason": reason,
        "amount": {"amount": event.amount_minor, "currency": event.currency}})


def _park_unknown(uow: UnitOfWork, event: AcquirerEvent, payment: CardPaymentModel | None, reason: str) -> str:
    park(uow, event, payment, reason)
    return PARKED


# --- operators and owners ------------------------------------------------------------------------------------------

def view(payment: CardPaymentModel) -> dict:
    return {"id": payment.id, "site_id": payment.site_id, "purpose": payment.purpose, "invoice_id": payment.invoice_id,
            "amount": int(payment.amount), "currency": payment.currency, "status": payment.status,
            "outcome": payment.outcome, "card_mask": payment.card_mask, "created_at": payment.created_at,
            "expires_at": payment.expires_at, "settled_at": payment.settled_at}


def list_for_site(principal: Principal, site_id: str, limit: int, cursor: str | None) -> dict:
    """A site's card payments, newest first (its owner and operators)."""
    sites.visible(principal, site_id)
    return page(lambda **kw: CardPaymentModel.by_site.query(site_id, scan_index_forward=False, **kw), limit, cursor,
                view)


def stop_autopay(principal: Principal, site_id: str, reason: str | None = None) -> tuple[int, dict]:
    """An operator's act: the saved card is forgotten; from now on invoices are paid by bank transfer. Audited,
    with the reason if one is given."""
    principal.require_operator()
    return sites.fire_move(principal, site_id, "stop_autopay", site_changes=_card_forgotten,
                           audit=("stop_autopay", reason or "no reason given"))


def _card_forgotten(site, deal: DealModel) -> None:
    site.payment_method = None

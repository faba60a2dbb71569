"""Card top-ups of a client's balance, and paying for an action in one step (seed 004's "pay online").

`POST /v1/topups` asks the acquirer that takes cards in the currency (`CARD_ACQUIRERS`) for a payment page and
keeps the top-up in the client's documents (an invoice of kind `card_topup`, id `top_…`, numbered like the
proformas but never matched by a bank transfer). Its link lives `PAYMENT_LINK_MINUTES`; asked for again it is
the same link until then, a new one after (`payment_link`), as a site invoice's. The fee
(`CARD_TOPUP_FEE_BPS`, none by default) is charged on top of the amount, shown before paying and printed on the
receipt.

The acquirer's signed success (`services/card_payments.py` hands top-ups here) credits the balance, the fee to
revenue, in one transaction with the top-up marked paid. A decline or an expired link changes nothing (the
client asks for a new link); a success for a top-up already paid (two pages of one top-up both paid) is a
duplicate, refunded like billing's.

One step: placing an order, accepting an offer, paying an extra or funding a project's contract (choosing a
proposal escrows its first half, `fund` the rest) with too little available balance answers 402
`insufficient_funds` with the missing amount and a top-up of it that stores the action (`required`). The same
action asked again for the same missing amount gets the same top-up. Once paid, the action is fired in the
webhook's transaction with the checks it always has (the gig still active, the offer not expired, the extra
still offered...). If it can no longer happen, the money stays on the balance and the client is told why
(`topup_action_failed`).
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta

from chalicelib.access.auth import Principal
from chalicelib.adapters import acquirer
from chalicelib.money import ledger
from chalicelib.money.amounts import Money, commission, require_positive
from chalicelib.notify import outbox
from chalicelib.platform import clock, ids
from chalicelib.platform.config import settings
from chalicelib.platform.errors import Conflict, DomainError, NotFound, PaymentRequired, Retryable, Unprocessable
from chalicelib.platform.observability import logger
from chalicelib.services import card_payments, idempotency, invoices
from chalicelib.store.models import CardPaymentModel, InvoiceModel, KeyModel
from chalicelib.store.uow import UnitOfWork, run_with_retries

CARD_TOPUP = "card_topup"  # the invoice's kind
PURPOSE = "topup"  # the card payment's purpose
PLACE_ORDER, ACCEPT_OFFER, PAY_EXTRA = "place_order", "accept_offer", "pay_extra"
FUND_CONTRACT, SELECT_PROPOSAL = "fund_contract", "select_proposal"  # the rest of a contract; its first half
COMPLETED, FAILED = "completed", "failed"
# why an action could not happen, as the client is told (anything else: it is no longer possible)
REASONS = ("gig_not_active", "offer_expired", "extra_decided", "already_funded", "insufficient_funds")


def fee_for(money: Money) -> int:
    return commission(money.amount_minor, settings.card_topup_fee_bps)


def _acquirer(currency: str) -> acquirer.Acquirer:
    adapter = acquirer.for_currency(currency)
    if adapter is None:
        raise Unprocessable("card_payments_unavailable", f"Cards are not taken in {currency}; top up by bank "
                            "transfer instead (POST /v1/invoices)", field="currency")
    return adapter


# --- top-ups and their links ---------------------------------------------------------------------------------------

def create(principal: Principal, amount_minor: int, currency: str) -> tuple[int, dict]:
    """A top-up by card: its payment page, the fee on top shown before paying."""
    money = require_positive(amount_minor, currency)
    _acquirer(currency)
    topup, payment = _new(principal.user_id, money, action=None)
    uow = UnitOfWork()
    _put(uow, topup, payment)
    return idempotency.commit(uow, 201, view(topup))


def _new(owner_id: str, money: Money, action: dict | None) -> tuple[InvoiceModel, CardPaymentModel]:
    now = clock.now()
    number = invoices.next_number(clock.on_marketplace_calendar(now).year)
    topup = InvoiceModel(ids.new_id("top"), owner_id=owner_id, number=number, amount=money.amount_minor,
                         currency=money.currency, status=invoices.OPEN, created_at=clock.iso(now),
                         payment_details=f"Card top-up № {number}", kind=CARD_TOPUP, fee=fee_for(money),
                         action=action)
    payment = _ask(topup, 1)
    topup.link = {**_link(payment), "seq": 1}
    return topup, payment


def _put(uow: UnitOfWork, topup: InvoiceModel, payment: CardPaymentModel) -> None:
    uow.put(topup, condition=InvoiceModel.id.does_not_exist())
    uow.put(payment, condition=CardPaymentModel.id.does_not_exist(), on_fail=Retryable("link_race"))


def _ask(topup: InvoiceModel, seq: int) -> CardPaymentModel:
    """The acquirer's page for the top-up's `seq`-th link (the same id asked twice is the same page)."""
    charged = Money(int(topup.amount) + int(topup.fee or 0), topup.currency)
    payment_id = ids.derived_id("cpy", topup.id, "link", str(seq))
    validity = settings.payment_link_minutes * 60
    now = clock.now()
    page = _acquirer(topup.currency).create_payment(payment_id, charged, f"Top-up {topup.number}", validity,
                                                    save_card=False)
    return CardPaymentModel(payment_id, site_id=topup.owner_id, owner_id=topup.owner_id, purpose=PURPOSE,
                            invoice_id=topup.id, amount=charged.amount_minor, currency=charged.currency,
                            status=card_payments.PENDING, save_card=False, url=page.url, acquirer_id=page.acquirer_id,
                            expires_at=clock.iso(now + timedelta(seconds=validity)), created_at=clock.iso(now))


def _link(payment: CardPaymentModel) -> dict:
    return {"payment_id": payment.id, "url": payment.url, "expires_at": payment.expires_at}


def load(topup_id: str) -> InvoiceModel:
    try:
        topup = InvoiceModel.get(topup_id, consistent_read=True)
    except InvoiceModel.DoesNotExist:
        raise NotFound("not_found", "No such top-up") from None
    if topup.kind != CARD_TOPUP:
        raise NotFound("not_found", "No such top-up")
    return topup


def _visible(principal: Principal, topup_id: str) -> InvoiceModel:
    """Someone else's top-up is as unknown as a missing one (404, not 403)."""
    topup = load(topup_id)
    if topup.owner_id != principal.user_id and not principal.is_operator:
        raise NotFound("not_found", "No such top-up")
    return topup


def get(principal: Principal, topup_id: str) -> dict:
    return view(_visible(principal, topup_id))


def payment_link(principal: Principal, topup_id: str) -> tuple[int, dict]:
    """The top-up's live payment link: the same one until it expires, then a new one."""
    topup = _visible(principal, topup_id)
    if topup.owner_id != principal.user_id:
        raise NotFound("not_found", "No such top-up")
    return run_with_retries(lambda: _live_link(load(topup_id)))


def _live_link(topup: InvoiceModel, *, answer: bool = True) -> tuple[int, dict]:
    """The live link, renewed when expired; `answer=False` when it is not the request's own answer (a 402's
    top-up): then the request's idempotency record is not written with it."""
    if topup.status != invoices.OPEN:
        raise Conflict("topup_paid", "This top-up is paid already")
    link = topup.link or {}
    if link and clock.parse_iso(link["expires_at"]) > clock.now():
        return 200, {key: link[key] for key in ("payment_id", "url", "expires_at")}
    seq = int(link.get("seq", 0)) + 1
    payment = _ask(topup, seq)
    uow = UnitOfWork()
    uow.put(payment, condition=CardPaymentModel.id.does_not_exist(), on_fail=Retryable("link_race"))
    previous = InvoiceModel.link == topup.link if topup.link else InvoiceModel.link.does_not_exist()
    uow.update(topup, [InvoiceModel.link.set({**_link(payment), "seq": seq})],
               condition=previous & (InvoiceModel.status == invoices.OPEN), on_fail=Retryable("link_race"))
    topup.link = {**_link(payment), "seq": seq}
    if not answer:
        uow.commit()
        return 200, _link(payment)
    return idempotency.commit(uow, 200, _link(payment))


def view(topup: InvoiceModel) -> dict:
    link = topup.link or {}
    fee = int(topup.fee or 0)
    return {"id": topup.id, "number": topup.number, "amount": int(topup.amount), "currency": topup.currency,
            "status": "paid" if topup.status == invoices.PAID else "pending",
            "payment_url": link.get("url"), "expires_at": link.get("expires_at"),
            "fee": {"amount": fee, "currency": topup.currency},
            "total": {"amount": int(topup.amount) + fee, "currency": topup.currency},
            "action": topup.action, "action_result": topup.action_result, "created_at": topup.created_at,
            "paid_at": topup.paid_at, "receipt_url": f"/v1/invoices/{topup.id}/pdf"}


# --- one step: the 402 that carries a top-up -----------------------------------------------------------------------

def required(client_id: str, needed: Money, action: dict) -> PaymentRequired:
    """The answer to an action the balance cannot pay: what is missing, and the top-up that pays it and then
    completes the action (none when cards are not taken in the currency: a bank transfer tops up then)."""
    available = ledger.balances(client_id).get(needed.currency, (0, 0))[0]
    missing = Money(max(1, needed.amount_minor - available), needed.currency)
    topup = None
    if acquirer.for_currency(needed.currency) is not None:
        topup = run_with_retries(lambda: _for_action(client_id, missing, action))
    how = "pay the top-up by card and it completes itself" if topup else \
        "cards are not taken in this currency: top up by bank transfer (POST /v1/invoices) and try again"
    return PaymentRequired(f"Not enough {needed.currency} on the balance for this: {missing.amount_minor} minor "
                           f"units more are needed; {how}", missing=missing.to_json(), topup=topup)


def _for_action(client_id: str, missing: Money, action: dict) -> dict:
    """The pending top-up of `missing` for this action (its link renewed when expired), or a new one."""
    digest = hashlib.sha256(json.dumps(action, sort_keys=True).encode()).hexdigest()[:32]
    key = f"topupfor#{client_id}#{digest}#{missing.amount_minor}{missing.currency}"
    try:
        existing = load(KeyModel.get(key, consistent_read=True).target_id)
    except (KeyModel.DoesNotExist, NotFound):
        existing = None
    if existing is not None and existing.status == invoices.OPEN:
        link = _live_link(existing, answer=False)[1]
        return {"id": existing.id, "payment_url": link["url"], "expires_at": link["expires_at"]}
    topup, payment = _new(client_id, missing, action)
    uow = UnitOfWork()
    _put(uow, topup, payment)
    uow.put(KeyModel(key, target_id=topup.id))
    uow.commit()
    return {"id": topup.id, "payment_url": payment.url, "expires_at": payment.expires_at}


# --- the acquirer's success ----------------------------------------------------------------------------------------

def paid(claimed: Callable[[], UnitOfWork], payment: CardPaymentModel,
         event: card_payments.AcquirerEvent) -> tuple[str, Callable[[], None] | None]:
    """Apply the acquirer's success of a top-up's payment; `claimed()` is a unit of work that already claims the
    webhook's event. Commits, and returns the outcome and what to ask the acquirer after (a duplicate's refund)."""
    charged = Money(event.amount_minor, event.currency)
    mask = (event.card or {}).get("mask")
    if payment.status not in (card_payments.PENDING, card_payments.FAILED):
        claimed().commit()
        return "ignored", None  # this payment's outcome is applied already
    was = str(payment.status)  # a success after a decline (the bank changed its mind) is a success
    if charged != Money(int(payment.amount), payment.currency):
        uow = claimed()
        card_payments.settle(uow, payment, card_payments.SUCCEEDED, card_payments.PARKED, expected=was,
                             card_mask=mask, acquirer_id=event.acquirer_id)
        card_payments.park(uow, event, payment, "amount_mismatch")
        uow.commit()
        return card_payments.PARKED, None
    topup = load(str(payment.invoice_id))
    if topup.status != invoices.OPEN:
        return _duplicate(claimed(), payment, topup, charged, was, mask, event.acquirer_id)
    failure: DomainError | None = None
    if topup.action:
        uow = claimed()
        try:
            made = _fire(uow, topup)
            _credit(uow, payment, topup, was, mask, event.acquirer_id, {"status": COMPLETED, **made})
            uow.commit()
            return card_payments.APPLIED, None
        except DomainError as refused:
            if refused.code == "state_changed":
                raise  # a lost race: the whole event is applied again
            failure = refused
    uow = claimed()
    _credit(uow, payment, topup, was, mask, event.acquirer_id,
            None if failure is None else {"status": FAILED, "reason": _reason(failure)})
    if failure is not None:
        logger.info("top-up paid; its action no longer possible", extra={"topup_id": topup.id,
                                                                         "code": failure.code})
        outbox.enqueue(uow, topup.owner_id, "topup_action_failed", {
            "invoice_id": topup.id, "number": topup.number, "amount": _money(topup).to_json(),
            "action": topup.action["kind"], "reason": _reason(failure)})
    uow.commit()
    return card_payments.APPLIED, None


def _money(topup: InvoiceModel) -> Money:
    return Money(int(topup.amount), topup.currency)


def _reason(failure: DomainError) -> str:
    return failure.code if failure.code in REASONS else "no_longer_possible"


def _credit(uow: UnitOfWork, payment: CardPaymentModel, topup: InvoiceModel, was: str, mask: str | None,
            acquirer_id: str | None, result: dict | None) -> None:
    """The top-up paid: its amount on the balance, its fee to revenue, the client told."""
    card_payments.settle(uow, payment, card_payments.SUCCEEDED, card_payments.APPLIED, expected=was, card_mask=mask,
                         acquirer_id=acquirer_id)
    paid_at = clock.iso(clock.now())
    actions = [InvoiceModel.status.set(invoices.PAID), InvoiceModel.paid_at.set(paid_at),
               InvoiceModel.payment_id.set(payment.id)]
    if mask:
        actions.append(InvoiceModel.card_mask.set(mask))
    if result is not None:
        actions.append(InvoiceModel.action_result.set(result))
    uow.update(topup, actions, condition=InvoiceModel.status == invoices.OPEN, on_fail=card_payments.Raced())
    money = _money(topup)
    ledger.record(uow, ledger.card_top_up(f"{topup.id}:paid", topup.owner_id, money, int(topup.fee or 0),
                                          ref=topup.id))
    outbox.enqueue(uow, topup.owner_id, "invoice_paid", {
        "invoice_id": topup.id, "number": topup.number, "amount": money.to_json(), "paid_at": paid_at})


def _duplicate(uow: UnitOfWork, payment: CardPaymentModel, topup: InvoiceModel, charged: Money, was: str,
               mask: str | None, acquirer_id: str | None) -> tuple[str, Callable[[], None] | None]:
    """A second page of a top-up paid already: the money goes back to the card, the client told."""
    card_payments.settle(uow, payment, card_payments.REFUND_PENDING, card_payments.DUPLICATE, expected=was,
                         card_mask=mask, acquirer_id=acquirer_id)
    ledger.record(uow, ledger.card_duplicate(f"{payment.id}:duplicate", charged, ref=payment.id))
    outbox.enqueue(uow, topup.owner_id, "card_payment_refunded", {
        "invoice_id": topup.id, "number": topup.number, "amount": charged.to_json(),
        "card_mask": mask or "", "reason": "topup_already_paid"})
    uow.commit()
    return card_payments.DUPLICATE, lambda: card_payments.refund(payment, charged)


# --- the actions a top-up completes --------------------------------------------------------------------------------

def _fire(uow: UnitOfWork, topup: InvoiceModel) -> dict:
    """Add the stored action to the unit of work, checked as when the client asks for it; what it made."""
    from chalicelib.services import offers, orders, projects  # they answer 402 with this module

    action, client_id, now = dict(topup.action or {}), topup.owner_id, clock.now()
    if action["kind"] == PLACE_ORDER:
        return {"order_id": orders.place_into(uow, client_id, action["gig_id"], now).id}
    if action["kind"] == ACCEPT_OFFER:
        return {"order_id": offers.accept_into(uow, client_id, action["offer_id"], now).id}
    if action["kind"] == PAY_EXTRA:
        return {"order_id": orders.pay_extra_into(uow, client_id, action["order_id"], action["extra_id"], now).id}
    if action["kind"] == FUND_CONTRACT:
        return {"contract_id": projects.fund_into(uow, client_id, action["contract_id"], now).id}
    if action["kind"] == SELECT_PROPOSAL:
        return {"contract_id": projects.select_into(uow, client_id, action["project_id"], action["contractor_id"],
                                                    now).id}
    raise AssertionError(f"top-up {topup.id}: unknown action {action['kind']!r}")

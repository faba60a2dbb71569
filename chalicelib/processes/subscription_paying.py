"""Paying a site's invoices: card charges and their retries, dunning (overdue, reminders, blocking), saved
cards and the verification refunds awaited, as the subscription's transitions and timers use them
(the table is `subscription.py`). A process asks nothing of the acquirer itself: `after_commit` returns
the charges and refunds to send, and the use case that fired the transition sends them."""
from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib.money import ledger, periods, tariffs
from chalicelib.money.amounts import Money
from chalicelib.notify import outbox
from chalicelib.platform import clock, ids
from chalicelib.platform.config import settings
from chalicelib.platform.errors import Conflict
from chalicelib.processes import Charge, Context, OutsideRequest, Refund, Timer
from chalicelib.processes.site_deal import AUTOPAY, CHARGE_RESEND, OVERDUE_AFTER, PENDING, data, site_params
from chalicelib.store.models import (
    CardPaymentModel,
    DealModel,
    SiteModel,
)
from chalicelib.store.uow import UnitOfWork


def unpaid(deal: DealModel) -> dict[str, dict]:
    """The open invoices that still expect a reminder or a charge of the card."""
    return dict(data(deal).get("unpaid") or {})


def is_overdue(oldest_open: dict | None, now: datetime) -> bool:
    """Whether an invoice is past its due date at `now`, the oldest open one being `oldest_open`."""
    return oldest_open is not None and clock.parse_iso(oldest_open["due_at"]) + OVERDUE_AFTER <= now


def unpaid_window(invoice: dict) -> datetime:
    """Until when an open invoice may still expect something of the deal: its reminder comes before its
    due date, and its last charge BILLING_RETRY_DAYS after its issue (or after the card was saved)."""
    last_charge = _schedule_start(invoice) + timedelta(days=max(settings.billing_retry_days))
    return max(clock.parse_iso(invoice["due_at"]), last_charge) + timedelta(days=1)


def _schedule_start(invoice: dict) -> datetime:
    """When the invoice's charges count from: its issue, or the moment a card was saved while it was open."""
    return clock.parse_iso(invoice.get("charges_from") or invoice["issued_at"])


def rebased(invoices: dict[str, dict], now: datetime, charging: dict | None) -> dict[str, dict]:
    """A card saved now against invoices left unpaid: each is charged once now, and its retries count from
    now (no burst of the attempts whose days passed while there was no card)."""
    busy = (charging or {}).get("invoice_id")
    return {invoice_id: invoice if invoice_id == busy else
            {**invoice, "charges_from": clock.iso(now), "charges_before": int(invoice["charges"])}
            for invoice_id, invoice in invoices.items()}


def still_pending(invoices: dict[str, dict], now: datetime) -> dict[str, dict]:
    return {key: invoice for key, invoice in invoices.items() if unpaid_window(invoice) > now}


def charge_payment_id(invoice_id: str, attempt: int) -> str:
    return ids.derived_id("cpy", invoice_id, "charge", str(attempt))


def _next_charge(invoice: dict) -> datetime | None:
    """When the saved card is charged next for this invoice: on its issue, then BILLING_RETRY_DAYS after."""
    charges, issued = int(invoice["charges"]) - int(invoice.get("charges_before", 0)), _schedule_start(invoice)
    if charges == 0:
        return issued
    retries = settings.billing_retry_days
    return issued + timedelta(days=retries[charges - 1]) if charges <= len(retries) else None


def charge_due(deal: DealModel) -> datetime | None:
    d = data(deal)
    if not d.get("autopay"):
        return None
    if d.get("charging"):
        return clock.parse_iso(d["charging"]["requested_at"]) + CHARGE_RESEND
    times = [due for invoice in (d.get("unpaid") or {}).values() if (due := _next_charge(invoice))]
    return min(times) if times else None


def _overdue_due(deal: DealModel) -> datetime | None:
    oldest = data(deal).get("oldest_open")
    return clock.parse_iso(oldest["due_at"]) + OVERDUE_AFTER if oldest else None


def _block_due(deal: DealModel) -> datetime | None:
    oldest = data(deal).get("oldest_open")
    if not oldest:
        return None
    issued_day = periods.local_day(clock.parse_iso(oldest["issued_at"]))
    return periods.start_of_day(issued_day + timedelta(days=settings.billing_block_after_days))


def _reminder_at(invoice: dict) -> datetime:
    return periods.start_of_day(periods.local_day(clock.parse_iso(invoice["due_at"])) - timedelta(days=1))


def _remind_due(deal: DealModel) -> datetime | None:
    times = [_reminder_at(invoice) for invoice in unpaid(deal).values() if not invoice.get("reminded")]
    return min(times) if times else None


CHARGING = Timer("charge_card", charge_due)
FALLING_DUE = Timer("fall_past_due", _overdue_due)
BLOCKING = Timer("block", _block_due)
REMINDING = Timer("remind_due", _remind_due)


def charge_next(d: dict, deal: DealModel, invoice_id: str, now: datetime) -> dict:
    """Start charging the saved card for an invoice: the next attempt, recorded on the deal."""
    invoices = dict(d.get("unpaid") or {})
    invoice = {**invoices[invoice_id], "charges": int(invoices[invoice_id]["charges"]) + 1}
    invoices[invoice_id] = invoice
    charging = {"payment_id": charge_payment_id(invoice_id, invoice["charges"]), "invoice_id": invoice_id,
                "attempt": invoice["charges"], "amount": invoice["amount"], "number": invoice["number"],
                "requested_at": clock.iso(now), "version": int(deal.version) + 1, "new": True}
    return {"unpaid": invoices, "charging": charging}


def charged(deal: DealModel, ctx: Context) -> dict:
    d = data(deal)
    if d.get("charging"):  # unanswered: ask again under the same payment id
        return {"data": {**d, "charging": {**d["charging"], "requested_at": clock.iso(ctx.now),
                                           "version": int(deal.version) + 1, "new": False}}}
    due = sorted((when, invoice_id) for invoice_id, invoice in (d.get("unpaid") or {}).items()
                 if (when := _next_charge(invoice)) and when <= ctx.now)
    if not due:
        raise Conflict("nothing_to_charge", "No invoice is due for a charge")
    return {"data": {**d, **charge_next(d, deal, due[0][1], ctx.now)}}


def write_charge(uow: UnitOfWork, deal: DealModel, ctx: Context) -> None:
    charging = data(deal).get("charging")
    if not charging or int(charging["version"]) != int(deal.version) or not charging.get("new"):
        return
    uow.put(CardPaymentModel(
        charging["payment_id"], site_id=deal.id, owner_id=deal.client_id, purpose=AUTOPAY,
        invoice_id=charging["invoice_id"], amount=int(charging["amount"]), currency=tariffs.CURRENCY, status=PENDING,
        created_at=clock.iso(ctx.now)), condition=CardPaymentModel.id.does_not_exist())


def charge_requested(deal: DealModel) -> list[OutsideRequest]:
    """After the transaction: the charge this transition recorded (if any), for the acquirer. A lost
    request is asked again CHARGE_RESEND later by the `charge_card` timer."""
    charging = data(deal).get("charging")
    if not charging or int(charging["version"]) != int(deal.version):
        return []
    token = data(deal).get("card_token")
    if not token:
        return []
    return [Charge(charging["payment_id"], token, Money(int(charging["amount"]), tariffs.CURRENCY),
                   f"{charging['number']} ({deal.title})",
                   idempotency_key=f"{charging['invoice_id']}:{charging['attempt']}")]


def settled(deal: DealModel, ctx: Context) -> dict:
    """A payment for an invoice (`payload.invoice_id`), perhaps by a card to save (`payload.card`); the oldest
    invoice still open after it is `payload.oldest_open`."""
    d = data(deal)
    invoices = still_pending(dict(d.get("unpaid") or {}), ctx.now)
    invoice_id = ctx.payload["invoice_id"]
    invoices.pop(invoice_id, None)
    changes: dict = {"unpaid": invoices, "oldest_open": ctx.payload.get("oldest_open")}
    if ctx.payload.get("credit"):  # paid beyond the invoice: the site's credit, spent on its next invoices
        changes["credit"] = int(d.get("credit") or 0) + int(ctx.payload["credit"])
    charging = d.get("charging")
    if charging and (charging["invoice_id"] == invoice_id or charging["payment_id"] == ctx.payload.get("payment_id")):
        changes["charging"] = None
    if ctx.payload.get("card") and not d.get("autopay_stopped"):
        older = {key: {**invoice, "charges": 0, "reminded": True}
                 for key, invoice in (ctx.payload.get("still_open") or {}).items() if key not in invoices}
        changes.update(autopay=True, card_token=ctx.payload["card"]["token"],
                       unpaid=rebased({**invoices, **older}, ctx.now, changes.get("charging", charging)))
    return {"data": {**d, **changes}}


def part_settled(deal: DealModel, ctx: Context) -> dict:
    """A part of an invoice paid (`payload.due`: what is left of it): its charges and reminder ask only the rest."""
    d = data(deal)
    invoices = dict(d.get("unpaid") or {})
    invoice_id = ctx.payload["invoice_id"]
    if invoice_id in invoices:
        invoices[invoice_id] = {**invoices[invoice_id], "amount": int(ctx.payload["due"])}
    return {"data": {**d, "unpaid": invoices}}


def credit_refunded(deal: DealModel, ctx: Context) -> dict:
    """The site's credit (`payload.amount`, as the ledger holds it) goes back to who paid it: none is left to
    spend on the next invoice."""
    refund = {**ctx.payload["refund"], "version": int(deal.version) + 1}
    return {"data": {**data(deal), "credit": 0, "credit_refund": refund}}


def has_credit(deal: DealModel, ctx: Context) -> None:
    if int(ctx.payload.get("refund", {}).get("amount", 0)) <= 0:
        raise Conflict("no_credit", "The site has no credit to refund")


def write_credit_refund(uow: UnitOfWork, deal: DealModel, ctx: Context) -> None:
    refund = data(deal)["credit_refund"]
    money = Money(int(refund["amount"]), tariffs.CURRENCY)
    ledger.record(uow, ledger.site_credit_refunded(refund["id"], deal.id, money, ref=refund["payment_id"],
                                                   to_card=refund["to"] == "card"))
    outbox.enqueue(uow, deal.client_id, "site_credit_refunded", {**site_params(deal), "amount": money.to_json()})


def nothing_overdue_left(deal: DealModel, ctx: Context) -> None:
    if is_overdue(ctx.payload.get("oldest_open"), ctx.now):
        raise Conflict("still_overdue", "Other invoices are still overdue")


def card_changes(uow: UnitOfWork, deal: DealModel, ctx: Context) -> None:
    card = ctx.payload.get("card")
    if not card or data(deal).get("autopay_stopped"):
        return
    uow.update(SiteModel(deal.id), [SiteModel.payment_method.set({
        "card_mask": card["mask"], "holder": card.get("holder", ""), "saved_at": clock.iso(ctx.now)})])
    outbox.enqueue(uow, deal.client_id, "card_saved", {**site_params(deal), "card_mask": card["mask"],
                                                               "holder": card.get("holder", "")})


def declined(deal: DealModel, ctx: Context) -> dict:
    d = data(deal)
    charging = d.get("charging")
    if not charging or charging["payment_id"] != ctx.payload["payment_id"]:
        raise Conflict("not_charging", "This charge is not the one in flight")
    return {"data": {**d, "charging": None}}


def is_due(deal: DealModel, ctx: Context) -> None:
    if not is_overdue(data(deal).get("oldest_open"), ctx.now):
        raise Conflict("nothing_overdue", "No invoice is past its due date")


def blockable(deal: DealModel, ctx: Context) -> None:
    due = _block_due(deal)
    if due is None or due > ctx.now:
        raise Conflict("not_yet", "No invoice has been unpaid long enough to block the site")


def reminded(deal: DealModel, ctx: Context) -> dict:
    d = data(deal)
    invoices = still_pending(dict(d.get("unpaid") or {}), ctx.now)  # a reminder missed by a whole window is dropped
    due = [i for i, invoice in invoices.items() if not invoice.get("reminded") and _reminder_at(invoice) <= ctx.now]
    for invoice_id in due:
        invoices[invoice_id] = {**invoices[invoice_id], "reminded": True}
    return {"data": {**d, "unpaid": invoices, "reminding": due}}


def write_reminders(uow: UnitOfWork, deal: DealModel, ctx: Context) -> None:
    d = data(deal)
    for invoice_id in d.get("reminding") or []:
        invoice = d["unpaid"][invoice_id]
        outbox.enqueue(uow, deal.client_id, "service_invoice_due_soon", {
            **site_params(deal), "invoice_id": invoice_id, "number": invoice["number"],
            "amount": {"amount": invoice["amount"], "currency": tariffs.CURRENCY}, "due_at": invoice["due_at"]})


def card_forgotten() -> dict:
    """The deal's data without a saved card: nothing is charged until a card is saved again."""
    return {"autopay": False, "charging": None, "card_token": None}


def autopay_stopped(deal: DealModel, ctx: Context) -> dict:
    return {"data": {**data(deal), **card_forgotten(), "autopay_stopped": True}}


def autopay_resumed(deal: DealModel, ctx: Context) -> dict:
    """Support turns card payments back on: the next card the owner pays with is saved for auto-pay."""
    if not data(deal).get("autopay_stopped"):
        raise Conflict("autopay_not_stopped", "Card payments of this site were not stopped")
    return {"data": {**data(deal), "autopay_stopped": False}}


def forget_card(uow: UnitOfWork, deal: DealModel, ctx: Context) -> None:
    uow.update(SiteModel(deal.id), [SiteModel.payment_method.remove()])


def card_saved(deal: DealModel, ctx: Context) -> dict:
    d = data(deal)
    refunding = dict(d.get("refunding") or {})
    if ctx.payload.get("refund"):  # the verification's 1.00 UAH: its refund is asked for at once, and again
        refunding[ctx.payload["payment_id"]] = {"amount": int(ctx.payload["refund"]),
                                                "requested_at": clock.iso(ctx.now),
                                                "acquirer_id": ctx.payload.get("acquirer_id")}
    if d.get("autopay_stopped") or not ctx.payload.get("card"):
        return {"data": {**d, "refunding": refunding}}
    return {"data": {**d, "autopay": True, "card_token": ctx.payload["card"]["token"], "refunding": refunding,
                     "unpaid": rebased(still_pending(unpaid(deal), ctx.now), ctx.now, d.get("charging"))}}


def saved_card_changes(uow: UnitOfWork, deal: DealModel, ctx: Context) -> None:
    if not data(deal).get("autopay_stopped"):
        card_changes(uow, deal, ctx)


def refund_due(deal: DealModel) -> datetime | None:
    times = [clock.parse_iso(entry["requested_at"]) for entry in (data(deal).get("refunding") or {}).values()]
    return min(times) + CHARGE_RESEND if times else None


def refunds_resent(deal: DealModel, ctx: Context) -> dict:
    d = data(deal)
    refunding = dict(d.get("refunding") or {})
    due = sorted(key for key, entry in refunding.items()
                 if clock.parse_iso(entry["requested_at"]) + CHARGE_RESEND <= ctx.now)
    for payment_id in due:
        refunding[payment_id] = {**refunding[payment_id], "requested_at": clock.iso(ctx.now)}
    return {"data": {**d, "refunding": refunding, "resending": {"version": int(deal.version) + 1, "ids": due}}}


def refund_confirmed(deal: DealModel, ctx: Context) -> dict:
    d = data(deal)
    refunding = dict(d.get("refunding") or {})
    if refunding.pop(ctx.payload["payment_id"], None) is None:
        raise Conflict("not_refunding", "No refund of this payment is awaited")
    return {"data": {**d, "refunding": refunding}}


def after_commit(deal: DealModel, ctx: Context) -> list[OutsideRequest]:
    """What a timed transition asks of the outside world once committed: a charge, refunds asked again."""
    requests = charge_requested(deal)
    resending = data(deal).get("resending") or {}
    if int(resending.get("version", 0)) != int(deal.version):
        return requests
    refunding = data(deal).get("refunding") or {}
    return requests + [Refund(payment_id, Money(int(refunding[payment_id]["amount"]), tariffs.CURRENCY),
                              refunding[payment_id].get("acquirer_id"))
                       for payment_id in resending.get("ids") or [] if payment_id in refunding]

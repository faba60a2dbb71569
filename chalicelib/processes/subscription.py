"""A site's subscription (seed 003): the billing life of a business account, run by the same engine
and timer index as every deal. The deal's id is the site's, its client the site's owner; there is no
contractor (the platform serves it), so only the owner is notified.

| from                      | transition        | to                 | who      | what else                         |
|---------------------------|-------------------|--------------------|----------|-----------------------------------|
| active, past_due, blocked | issue_invoice     | (stays)            | system   | the month's invoice (the 1st)     |
| every open state          | report_usage      | (stays)            | system   | arms the day's counters refresh   |
| every open state          | refresh_counters  | (stays)            | system   | reports → counters (next day)     |
| active, past_due, blocked | change_tariff     | (stays)            | client   | upgrade: now, prorated invoice;   |
|                           |                   |                    |          | downgrade: from the next month    |
| active, past_due, blocked | request_deletion  | deletion_requested | client   | no more invoices                  |
| deletion_requested        | withdraw_deletion | active             | client   | billing resumes (by days)         |
| deletion_requested        | complete_deletion | deleted            | operator | open invoices void; key, domains  |
| every open state          | change_owner      | (stays)            | operator | the owner contact (and owner)     |
| active, past_due, blocked | charge_card       | (stays)            | system   | the saved card charged (acquirer) |
| every open state          | charge_declined   | (stays)            | system   | owner told, with a payment link   |
| every open state          | invoice_paid      | (stays)            | system   | card, link or bank transfer       |
| past_due                  | recover           | active             | system   | the last overdue invoice paid     |
| blocked                   | unblock           | active             | system   | the last overdue invoice paid     |
| active                    | fall_past_due     | past_due           | system   | an invoice unpaid past its due    |
| past_due                  | block             | blocked            | system   | BILLING_BLOCK_AFTER_DAYS unpaid   |
| active, past_due, blocked | remind_due        | (stays)            | system   | the day before the due date       |
| every open state          | save_card         | (stays)            | system   | a verified card: auto-pay on      |
| every open state          | stop_autopay      | (stays)            | operator | bank transfers only from now      |
| every open state          | resend_refund     | (stays)            | system   | a verification's refund asked again |
| every open state          | refund_confirmed  | (stays)            | system   | the acquirer refunded it          |

Billing months are calendar months in `BILLING_TIMEZONE`. The deal's data says which month is billed
next (`next_period`) and from when (`billable_from`: a new site's first month, or a month that began
while deletion was requested, is billed from that moment, by its days); the `issue_invoice` timer is
due when that month begins. The first invoice of a new site is that timer, due at once. Every invoice
takes the next number of the site's gap-free sequence (`invoice_seq`), advanced in the invoice's own
transaction, which is conditional on the deal's status and version like every transition, so a timer
fired twice or concurrently issues one invoice. Invoices go on in `past_due` and `blocked`.

Paying. The deal keeps the issue and due time of its oldest open invoice (`oldest_open`) and
reads the dunning timers off it: `fall_past_due` a second after that due date, `block`
BILLING_BLOCK_AFTER_DAYS after that issue; a payment tells the deal which invoice is the oldest open one
after it (the service reads the invoices). The invoices that still expect something of the deal — a
reminder, a charge of the card — are kept in `unpaid` (number, amount, issue and due times, charges
made, reminded) until their window (`unpaid_window`) has passed, so the item stays small however long a
site stays unpaid: `remind_due` fires at the start of the day before a due date. With a saved card
(`autopay`) an invoice is charged in the transaction that issues it (`charging`: the card payment asked
of the acquirer, written as a `CardPaymentModel` in that transaction and sent by `after` once it
committed with the card's token the deal keeps (`card_token`); its idempotency key is the invoice id),
and after a decline again BILLING_RETRY_DAYS after its issue (`charge_card`). A charge whose answer has
not come within CHARGE_RESEND is asked again under the same payment id, which the acquirer answers once.
The outcomes come by the acquirer's webhook (`services/card_payments.py`), which fires `invoice_paid` —
or `recover` / `unblock` when it pays the last overdue invoice, so the site is active again at once — in
the payment's transaction, as the bank's matcher does for a transfer. A site in `deletion_requested` has
no charge timer: it is never charged. A card's 1.00 UAH verification is refunded as soon as it is
confirmed; until the acquirer confirms the refund the deal keeps it (`refunding`) and `resend_refund`
asks again every CHARGE_RESEND.

Usage reports are summed per billing day outside the deal (`UsageModel`); the first report of a day
records the day on the deal (`report_usage`), which arms `refresh_counters` for a few minutes after that
day ends. The refresh folds the finished days into the counters and tells the owner once per month
per counter that a limit is reached. Work per day is proportional to the sites that reported.

The subscription goes round by design (a month, a day), so the deal keeps its last `HISTORY_KEPT`
steps and its transitions only overwrite fixed-size data.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib.money import periods, tariffs
from chalicelib.money.amounts import Money
from chalicelib.notify import outbox
from chalicelib.platform import clock, ids
from chalicelib.platform.config import settings
from chalicelib.platform.errors import Conflict, Unprocessable
from chalicelib.processes import Actor, Charge, Context, OutsideRequest, Process, Refund, Timer, Transition
from chalicelib.store.models import (
    CardPaymentModel,
    DealModel,
    KeyModel,
    ServiceInvoiceModel,
    SiteModel,
    UsageModel,
)
from chalicelib.store.uow import UnitOfWork

ACTIVE, PAST_DUE, BLOCKED = "active", "past_due", "blocked"
DELETION_REQUESTED, DELETED = "deletion_requested", "deleted"
BILLED = frozenset({ACTIVE, PAST_DUE, BLOCKED})
OPEN = BILLED | {DELETION_REQUESTED}
PLATFORM = "platform"  # the contractor of every subscription: the platform itself
HISTORY_KEPT = 60
REFRESH_GRACE = timedelta(minutes=5)  # a report sent just before midnight has landed by then
DELETION_REASONS = ("too_expensive", "missing_features", "moving_to_another_platform", "closing_business", "other")
INVOICE_OPEN, INVOICE_PAID, INVOICE_VOID = "open", "paid", "void"
SYSTEM: frozenset[Actor] = frozenset({"system"})
CHARGE_RESEND = timedelta(minutes=15)  # a charge unanswered this long is asked again (same payment id)
OVERDUE_AFTER = timedelta(seconds=1)  # `due_at` is the last second of the due day
AUTOPAY, PENDING = "autopay", "pending"


def data(deal: DealModel) -> dict:
    return dict(deal.data or {})


def number(service_code: str, seq: int) -> str:
    return f"{settings.service_invoice_prefix}-{service_code}-{seq:03d}"


def number_key(invoice_number: str) -> str:
    return f"invoice#{invoice_number}"


def domain_key(ascii_host: str) -> str:
    return f"domain#{ascii_host}"


def site_key(key_hash: str) -> str:
    return f"sitekey#{key_hash}"


def counters_now(deal: DealModel, now: datetime) -> dict:
    """The counters as the site shows them at `now`: orders count the current month only."""
    return shown(data(deal).get("counters") or {}, now)


def shown(counters: dict, now: datetime) -> dict:
    this_month = periods.period_of(now)
    orders = int(counters.get("orders", 0)) if counters.get("month") == this_month else 0
    return {"products": int(counters.get("products", 0)), "orders": orders,
            "refreshed_at": counters.get("refreshed_at")}


def over_limits(counters: dict, limits: dict) -> list[str]:
    """The counters that exceed the limits."""
    return [name for name, limit in tariffs.COUNTERS.items() if counters[name] > int(limits[limit])]


# --- timers ---------------------------------------------------------------------------------------------------------

def _invoice_due(deal: DealModel) -> datetime:
    return periods.start_of(data(deal)["next_period"])


def _refresh_due(deal: DealModel) -> datetime | None:
    days = data(deal).get("usage_days") or []
    if not days:
        return None
    first = datetime.fromisoformat(min(days)).date()
    return periods.start_of_day(periods.day_after(first)) + REFRESH_GRACE


INVOICING = Timer("issue_invoice", _invoice_due)
REFRESHING = Timer("refresh_counters", _refresh_due)


def prepare(deal: DealModel, transition: str, now: datetime) -> dict:
    """What a timed transition reads besides the deal: the month's tariff, or the finished days' usage."""
    d = data(deal)
    if transition == "issue_invoice":
        period = d["next_period"]
        tariff = tariffs.cached(d.get("next_tariff") or d["tariff"])
        return {"tariff": tariffs.terms(tariff, period).to_json()}
    if transition == "refresh_counters":
        today = periods.local_day(now).isoformat()
        days = {}
        for day in sorted(day for day in d.get("usage_days") or [] if day < today):
            try:
                item = UsageModel.get(deal.id, f"day#{day}", consistent_read=True)
            except UsageModel.DoesNotExist:
                continue
            days[day] = {"orders": int(item.orders or 0),
                         "products": None if item.products is None else int(item.products)}
        tariff = tariffs.cached(d["tariff"])
        return {"days": days, "folded": [day for day in d.get("usage_days") or [] if day < today],
                "limits": dict(tariff.limits)}
    if transition in ("fall_past_due", "block"):
        return {"invoices": [{"number": invoice.number, "due_at": invoice.due_at,
                              "amount": {"amount": int(invoice.amount), "currency": invoice.currency}}
                             for invoice in ServiceInvoiceModel.by_site.query(
                                 deal.id, filter_condition=ServiceInvoiceModel.status == INVOICE_OPEN, limit=20)]}
    return {}


# --- invoices -------------------------------------------------------------------------------------------------------

def _invoice(deal: DealModel, ctx: Context, d: dict, period: str, kind: str, lines: list[dict]) -> dict:
    """The next invoice of the site's sequence, recorded on the deal (`last_invoice`) for `_write_invoice`."""
    seq = int(d.get("invoice_seq", 0)) + 1
    issued = ctx.now
    due_day = periods.local_day(issued) + timedelta(days=settings.billing_due_days)
    invoice = {
        "id": ids.derived_id("sin", deal.id, str(seq)), "seq": seq, "number": number(d["service_code"], seq),
        "period": period, "kind": kind, "lines": lines, "amount": sum(int(line["amount"]) for line in lines),
        "issued_at": clock.iso(issued),
        "due_at": clock.iso(periods.start_of_day(periods.day_after(due_day)) - timedelta(seconds=1)),
        "version": int(deal.version) + 1,
    }
    invoice_id = str(invoice["id"])
    still_open = {**_pending(d.get("unpaid") or {}, issued), invoice_id: {
        "number": invoice["number"], "amount": invoice["amount"], "issued_at": invoice["issued_at"],
        "due_at": invoice["due_at"], "charges": 0, "reminded": False}}
    changes = {"invoice_seq": seq, "last_invoice": invoice, "unpaid": still_open,
               "oldest_open": d.get("oldest_open") or {"issued_at": invoice["issued_at"], "due_at": invoice["due_at"]}}
    if d.get("autopay") and not d.get("charging"):  # the saved card pays it the same day
        changes.update(_charge({**d, "unpaid": still_open}, deal, invoice_id, issued))
    return changes


def _line(terms: tariffs.Terms, period: str, since: datetime | None, amount_of_month: int) -> dict:
    month_days = periods.days_in(period)
    days = max(periods.days_left(period, since), 1) if since else month_days
    start = periods.last_day(period).replace(day=month_days - days + 1)
    amount = amount_of_month if days == month_days else periods.prorate(amount_of_month, days, month_days)
    return {"tariff": terms.code, "tariff_name": terms.name, "start": start.isoformat(),
            "end": periods.last_day(period).isoformat(), "days": days, "month_days": month_days, "amount": amount}


def _write_invoice(uow: UnitOfWork, deal: DealModel) -> None:
    """The invoice this transition issued (if any): its item, its number's claim, the owner's notification."""
    invoice = data(deal).get("last_invoice")
    if not invoice or int(invoice["version"]) != int(deal.version):
        return
    record = ServiceInvoiceModel(
        invoice["id"], site_id=deal.id, owner_id=deal.client_id, seq=invoice["seq"], number=invoice["number"],
        period=invoice["period"], kind=invoice["kind"], lines=invoice["lines"], amount=invoice["amount"],
        currency=tariffs.CURRENCY, status=INVOICE_OPEN, issued_at=invoice["issued_at"], due_at=invoice["due_at"])
    uow.put(record, condition=ServiceInvoiceModel.id.does_not_exist())
    uow.put(KeyModel(number_key(invoice["number"]), target_id=invoice["id"]), condition=KeyModel.key.does_not_exist())
    outbox.enqueue(uow, deal.client_id, "service_invoice_issued", {
        **_site_params(deal), "invoice_id": invoice["id"], "number": invoice["number"], "period": invoice["period"],
        "amount": {"amount": invoice["amount"], "currency": tariffs.CURRENCY}, "due_at": invoice["due_at"]})


def _issue_month(deal: DealModel, ctx: Context) -> dict:
    d = data(deal)
    terms = tariffs.Terms.from_json(ctx.payload["tariff"])
    period, since = d["next_period"], d.get("billable_from")
    line = _line(terms, period, clock.parse_iso(since) if since else None, terms.price)
    changes = {"tariff": terms.code, "tariff_name": terms.name, "next_tariff": None,
               "next_period": periods.next_period(period), "billable_from": None}
    if line["amount"] > 0:
        kind = "first_month" if not d.get("invoice_seq") else ("resumed" if since else "month")
        changes.update(_invoice(deal, ctx, d, period, kind, [line]))
    return {"data": {**d, **changes}, "amount": terms.price}


# --- paying: card charges, dunning -------------------------------------------------------------------------------

def unpaid(deal: DealModel) -> dict[str, dict]:
    """The open invoices that still expect a reminder or a charge of the card."""
    return dict(data(deal).get("unpaid") or {})


def is_overdue(oldest_open: dict | None, now: datetime) -> bool:
    """Whether an invoice is past its due date at `now`, the oldest open one being `oldest_open`."""
    return oldest_open is not None and clock.parse_iso(oldest_open["due_at"]) + OVERDUE_AFTER <= now


def unpaid_window(invoice: dict) -> datetime:
    """Until when an open invoice may still expect something of the deal: its reminder comes before its
    due date, and its last charge BILLING_RETRY_DAYS after its issue."""
    last_charge = clock.parse_iso(invoice["issued_at"]) + timedelta(days=max(settings.billing_retry_days))
    return max(clock.parse_iso(invoice["due_at"]), last_charge) + timedelta(days=1)


def _pending(invoices: dict[str, dict], now: datetime) -> dict[str, dict]:
    return {key: invoice for key, invoice in invoices.items() if unpaid_window(invoice) > now}


def charge_payment_id(invoice_id: str, attempt: int) -> str:
    return ids.derived_id("cpy", invoice_id, "charge", str(attempt))


def _next_charge(invoice: dict) -> datetime | None:
    """When the saved card is charged next for this invoice: on its issue, then BILLING_RETRY_DAYS after."""
    charges, issued = int(invoice["charges"]), clock.parse_iso(invoice["issued_at"])
    if charges == 0:
        return issued
    retries = settings.billing_retry_days
    return issued + timedelta(days=retries[charges - 1]) if charges <= len(retries) else None


def _charge_due(deal: DealModel) -> datetime | None:
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


CHARGING = Timer("charge_card", _charge_due)
FALLING_DUE = Timer("fall_past_due", _overdue_due)
BLOCKING = Timer("block", _block_due)
REMINDING = Timer("remind_due", _remind_due)


def _charge(d: dict, deal: DealModel, invoice_id: str, now: datetime) -> dict:
    """Start charging the saved card for an invoice: the next attempt, recorded on the deal."""
    invoices = dict(d.get("unpaid") or {})
    invoice = {**invoices[invoice_id], "charges": int(invoices[invoice_id]["charges"]) + 1}
    invoices[invoice_id] = invoice
    charging = {"payment_id": charge_payment_id(invoice_id, invoice["charges"]), "invoice_id": invoice_id,
                "attempt": invoice["charges"], "amount": invoice["amount"], "number": invoice["number"],
                "requested_at": clock.iso(now), "version": int(deal.version) + 1, "new": True}
    return {"unpaid": invoices, "charging": charging}


def _charged(deal: DealModel, ctx: Context) -> dict:
    d = data(deal)
    if d.get("charging"):  # unanswered: ask again under the same payment id
        return {"data": {**d, "charging": {**d["charging"], "requested_at": clock.iso(ctx.now),
                                           "version": int(deal.version) + 1, "new": False}}}
    due = sorted((when, invoice_id) for invoice_id, invoice in (d.get("unpaid") or {}).items()
                 if (when := _next_charge(invoice)) and when <= ctx.now)
    if not due:
        raise Conflict("nothing_to_charge", "No invoice is due for a charge")
    return {"data": {**d, **_charge(d, deal, due[0][1], ctx.now)}}


def _write_charge(uow: UnitOfWork, deal: DealModel, ctx: Context) -> None:
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
                   f"{charging['number']} ({deal.title})", idempotency_key=charging["invoice_id"])]


def _settled(deal: DealModel, ctx: Context) -> dict:
    """A payment for an invoice (`payload.invoice_id`), perhaps by a card to save (`payload.card`); the oldest
    invoice still open after it is `payload.oldest_open`."""
    d = data(deal)
    invoices = _pending(dict(d.get("unpaid") or {}), ctx.now)
    invoice_id = ctx.payload["invoice_id"]
    invoices.pop(invoice_id, None)
    changes: dict = {"unpaid": invoices, "oldest_open": ctx.payload.get("oldest_open")}
    charging = d.get("charging")
    if charging and (charging["invoice_id"] == invoice_id or charging["payment_id"] == ctx.payload.get("payment_id")):
        changes["charging"] = None
    if ctx.payload.get("card") and not d.get("autopay_stopped"):
        changes.update(autopay=True, card_token=ctx.payload["card"]["token"])
    return {"data": {**d, **changes}}


def _nothing_overdue_left(deal: DealModel, ctx: Context) -> None:
    if is_overdue(ctx.payload.get("oldest_open"), ctx.now):
        raise Conflict("still_overdue", "Other invoices are still overdue")


def _card_changes(uow: UnitOfWork, deal: DealModel, ctx: Context) -> None:
    card = ctx.payload.get("card")
    if not card or data(deal).get("autopay_stopped"):
        return
    uow.update(SiteModel(deal.id), [SiteModel.payment_method.set({
        "card_mask": card["mask"], "holder": card.get("holder", ""), "saved_at": clock.iso(ctx.now)})])
    outbox.enqueue(uow, deal.client_id, "card_saved", {**_site_params(deal), "card_mask": card["mask"],
                                                               "holder": card.get("holder", "")})


def _declined(deal: DealModel, ctx: Context) -> dict:
    d = data(deal)
    charging = d.get("charging")
    if not charging or charging["payment_id"] != ctx.payload["payment_id"]:
        raise Conflict("not_charging", "This charge is not the one in flight")
    return {"data": {**d, "charging": None}}


def _is_due(deal: DealModel, ctx: Context) -> None:
    if not is_overdue(data(deal).get("oldest_open"), ctx.now):
        raise Conflict("nothing_overdue", "No invoice is past its due date")


def _blockable(deal: DealModel, ctx: Context) -> None:
    due = _block_due(deal)
    if due is None or due > ctx.now:
        raise Conflict("not_yet", "No invoice has been unpaid long enough to block the site")


def _reminded(deal: DealModel, ctx: Context) -> dict:
    d = data(deal)
    invoices = _pending(dict(d.get("unpaid") or {}), ctx.now)  # a reminder missed by a whole window is dropped
    due = [i for i, invoice in invoices.items() if not invoice.get("reminded") and _reminder_at(invoice) <= ctx.now]
    for invoice_id in due:
        invoices[invoice_id] = {**invoices[invoice_id], "reminded": True}
    return {"data": {**d, "unpaid": invoices, "reminding": due}}


def _write_reminders(uow: UnitOfWork, deal: DealModel, ctx: Context) -> None:
    d = data(deal)
    for invoice_id in d.get("reminding") or []:
        invoice = d["unpaid"][invoice_id]
        outbox.enqueue(uow, deal.client_id, "service_invoice_due_soon", {
            **_site_params(deal), "invoice_id": invoice_id, "number": invoice["number"],
            "amount": {"amount": invoice["amount"], "currency": tariffs.CURRENCY}, "due_at": invoice["due_at"]})


def _autopay_stopped(deal: DealModel, ctx: Context) -> dict:
    return {"data": {**data(deal), "autopay": False, "autopay_stopped": True, "charging": None, "card_token": None}}


def _forget_card(uow: UnitOfWork, deal: DealModel, ctx: Context) -> None:
    uow.update(SiteModel(deal.id), [SiteModel.payment_method.remove()])


def _card_saved(deal: DealModel, ctx: Context) -> dict:
    d = data(deal)
    refunding = dict(d.get("refunding") or {})
    if ctx.payload.get("refund"):  # the verification's 1.00 UAH: its refund is asked for at once, and again
        refunding[ctx.payload["payment_id"]] = {"amount": int(ctx.payload["refund"]),
                                                "requested_at": clock.iso(ctx.now)}
    if d.get("autopay_stopped") or not ctx.payload.get("card"):
        return {"data": {**d, "refunding": refunding}}
    return {"data": {**d, "autopay": True, "card_token": ctx.payload["card"]["token"], "refunding": refunding}}


def _saved_card_changes(uow: UnitOfWork, deal: DealModel, ctx: Context) -> None:
    if not data(deal).get("autopay_stopped"):
        _card_changes(uow, deal, ctx)


def _refund_due(deal: DealModel) -> datetime | None:
    times = [clock.parse_iso(entry["requested_at"]) for entry in (data(deal).get("refunding") or {}).values()]
    return min(times) + CHARGE_RESEND if times else None


def _refunds_resent(deal: DealModel, ctx: Context) -> dict:
    d = data(deal)
    refunding = dict(d.get("refunding") or {})
    due = sorted(key for key, entry in refunding.items()
                 if clock.parse_iso(entry["requested_at"]) + CHARGE_RESEND <= ctx.now)
    for payment_id in due:
        refunding[payment_id] = {**refunding[payment_id], "requested_at": clock.iso(ctx.now)}
    return {"data": {**d, "refunding": refunding, "resending": {"version": int(deal.version) + 1, "ids": due}}}


def _refund_confirmed(deal: DealModel, ctx: Context) -> dict:
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
    return requests + [Refund(payment_id, Money(int(refunding[payment_id]["amount"]), tariffs.CURRENCY))
                       for payment_id in resending.get("ids") or [] if payment_id in refunding]


# --- usage ----------------------------------------------------------------------------------------------------------

def _usage_reported(deal: DealModel, ctx: Context) -> dict:
    d = data(deal)
    return {"data": {**d, "usage_days": sorted({*(d.get("usage_days") or []), ctx.payload["day"]})}}


def _not_yet_reported(deal: DealModel, ctx: Context) -> None:
    if ctx.payload["day"] in (data(deal).get("usage_days") or []):
        raise Conflict("already_reported", "This day's refresh is already armed")


def _refreshed(deal: DealModel, ctx: Context) -> dict:
    d = data(deal)
    counters = dict(d.get("counters") or {"products": 0, "orders": 0, "month": periods.period_of(ctx.now)})
    for day, usage in sorted(ctx.payload["days"].items()):
        if day[:7] != counters["month"]:
            counters.update(orders=0, month=day[:7])
        counters["orders"] = int(counters["orders"]) + int(usage["orders"])
        if usage["products"] is not None:
            counters["products"] = int(usage["products"])
    counters["refreshed_at"] = clock.iso(ctx.now)
    now_shown = shown(counters, ctx.now)
    limits, month = ctx.payload["limits"], periods.period_of(ctx.now)
    notified = dict(d.get("limit_notified") or {})
    reached = [name for name, limit in tariffs.COUNTERS.items()
               if now_shown[name] >= int(limits[limit]) and notified.get(name) != month]
    notified.update({name: month for name in reached})
    folded = set(ctx.payload["folded"])
    return {"data": {**d, "counters": counters, "limit_notified": notified, "limits_reached": reached,
                     "usage_days": [day for day in d.get("usage_days") or [] if day not in folded]}}


def _notify_limits(uow: UnitOfWork, deal: DealModel, ctx: Context) -> None:
    d = data(deal)
    values = counters_now(deal, ctx.now)
    for name in d.get("limits_reached") or []:
        limit = int(ctx.payload["limits"][tariffs.COUNTERS[name]])
        outbox.enqueue(uow, deal.client_id, "counter_limit_reached", {
            **_site_params(deal), "counter": name, "value": values[name], "limit": limit})


# --- tariff ---------------------------------------------------------------------------------------------------------

def _tariff_allowed(deal: DealModel, ctx: Context) -> None:
    new, current = ctx.payload["tariff"], ctx.payload["current"]
    if new["code"] == current["code"] and not data(deal).get("next_tariff"):
        raise Conflict("tariff_unchanged", f"The site is already on the tariff {new['code']!r}")
    if _is_upgrade(deal, ctx) or new["code"] == current["code"]:
        return
    over = over_limits(counters_now(deal, ctx.now), new["limits"])
    if over:
        raise Conflict("over_limit", f"The site's {' and '.join(over)} exceed the limits of {new['name']}; "
                                     "reduce them before choosing it")


def _is_upgrade(deal: DealModel, ctx: Context) -> bool:
    return int(ctx.payload["tariff"]["price"]) > int(deal.amount)


def _tariff_changed(deal: DealModel, ctx: Context) -> dict:
    d, new = data(deal), tariffs.Terms.from_json(ctx.payload["tariff"])
    if new.code == d["tariff"]:
        return {"data": {**d, "next_tariff": None}}  # choosing the current tariff again cancels a downgrade
    if not _is_upgrade(deal, ctx):
        return {"data": {**d, "next_tariff": new.code}}
    changes = {"tariff": new.code, "tariff_name": new.name, "next_tariff": None}
    period = periods.period_of(ctx.now)
    if d["next_period"] > period:  # this month is billed already: the difference for the rest of it
        line = _line(new, period, ctx.now, new.price - int(deal.amount))
        if line["amount"] > 0:
            changes.update(_invoice(deal, ctx, d, period, "upgrade", [line]))
    return {"data": {**d, **changes}, "amount": new.price}


# --- deletion -------------------------------------------------------------------------------------------------------

def _reasons_from_the_list(deal: DealModel, ctx: Context) -> None:
    reasons = ctx.payload.get("reasons") or []
    if not reasons or any(reason not in DELETION_REASONS for reason in reasons):
        raise Unprocessable("invalid_reason", f"reasons must be one or more of: {', '.join(DELETION_REASONS)}",
                            field="reasons")


def _deletion_requested(deal: DealModel, ctx: Context) -> dict:
    questionnaire = {"reasons": sorted(set(ctx.payload["reasons"])), "comment": ctx.message or "",
                     "requested_at": clock.iso(ctx.now)}
    return {"data": {**data(deal), "deletion": questionnaire}}


def _record_questionnaire(uow: UnitOfWork, deal: DealModel, ctx: Context) -> None:
    uow.update(SiteModel(deal.id), [SiteModel.deletion.set(data(deal)["deletion"])])


def _deletion_withdrawn(deal: DealModel, ctx: Context) -> dict:
    d = {**data(deal), "deletion": None}
    if periods.start_of(d["next_period"]) <= ctx.now:  # a month began meanwhile: bill it from now
        d.update(next_period=periods.period_of(ctx.now), billable_from=clock.iso(ctx.now))
    return {"data": d}


def _forget_questionnaire(uow: UnitOfWork, deal: DealModel, ctx: Context) -> None:
    uow.update(SiteModel(deal.id), [SiteModel.deletion.remove()])


def _deleted(uow: UnitOfWork, deal: DealModel, ctx: Context) -> None:
    """Invoices and the ledger stay (accounting records); open invoices are void; the key and domains go."""
    for invoice_id in ctx.payload.get("open_invoices", []):
        uow.update(ServiceInvoiceModel(invoice_id), [ServiceInvoiceModel.status.set(INVOICE_VOID)],
                   condition=ServiceInvoiceModel.status == INVOICE_OPEN)
    site = ctx.payload["site"]
    if site.get("key_hash"):
        uow.delete(KeyModel(site_key(site["key_hash"])))
    for ascii_host in site.get("domain_keys", []):
        uow.delete(KeyModel(domain_key(ascii_host)))
    uow.update(SiteModel(deal.id), [SiteModel.domains.set([]), SiteModel.key_hash.remove(),
                                    SiteModel.deleted_at.set(clock.iso(ctx.now))])


# --- owner ----------------------------------------------------------------------------------------------------------

def _owner_changed(deal: DealModel, ctx: Context) -> dict:
    owner_id = ctx.payload.get("owner_id") or deal.client_id
    return {"client_id": owner_id, "client_key": f"site#{owner_id}",
            "data": {**data(deal), "previous_owner_id": deal.client_id if owner_id != deal.client_id else None}}


def _record_owner(uow: UnitOfWork, deal: DealModel, ctx: Context) -> None:
    uow.update(SiteModel(deal.id), [SiteModel.contact.set(ctx.payload["contact"])])
    previous = data(deal).get("previous_owner_id")
    if previous:  # the former owner learns it too
        outbox.enqueue(uow, previous, "owner_changed", {**_site_params(deal), "contact": ctx.payload["contact"],
                                                               "role": "previous_owner"})


# --- notifications --------------------------------------------------------------------------------------------------

def _site_params(deal: DealModel) -> dict:
    d = data(deal)
    return {"site_id": deal.id, "site_name": deal.title, "service_code": d.get("service_code", "")}


def _notification(deal: DealModel, ctx: Context, kind: str, role: str) -> dict:
    d = data(deal)
    params = {**_site_params(deal), "role": role}
    if kind == "site_created":
        params.update(tariff_name=d.get("tariff_name", ""))
    elif kind == "deletion_requested":
        params.update(reasons=list(d["deletion"]["reasons"]), comment=d["deletion"]["comment"])
    elif kind == "owner_changed":
        params.update(contact=ctx.payload.get("contact", {}), role="owner")
    elif kind in ("service_invoice_overdue", "site_blocked"):
        params.update(invoices=list(ctx.payload.get("invoices") or []))
    elif kind == "card_charge_declined":
        params.update(invoice_id=ctx.payload.get("invoice_id", ""), number=ctx.payload.get("number", ""),
                      payment_url=ctx.payload.get("payment_url", ""),
                      amount={"amount": int(ctx.payload.get("amount", 0)), "currency": tariffs.CURRENCY},
                      retry_at=clock.iso(due) if (due := _charge_due(deal)) else None)
    return params


def _invoice_written(uow: UnitOfWork, deal: DealModel, ctx: Context) -> None:
    _write_invoice(uow, deal)


def _issued(uow: UnitOfWork, deal: DealModel, ctx: Context) -> None:
    _write_invoice(uow, deal)
    _write_charge(uow, deal, ctx)


REFUNDING = Timer("resend_refund", _refund_due)

PROCESS = Process(
    name="subscription",
    noun="site",
    states=frozenset({ACTIVE, PAST_DUE, BLOCKED, DELETION_REQUESTED, DELETED}),
    terminal=frozenset({DELETED}),
    transitions={t.name: t for t in (
        Transition("issue_invoice", BILLED, None, SYSTEM, effects=_issue_month, writes=_issued),
        Transition("report_usage", OPEN, None, SYSTEM, effects=_usage_reported, guard=_not_yet_reported),
        Transition("refresh_counters", OPEN, None, SYSTEM, effects=_refreshed, writes=_notify_limits),
        Transition("change_tariff", BILLED, None, frozenset({"client"}), effects=_tariff_changed,
                   guard=_tariff_allowed, writes=_issued),
        Transition("request_deletion", BILLED, DELETION_REQUESTED, frozenset({"client"}),
                   notify="deletion_requested", notify_operators=True, effects=_deletion_requested,
                   guard=_reasons_from_the_list, writes=_record_questionnaire),
        Transition("withdraw_deletion", frozenset({DELETION_REQUESTED}), ACTIVE, frozenset({"client"}),
                   notify="deletion_withdrawn", effects=_deletion_withdrawn, writes=_forget_questionnaire),
        Transition("complete_deletion", frozenset({DELETION_REQUESTED}), DELETED, frozenset({"operator"}),
                   notify="deletion_completed", writes=_deleted),
        Transition("change_owner", OPEN, None, frozenset({"operator"}), notify="owner_changed",
                   effects=_owner_changed, writes=_record_owner),
        Transition("charge_card", BILLED, None, SYSTEM, effects=_charged, writes=_write_charge),
        Transition("charge_declined", OPEN, None, SYSTEM, notify="card_charge_declined", effects=_declined),
        Transition("invoice_paid", OPEN, None, SYSTEM, effects=_settled, writes=_card_changes),
        Transition("recover", frozenset({PAST_DUE}), ACTIVE, SYSTEM, effects=_settled, guard=_nothing_overdue_left,
                   writes=_card_changes),
        Transition("unblock", frozenset({BLOCKED}), ACTIVE, SYSTEM, notify="site_unblocked", effects=_settled,
                   guard=_nothing_overdue_left, writes=_card_changes),
        Transition("fall_past_due", frozenset({ACTIVE}), PAST_DUE, SYSTEM, notify="service_invoice_overdue",
                   guard=_is_due),
        Transition("block", frozenset({PAST_DUE}), BLOCKED, SYSTEM, notify="site_blocked", guard=_blockable),
        Transition("remind_due", BILLED, None, SYSTEM, effects=_reminded, writes=_write_reminders),
        Transition("save_card", OPEN, None, SYSTEM, effects=_card_saved, writes=_saved_card_changes),
        Transition("resend_refund", OPEN, None, SYSTEM, effects=_refunds_resent),
        Transition("refund_confirmed", OPEN, None, SYSTEM, effects=_refund_confirmed),
        Transition("stop_autopay", OPEN, None, frozenset({"operator"}), notify="autopay_stopped",
                   effects=_autopay_stopped, writes=_forget_card),
    )},
    notification=_notification,
    timers={
        ACTIVE: (INVOICING, REFRESHING, CHARGING, REMINDING, FALLING_DUE, REFUNDING),
        PAST_DUE: (INVOICING, REFRESHING, CHARGING, REMINDING, BLOCKING, REFUNDING),
        BLOCKED: (INVOICING, REFRESHING, CHARGING, REMINDING, REFUNDING),
        DELETION_REQUESTED: (REFRESHING, REFUNDING),
    },
    parties=("client",),
    history_kept=HISTORY_KEPT,
    prepare=prepare,
    after=after_commit,
    queue=lambda status: f"sites#{status}",
)

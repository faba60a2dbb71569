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
| deletion_requested        | complete_deletion | deleted            | operator | key, domains, card go; invoices   |
|                           |                   |                    |          | stay owed                         |
| deletion_requested        | refuse_deletion   | active             | operator | the owner told why; billing       |
|                           |                   |                    |          | resumes (by days)                 |
| every open state          | change_owner      | (stays)            | operator | the owner contact (and owner: the |
|                           |                   |                    |          | card forgotten, the key rotated)  |
| active, past_due, blocked | charge_card       | (stays)            | system   | the saved card charged (acquirer) |
| every open state          | charge_declined   | (stays)            | system   | owner told, with a payment link   |
| every open state          | invoice_paid      | (stays)            | system   | card, link or bank transfer       |
|                           |                   |                    |          | beyond the due: the site's credit |
| every open state          | invoice_part_paid | (stays)            | system   | a part: charges ask only the rest |
| past_due                  | recover           | active             | system   | the last overdue invoice paid     |
| blocked                   | unblock           | active             | system   | the last overdue invoice paid     |
| active                    | fall_past_due     | past_due           | system   | an invoice unpaid past its due    |
| past_due                  | block             | blocked            | system   | BILLING_BLOCK_AFTER_DAYS unpaid   |
| active, past_due, blocked | remind_due        | (stays)            | system   | the day before the due date       |
| every open state          | save_card         | (stays)            | system   | a verified card: auto-pay on      |
| every open state          | stop_autopay      | (stays)            | operator | bank transfers only from now      |
| every open state          | resume_autopay    | (stays)            | operator | the next card payment saves it    |
| open states, deleted      | resend_refund     | (stays)            | system   | a verification's refund asked again |
| open states, deleted      | refund_confirmed  | (stays)            | system   | the acquirer refunded it          |
| open states, deleted      | refund_credit     | (stays)            | client,  | the site's credit back to its     |
|                           |                   |                    | operator | payer (bank payout or card refund)|

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
committed with the card's token the deal keeps (`card_token`), by the use case that fired the
transition, in the same request or job run; its idempotency key is the attempt, `<invoice id>:<n>`),
and after a decline again BILLING_RETRY_DAYS after its issue (`charge_card`). A card saved while invoices
are open charges each of them once at once, and their retries count from then (`charges_from`). A charge
whose answer has not come within CHARGE_RESEND is asked again under the same payment id and key, which the
acquirer answers once; a charge the acquirer refuses (4xx) is a decline.
A part of an invoice (an operator applying a transfer short of it) leaves it open: `invoice_part_paid` makes
its charges and reminder ask only the rest. What a payment brings beyond the due is the site's credit: a ledger
account of the site (`credit:<site id>`) credited in the payment's transaction and mirrored on the deal
(`credit`), which the next invoice spends first, in its own transaction (`credit_applied`: an invoice the credit
covers whole is issued paid); `refund_credit` sends it back to whoever paid it instead (the amount is what the
ledger holds, so a deleted site's credit goes back too).
The outcomes come by the acquirer's webhook (`services/card_payments.py`), which fires `invoice_paid` —
or `recover` / `unblock` when it pays the last overdue invoice, so the site is active again at once — in
the payment's transaction, as the bank's matcher does for a transfer. A site in `deletion_requested` has
no charge timer: it is never charged. A card's 1.00 UAH verification is refunded as soon as it is
confirmed; until the acquirer confirms the refund the deal keeps it (`refunding`) and `resend_refund`
asks again every CHARGE_RESEND.

Owners and deletion. A new owner starts clean: the previous owner's card (its token, its mask and
holder on the site) and auto-pay are forgotten and the site's usage key stops working, in the change's
transaction; the new owner is asked to add a card, the previous one told the site left his account.
Completing a deletion writes nothing off: open invoices stay owed (an operator may write one off, with a
reason: `services/service_invoices.write_off`), the card is forgotten, and a verification refund still
awaited keeps the deleted site's one timer (`resend_refund`) until the acquirer confirms it — which is why
`deleted` is not a terminal state here: nothing else leaves it or happens in it (but an operator's refund of
the credit the site still holds, `refund_credit`).

Usage reports are summed per billing day outside the deal (`UsageModel`); the first report of a day
records the day on the deal (`report_usage`), which arms `refresh_counters` for a few minutes after that
day ends. The refresh folds the finished days into the counters and tells the owner once per month
per counter that a limit is reached. Work per day is proportional to the sites that reported.

The subscription goes round by design (a month, a day), so the deal keeps its last `HISTORY_KEPT`
steps and its transitions only overwrite fixed-size data.

This module is the table and the steps of invoicing, usage, tariffs, deletion and owners; paying (card
charges, dunning, saved cards, refunds) is in `subscription_paying.py`, and what every part reads off the
site's deal in `site_deal.py`.

Why one module of this size: the table above is its map, and the transitions it lists sit below it in
the same order; the helpers that are not transitions already live beside it."""
from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib.money import ledger, periods, tariffs
from chalicelib.money.amounts import Money
from chalicelib.notify import outbox
from chalicelib.platform import clock, ids
from chalicelib.platform.config import settings
from chalicelib.platform.errors import Conflict, Unprocessable
from chalicelib.processes import Context, Process, Timer, Transition
from chalicelib.processes.site_deal import (
    ACTIVE,
    AFTER_DELETION,
    BILLED,
    BLOCKED,
    DELETED,
    DELETION_REASONS,
    DELETION_REQUESTED,
    HISTORY_KEPT,
    INVOICE_OPEN,
    INVOICE_PAID,
    OPEN,
    PAST_DUE,
    REFRESH_GRACE,
    SYSTEM,
    contact_email_key,
    counters_now,
    data,
    domain_key,
    number,
    number_key,
    over_limits,
    shown,
    site_key,
    site_params,
)
from chalicelib.processes.subscription_paying import (
    BLOCKING,
    CHARGING,
    FALLING_DUE,
    REMINDING,
    after_commit,
    autopay_resumed,
    autopay_stopped,
    blockable,
    card_changes,
    card_forgotten,
    card_saved,
    charge_due,
    charge_next,
    charged,
    credit_refunded,
    declined,
    forget_card,
    has_credit,
    is_due,
    nothing_overdue_left,
    part_settled,
    refund_confirmed,
    refund_due,
    refunds_resent,
    reminded,
    saved_card_changes,
    settled,
    still_pending,
    write_charge,
    write_credit_refund,
    write_reminders,
)
from chalicelib.store.models import (
    DealModel,
    KeyModel,
    ServiceInvoiceModel,
    SiteModel,
    UsageModel,
    open_due_key,
)
from chalicelib.store.uow import UnitOfWork

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
                              "amount": {"amount": int(invoice.amount) - int(invoice.amount_paid or 0),
                                         "currency": invoice.currency}}
                             for invoice in ServiceInvoiceModel.by_site.query(
                                 deal.id, filter_condition=ServiceInvoiceModel.status == INVOICE_OPEN, limit=20)]}
    return {}


# --- invoices -------------------------------------------------------------------------------------------------------

def _invoice(deal: DealModel, ctx: Context, d: dict, period: str, kind: str, lines: list[dict]) -> dict:
    """The next invoice of the site's sequence, recorded on the deal (`last_invoice`) for `_write_invoice`."""
    seq = int(d.get("invoice_seq", 0)) + 1
    issued = ctx.now
    due_day = periods.local_day(issued) + timedelta(days=settings.billing_due_days)
    total = sum(int(line["amount"]) for line in lines)
    invoice: dict = {
        "id": ids.derived_id("sin", deal.id, str(seq)), "seq": seq, "number": number(d["service_code"], seq),
        "period": period, "kind": kind, "lines": lines, "amount": total, "issued_at": clock.iso(issued),
        "due_at": clock.iso(periods.start_of_day(periods.day_after(due_day)) - timedelta(seconds=1)),
        "version": int(deal.version) + 1,
    }
    invoice_id = str(invoice["id"])
    credit = int(d.get("credit") or 0)
    spent = min(credit, total)  # the site's credit pays first
    changes: dict = {"invoice_seq": seq, "last_invoice": {**invoice, "credit_applied": spent}}
    if spent:
        changes["credit"] = credit - spent
    if spent == total:  # paid whole by the credit: nothing to charge, remind or dun
        return changes
    still_open = {**still_pending(d.get("unpaid") or {}, issued), invoice_id: {
        "number": invoice["number"], "amount": total - spent, "issued_at": invoice["issued_at"],
        "due_at": invoice["due_at"], "charges": 0, "reminded": False}}
    changes.update(unpaid=still_open, oldest_open=d.get("oldest_open") or {"issued_at": invoice["issued_at"],
                                                                            "due_at": invoice["due_at"]})
    if d.get("autopay") and not d.get("charging"):  # the saved card pays it the same day
        changes.update(charge_next({**d, "unpaid": still_open}, deal, invoice_id, issued))
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
    spent = int(invoice.get("credit_applied") or 0)
    paid_whole = spent == invoice["amount"]
    record = ServiceInvoiceModel(
        invoice["id"], site_id=deal.id, owner_id=deal.client_id, seq=invoice["seq"], number=invoice["number"],
        period=invoice["period"], kind=invoice["kind"], lines=invoice["lines"], amount=invoice["amount"],
        currency=tariffs.CURRENCY, status=INVOICE_PAID if paid_whole else INVOICE_OPEN, issued_at=invoice["issued_at"],
        due_at=invoice["due_at"], amount_paid=spent or None, credit_applied=spent or None,
        paid_at=invoice["issued_at"] if paid_whole else None, paid_by="credit" if paid_whole else None,
        open_due=None if paid_whole else open_due_key(tariffs.CURRENCY, invoice["amount"] - spent, invoice["id"]))
    uow.put(record, condition=ServiceInvoiceModel.id.does_not_exist())
    uow.put(KeyModel(number_key(invoice["number"]), target_id=invoice["id"]), condition=KeyModel.key.does_not_exist())
    if spent:  # the credit leaves the site's account in the invoice's own transaction
        ledger.record(uow, ledger.site_credit_spent(f"{invoice['id']}:credit", deal.id,
                                                    Money(spent, tariffs.CURRENCY), ref=invoice["id"]))
    outbox.enqueue(uow, deal.client_id, "service_invoice_issued", {
        **site_params(deal), "invoice_id": invoice["id"], "number": invoice["number"], "period": invoice["period"],
        "amount": {"amount": invoice["amount"], "currency": tariffs.CURRENCY}, "due_at": invoice["due_at"],
        "credit_applied": {"amount": spent, "currency": tariffs.CURRENCY},
        "amount_due": {"amount": invoice["amount"] - spent, "currency": tariffs.CURRENCY}})


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
            **site_params(deal), "counter": name, "value": values[name], "limit": limit})


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


def _deletion_completed(deal: DealModel, ctx: Context) -> dict:
    """The card goes with the site; a verification refund still awaited stays (`refunding`: its timer)."""
    return {"data": {**data(deal), **card_forgotten()}}


def _deleted(uow: UnitOfWork, deal: DealModel, ctx: Context) -> None:
    """Invoices and the ledger stay (accounting records): open invoices stay owed; the key, domains and the
    card as shown go."""
    site = ctx.payload["site"]
    if site.get("key_hash"):
        uow.delete(KeyModel(site_key(site["key_hash"])))
    for ascii_host in site.get("domain_keys", []):
        uow.delete(KeyModel(domain_key(ascii_host)))
    uow.update(SiteModel(deal.id), [SiteModel.domains.set([]), SiteModel.key_hash.remove(),
                                    SiteModel.payment_method.remove(), SiteModel.deleted_at.set(clock.iso(ctx.now))])


# --- owner ----------------------------------------------------------------------------------------------------------

def _owner_changed(deal: DealModel, ctx: Context) -> dict:
    """A new owner starts clean: the previous owner's card and auto-pay are forgotten (a stop by support is
    his too). Only the contact changing keeps everything."""
    owner_id = ctx.payload.get("owner_id") or deal.client_id
    if owner_id == deal.client_id:
        return {"data": {**data(deal), "previous_owner_id": None}}
    return {"client_id": owner_id, "client_key": f"site#{owner_id}",
            "data": {**data(deal), **card_forgotten(), "autopay_stopped": False, "previous_owner_id": deal.client_id}}


def _contact_email_set(ctx: Context):  # type: ignore[no-untyped-def]
    """The contact's e-mail as the sites' `by_contact_email` index keys it, written with the contact."""
    email = contact_email_key(ctx.payload["contact"])
    return SiteModel.contact_email_key.set(email) if email else SiteModel.contact_email_key.remove()


def _record_owner(uow: UnitOfWork, deal: DealModel, ctx: Context) -> None:
    previous = data(deal).get("previous_owner_id")
    if not previous:
        uow.update(SiteModel(deal.id), [SiteModel.contact.set(ctx.payload["contact"]), _contact_email_set(ctx)])
        return
    old_key = ctx.payload.get("key_hash")
    if old_key:  # the shop's usage key was the previous owner's: it stops working now
        uow.delete(KeyModel(site_key(old_key)))
    uow.update(SiteModel(deal.id), [SiteModel.contact.set(ctx.payload["contact"]), _contact_email_set(ctx),
                                    SiteModel.payment_method.remove(), SiteModel.key_hash.remove()],
               condition=SiteModel.key_hash == old_key if old_key else SiteModel.key_hash.does_not_exist(),
               on_fail=Conflict("state_changed", "The site changed meanwhile; reload it and try again"))
    outbox.enqueue(uow, previous, "owner_changed", {**site_params(deal), "contact": ctx.payload["contact"],
                                                    "role": "previous_owner"})


def _blocked(deal: DealModel, ctx: Context) -> dict:
    """Since when the site is blocked, as its shop reads it (`GET /v1/sites/{id}/status`)."""
    return {"data": {**data(deal), "blocked_since": clock.iso(ctx.now)}}


# --- notifications --------------------------------------------------------------------------------------------------

def _notification(deal: DealModel, ctx: Context, kind: str, role: str) -> dict:
    d = data(deal)
    params = {**site_params(deal), "role": role}
    if kind == "site_created":
        params.update(tariff_name=d.get("tariff_name", ""))
    elif kind == "deletion_requested":
        params.update(reasons=list(d["deletion"]["reasons"]), comment=d["deletion"]["comment"])
    elif kind == "deletion_refused":
        params.update(reason=ctx.message or "")
    elif kind == "owner_changed":  # a new owner is asked to add a card: the previous owner's is forgotten
        params.update(contact=ctx.payload.get("contact", {}),
                      role="new_owner" if d.get("previous_owner_id") else "owner")
    elif kind in ("service_invoice_overdue", "site_blocked"):
        params.update(invoices=list(ctx.payload.get("invoices") or []))
    elif kind == "card_charge_declined":
        params.update(invoice_id=ctx.payload.get("invoice_id", ""), number=ctx.payload.get("number", ""),
                      payment_url=ctx.payload.get("payment_url", ""),
                      amount={"amount": int(ctx.payload.get("amount", 0)), "currency": tariffs.CURRENCY},
                      retry_at=clock.iso(due) if (due := charge_due(deal)) else None)
    return params


def _invoice_written(uow: UnitOfWork, deal: DealModel, ctx: Context) -> None:
    _write_invoice(uow, deal)


def _issued(uow: UnitOfWork, deal: DealModel, ctx: Context) -> None:
    _write_invoice(uow, deal)
    write_charge(uow, deal, ctx)


REFUNDING = Timer("resend_refund", refund_due)

PROCESS = Process(
    name="subscription",
    noun="site",
    states=frozenset({ACTIVE, PAST_DUE, BLOCKED, DELETION_REQUESTED, DELETED}),
    terminal=frozenset(),  # a deleted site still awaits a verification's refund (its one timer), or a credit refund
    transitions={t.name: t for t in (
        Transition("issue_invoice", BILLED, None, SYSTEM, effects=_issue_month, writes=_issued),
        Transition("report_usage", OPEN, None, SYSTEM, effects=_usage_reported, guard=_not_yet_reported),
        Transition("refresh_counters", OPEN, None, SYSTEM, effects=_refreshed, writes=_notify_limits),
        Transition("change_tariff", BILLED, None, frozenset({"client", "operator"}), effects=_tariff_changed,
                   guard=_tariff_allowed, writes=_issued),
        Transition("request_deletion", BILLED, DELETION_REQUESTED, frozenset({"client"}),
                   notify="deletion_requested", notify_operators=True, effects=_deletion_requested,
                   guard=_reasons_from_the_list, writes=_record_questionnaire),
        Transition("withdraw_deletion", frozenset({DELETION_REQUESTED}), ACTIVE, frozenset({"client"}),
                   notify="deletion_withdrawn", effects=_deletion_withdrawn, writes=_forget_questionnaire),
        Transition("refuse_deletion", frozenset({DELETION_REQUESTED}), ACTIVE, frozenset({"operator"}),
                   notify="deletion_refused", effects=_deletion_withdrawn, writes=_forget_questionnaire),
        Transition("complete_deletion", frozenset({DELETION_REQUESTED}), DELETED, frozenset({"operator"}),
                   notify="deletion_completed", effects=_deletion_completed, writes=_deleted),
        Transition("change_owner", OPEN, None, frozenset({"operator"}), notify="owner_changed",
                   effects=_owner_changed, writes=_record_owner),
        Transition("charge_card", BILLED, None, SYSTEM, effects=charged, writes=write_charge),
        Transition("charge_declined", OPEN, None, SYSTEM, notify="card_charge_declined", effects=declined),
        Transition("invoice_paid", OPEN, None, SYSTEM, effects=settled, writes=card_changes),
        Transition("invoice_part_paid", OPEN, None, SYSTEM, effects=part_settled),
        Transition("recover", frozenset({PAST_DUE}), ACTIVE, SYSTEM, effects=settled, guard=nothing_overdue_left,
                   writes=card_changes),
        Transition("unblock", frozenset({BLOCKED}), ACTIVE, SYSTEM, notify="site_unblocked", effects=settled,
                   guard=nothing_overdue_left, writes=card_changes),
        Transition("fall_past_due", frozenset({ACTIVE}), PAST_DUE, SYSTEM, notify="service_invoice_overdue",
                   guard=is_due),
        Transition("block", frozenset({PAST_DUE}), BLOCKED, SYSTEM, notify="site_blocked", guard=blockable,
                   effects=_blocked),
        Transition("remind_due", BILLED, None, SYSTEM, effects=reminded, writes=write_reminders),
        Transition("save_card", OPEN, None, SYSTEM, effects=card_saved, writes=saved_card_changes),
        Transition("resend_refund", AFTER_DELETION, None, SYSTEM, effects=refunds_resent),
        Transition("refund_confirmed", AFTER_DELETION, None, SYSTEM, effects=refund_confirmed),
        Transition("stop_autopay", OPEN, None, frozenset({"operator"}), notify="autopay_stopped",
                   effects=autopay_stopped, writes=forget_card),
        Transition("resume_autopay", OPEN, None, frozenset({"operator"}), effects=autopay_resumed),
        Transition("refund_credit", AFTER_DELETION, None, frozenset({"client", "operator"}), guard=has_credit,
                   effects=credit_refunded, writes=write_credit_refund),
    )},
    notification=_notification,
    timers={
        ACTIVE: (INVOICING, REFRESHING, CHARGING, REMINDING, FALLING_DUE, REFUNDING),
        PAST_DUE: (INVOICING, REFRESHING, CHARGING, REMINDING, BLOCKING, REFUNDING),
        BLOCKED: (INVOICING, REFRESHING, CHARGING, REMINDING, REFUNDING),
        DELETION_REQUESTED: (REFRESHING, REFUNDING),
        DELETED: (REFUNDING,),
    },
    parties=("client",),
    history_kept=HISTORY_KEPT,
    prepare=prepare,
    after=after_commit,
    queue=lambda status: f"sites#{status}",
)

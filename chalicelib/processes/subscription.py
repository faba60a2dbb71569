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

Billing months are calendar months in `BILLING_TIMEZONE`. The deal's data says which month is billed
next (`next_period`) and from when (`billable_from`: a new site's first month, or a month that began
while deletion was requested, is billed from that moment, by its days); the `issue_invoice` timer is
due when that month begins. The first invoice of a new site is that timer, due at once. Every invoice
takes the next number of the site's gap-free sequence (`invoice_seq`), advanced in the invoice's own
transaction, which is conditional on the deal's status and version like every transition, so a timer
fired twice or concurrently issues one invoice. `past_due` and `blocked` are the dunning states the
card payments bring (next issue): invoices go on there.

Usage reports are summed per billing day outside the deal (`UsageModel`); the first report of a day
records the day on the deal (`report_usage`), which arms `refresh_counters` for a few minutes after that
day ends. The refresh folds the finished days into the counters and tells the owner once per month
per counter that a limit is reached. Work per day is proportional to the sites that reported.

The subscription goes round by design (a month, a day), so the deal keeps its last `HISTORY_KEPT`
steps and its transitions only overwrite fixed-size data.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib import clock, ids, periods, tariffs
from chalicelib.config import settings
from chalicelib.errors import Conflict, Unprocessable
from chalicelib.processes import Actor, Context, Process, Timer, Transition
from chalicelib.services import notifications
from chalicelib.store.models import DealModel, KeyModel, ServiceInvoiceModel, SiteModel, UsageModel
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
    return {"invoice_seq": seq, "last_invoice": invoice}


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
    notifications.enqueue(uow, deal.client_id, "service_invoice_issued", {
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
        notifications.enqueue(uow, deal.client_id, "counter_limit_reached", {
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
        notifications.enqueue(uow, previous, "owner_changed", {**_site_params(deal), "contact": ctx.payload["contact"],
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
    return params


def _invoice_written(uow: UnitOfWork, deal: DealModel, ctx: Context) -> None:
    _write_invoice(uow, deal)


PROCESS = Process(
    name="subscription",
    noun="site",
    states=frozenset({ACTIVE, PAST_DUE, BLOCKED, DELETION_REQUESTED, DELETED}),
    terminal=frozenset({DELETED}),
    transitions={t.name: t for t in (
        Transition("issue_invoice", BILLED, None, SYSTEM, effects=_issue_month, writes=_invoice_written),
        Transition("report_usage", OPEN, None, SYSTEM, effects=_usage_reported, guard=_not_yet_reported),
        Transition("refresh_counters", OPEN, None, SYSTEM, effects=_refreshed, writes=_notify_limits),
        Transition("change_tariff", BILLED, None, frozenset({"client"}), effects=_tariff_changed,
                   guard=_tariff_allowed, writes=_invoice_written),
        Transition("request_deletion", BILLED, DELETION_REQUESTED, frozenset({"client"}),
                   notify="deletion_requested", notify_operators=True, effects=_deletion_requested,
                   guard=_reasons_from_the_list, writes=_record_questionnaire),
        Transition("withdraw_deletion", frozenset({DELETION_REQUESTED}), ACTIVE, frozenset({"client"}),
                   notify="deletion_withdrawn", effects=_deletion_withdrawn, writes=_forget_questionnaire),
        Transition("complete_deletion", frozenset({DELETION_REQUESTED}), DELETED, frozenset({"operator"}),
                   notify="deletion_completed", writes=_deleted),
        Transition("change_owner", OPEN, None, frozenset({"operator"}), notify="owner_changed",
                   effects=_owner_changed, writes=_record_owner),
    )},
    notification=_notification,
    timers={
        ACTIVE: (INVOICING, REFRESHING),
        PAST_DUE: (INVOICING, REFRESHING),
        BLOCKED: (INVOICING, REFRESHING),
        DELETION_REQUESTED: (REFRESHING,),
    },
    parties=("client",),
    history_kept=HISTORY_KEPT,
    prepare=prepare,
)

"""The gig order (Kwork-style): paid into escrow at once, started within 24 hours or cancelled,
delivered for review, accepted by the client or automatically after the review window.

| from                     | transition           | to          | who                   | money                    |
|--------------------------|----------------------|-------------|-----------------------|--------------------------|
| not_started              | start                | in_progress | contractor            |                          |
| not_started              | decline (a reason)   | cancelled   | contractor            | refund (rating drops)    |
| not_started              | auto_cancel (24h)    | cancelled   | system                | refund (rating drops)    |
| not_started, in_progress | offer_extra          | (stays)     | contractor            |                          |
| not_started, in_progress | pay_extra            | (stays)     | client                | extra into escrow        |
| not_started, in_progress | reject_extra         | (stays)     | client                |                          |
| not_started, in_progress | request_cancellation | (stays)     | client or contractor  |                          |
| not_started, in_progress | accept_cancellation  | cancelled   | the other party       | refund                   |
| not_started, in_progress | refuse_cancellation  | (stays)     | the other party       |                          |
| in_progress              | deliver              | on_review   | contractor            |                          |
| in_progress              | cancel_late          | cancelled   | client, once late     | refund (rating drops)    |
| in_progress              | ask_operator_to_cancel | disputed | contractor, refused¹ |                          |
| not_started, in_progress | escalate_cancellation | disputed    | system, unanswered 3 d |                        |
| on_review                | request_revision     | in_progress | client                |                          |
| on_review                | accept               | completed   | client                | release less commission  |
| on_review                | auto_accept (3–4 d)  | completed   | system                | release less commission  |
| on_review                | open_dispute         | disputed    | client                |                          |
| disputed                 | resolve_dispute      | resolved    | operator              | split: refund + release  |

The deadline clock stops on review: delivering keeps the time left, a revision restores it. A paid
extra adds its price to the escrow and its days to the deadline (or to the delivery days, before
the start). A dispute stops the timers until an operator splits the escrow.

¹ A started order always has a way out for the contractor: once the client refused his cancellation
request, or the requests are used up, he may ask an operator to cancel it (a dispute with his reason)
instead of waiting for the client's late one-click cancel, which would count against him. A
cancellation request nobody answers within 3 days goes to an operator the same way. An operator's
decision does not move the rating either way.

The responsibility rating follows Kwork: refusing a not-started order (`decline`) fails the order
like the auto-cancel and a late cancellation do; a cancellation both parties agree to does not.
What a party may repeat is capped (extras, cancellation requests, deliveries and revisions), so no
sequence of requests can grow the order's item towards DynamoDB's 400 KB limit. The review window
counts calendar days in the marketplace's time zone (`MARKETPLACE_TIMEZONE`, `WEEKEND_DAYS`).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib.money import ledger
from chalicelib.money.amounts import Money, commission
from chalicelib.platform import clock
from chalicelib.platform.config import settings
from chalicelib.platform.errors import Conflict, Forbidden, NotFound, Unprocessable
from chalicelib.processes import Actor, Context, Process, Timer, Transition, disputes, notice_params, past_deadline
from chalicelib.store.models import DealModel

NOT_STARTED, IN_PROGRESS, ON_REVIEW, DISPUTED = "not_started", "in_progress", "on_review", "disputed"
COMPLETED, CANCELLED, RESOLVED = "completed", "cancelled", "resolved"
OPEN_STATES = frozenset({NOT_STARTED, IN_PROGRESS, ON_REVIEW, DISPUTED})  # money is in escrow
BEFORE_DELIVERY = frozenset({NOT_STARTED, IN_PROGRESS})
START_WITHIN = timedelta(hours=24)
REVIEW_DAYS, REVIEW_DAYS_OVER_WEEKEND = 3, 4
# What one order may repeat, which bounds its item's size: extras offered (each paid or rejected
# once), cancellation requests, deliveries (a first one and one per revision).
MAX_EXTRAS = 20
MAX_CANCELLATION_REQUESTS = 3
MAX_REVISIONS = 10
MAX_DELIVERIES = MAX_REVISIONS + 1
# A cancellation request nobody answers goes to an operator after this long.
CANCELLATION_ANSWER_WITHIN = timedelta(days=3)
CANCELLATION_REASONS: dict[str, tuple[str, ...]] = {
    "contractor": ("requirements_exceed_gig", "client_unresponsive", "unable_to_complete", "mutual_agreement",
                   "other"),
    "client": ("no_longer_needed", "contractor_unresponsive", "mutual_agreement", "other"),
}
# Why a contractor declines a new order (Kwork's "choose the reason for refusal"); "other" needs a text.
DECLINE_REASONS: tuple[str, ...] = ("requirements_not_matching_gig", "too_busy", "unable_to_complete",
                                    "client_asked", "other")
PARTIES: frozenset[Actor] = frozenset({"client", "contractor"})


def review_days(delivered_at: datetime) -> int:
    """3 days to review, 4 when those days include a weekend day — calendar days in the
    marketplace's time zone, whose weekend is `WEEKEND_DAYS` (Saturday and Sunday by default)."""
    local = clock.on_marketplace_calendar(delivered_at)
    first, last = local.date(), (local + timedelta(days=REVIEW_DAYS)).date()
    days = (first + timedelta(days=offset) for offset in range((last - first).days + 1))
    weekend = settings.weekend_days
    return REVIEW_DAYS_OVER_WEEKEND if any(day.weekday() in weekend for day in days) else REVIEW_DAYS


def _money(deal: DealModel) -> Money:
    return Money(int(deal.amount), deal.currency)


def commission_of(deal: DealModel) -> int:
    return commission(int(deal.amount), int(deal.commission_bps))


# --- money -----------------------------------------------------------------------------------------------------------

def _refund(deal: DealModel, ctx: Context, transfer_id: str) -> ledger.Transfer:
    return ledger.refund(transfer_id, deal.client_id, _money(deal), ref=deal.id)


def _release(deal: DealModel, ctx: Context, transfer_id: str) -> ledger.Transfer:
    return ledger.release(transfer_id, deal.client_id, deal.contractor_id, _money(deal), commission_of(deal),
                          ref=deal.id)


def _hold_extra(deal: DealModel, ctx: Context, transfer_id: str) -> ledger.Transfer:
    extra = _extra(deal, ctx)
    return ledger.hold(transfer_id, deal.client_id, Money(int(extra["amount"]), deal.currency), ref=deal.id,
                       kind="escrow_hold")


# --- guards ----------------------------------------------------------------------------------------------------------

def _extra(deal: DealModel, ctx: Context) -> dict:
    extra = next((e for e in deal.extras if e["id"] == ctx.payload.get("extra_id")), None)
    if extra is None:
        raise NotFound("not_found", "No such extra on this order")
    return extra


def _extra_open(deal: DealModel, ctx: Context) -> None:
    if _extra(deal, ctx)["status"] != "offered":
        raise Conflict("extra_decided", "This extra has already been paid or rejected")


def _reason_from_the_list(deal: DealModel, ctx: Context) -> None:
    asked = deal.cancellation
    if asked and asked["status"] == "pending":
        raise Conflict("cancellation_pending", "A cancellation request is already waiting for an answer")
    allowed = CANCELLATION_REASONS[ctx.actor]
    if ctx.reason not in allowed:
        raise Unprocessable("invalid_reason", f"reason must be one of: {', '.join(allowed)}", field="reason")


def _decline_reason(deal: DealModel, ctx: Context) -> None:
    if ctx.reason not in DECLINE_REASONS:
        raise Unprocessable("invalid_reason", f"reason must be one of: {', '.join(DECLINE_REASONS)}", field="reason")
    if ctx.reason == "other" and not (ctx.message or "").strip():
        raise Unprocessable("message_required", "Say why in the message when the reason is 'other'", field="message")


def _answer_from_the_other_party(deal: DealModel, ctx: Context) -> None:
    asked = deal.cancellation
    if not asked or asked["status"] != "pending":
        raise Conflict("no_cancellation_request", "There is no cancellation request to answer")
    if asked["by"] == ctx.actor:
        raise Forbidden("not_your_move", "The other party answers a cancellation request")


def _no_cancellation_left(deal: DealModel, ctx: Context) -> None:
    """The contractor's way out of a started order: the client refused his cancellation request, or the
    requests are used up — he asks an operator to cancel it, saying why."""
    asked = deal.cancellation or {}
    refused = asked.get("by") == "contractor" and asked.get("status") == "refused"
    used_up = sum(1 for step in deal.history if step["transition"] == "request_cancellation") \
        >= MAX_CANCELLATION_REQUESTS
    if not (refused or used_up):
        raise Conflict("cancellation_not_refused", "Ask the client to cancel first; an operator decides once the "
                                                   "client refused or the requests are used up")
    if not (ctx.message or "").strip():
        raise Unprocessable("message_required", "Say why the order should be cancelled", field="message")


def _within_revision_limit(deal: DealModel, ctx: Context) -> None:
    limit = (deal.terms or {}).get("revision_limit")
    if limit is not None and int(deal.revisions or 0) >= int(limit):
        raise Conflict("revision_limit_reached", f"The agreed terms allow {limit} revision(s)")


# --- effects ---------------------------------------------------------------------------------------------------------

def _started(deal: DealModel, ctx: Context) -> dict:
    return {"deadline_at": clock.iso(ctx.now + timedelta(days=int(deal.delivery_days)))}


def _delivered(deal: DealModel, ctx: Context) -> dict:
    remaining = (clock.parse_iso(deal.deadline_at) - ctx.now).total_seconds() if deal.deadline_at else 0
    due = ctx.now + timedelta(days=review_days(ctx.now))
    # its message is last_message, and every delivery's message stays in the order's thread
    delivery = {"at": clock.iso(ctx.now), "files": ctx.payload.get("files", []), "links": ctx.payload.get("links", [])}
    data = deal.data or {}
    changes = {"remaining_seconds": int(remaining), "review_due_at": clock.iso(due), "last_message": ctx.message,
               "data": {**data, "deliveries": [*data.get("deliveries", []), delivery]}}
    if deal.cancellation and deal.cancellation["status"] == "pending":
        changes["cancellation"] = {**deal.cancellation, "status": "lapsed"}  # delivering answers it
    return changes


def _revision(deal: DealModel, ctx: Context) -> dict:
    remaining = max(int(deal.remaining_seconds or 0), 0)
    return {"deadline_at": clock.iso(ctx.now + timedelta(seconds=remaining)), "remaining_seconds": None,
            "review_due_at": None, "last_message": ctx.message, "revisions": int(deal.revisions or 0) + 1}


def _closed(deal: DealModel, ctx: Context) -> dict:
    return {"closed_reason": ctx.reason, "review_due_at": None}


def _declined(deal: DealModel, ctx: Context) -> dict:
    return {**_closed(deal, ctx), "last_message": ctx.message or None}


def _extra_offered(deal: DealModel, ctx: Context) -> dict:
    extra = {"id": ctx.payload["extra_id"], "title": ctx.payload["title"], "amount": int(ctx.payload["amount"]),
             "extra_days": int(ctx.payload["extra_days"]), "status": "offered", "offered_at": clock.iso(ctx.now),
             "decided_at": None}
    return {"extras": [*deal.extras, extra]}


def _decide_extra(deal: DealModel, ctx: Context, status: str) -> list[dict]:
    chosen = _extra(deal, ctx)["id"]
    return [{**e, "status": status, "decided_at": clock.iso(ctx.now)} if e["id"] == chosen else e
            for e in deal.extras]


def _extra_paid(deal: DealModel, ctx: Context) -> dict:
    extra = _extra(deal, ctx)
    days = int(extra["extra_days"])
    changes = {"extras": _decide_extra(deal, ctx, "paid"), "amount": int(deal.amount) + int(extra["amount"]),
               "delivery_days": int(deal.delivery_days) + days}
    if deal.deadline_at:
        changes["deadline_at"] = clock.iso(clock.parse_iso(deal.deadline_at) + timedelta(days=days))
    return changes


def _extra_rejected(deal: DealModel, ctx: Context) -> dict:
    return {"extras": _decide_extra(deal, ctx, "rejected")}


def _cancellation_asked(deal: DealModel, ctx: Context) -> dict:
    return {"cancellation": {"by": ctx.actor, "reason": ctx.reason, "message": ctx.message or "",
                             "requested_at": clock.iso(ctx.now), "status": "pending", "answered_at": None}}


def _cancellation_answered(status: str):
    def effects(deal: DealModel, ctx: Context) -> dict:
        asked = deal.cancellation or {}
        changes: dict = {"cancellation": {**asked, "status": status, "answered_at": clock.iso(ctx.now)}}
        if status == "accepted":
            changes.update(closed_reason=f"cancelled by agreement: {asked['reason']}", review_due_at=None)
        return changes

    return effects


def _to_operator(deal: DealModel, ctx: Context) -> dict:
    return disputes.opened(deal, ctx, by="contractor", reason=ctx.message or "")


def _escalated(deal: DealModel, ctx: Context) -> dict:
    asked = deal.cancellation or {}
    reason = f"cancellation request unanswered: {asked.get('reason', '')} {asked.get('message', '')}".strip()
    return {**disputes.opened(deal, ctx, by=asked.get("by", "client"), reason=reason),
            "cancellation": {**asked, "status": "escalated", "answered_at": clock.iso(ctx.now)}}


def _cancellation_unanswered_at(deal: DealModel) -> datetime | None:
    asked = deal.cancellation
    if not asked or asked["status"] != "pending":
        return None
    return clock.parse_iso(asked["requested_at"]) + CANCELLATION_ANSWER_WITHIN


def _notification(deal: DealModel, ctx: Context, kind: str, role: str) -> dict:
    return notice_params.deal_notification(deal, kind, role, extra_id=ctx.payload.get("extra_id"))


PROCESS = Process(
    name="gig_order",
    noun="order",
    states=frozenset({NOT_STARTED, IN_PROGRESS, ON_REVIEW, DISPUTED, COMPLETED, CANCELLED, RESOLVED}),
    terminal=frozenset({COMPLETED, CANCELLED, RESOLVED}),
    transitions={t.name: t for t in (
        Transition("start", frozenset({NOT_STARTED}), IN_PROGRESS, frozenset({"contractor"}),
                   notify="order_started", effects=_started),
        Transition("decline", frozenset({NOT_STARTED}), CANCELLED, frozenset({"contractor"}), money=_refund,
                   notify="order_declined", effects=_declined, guard=_decline_reason,
                   contractor_score="orders_failed"),
        Transition("auto_cancel", frozenset({NOT_STARTED}), CANCELLED, frozenset({"system"}), money=_refund,
                   notify="order_auto_cancelled", effects=_closed, contractor_score="orders_failed"),
        Transition("offer_extra", BEFORE_DELIVERY, None, frozenset({"contractor"}), notify="extra_offered",
                   effects=_extra_offered, limit=MAX_EXTRAS),
        Transition("pay_extra", BEFORE_DELIVERY, None, frozenset({"client"}), money=_hold_extra,
                   notify="extra_paid", effects=_extra_paid, guard=_extra_open, limit=MAX_EXTRAS),
        Transition("reject_extra", BEFORE_DELIVERY, None, frozenset({"client"}), notify="extra_rejected",
                   effects=_extra_rejected, guard=_extra_open, limit=MAX_EXTRAS),
        Transition("request_cancellation", BEFORE_DELIVERY, None, PARTIES, notify="cancellation_requested",
                   effects=_cancellation_asked, guard=_reason_from_the_list, limit=MAX_CANCELLATION_REQUESTS),
        Transition("accept_cancellation", BEFORE_DELIVERY, CANCELLED, PARTIES, money=_refund,
                   notify="cancellation_accepted", effects=_cancellation_answered("accepted"),
                   guard=_answer_from_the_other_party, contractor_score="orders_cancelled"),
        Transition("refuse_cancellation", BEFORE_DELIVERY, None, PARTIES, notify="cancellation_refused",
                   effects=_cancellation_answered("refused"), guard=_answer_from_the_other_party,
                   limit=MAX_CANCELLATION_REQUESTS),
        Transition("deliver", frozenset({IN_PROGRESS}), ON_REVIEW, frozenset({"contractor"}),
                   notify="order_delivered", effects=_delivered, limit=MAX_DELIVERIES),
        Transition("cancel_late", frozenset({IN_PROGRESS}), CANCELLED, frozenset({"client"}), money=_refund,
                   notify="order_cancelled", effects=_closed, guard=past_deadline,
                   contractor_score="orders_failed"),
        Transition("request_revision", frozenset({ON_REVIEW}), IN_PROGRESS, frozenset({"client"}),
                   notify="order_revision_requested", effects=_revision, guard=_within_revision_limit,
                   limit=MAX_REVISIONS),
        Transition("accept", frozenset({ON_REVIEW}), COMPLETED, frozenset({"client"}), money=_release,
                   notify="order_completed", effects=_closed, contractor_score="orders_completed"),
        Transition("auto_accept", frozenset({ON_REVIEW}), COMPLETED, frozenset({"system"}), money=_release,
                   notify="order_auto_accepted", effects=_closed, contractor_score="orders_completed"),
        Transition("ask_operator_to_cancel", frozenset({IN_PROGRESS}), DISPUTED, frozenset({"contractor"}),
                   notify="dispute_opened", notify_operators=True, effects=_to_operator,
                   guard=_no_cancellation_left),
        Transition("escalate_cancellation", BEFORE_DELIVERY, DISPUTED, frozenset({"system"}),
                   notify="dispute_opened", notify_operators=True, effects=_escalated),
        disputes.open_dispute(frozenset({ON_REVIEW}), DISPUTED),
        disputes.resolve_dispute(frozenset({DISPUTED}), RESOLVED),
    )},
    notification=_notification,
    holding=OPEN_STATES,
    timers={
        NOT_STARTED: (Timer("auto_cancel", lambda deal: clock.parse_iso(deal.created_at) + START_WITHIN),
                      Timer("escalate_cancellation", _cancellation_unanswered_at)),
        IN_PROGRESS: (Timer("escalate_cancellation", _cancellation_unanswered_at),),
        ON_REVIEW: (Timer("auto_accept", lambda deal: clock.parse_iso(deal.review_due_at)),),
    },
    thread=True,
)

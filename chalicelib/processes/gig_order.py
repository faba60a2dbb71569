"""The gig order (Kwork-style): paid into escrow at once, started within 24 hours or cancelled,
delivered for review, accepted by the client or automatically after the review window.

| from           | transition        | to          | who               | money                 |
|----------------|-------------------|-------------|-------------------|-----------------------|
| not_started    | start             | in_progress | contractor        |                       |
| not_started    | decline           | cancelled   | contractor        | refund                |
| not_started    | auto_cancel (24h) | cancelled   | system            | refund                |
| in_progress    | deliver           | on_review   | contractor        |                       |
| in_progress    | cancel_late       | cancelled   | client, if late   | refund                |
| on_review      | request_revision  | in_progress | client            |                       |
| on_review      | accept            | completed   | client            | release less commission |
| on_review      | auto_accept       | completed   | system            | release less commission |

The deadline clock stops on review: delivering keeps the time left, a revision restores it.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib import clock, ledger
from chalicelib.errors import Conflict
from chalicelib.money import Money, commission
from chalicelib.processes import Context, Process, Timer, Transition
from chalicelib.store.models import DealModel

NOT_STARTED, IN_PROGRESS, ON_REVIEW = "not_started", "in_progress", "on_review"
COMPLETED, CANCELLED = "completed", "cancelled"
OPEN_STATES = frozenset({NOT_STARTED, IN_PROGRESS, ON_REVIEW})  # money is in escrow
START_WITHIN = timedelta(hours=24)
REVIEW_DAYS, REVIEW_DAYS_OVER_WEEKEND = 3, 4


def review_days(delivered_at: datetime) -> int:
    """3 days to review, 4 when those days include a Saturday or a Sunday."""
    first, last = delivered_at.date(), (delivered_at + timedelta(days=REVIEW_DAYS)).date()
    days = (first + timedelta(days=offset) for offset in range((last - first).days + 1))
    return REVIEW_DAYS_OVER_WEEKEND if any(day.weekday() >= 5 for day in days) else REVIEW_DAYS


def _money(deal: DealModel) -> Money:
    return Money(int(deal.amount), deal.currency)


def commission_of(deal: DealModel) -> int:
    return commission(int(deal.amount), int(deal.commission_bps))


def _refund(deal: DealModel, transfer_id: str) -> ledger.Transfer:
    return ledger.refund(transfer_id, deal.client_id, _money(deal), ref=deal.id)


def _release(deal: DealModel, transfer_id: str) -> ledger.Transfer:
    return ledger.release(transfer_id, deal.client_id, deal.contractor_id, _money(deal), commission_of(deal),
                          ref=deal.id)


def _started(deal: DealModel, ctx: Context) -> dict:
    return {"deadline_at": clock.iso(ctx.now + timedelta(days=int(deal.delivery_days)))}


def _delivered(deal: DealModel, ctx: Context) -> dict:
    remaining = (clock.parse_iso(deal.deadline_at) - ctx.now).total_seconds() if deal.deadline_at else 0
    due = ctx.now + timedelta(days=review_days(ctx.now))
    return {"remaining_seconds": int(remaining), "review_due_at": clock.iso(due), "last_message": ctx.message}


def _revision(deal: DealModel, ctx: Context) -> dict:
    remaining = max(int(deal.remaining_seconds or 0), 0)
    return {"deadline_at": clock.iso(ctx.now + timedelta(seconds=remaining)), "remaining_seconds": None,
            "review_due_at": None, "last_message": ctx.message}


def _closed(deal: DealModel, ctx: Context) -> dict:
    return {"closed_reason": ctx.reason, "review_due_at": None}


def _only_when_late(deal: DealModel, ctx: Context) -> None:
    if deal.deadline_at is None or ctx.now <= clock.parse_iso(deal.deadline_at):
        raise Conflict("not_late", "The order can be cancelled this way only after its deadline has passed")


PROCESS = Process(
    name="gig_order",
    states=frozenset({NOT_STARTED, IN_PROGRESS, ON_REVIEW, COMPLETED, CANCELLED}),
    terminal=frozenset({COMPLETED, CANCELLED}),
    transitions={t.name: t for t in (
        Transition("start", frozenset({NOT_STARTED}), IN_PROGRESS, frozenset({"contractor"}),
                   notify=(("client", "order_started"),), effects=_started),
        Transition("decline", frozenset({NOT_STARTED}), CANCELLED, frozenset({"contractor"}), money=_refund,
                   notify=(("client", "order_declined"),), effects=_closed),
        Transition("auto_cancel", frozenset({NOT_STARTED}), CANCELLED, frozenset({"system"}), money=_refund,
                   notify=(("client", "order_auto_cancelled"), ("contractor", "order_auto_cancelled")),
                   effects=_closed),
        Transition("deliver", frozenset({IN_PROGRESS}), ON_REVIEW, frozenset({"contractor"}),
                   notify=(("client", "order_delivered"),), effects=_delivered),
        Transition("cancel_late", frozenset({IN_PROGRESS}), CANCELLED, frozenset({"client"}), money=_refund,
                   notify=(("client", "order_cancelled"), ("contractor", "order_cancelled")), effects=_closed,
                   guard=_only_when_late),
        Transition("request_revision", frozenset({ON_REVIEW}), IN_PROGRESS, frozenset({"client"}),
                   notify=(("contractor", "order_revision_requested"),), effects=_revision),
        Transition("accept", frozenset({ON_REVIEW}), COMPLETED, frozenset({"client"}), money=_release,
                   notify=(("client", "order_completed"), ("contractor", "funds_released")), effects=_closed),
        Transition("auto_accept", frozenset({ON_REVIEW}), COMPLETED, frozenset({"system"}), money=_release,
                   notify=(("client", "order_auto_accepted"), ("contractor", "order_auto_accepted")),
                   effects=_closed),
    )},
    timers={
        NOT_STARTED: Timer("auto_cancel", lambda deal, now: now + START_WITHIN),
        ON_REVIEW: Timer("auto_accept", lambda deal, now: clock.parse_iso(deal.review_due_at)),
    },
)

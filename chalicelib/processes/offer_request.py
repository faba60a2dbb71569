"""The request for a custom offer (seed 004, "the buyer's request form"): a client asks a contractor
for a personal offer — what he needs, and perhaps which gig it is about, his budget and his deadline.
It lands in their conversation; the contractor answers it with an offer (made in the same transaction,
linked both ways: see `services/offer_requests.py`) or declines it with a reason. Unanswered, it expires
at the client's deadline or after OFFER_REQUEST_ANSWER_DAYS, whichever comes first. No money moves.

| from    | transition | to       | who        |
|---------|------------|----------|------------|
| pending | answer     | answered | contractor (by making the offer) |
| pending | decline    | declined | contractor |
| pending | withdraw   | withdrawn| client     |
| pending | expire     | expired  | system, at `accept_by` |
"""
from __future__ import annotations

from chalicelib.platform import clock
from chalicelib.processes import Context, Process, Timer, Transition
from chalicelib.store.models import DealModel

PENDING, ANSWERED, DECLINED, WITHDRAWN, EXPIRED = "pending", "answered", "declined", "withdrawn", "expired"


def _answered(deal: DealModel, ctx: Context) -> dict:
    return {"related_id": ctx.payload["offer_id"]}


def _closed(deal: DealModel, ctx: Context) -> dict:
    return {"closed_reason": ctx.reason}


def notification(deal: DealModel, role: str) -> dict:
    """What both parties' notices about a request say; a budget is what the client offered to pay."""
    data = deal.data or {}
    return {"role": role, "request_id": deal.id, "conversation_id": data.get("conversation_id"),
            "gig_title": data.get("gig_title") or "", "description": deal.description or "",
            "budget": data.get("budget"), "deadline_at": deal.deadline_at, "accept_by": deal.accept_by,
            "reason": deal.closed_reason or "", "offer_id": deal.related_id}


def _notification(deal: DealModel, ctx: Context, kind: str, role: str) -> dict:
    return notification(deal, role)


PROCESS = Process(
    name="offer_request",
    noun="request",
    states=frozenset({PENDING, ANSWERED, DECLINED, WITHDRAWN, EXPIRED}),
    terminal=frozenset({ANSWERED, DECLINED, WITHDRAWN, EXPIRED}),
    transitions={t.name: t for t in (
        # the offer it became tells the client (offer_received), in the same transaction
        Transition("answer", frozenset({PENDING}), ANSWERED, frozenset({"contractor"}), effects=_answered),
        Transition("decline", frozenset({PENDING}), DECLINED, frozenset({"contractor"}),
                   notify="offer_request_declined", effects=_closed),
        Transition("withdraw", frozenset({PENDING}), WITHDRAWN, frozenset({"client"}), effects=_closed),
        Transition("expire", frozenset({PENDING}), EXPIRED, frozenset({"system"}), notify="offer_request_expired"),
    )},
    notification=_notification,
    timers={PENDING: (Timer("expire", lambda deal: clock.parse_iso(deal.accept_by)),)},
)

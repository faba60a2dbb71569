"""The custom offer (seed 004): a contractor's personal offer to a client he has talked with. The
client accepts it — in the same transaction a gig order is created from its frozen terms and
paid into escrow (see `services/offers.py`) — or rejects it; unanswered by its last date, it
expires.

| from    | transition | to        | who        |
|---------|------------|-----------|------------|
| pending | accept     | accepted  | client     |
| pending | reject     | rejected  | client     |
| pending | withdraw   | withdrawn | contractor |
| pending | expire     | expired   | system, at `accept_by` |
"""
from __future__ import annotations

from chalicelib.platform import clock
from chalicelib.processes import Context, Process, Timer, Transition, notice_params
from chalicelib.store.models import DealModel

PENDING, ACCEPTED, REJECTED, WITHDRAWN, EXPIRED = "pending", "accepted", "rejected", "withdrawn", "expired"


def _accepted(deal: DealModel, ctx: Context) -> dict:
    return {"related_id": ctx.payload["order_id"]}


def _closed(deal: DealModel, ctx: Context) -> dict:
    return {"closed_reason": ctx.reason}


def _notification(deal: DealModel, ctx: Context, kind: str, role: str) -> dict:
    return notice_params.offer_notification(deal, role)


PROCESS = Process(
    name="custom_offer",
    noun="offer",
    states=frozenset({PENDING, ACCEPTED, REJECTED, WITHDRAWN, EXPIRED}),
    terminal=frozenset({ACCEPTED, REJECTED, WITHDRAWN, EXPIRED}),
    transitions={t.name: t for t in (
        Transition("accept", frozenset({PENDING}), ACCEPTED, frozenset({"client"}), notify="offer_accepted",
                   effects=_accepted),
        Transition("reject", frozenset({PENDING}), REJECTED, frozenset({"client"}), notify="offer_rejected",
                   effects=_closed),
        Transition("withdraw", frozenset({PENDING}), WITHDRAWN, frozenset({"contractor"}), notify="offer_withdrawn",
                   effects=_closed),
        Transition("expire", frozenset({PENDING}), EXPIRED, frozenset({"system"}), notify="offer_expired"),
    )},
    notification=_notification,
    timers={PENDING: (Timer("expire", lambda deal: clock.parse_iso(deal.accept_by)),)},
)

"""The contract of a project with proposals (seed 001): the client chose a proposal and escrowed
half its price; the contractor accepts the work (or declines: the half returns), uploads the
deliverable and marks it done. The client escrows the other half (only then may the file be
downloaded) and approves — the whole price less commission goes to the contractor — or opens a
dispute. Two days after the work was marked done, what is in escrow is released by itself.

| from                     | transition        | to          | who        | money                        |
|--------------------------|-------------------|-------------|------------|------------------------------|
| awaiting_acceptance      | accept            | in_progress | contractor |                              |
| awaiting_acceptance      | decline           | declined    | contractor | the half back                |
| in_progress, delivered   | fund_rest         | (stays)     | client     | the other half into escrow   |
| in_progress              | submit            | delivered   | contractor | (needs a deliverable)        |
| delivered                | approve           | completed   | client     | release less commission      |
| delivered                | auto_release (2d) | completed   | system     | release what is in escrow    |
| delivered                | open_dispute      | disputed    | client     |                              |
| disputed                 | resolve_dispute   | resolved    | operator   | split of the escrow          |
"""
from __future__ import annotations

from datetime import timedelta

from chalicelib import clock, ledger, views
from chalicelib.config import settings
from chalicelib.errors import Conflict
from chalicelib.money import Money, commission
from chalicelib.processes import Context, Process, Timer, Transition, disputes
from chalicelib.store.models import DealModel

AWAITING, IN_PROGRESS, DELIVERED, DISPUTED = "awaiting_acceptance", "in_progress", "delivered", "disputed"
COMPLETED, DECLINED, RESOLVED = "completed", "declined", "resolved"
HOLDING = frozenset({AWAITING, IN_PROGRESS, DELIVERED, DISPUTED})


def first_half(price_minor: int) -> int:
    """The half escrowed on selection (the odd minor unit goes with it)."""
    return price_minor - price_minor // 2


def _escrow(deal: DealModel) -> Money:
    return Money(disputes.escrow_of(deal), deal.currency)


def _refund(deal: DealModel, ctx: Context, transfer_id: str) -> ledger.Transfer:
    return ledger.refund(transfer_id, deal.client_id, _escrow(deal), ref=deal.id)


def _release(deal: DealModel, ctx: Context, transfer_id: str) -> ledger.Transfer:
    money = _escrow(deal)
    return ledger.release(transfer_id, deal.client_id, deal.contractor_id, money,
                          commission(money.amount_minor, int(deal.commission_bps)), ref=deal.id)


def _hold_rest(deal: DealModel, ctx: Context, transfer_id: str) -> ledger.Transfer:
    rest = int(deal.amount) - int(ctx.payload["escrowed_before"])
    return ledger.hold(transfer_id, deal.client_id, Money(rest, deal.currency), ref=deal.id, kind="escrow_hold")


def _not_funded_yet(deal: DealModel, ctx: Context) -> None:
    if disputes.escrow_of(deal) >= int(deal.amount):
        raise Conflict("already_funded", "The whole price is already in escrow")
    ctx.payload["escrowed_before"] = disputes.escrow_of(deal)


def _fully_funded(deal: DealModel, ctx: Context) -> None:
    if disputes.escrow_of(deal) < int(deal.amount):
        raise Conflict("not_fully_funded", "Escrow the remaining half before approving the work")


def _has_deliverable(deal: DealModel, ctx: Context) -> None:
    if not (deal.data or {}).get("deliverable"):
        raise Conflict("no_deliverable", "Upload the deliverable (a zip) before marking the work done")


def _accepted(deal: DealModel, ctx: Context) -> dict:
    return {"deadline_at": clock.iso(ctx.now + timedelta(days=int(deal.delivery_days)))}


def _funded(deal: DealModel, ctx: Context) -> dict:
    return {"escrowed": int(deal.amount)}


def _submitted(deal: DealModel, ctx: Context) -> dict:
    due = ctx.now + timedelta(hours=settings.project_auto_release_hours)
    return {"review_due_at": clock.iso(due), "last_message": ctx.message}


def _closed(deal: DealModel, ctx: Context) -> dict:
    return {"closed_reason": ctx.reason, "review_due_at": None}


def _notification(deal: DealModel, ctx: Context, kind: str, role: str) -> dict:
    return views.contract_notification(deal, kind, role)


PROCESS = Process(
    name="project",
    noun="contract",
    states=frozenset({AWAITING, IN_PROGRESS, DELIVERED, DISPUTED, COMPLETED, DECLINED, RESOLVED}),
    terminal=frozenset({COMPLETED, DECLINED, RESOLVED}),
    transitions={t.name: t for t in (
        Transition("accept", frozenset({AWAITING}), IN_PROGRESS, frozenset({"contractor"}),
                   notify="contract_accepted", effects=_accepted),
        Transition("decline", frozenset({AWAITING}), DECLINED, frozenset({"contractor"}), money=_refund,
                   notify="contract_declined", effects=_closed),
        Transition("fund_rest", frozenset({IN_PROGRESS, DELIVERED}), None, frozenset({"client"}), money=_hold_rest,
                   notify="contract_funded", effects=_funded, guard=_not_funded_yet),
        Transition("submit", frozenset({IN_PROGRESS}), DELIVERED, frozenset({"contractor"}),
                   notify="work_submitted", effects=_submitted, guard=_has_deliverable),
        Transition("approve", frozenset({DELIVERED}), COMPLETED, frozenset({"client"}), money=_release,
                   notify="contract_completed", effects=_closed, guard=_fully_funded),
        Transition("auto_release", frozenset({DELIVERED}), COMPLETED, frozenset({"system"}), money=_release,
                   notify="contract_auto_released", effects=_closed),
        disputes.open_dispute(frozenset({DELIVERED}), DISPUTED),
        disputes.resolve_dispute(frozenset({DISPUTED}), RESOLVED),
    )},
    notification=_notification,
    holding=HOLDING,
    timers={DELIVERED: Timer("auto_release", lambda deal, now: clock.parse_iso(deal.review_due_at))},
)

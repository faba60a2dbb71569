"""The dispute, shared by every flow that has one: a party opens it (a gig order's client instead
of accepting the work; either party of a project contract before it completes) — the timers stop,
operators are told — and an operator splits what is in escrow between a
refund and a release less commission, citing the frozen terms. A deal's escrow is its `escrowed`
amount where the flow sets one (a project's halves), else its `amount`."""
from __future__ import annotations

from chalicelib.money import ledger
from chalicelib.money.amounts import commission
from chalicelib.platform import clock
from chalicelib.platform.errors import Unprocessable
from chalicelib.processes import Actor, Context, Transition
from chalicelib.store.models import DealModel

QUEUE = "disputes"


def escrow_of(deal: DealModel) -> int:
    return int(deal.amount if deal.escrowed is None else deal.escrowed)


def _opened(deal: DealModel, ctx: Context) -> dict:
    return {"dispute": {"by": ctx.actor, "reason": ctx.message or "", "opened_at": clock.iso(ctx.now),
                        "refund": None, "release": None, "commission": None, "note": "", "resolved_at": None,
                        "resolved_by": None, "terms_hash": deal.terms_hash},
            "review_due_at": None, "fund_due_at": None, "queue": QUEUE}


def _split_adds_up(deal: DealModel, ctx: Context) -> None:
    refund, release = ctx.payload.get("refund"), ctx.payload.get("release")
    if not isinstance(refund, int) or not isinstance(release, int) or refund < 0 or release < 0:
        raise Unprocessable("validation_error", "refund and release must be amounts >= 0")
    if refund + release != escrow_of(deal):
        raise Unprocessable("split_mismatch", f"refund + release must equal the escrow of {escrow_of(deal)}",
                            field="refund")


def _resolved(deal: DealModel, ctx: Context) -> dict:
    release = int(ctx.payload["release"])
    return {"dispute": {**(deal.dispute or {}), "refund": int(ctx.payload["refund"]), "release": release,
                        "commission": commission(release, int(deal.commission_bps)), "note": ctx.message or "",
                        "resolved_at": clock.iso(ctx.now), "resolved_by": ctx.payload.get("operator_id")},
            "queue": None}


def _split(deal: DealModel, ctx: Context, transfer_id: str) -> ledger.Transfer:
    dispute = deal.dispute or {}
    return ledger.settle(transfer_id, deal.client_id, deal.contractor_id, deal.currency,
                         refund_minor=int(dispute["refund"]), release_minor=int(dispute["release"]),
                         commission_minor=int(dispute["commission"]), ref=deal.id)


def opened(deal: DealModel, ctx: Context, *, by: str, reason: str) -> dict:
    """A dispute opened on someone's behalf (an unanswered cancellation request sent to an operator)."""
    return _opened(deal, Context(ctx.now, by, message=reason))  # type: ignore[arg-type]


def open_dispute(source: frozenset[str], target: str,
                 actors: frozenset[Actor] = frozenset({"client"})) -> Transition:
    return Transition("open_dispute", source, target, actors, notify="dispute_opened", notify_operators=True,
                      effects=_opened)


def resolve_dispute(source: frozenset[str], target: str) -> Transition:
    return Transition("resolve_dispute", source, target, frozenset({"operator"}), money=_split,
                      notify="dispute_resolved", notify_operators=True, effects=_resolved, guard=_split_adds_up)

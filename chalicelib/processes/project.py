"""The contract of a project with proposals (seed 001): the client chose a proposal and escrowed
half its price; the contractor accepts the work (or declines: the half returns), uploads the
deliverable and marks it done. The client escrows the other half (only then may the file be
downloaded) and approves — the whole price less commission goes to the contractor — or opens a
dispute.

| from                   | transition           | to              | who                  | money                      |
|------------------------|----------------------|-----------------|----------------------|----------------------------|
| awaiting_acceptance    | accept               | in_progress     | contractor           |                            |
| awaiting_acceptance    | decline              | declined        | contractor           | the half back; project open|
| awaiting_acceptance    | lapse (72 h)         | lapsed          | system               | the half back; project open|
| in_progress, delivered | fund_rest            | (stays)         | client               | the other half into escrow |
| in_progress            | submit               | delivered       | contractor           | (needs a deliverable)      |
| in_progress            | cancel_late          | cancelled       | client, once late    | what is in escrow back     |
| in_progress, delivered | open_dispute         | disputed        | client or contractor |                            |
| delivered              | request_changes (≤3) | in_progress     | client, with message | (clocks stop)              |
| delivered              | remind_unfunded      | (stays)         | system, 1 d before   | (warns the client)         |
| delivered              | extend_funding (1)   | (stays)         | contractor, unfunded | (fund deadline + 2 d)      |
| delivered              | approve              | completed       | client               | release less commission    |
| delivered              | auto_release (2 d)   | completed       | system, fully funded | release less commission    |
| delivered              | close_unfunded (2 d) | closed_unfunded | system, half funded  | the half, less commission  |
| disputed               | resolve_dispute      | resolved        | operator             | split of the escrow        |

No escrow is stranded: an unanswered contract lapses after `CONTRACT_ACCEPT_HOURS`; past the
deadline the proposal's days gave, the client cancels in one click; either party may ask an
operator to decide at any time before completion. The 2-day auto-release counts from the moment
the work is marked done and the whole price is in escrow; a client who has not escrowed the rest
within `CONTRACT_FUND_REST_DAYS` of the work being marked done loses the half to the contractor and
the contract closes unfunded, its files still locked.

Rework before release: once the work is marked done the client may send it back with a message
(`request_changes`, at most `CONTRACT_REWORK_LIMIT` times; a dispute stays open). Both clocks stop —
the auto-release and the deadline to escrow the rest — and start again at the next submission, which
needs a newly uploaded deliverable; every submitted version is kept and listed (`data.versions`). The
round gives the contractor at least `CONTRACT_REWORK_DAYS` before the client may cancel it as late.

The unfunded rest, seen fairly: the client is told the exact rest and the moment at submission, and
once more a day before it (`remind_unfunded`, once per deadline); the contractor may push the
deadline back once (`extend_funding`, by `CONTRACT_FUND_EXTEND_DAYS`); both hear the outcome (the rest
escrowed, or the contract closed unfunded).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib.money import ledger
from chalicelib.money.amounts import Money, commission
from chalicelib.platform import clock
from chalicelib.platform.config import settings
from chalicelib.platform.errors import Conflict
from chalicelib.processes import Actor, Context, Process, Timer, Transition, disputes, notice_params, past_deadline
from chalicelib.store.models import DealModel, ProjectModel, ProposalModel
from chalicelib.store.uow import UnitOfWork

AWAITING, IN_PROGRESS, DELIVERED, DISPUTED = "awaiting_acceptance", "in_progress", "delivered", "disputed"
COMPLETED, DECLINED, LAPSED, CANCELLED = "completed", "declined", "lapsed", "cancelled"
CLOSED_UNFUNDED, RESOLVED = "closed_unfunded", "resolved"
HOLDING = frozenset({AWAITING, IN_PROGRESS, DELIVERED, DISPUTED})
PARTIES: frozenset[Actor] = frozenset({"client", "contractor"})


def first_half(price_minor: int) -> int:
    """The half escrowed on selection (the odd minor unit goes with it)."""
    return price_minor - price_minor // 2


def fully_funded(deal: DealModel) -> bool:
    return disputes.escrow_of(deal) >= int(deal.amount)


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


# --- guards ----------------------------------------------------------------------------------------------------------

def _not_funded_yet(deal: DealModel, ctx: Context) -> None:
    if fully_funded(deal):
        raise Conflict("already_funded", "The whole price is already in escrow")
    ctx.payload["escrowed_before"] = disputes.escrow_of(deal)


def _fully_funded(deal: DealModel, ctx: Context) -> None:
    if not fully_funded(deal):
        raise Conflict("not_fully_funded", "Escrow the remaining half before approving the work")


def _has_deliverable(deal: DealModel, ctx: Context) -> None:
    data = deal.data or {}
    if not data.get("deliverable"):
        raise Conflict("no_deliverable", "Upload the deliverable (a zip) before marking the work done")
    versions = data.get("versions") or []
    if versions and versions[-1]["key"] == data["deliverable"]["key"]:
        raise Conflict("no_new_deliverable", "Upload the changed deliverable before marking the work done again")


def _unfunded(deal: DealModel, ctx: Context) -> None:
    if fully_funded(deal) or not deal.fund_due_at:
        raise Conflict("already_funded", "The whole price is already in escrow: there is no deadline to extend")


# --- effects ---------------------------------------------------------------------------------------------------------

def _accepted(deal: DealModel, ctx: Context) -> dict:
    return {"deadline_at": clock.iso(ctx.now + timedelta(days=int(deal.delivery_days)))}


def _release_clock(funded: bool, now: datetime) -> dict:
    """Once the work is done: two days to auto-release when the whole price is in escrow, else the
    client's last moment to escrow the rest."""
    if funded:
        return {"review_due_at": clock.iso(now + timedelta(hours=settings.project_auto_release_hours)),
                "fund_due_at": None}
    return {"review_due_at": None, "fund_due_at": clock.iso(now + timedelta(days=settings.contract_fund_rest_days))}


def _funded(deal: DealModel, ctx: Context) -> dict:
    changes: dict = {"escrowed": int(deal.amount)}
    if deal.status == DELIVERED:
        changes.update(_release_clock(True, ctx.now))
    return changes


def _submitted(deal: DealModel, ctx: Context) -> dict:
    """The clocks start, and the deliverable submitted is kept as the next version."""
    data = dict(deal.data or {})
    versions = list(data.get("versions") or [])
    data["versions"] = [*versions, {**data["deliverable"], "version": len(versions) + 1,
                                    "submitted_at": clock.iso(ctx.now)}]
    return {"last_message": ctx.message, "data": data, **_release_clock(fully_funded(deal), ctx.now)}


def _changes_requested(deal: DealModel, ctx: Context) -> dict:
    """Back to work: both clocks stop until the next submission, and the contractor has at least the
    rework days before the client may cancel as late."""
    floor = ctx.now + timedelta(days=settings.contract_rework_days)
    deadline = max(clock.parse_iso(deal.deadline_at), floor) if deal.deadline_at else floor
    return {"last_message": ctx.message, "review_due_at": None, "fund_due_at": None,
            "deadline_at": clock.iso(deadline)}


def _reminded(deal: DealModel, ctx: Context) -> dict:
    return {"data": {**(deal.data or {}), "fund_reminded_for": deal.fund_due_at}}


def _extended(deal: DealModel, ctx: Context) -> dict:
    later = clock.parse_iso(deal.fund_due_at) + timedelta(days=settings.contract_fund_extend_days)
    return {"fund_due_at": clock.iso(later)}


def _closed(deal: DealModel, ctx: Context) -> dict:
    return {"closed_reason": ctx.reason, "review_due_at": None, "fund_due_at": None}


def _reopen_project(uow: UnitOfWork, deal: DealModel, ctx: Context) -> None:
    """The contract never started (declined or lapsed): its project takes proposals again, the other
    bids still active, and the chosen bid records how its contract ended so it cannot be chosen again."""
    uow.update(ProjectModel(deal.subject_id), [ProjectModel.status.set("open"), ProjectModel.listing.set("open"),
                                               ProjectModel.contract_id.remove()],
               condition=ProjectModel.contract_id == deal.id)
    uow.update(ProposalModel(deal.subject_id, deal.contractor_id), [ProposalModel.status.set(deal.status),
                                                                    ProposalModel.updated_at.set(clock.iso(ctx.now))],
               condition=ProposalModel.status == "selected")


def _notification(deal: DealModel, ctx: Context, kind: str, role: str) -> dict:
    return notice_params.contract_notification(deal, kind, role)


# --- timers ----------------------------------------------------------------------------------------------------------

def _lapses_at(deal: DealModel) -> datetime:
    return clock.parse_iso(deal.created_at) + timedelta(hours=settings.contract_accept_hours)


def _releases_at(deal: DealModel) -> datetime | None:
    return clock.parse_iso(deal.review_due_at) if deal.review_due_at and fully_funded(deal) else None


def _closes_unfunded_at(deal: DealModel) -> datetime | None:
    return clock.parse_iso(deal.fund_due_at) if deal.fund_due_at and not fully_funded(deal) else None


def _reminds_at(deal: DealModel) -> datetime | None:
    """A day before the deadline to escrow the rest, once per deadline (a new submission or an extension
    sets a new one)."""
    if not deal.fund_due_at or fully_funded(deal) or (deal.data or {}).get("fund_reminded_for") == deal.fund_due_at:
        return None
    if sum(1 for step in deal.history if step["transition"] == "remind_unfunded") >= REMINDERS:
        return None
    return clock.parse_iso(deal.fund_due_at) - timedelta(days=1)


REWORKS = settings.contract_rework_limit
REMINDERS = REWORKS + 2  # one per submission, and one after the deadline is extended

PROCESS = Process(
    name="project",
    noun="contract",
    states=frozenset({AWAITING, IN_PROGRESS, DELIVERED, DISPUTED, COMPLETED, DECLINED, LAPSED, CANCELLED,
                      CLOSED_UNFUNDED, RESOLVED}),
    terminal=frozenset({COMPLETED, DECLINED, LAPSED, CANCELLED, CLOSED_UNFUNDED, RESOLVED}),
    transitions={t.name: t for t in (
        Transition("accept", frozenset({AWAITING}), IN_PROGRESS, frozenset({"contractor"}),
                   notify="contract_accepted", effects=_accepted),
        Transition("decline", frozenset({AWAITING}), DECLINED, frozenset({"contractor"}), money=_refund,
                   notify="contract_declined", effects=_closed, writes=_reopen_project),
        Transition("lapse", frozenset({AWAITING}), LAPSED, frozenset({"system"}), money=_refund,
                   notify="contract_lapsed", effects=_closed, writes=_reopen_project),
        Transition("fund_rest", frozenset({IN_PROGRESS, DELIVERED}), None, frozenset({"client"}), money=_hold_rest,
                   notify="contract_funded", effects=_funded, guard=_not_funded_yet, limit=1),
        Transition("submit", frozenset({IN_PROGRESS}), DELIVERED, frozenset({"contractor"}),
                   notify="work_submitted", effects=_submitted, guard=_has_deliverable),
        Transition("cancel_late", frozenset({IN_PROGRESS}), CANCELLED, frozenset({"client"}), money=_refund,
                   notify="contract_cancelled", effects=_closed, guard=past_deadline),
        Transition("request_changes", frozenset({DELIVERED}), IN_PROGRESS, frozenset({"client"}),
                   notify="contract_changes_requested", effects=_changes_requested, limit=REWORKS),
        Transition("remind_unfunded", frozenset({DELIVERED}), None, frozenset({"system"}),
                   notify="contract_fund_reminder", effects=_reminded, limit=REMINDERS),
        Transition("extend_funding", frozenset({DELIVERED}), None, frozenset({"contractor"}),
                   notify="contract_fund_extended", effects=_extended, guard=_unfunded, limit=1),
        Transition("approve", frozenset({DELIVERED}), COMPLETED, frozenset({"client"}), money=_release,
                   notify="contract_completed", effects=_closed, guard=_fully_funded),
        Transition("auto_release", frozenset({DELIVERED}), COMPLETED, frozenset({"system"}), money=_release,
                   notify="contract_auto_released", effects=_closed),
        Transition("close_unfunded", frozenset({DELIVERED}), CLOSED_UNFUNDED, frozenset({"system"}),
                   money=_release, notify="contract_closed_unfunded", effects=_closed),
        disputes.open_dispute(frozenset({IN_PROGRESS, DELIVERED}), DISPUTED, PARTIES),
        disputes.resolve_dispute(frozenset({DISPUTED}), RESOLVED),
    )},
    notification=_notification,
    holding=HOLDING,
    timers={
        AWAITING: (Timer("lapse", _lapses_at),),
        DELIVERED: (Timer("auto_release", _releases_at), Timer("close_unfunded", _closes_unfunded_at),
                    Timer("remind_unfunded", _reminds_at)),
    },
)

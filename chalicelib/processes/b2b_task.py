"""The B2B task (seed 000): a company pays a contractor of its team for a piece of work.

| from    | transition | to        | who        | money                                          |
|---------|------------|-----------|------------|------------------------------------------------|
| draft   | send       | in_work   | company    | the amount reserved from the company's balance |
| in_work | complete   | done      | contractor | released to the contractor (commission, def. 0)|
| in_work | cancel     | cancelled | company    | returned to the company                        |
| draft   | unassign   | draft     | system     | — (its invitee declined, or his invitation expired) |
| done    | open_dispute | disputed | company  | the contractor's pay held on his account, as far as it is there |
| disputed | resolve_dispute | resolved | operator | what was held: back to the contractor, or to the company |

The contractor is paid when he marks the task done (seed 000: "the payment is credited to his balance
automatically"). A company that cancels it afterwards does not get the money back: its cancel opens a
dispute for an operator instead, and what the contractor was paid for the task stays held on his own
account (so far as he has not withdrawn it) until the operator splits it between him and the company.

A draft is edited (all but the contractor) or deleted outside the process; a company whose
setting says so creates tasks straight in work. Completing issues the act of completed work.

A draft may be assigned to someone the company has invited who has not joined yet (its `data.member`
names his address and when his invitation expires): it cannot be sent until he joins, which makes
him its contractor for good. If his invitation is declined or expires first, the draft returns to
unassigned (`unassign`, the company is told) and the company may assign it to another member.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib.money import ledger
from chalicelib.money.amounts import Money, commission
from chalicelib.notify import outbox
from chalicelib.platform import clock, ids
from chalicelib.platform.config import settings
from chalicelib.platform.errors import Conflict, Unprocessable
from chalicelib.processes import Context, Process, Timer, Transition, notice_params
from chalicelib.store.models import DealModel
from chalicelib.store.uow import UnitOfWork

DRAFT, IN_WORK, DONE, CANCELLED, DISPUTED, RESOLVED = "draft", "in_work", "done", "cancelled", "disputed", "resolved"
QUEUE = "disputes"  # the operators' queue, shared with the other flows' disputes
UNASSIGNED = "unassigned"  # a draft's contractor once his invitation was declined or expired
MAX_UNASSIGNED = 10  # how many times one draft may lose an invited contractor (each is a step of its history)


def placeholder_id(company_id: str, email: str) -> str:
    """The id a company assigns drafts to someone it invited who has no account yet."""
    return ids.derived_id("mbr", company_id, email)


def pending_member(deal: DealModel) -> dict | None:
    """The invited contractor a draft waits for: {email, expires_at}; None once he joined (or for no one)."""
    return (deal.data or {}).get("member")


def _invitation_expires(deal: DealModel) -> datetime | None:
    member = pending_member(deal)
    return clock.parse_iso(member["expires_at"]) if member else None


def _sendable(deal: DealModel, ctx: Context) -> None:
    if deal.contractor_id == UNASSIGNED:
        raise Conflict("no_contractor", "This draft has no contractor: assign it to a member of your team first")
    if pending_member(deal):
        raise Conflict("contractor_not_joined", "The contractor has not joined your team yet: the task can be sent "
                                                "for payment once he accepts the invitation")


def _unassigned(deal: DealModel, ctx: Context) -> dict:
    data = {key: value for key, value in (deal.data or {}).items() if key != "member"}
    data["unassigned"] = {"email": (pending_member(deal) or {}).get("email", ""), "reason": ctx.reason or "expired",
                          "at": clock.iso(ctx.now)}
    return {"contractor_id": UNASSIGNED, "contractor_key": None, "data": data}


def _tell_company(uow: UnitOfWork, deal: DealModel, ctx: Context) -> None:
    ended = (deal.data or {})["unassigned"]
    outbox.enqueue(uow, deal.client_id, "task_unassigned", {**notice_params.task_notification(deal, "client"),
                                                            "email": ended["email"], "reason": ended["reason"]})


def _money(deal: DealModel) -> Money:
    return Money(int(deal.amount), deal.currency)


def reserve(deal: DealModel, transfer_id: str) -> ledger.Transfer:
    return ledger.hold(transfer_id, deal.client_id, _money(deal), ref=deal.id, kind="task_reserve")


def _reserve(deal: DealModel, ctx: Context, transfer_id: str) -> ledger.Transfer:
    return reserve(deal, transfer_id)


def _pay(deal: DealModel, ctx: Context, transfer_id: str) -> ledger.Transfer:
    return ledger.release(transfer_id, deal.client_id, deal.contractor_id, _money(deal),
                          commission(int(deal.amount), int(deal.commission_bps)), ref=deal.id)


def _return(deal: DealModel, ctx: Context, transfer_id: str) -> ledger.Transfer:
    return ledger.refund(transfer_id, deal.client_id, _money(deal), ref=deal.id)


def _act_issued(deal: DealModel, ctx: Context) -> dict:
    return {"data": {**(deal.data or {}), "act": {"number": f"ACT-{deal.id.removeprefix('tsk_').upper()}",
                                                   "issued_at": clock.iso(ctx.now)}}}


def _cancelled(deal: DealModel, ctx: Context) -> dict:
    return {"closed_reason": ctx.reason}


def _paid(deal: DealModel) -> int:
    return int(deal.amount) - commission(int(deal.amount), int(deal.commission_bps))


def _within_dispute_window(deal: DealModel, ctx: Context) -> None:
    done_at = clock.parse_iso((deal.data or {})["act"]["issued_at"])
    if ctx.now > done_at + timedelta(days=settings.task_dispute_days):
        raise Conflict("dispute_window_closed", f"A done task may be contested within {settings.task_dispute_days} "
                                                "days of being marked done")


def _held(deal: DealModel, ctx: Context) -> int:
    """What the dispute holds of the contractor's pay: as much as his available balance still covers."""
    available = ledger.balances(deal.contractor_id).get(deal.currency, (0, 0))[0]
    return max(0, min(_paid(deal), available))


def _disputed(deal: DealModel, ctx: Context) -> dict:
    return {"dispute": {"by": "client", "reason": ctx.reason or "", "opened_at": clock.iso(ctx.now),
                        "paid": _paid(deal), "held": _held(deal, ctx), "refund": None, "release": None, "note": "",
                        "resolved_at": None, "resolved_by": None}, "queue": QUEUE}


def _hold_pay(deal: DealModel, ctx: Context, transfer_id: str) -> ledger.Transfer | None:
    held = int((deal.dispute or {})["held"])
    return ledger.hold(transfer_id, deal.contractor_id, Money(held, deal.currency), ref=deal.id,
                       kind="task_dispute_hold") if held else None


def _split_adds_up(deal: DealModel, ctx: Context) -> None:
    refund, release = ctx.payload.get("refund"), ctx.payload.get("release")
    if not isinstance(refund, int) or not isinstance(release, int) or refund < 0 or release < 0:
        raise Unprocessable("validation_error", "refund and release must be amounts >= 0")
    held = int((deal.dispute or {})["held"])
    if refund + release != held:
        raise Unprocessable("split_mismatch", f"refund + release must equal what the dispute holds, {held}",
                            field="refund")


def _resolved(deal: DealModel, ctx: Context) -> dict:
    return {"dispute": {**(deal.dispute or {}), "refund": int(ctx.payload["refund"]),
                        "release": int(ctx.payload["release"]), "note": ctx.message or "",
                        "resolved_at": clock.iso(ctx.now), "resolved_by": ctx.payload.get("operator_id")},
            "queue": None}


def _split(deal: DealModel, ctx: Context, transfer_id: str) -> ledger.Transfer | None:
    """What was held on the contractor's account: `release` back to him, `refund` to the company."""
    dispute = deal.dispute or {}
    if not int(dispute["held"]):
        return None
    return ledger.settle(transfer_id, deal.contractor_id, deal.client_id, deal.currency,
                         refund_minor=int(dispute["release"]), release_minor=int(dispute["refund"]),
                         commission_minor=0, ref=deal.id)


def _held_by(deal: DealModel) -> tuple[str, int]:
    if deal.status == DISPUTED:
        return deal.contractor_id, int((deal.dispute or {})["held"])
    return deal.client_id, int(deal.amount)


def _notification(deal: DealModel, ctx: Context, kind: str, role: str) -> dict:
    return notice_params.task_notification(deal, role)


PROCESS = Process(
    name="b2b_task",
    noun="task",
    states=frozenset({DRAFT, IN_WORK, DONE, CANCELLED, DISPUTED, RESOLVED}),
    terminal=frozenset({CANCELLED, RESOLVED}),
    transitions={t.name: t for t in (
        Transition("send", frozenset({DRAFT}), IN_WORK, frozenset({"client"}), money=_reserve, notify="task_sent",
                   guard=_sendable),
        Transition("unassign", frozenset({DRAFT}), None, frozenset({"system"}), effects=_unassigned,
                   writes=_tell_company, limit=MAX_UNASSIGNED),
        Transition("complete", frozenset({IN_WORK}), DONE, frozenset({"contractor"}), money=_pay, notify="task_done",
                   effects=_act_issued),
        Transition("cancel", frozenset({IN_WORK}), CANCELLED, frozenset({"client"}), money=_return,
                   notify="task_cancelled", effects=_cancelled),
        Transition("open_dispute", frozenset({DONE}), DISPUTED, frozenset({"client"}), money=_hold_pay,
                   notify="task_disputed", notify_operators=True, effects=_disputed, guard=_within_dispute_window,
                   limit=1),
        Transition("resolve_dispute", frozenset({DISPUTED}), RESOLVED, frozenset({"operator"}), money=_split,
                   notify="task_dispute_resolved", notify_operators=True, effects=_resolved, guard=_split_adds_up),
    )},
    notification=_notification,
    timers={DRAFT: (Timer("unassign", _invitation_expires),)},
    holding=frozenset({IN_WORK, DISPUTED}),
    held_by=_held_by,
)

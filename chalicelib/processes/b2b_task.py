"""The B2B task (seed 000): a company pays a contractor of its team for a piece of work.

| from    | transition | to        | who        | money                                          |
|---------|------------|-----------|------------|------------------------------------------------|
| draft   | send       | in_work   | company    | the amount reserved from the company's balance |
| in_work | complete   | done      | contractor | released to the contractor (commission, def. 0)|
| in_work | cancel     | cancelled | company    | returned to the company                        |
| draft   | unassign   | draft     | system, when the invitation of its contractor expires or is declined | — |

A draft is edited (all but the contractor) or deleted outside the process; a company whose
setting says so creates tasks straight in work. Completing issues the act of completed work.

A draft may be assigned to someone the company has invited who has not joined yet (its `data.member`
names his address and when his invitation expires): it cannot be sent until he joins, which makes
him its contractor for good. If his invitation is declined or expires first, the draft returns to
unassigned (`unassign`, the company is told) and the company may assign it to another member.
"""
from __future__ import annotations

from datetime import datetime

from chalicelib.money import ledger
from chalicelib.money.amounts import Money, commission
from chalicelib.notify import outbox
from chalicelib.platform import clock, ids
from chalicelib.platform.errors import Conflict
from chalicelib.processes import Context, Process, Timer, Transition, notice_params
from chalicelib.store.models import DealModel
from chalicelib.store.uow import UnitOfWork

DRAFT, IN_WORK, DONE, CANCELLED = "draft", "in_work", "done", "cancelled"
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


def _notification(deal: DealModel, ctx: Context, kind: str, role: str) -> dict:
    return notice_params.task_notification(deal, role)


PROCESS = Process(
    name="b2b_task",
    noun="task",
    states=frozenset({DRAFT, IN_WORK, DONE, CANCELLED}),
    terminal=frozenset({DONE, CANCELLED}),
    transitions={t.name: t for t in (
        Transition("send", frozenset({DRAFT}), IN_WORK, frozenset({"client"}), money=_reserve, notify="task_sent",
                   guard=_sendable),
        Transition("unassign", frozenset({DRAFT}), None, frozenset({"system"}), effects=_unassigned,
                   writes=_tell_company, limit=MAX_UNASSIGNED),
        Transition("complete", frozenset({IN_WORK}), DONE, frozenset({"contractor"}), money=_pay, notify="task_done",
                   effects=_act_issued),
        Transition("cancel", frozenset({IN_WORK}), CANCELLED, frozenset({"client"}), money=_return,
                   notify="task_cancelled", effects=_cancelled),
    )},
    notification=_notification,
    timers={DRAFT: (Timer("unassign", _invitation_expires),)},
    holding=frozenset({IN_WORK}),
)

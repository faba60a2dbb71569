"""The B2B task (seed 000): a company pays a contractor of its team for a piece of work.

| from    | transition | to        | who        | money                                          |
|---------|------------|-----------|------------|------------------------------------------------|
| draft   | send       | in_work   | company    | the amount reserved from the company's balance |
| in_work | complete   | done      | contractor | released to the contractor (commission, def. 0)|
| in_work | cancel     | cancelled | company    | returned to the company                        |

A draft is edited (all but the contractor) or deleted outside the process; a company whose
setting says so creates tasks straight in work. Completing issues the act of completed work.
"""
from __future__ import annotations

from chalicelib.money import ledger
from chalicelib.money.amounts import Money, commission
from chalicelib.platform import clock
from chalicelib.processes import Context, Process, Transition, notice_params
from chalicelib.store.models import DealModel

DRAFT, IN_WORK, DONE, CANCELLED = "draft", "in_work", "done", "cancelled"


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
        Transition("send", frozenset({DRAFT}), IN_WORK, frozenset({"client"}), money=_reserve, notify="task_sent"),
        Transition("complete", frozenset({IN_WORK}), DONE, frozenset({"contractor"}), money=_pay, notify="task_done",
                   effects=_act_issued),
        Transition("cancel", frozenset({IN_WORK}), CANCELLED, frozenset({"client"}), money=_return,
                   notify="task_cancelled", effects=_cancelled),
    )},
    notification=_notification,
    holding=frozenset({IN_WORK}),
)

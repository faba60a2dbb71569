"""B2B tasks (seed 000): a company gives a contractor of its team a paid task. A draft can be
edited in everything but its contractor, or deleted; sending it reserves the amount from the
company's balance in the task's currency; the contractor marks it done, which pays him and issues
the act of completed work; the company may cancel a task in work. Each step after the draft is a
transition of `chalicelib/processes/b2b_task.py`."""
from __future__ import annotations

from chalicelib import engine
from chalicelib.access.auth import Principal
from chalicelib.money import ledger
from chalicelib.money.amounts import Money, require_positive
from chalicelib.platform import clock, ids
from chalicelib.platform.config import settings
from chalicelib.platform.errors import Conflict, Forbidden, NotFound, Unprocessable
from chalicelib.processes import Actor, Context
from chalicelib.processes.b2b_task import DISPUTED, DONE, DRAFT, IN_WORK, PROCESS, RESOLVED, UNASSIGNED, reserve
from chalicelib.services import accounts, deals, idempotency, profiles, team, views
from chalicelib.store.models import DealModel
from chalicelib.store.uow import UnitOfWork

EDITABLE = ("title", "description", "amount", "currency", "deadline_at")


def _covers(company_id: str, money: Money) -> None:
    """A balance in another currency never pays a task: say so before anything moves."""
    ledger.require_covers(company_id, money)


def _deadline(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return clock.iso(clock.parse_iso(value))
    except ValueError:
        raise Unprocessable("validation_error", "deadline_at must be an ISO 8601 timestamp",
                            field="deadline_at") from None


def create(principal: Principal, contractor_id: str, title: str, description: str, amount_minor: int,
           currency: str, deadline_at: str | None) -> tuple[int, dict]:
    money = require_positive(amount_minor, currency)
    contractor_id, member = team.assignee(principal.user_id, contractor_id)
    now = clock.now()
    deal = DealModel(ids.new_id("tsk"), client_id=principal.user_id, contractor_id=contractor_id,
                     subject_id=principal.user_id, title=title, description=description, amount=amount_minor,
                     currency=currency, commission_bps=settings.commission_b2b_task_bps, delivery_days=0,
                     deadline_at=_deadline(deadline_at), created_at=clock.iso(now),
                     data={"member": member} if member else {})
    at_once = bool(profiles.load(principal.user_id).send_tasks_immediately)
    if member is not None:
        if at_once:
            raise Conflict("contractor_not_joined", "The contractor has not joined your team yet, and your tasks are "
                           "sent at once: a task for him can be sent once he accepts the invitation")
        team.require_room_for_draft(principal.user_id, contractor_id, member)
    if at_once:
        _covers(principal.user_id, money)
    uow = UnitOfWork()
    engine.create(uow, PROCESS, deal, IN_WORK if at_once else DRAFT, Context(now, "client"),
                  reserve(deal, f"{deal.id}:send:0") if at_once else None, notify="task_sent" if at_once else None)
    return idempotency.commit(uow, 201, views.task(deal))


def load(task_id: str) -> DealModel:
    return deals.load(PROCESS, task_id)


def _role(principal: Principal, deal: DealModel) -> Actor:
    role = deals.role_of(principal, deal, "task", operators=False)
    if role == "contractor" and deal.status == DRAFT:
        raise NotFound("not_found", "No such task")  # a draft is the company's own until it is sent
    return role


def _own_draft(principal: Principal, task_id: str) -> DealModel:
    deal = load(task_id)
    if _role(principal, deal) != "client":
        raise Forbidden("not_your_task", "Only the company edits its tasks")
    if deal.status != DRAFT:
        raise Conflict("not_a_draft", f"A task that is {deal.status.replace('_', ' ')} cannot be changed")
    return deal


def edit(principal: Principal, task_id: str, changes: dict) -> dict:
    """Everything but the contractor may change while the task is a draft; a draft left without one (his
    invitation was declined or expired) may be assigned to a member of the team."""
    deal = _own_draft(principal, task_id)
    updates = {name: value for name, value in changes.items() if name in EDITABLE and value is not None}
    if changes.get("contractor_id") not in (None, deal.contractor_id):
        if deal.contractor_id != UNASSIGNED:
            raise Unprocessable("contractor_fixed", "A task's contractor cannot be changed; delete the draft and "
                                "create a new task instead", field="contractor_id")
        contractor_id, member = team.assignee(principal.user_id, changes["contractor_id"])
        if member is not None:
            team.require_room_for_draft(principal.user_id, contractor_id, member)
        updates.update(contractor_id=contractor_id, contractor_key=f"{PROCESS.noun}#{contractor_id}",
                       data={**(deal.data or {}), "member": member} if member else {
                           key: value for key, value in (deal.data or {}).items() if key != "member"})
    if "deadline_at" in updates:
        updates["deadline_at"] = _deadline(updates["deadline_at"])
    money = require_positive(int(updates.get("amount", deal.amount)), updates.get("currency", deal.currency))
    updates["amount"] = money.amount_minor
    read_version = int(deal.version)
    for name, value in updates.items():
        setattr(deal, name, value)
    deal.version = read_version + 1
    uow = UnitOfWork()
    uow.update(deal, [getattr(DealModel, name).set(value) for name, value in updates.items()]
               + [DealModel.version.set(deal.version)] + engine.rearmed(PROCESS, deal),
               condition=(DealModel.status == DRAFT) & (DealModel.version == read_version),
               on_fail=Conflict("state_changed", "The task changed meanwhile; reload it and try again"))
    uow.commit()
    return views.task(deal)


def delete(principal: Principal, task_id: str) -> dict:
    deal = _own_draft(principal, task_id)
    uow = UnitOfWork()
    uow.delete(deal, condition=(DealModel.status == DRAFT) & (DealModel.version == int(deal.version)),
               on_fail=Conflict("state_changed", "The task changed meanwhile; reload it and try again"))
    uow.commit()
    return {"deleted": True, "id": deal.id}


CANCELLED_AFTER_DONE = "The company cancelled the task after it was marked done"


def act(principal: Principal, task_id: str, transition: str, reason: str | None = None) -> tuple[int, dict]:
    """send (company), complete (contractor), cancel (company). A done task's cancel does not take the money
    back: it opens a dispute for an operator (`open_dispute`)."""
    if transition == "cancel" and load(task_id).status in (DONE, DISPUTED, RESOLVED):
        transition, reason = "open_dispute", reason or CANCELLED_AFTER_DONE
    return deals.fire(PROCESS, task_id, transition, lambda deal: _role(principal, deal), views.task, reason=reason,
                      before=_funds_for_sending if transition == "send" else None)


def dispute(principal: Principal, task_id: str, reason: str) -> tuple[int, dict]:
    """The company contests a done task: an operator decides; the contractor's pay is held meanwhile."""
    return act(principal, task_id, "open_dispute", reason)


def resolve_dispute(principal: Principal, task_id: str, refund_minor: int, release_minor: int,
                    note: str) -> tuple[int, dict]:
    """An operator splits what a contested task holds: `refund` to the company, `release` back to the contractor."""
    principal.require_operator()
    return deals.fire(PROCESS, task_id, "resolve_dispute", lambda deal: "operator", views.task, message=note,
                      payload={"refund": refund_minor, "release": release_minor, "operator_id": principal.user_id},
                      also=deals.audit_resolution(principal, "task", note))


def _funds_for_sending(deal: DealModel, role: Actor) -> None:
    if role == "client" and deal.status == DRAFT:
        _covers(deal.client_id, Money(int(deal.amount), deal.currency))


def get(principal: Principal, task_id: str) -> dict:
    deal = load(task_id)
    _role(principal, deal)
    return views.task(deal)


def list_mine(principal: Principal, role: str, limit: int, cursor: str | None) -> dict:
    """The company's tasks, or the contractor's (drafts are not his to see)."""
    sent = (lambda deal: deal.status != DRAFT) if role == "contractor" else None
    return deals.list_for(principal, PROCESS, role, limit, cursor, views.task, only=sent)


def act_pdf(principal: Principal, task_id: str) -> bytes:
    """The act of completed work, for either party, once the task is done."""
    from chalicelib.documents.act import Act, render_act

    deal = load(task_id)
    role = _role(principal, deal)
    if "act" not in (deal.data or {}):
        raise NotFound("not_found", "The act is issued when the task is done")
    company, contractor = accounts.get_user(deal.client_id), accounts.get_user(deal.contractor_id)
    company_profile = profiles.load(company.id)
    act = (deal.data or {})["act"]
    document = Act(number=act["number"], issued_at=clock.parse_iso(act["issued_at"]), task_title=deal.title,
                   task_description=deal.description or "", amount=Money(int(deal.amount), deal.currency),
                   customer_name=company_profile.company_name or company.name, customer_email=company.email,
                   customer_details=company_profile.company_details or "", contractor_name=contractor.name,
                   contractor_email=contractor.email)
    reader = company if role == "client" else contractor
    return render_act(document, reader.locale, reader.timezone)


def documents(principal: Principal, role: str, limit: int, cursor: str | None) -> dict:
    """The caller's acts of completed work, as the company (default) or as the contractor, newest first."""
    return deals.list_for(principal, PROCESS, role, limit, cursor, views.act_document,
                          only=lambda deal: deal.status in (DONE, DISPUTED, RESOLVED))

"""What every deal flow's service does alike: load a deal of its process, tell the caller's part in
it (strangers see nothing: 404), fire a transition as that part, and list a party's deals of one
process, newest first."""
from __future__ import annotations

from collections.abc import Callable

from pynamodb.expressions.condition import Condition

from chalicelib import clock, engine, idempotency
from chalicelib.auth import Principal
from chalicelib.errors import NotFound
from chalicelib.pagination import page
from chalicelib.processes import Actor, Context, Process
from chalicelib.store import lookup
from chalicelib.store.models import DealModel
from chalicelib.store.uow import UnitOfWork, run_with_retries


def load(process: Process, deal_id: str) -> DealModel:
    deal = lookup.load(DealModel, deal_id, what=process.noun)
    if deal.process != process.name:
        raise NotFound("not_found", f"No such {process.noun}")
    return deal


def role_of(principal: Principal, deal: DealModel, noun: str, *, operators: bool = True) -> Actor:
    if principal.user_id == deal.client_id:
        return "client"
    if principal.user_id == deal.contractor_id:
        return "contractor"
    if operators and principal.is_operator:
        return "operator"
    raise NotFound("not_found", f"No such {noun}")


def fire(process: Process, deal_id: str, transition: str, role_of: Callable[[DealModel], Actor],
         present: Callable[[DealModel], dict], *, message: str | None = None, reason: str | None = None,
         payload: dict | None = None, status: int = 200,
         before: Callable[[DealModel, Actor], None] | None = None) -> tuple[int, dict]:
    """Fire `transition` on a deal as the caller's part in it, committed with the request's
    idempotency record; a lost race reloads the deal and tries again. `before` may refuse first."""

    def attempt() -> tuple[int, dict]:
        deal = load(process, deal_id)
        role = role_of(deal)
        if before is not None:
            before(deal, role)
        ctx = Context(clock.now(), role, message=message, reason=reason, payload=dict(payload or {}))
        uow = UnitOfWork()
        engine.apply(uow, process, deal, transition, ctx)
        return idempotency.commit(uow, status, present(deal))

    return run_with_retries(attempt)


def list_for(principal: Principal, process: Process, role: str, limit: int, cursor: str | None,
             present: Callable[[DealModel], dict], *, only: Condition | None = None) -> dict:
    """The caller's deals of `process` as client (default) or contractor, those matching `only`."""
    key = f"{process.noun}#{principal.user_id}"
    index = DealModel.by_contractor if role == "contractor" else DealModel.by_client
    return page(lambda **kw: index.query(key, scan_index_forward=False, filter_condition=only, **kw), limit, cursor,
                present)

"""Gig orders: placing one pays the gig's price into escrow; every later step is a transition of
the gig-order process (`chalicelib/processes/gig_order.py`) applied by the engine."""
from __future__ import annotations

from chalicelib import clock, engine, idempotency, ids, ledger, views
from chalicelib.auth import Principal
from chalicelib.config import settings
from chalicelib.errors import NotFound, Unprocessable
from chalicelib.money import Money
from chalicelib.pagination import page
from chalicelib.processes import Actor, Context
from chalicelib.processes.gig_order import NOT_STARTED, PROCESS
from chalicelib.services import gigs
from chalicelib.store import lookup
from chalicelib.store.models import DealModel
from chalicelib.store.uow import UnitOfWork, run_with_retries


def place(principal: Principal, gig_id: str, currency: str | None = None) -> tuple[int, dict]:
    """The client orders a gig: its price moves from available to escrow, status `not_started`."""
    gig = gigs.load(gig_id)
    if gig.status != gigs.ACTIVE:
        raise Unprocessable("gig_not_active", "This gig is paused and cannot be ordered", field="gig_id")
    if gig.contractor_id == principal.user_id:
        raise Unprocessable("own_gig", "You cannot order your own gig", field="gig_id")
    if currency is not None and currency != gig.currency:
        raise Unprocessable("currency_mismatch", f"This gig is priced in {gig.currency}, not {currency}",
                            field="currency")
    now = clock.now()
    deal = DealModel(
        ids.new_id("ord"), process=PROCESS.name, client_id=principal.user_id, contractor_id=gig.contractor_id,
        party_id=principal.user_id, subject_id=gig.id, title=gig.title, amount=int(gig.amount),
        currency=gig.currency, commission_bps=settings.commission_gig_order_bps,
        delivery_days=int(gig.delivery_days), created_at=clock.iso(now),
    )
    hold = ledger.hold(f"{deal.id}:place", principal.user_id, Money(int(gig.amount), gig.currency), ref=deal.id,
                       kind="escrow_hold")
    uow = UnitOfWork()
    engine.create(uow, PROCESS, deal, NOT_STARTED, Context(now, "client"), hold,
                  notify=(("client", "order_paid"), ("contractor", "order_placed")))
    return idempotency.commit(uow, 201, views.order(deal))


def load(order_id: str) -> DealModel:
    return lookup.load(DealModel, order_id, what="order")


def _role(principal: Principal, deal: DealModel) -> Actor:
    """The caller's part in this order; strangers see nothing (404)."""
    if principal.user_id == deal.client_id:
        return "client"
    if principal.user_id == deal.contractor_id:
        return "contractor"
    if principal.is_operator:
        return "operator"
    raise NotFound("not_found", "No such order")


def get(principal: Principal, order_id: str) -> dict:
    deal = load(order_id)
    _role(principal, deal)
    return views.order(deal)


def list_mine(principal: Principal, role: str, limit: int, cursor: str | None) -> dict:
    index = DealModel.by_contractor if role == "contractor" else DealModel.by_party
    return page(lambda **kw: index.query(principal.user_id, scan_index_forward=False, **kw), limit, cursor,
                views.order)


def act(principal: Principal, order_id: str, transition: str, *, message: str | None = None,
        reason: str | None = None) -> tuple[int, dict]:
    """A party fires a transition (start, deliver, accept, ...) on its order."""

    def attempt() -> tuple[int, dict]:
        deal = load(order_id)
        ctx = Context(clock.now(), _role(principal, deal), message=message, reason=reason)
        uow = UnitOfWork()
        engine.apply(uow, PROCESS, deal, transition, ctx)
        return idempotency.commit(uow, 200, views.order(deal))

    return run_with_retries(attempt)

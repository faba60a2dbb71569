"""Gigs: a contractor's fixed-price services that clients order."""
from __future__ import annotations

from chalicelib.access.auth import Principal
from chalicelib.money.amounts import require_positive
from chalicelib.platform import clock, ids
from chalicelib.platform.errors import NotFound
from chalicelib.services import idempotency, views
from chalicelib.services.pagination import page
from chalicelib.store import lookup
from chalicelib.store.models import GigModel
from chalicelib.store.uow import UnitOfWork

ACTIVE, PAUSED = "active", "paused"


def publish(principal: Principal, title: str, description: str, amount_minor: int, currency: str,
            delivery_days: int) -> tuple[int, dict]:
    money = require_positive(amount_minor, currency)
    gig = GigModel(ids.new_id("gig"), contractor_id=principal.user_id, title=title, description=description,
                   amount=money.amount_minor, currency=money.currency, delivery_days=delivery_days, status=ACTIVE,
                   created_at=clock.iso(clock.now()))
    uow = UnitOfWork()
    uow.put(gig, condition=GigModel.id.does_not_exist())
    return idempotency.commit(uow, 201, views.gig(gig))


def load(gig_id: str) -> GigModel:
    return lookup.load(GigModel, gig_id, what="gig")


def get(gig_id: str) -> dict:
    return views.gig(load(gig_id))


def set_status(principal: Principal, gig_id: str, status: str) -> tuple[int, dict]:
    gig = load(gig_id)
    if gig.contractor_id != principal.user_id:
        raise NotFound("not_found", "No such gig")
    gig.status = status
    uow = UnitOfWork()
    uow.update(gig, [GigModel.status.set(status)])
    return idempotency.commit(uow, 200, views.gig(gig))


def list_by_contractor(contractor_id: str, limit: int, cursor: str | None) -> dict:
    return page(lambda **kw: GigModel.by_contractor.query(contractor_id, scan_index_forward=False, **kw),
                limit, cursor, views.gig)

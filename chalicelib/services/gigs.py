"""Gigs: a contractor's fixed-price services that clients order. An active gig is listed in the public catalog
(chalicelib/store/catalog.py) by the same transaction that publishes, edits, pauses or activates it. An edit
changes the gig, never an order already placed: an order keeps the terms frozen when it was placed."""
from __future__ import annotations

import re
from typing import Any

from chalicelib.access.auth import Principal
from chalicelib.money.amounts import require_positive
from chalicelib.platform import clock, ids
from chalicelib.platform.config import settings
from chalicelib.platform.errors import NotFound, Retryable, Unprocessable
from chalicelib.services import idempotency, profiles, views
from chalicelib.services.pagination import page
from chalicelib.store import catalog, lookup
from chalicelib.store.models import GigModel, UserModel
from chalicelib.store.uow import UnitOfWork, run_with_retries

ACTIVE, PAUSED = "active", "paused"
MAX_TAGS = catalog.MAX_TAGS
MAX_EXTRAS = 10
_TAG = re.compile(r"[^\W_][\w-]{0,29}")
EDITABLE = ("title", "description", "amount", "currency", "delivery_days", "extras", "category", "tags")


def check_category(category: str | None) -> str | None:
    if category is not None and category not in settings.catalog_categories:
        raise Unprocessable("unknown_category", f"Unknown category {category!r}; GET /v1/catalog/categories lists "
                                                "them", field="category")
    return category


def normalise_tags(tags: list[str] | tuple[str, ...], *, field: str = "tags") -> list[str]:
    """Lower case, without repeats, in the order given; at most `MAX_TAGS`, each a word of 1–30 letters,
    digits or hyphens."""
    normalised = list(dict.fromkeys(tag.strip().lower() for tag in tags))
    if len(normalised) > MAX_TAGS:
        raise Unprocessable("too_many_tags", f"A gig has at most {MAX_TAGS} tags", field=field)
    for tag in normalised:
        if not _TAG.fullmatch(tag):
            raise Unprocessable("invalid_tag", f"A tag is 1 to 30 letters, digits or hyphens, not {tag!r}",
                                field=field)
    return normalised


def _check_extras(extras: list[dict], currency: str) -> list[dict]:
    if len(extras) > MAX_EXTRAS:
        raise Unprocessable("too_many_extras", f"A gig offers at most {MAX_EXTRAS} extras", field="extras")
    for extra in extras:
        require_positive(int(extra["amount"]), currency)
    return [{"title": extra["title"], "amount": int(extra["amount"]), "extra_days": int(extra["extra_days"])}
            for extra in extras]


def publish(principal: Principal, title: str, description: str, amount_minor: int, currency: str,
            delivery_days: int, *, category: str | None = None, tags: list[str] | tuple[str, ...] = (),
            extras: list[dict] | tuple[dict, ...] = ()) -> tuple[int, dict]:
    money = require_positive(amount_minor, currency)
    now = clock.iso(clock.now())
    gig = GigModel(ids.new_id("gig"), contractor_id=principal.user_id, title=title, description=description,
                   amount=money.amount_minor, currency=money.currency, delivery_days=delivery_days, status=ACTIVE,
                   created_at=now, updated_at=now, category=check_category(category),
                   tags=normalise_tags(tags) or None, extras=_check_extras(list(extras), money.currency) or None,
                   revision=1)

    def attempt() -> tuple[int, dict]:
        uow = UnitOfWork()
        uow.put(gig, condition=GigModel.id.does_not_exist())
        _list(uow, gig)
        return idempotency.commit(uow, 201, views.gig(gig))

    return run_with_retries(attempt)


def load(gig_id: str) -> GigModel:
    return lookup.load(GigModel, gig_id, what="gig")


def get(gig_id: str) -> dict:
    return views.gig(load(gig_id))


def _own(principal: Principal, gig_id: str) -> GigModel:
    gig = load(gig_id)
    if gig.contractor_id != principal.user_id:
        raise NotFound("not_found", "No such gig")
    return gig


def _list(uow: UnitOfWork, gig: GigModel, *, was_category: str | None = None) -> None:
    """Show the active gig in the catalog as it is now, its contractor's standing read afresh."""
    try:
        joined_at = UserModel.get(gig.contractor_id, consistent_read=True).created_at
    except UserModel.DoesNotExist:  # a principal with no user record (made by a harness): a new account
        joined_at = gig.updated_at or gig.created_at
    catalog.show(uow, profiles.load(gig.contractor_id), joined_at, gig, was_category=was_category)


def _unchanged(gig: GigModel) -> Any:
    if gig.revision is None:
        return GigModel.revision.does_not_exist()
    return GigModel.revision == int(gig.revision)


def set_status(principal: Principal, gig_id: str, status: str) -> tuple[int, dict]:
    def attempt() -> tuple[int, dict]:
        gig = _own(principal, gig_id)
        uow = UnitOfWork()
        uow.update(gig, [GigModel.status.set(status)], condition=_unchanged(gig),
                   on_fail=Retryable("gig_changed"))
        gig.status = status
        if status == ACTIVE:
            _list(uow, gig, was_category=gig.category)
        else:
            catalog.hide(uow, profiles.load(gig.contractor_id), gig)
        return idempotency.commit(uow, 200, views.gig(gig))

    return run_with_retries(attempt)


def edit(principal: Principal, gig_id: str, changes: dict) -> dict:
    """The owner changes what `changes` names (of `EDITABLE`); an active gig's catalog rows change with it."""
    category = check_category(changes["category"]) if "category" in changes else None
    tags = normalise_tags(changes["tags"]) if "tags" in changes else None

    def attempt() -> dict:
        gig = _own(principal, gig_id)
        was_category = gig.category
        edited = dict(changes, **({"tags": tags or None} if "tags" in changes else {}),
                      **({"category": category} if "category" in changes else {}))
        for name, value in edited.items():
            setattr(gig, name, value)
        require_positive(int(gig.amount), gig.currency)
        if "extras" in edited or "currency" in edited:
            gig.extras = _check_extras(list(gig.extras or []), gig.currency) or None
            edited["extras"] = gig.extras
        gig.updated_at = clock.iso(clock.now())
        actions = [getattr(GigModel, name).remove() if value is None else getattr(GigModel, name).set(value)
                   for name, value in edited.items()]
        uow = UnitOfWork()
        uow.update(gig, [*actions, GigModel.updated_at.set(gig.updated_at), GigModel.revision.add(1)],
                   condition=_unchanged(gig), on_fail=Retryable("gig_changed"))
        if gig.status == ACTIVE:
            _list(uow, gig, was_category=was_category)
        uow.commit()
        return views.gig(gig)

    return run_with_retries(attempt)


def list_by_contractor(contractor_id: str, limit: int, cursor: str | None) -> dict:
    return page(lambda **kw: GigModel.by_contractor.query(contractor_id, scan_index_forward=False, **kw),
                limit, cursor, views.gig)

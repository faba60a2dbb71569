"""Custom offers (seed 004): a contractor who takes custom offers and has an active gig makes a
client a personal offer within his level's limits — from a conversation in which the client has
written to him, or from the page of an order between the two. Accepting it creates the
gig order from the offer's frozen terms and pays it into escrow, in one transaction with the
offer's own transition (`chalicelib/processes/custom_offer.py`)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chalicelib import engine
from chalicelib.access.auth import Principal
from chalicelib.money import deal_terms
from chalicelib.money.amounts import Money, require_positive
from chalicelib.platform import clock, ids
from chalicelib.platform.config import settings
from chalicelib.platform.errors import Conflict, Forbidden, InsufficientFunds, NotFound, Unprocessable
from chalicelib.processes import Actor, Context
from chalicelib.processes.custom_offer import PENDING, PROCESS
from chalicelib.processes.gig_order import MAX_REVISIONS
from chalicelib.services import conversations, deals, gigs, idempotency, offer_requests, orders, profiles, topups, views
from chalicelib.store import lookup
from chalicelib.store.models import DealModel, UserModel
from chalicelib.store.uow import UnitOfWork, run_with_retries


def create(principal: Principal, client_id: str, gig_id: str, description: str, amount_minor: int, currency: str,
           delivery_days: int, revision_limit: int | None, accept_by: str | None,
           order_id: str | None = None, request_id: str | None = None) -> tuple[int, dict]:
    """The offer; made with `request_id`, it answers the client's request for it in the same transaction."""
    money = require_positive(amount_minor, currency)
    profile = profiles.load(principal.user_id)
    if profile.custom_offers != profiles.ENABLED:
        raise Forbidden("custom_offers_disabled", "Enable custom offers in your profile first")
    gig = gigs.load(gig_id)
    if gig.contractor_id != principal.user_id:
        raise NotFound("not_found", "No such gig")
    if gig.status != gigs.ACTIVE:
        raise Unprocessable("gig_not_active", "The related gig must be active", field="gig_id")
    if client_id == principal.user_id:
        raise Unprocessable("own_offer", "You cannot make an offer to yourself", field="client_id")
    lookup.load(UserModel, client_id, what="client")
    request = None if request_id is None else offer_requests.answering(principal, request_id, client_id)
    if request is None:  # a request is the client's own words to him
        _in_touch(principal, client_id, order_id)
    _within_level(profiles.level_of(profile), money.amount_minor, currency, delivery_days)
    _few_pending(principal.user_id, client_id)
    if revision_limit is None:  # the engine's own limit: an offer never promises more, nor "unlimited"
        revision_limit = MAX_REVISIONS
    commission_bps = settings.commission_gig_order_bps
    now = clock.now()
    last_date = _last_date(accept_by, now)
    offer_id = ids.new_id("ofr")
    agreed = {"offer_id": offer_id, "gig_id": gig.id, "gig_title": gig.title, "title": gig.title,
              "description": description, "amount": money.amount_minor, "currency": currency,
              "delivery_days": delivery_days, "revision_limit": revision_limit, "accept_by": last_date,
              "client_id": client_id, "contractor_id": principal.user_id, "commission_bps": commission_bps}
    if request is not None:
        agreed["request_id"] = request.id
    deal = DealModel(offer_id, client_id=client_id, contractor_id=principal.user_id, subject_id=gig.id,
                     title=gig.title, amount=money.amount_minor, currency=currency, commission_bps=commission_bps,
                     delivery_days=delivery_days, accept_by=last_date, created_at=clock.iso(now), terms=agreed,
                     terms_hash=deal_terms.digest(agreed))
    uow = UnitOfWork()
    engine.create(uow, PROCESS, deal, PENDING, Context(now, "contractor"), None, notify="offer_received")
    if request is not None:
        offer_requests.answer(uow, request, offer_id, now)
    return idempotency.commit(uow, 201, views.offer(deal))


MAX_PENDING_PER_CLIENT = 3


def _few_pending(contractor_id: str, client_id: str) -> None:
    """At most `MAX_PENDING_PER_CLIENT` offers from one contractor wait for one client's answer."""
    now = clock.now()
    offers = lookup.in_order(DealModel, list(DealModel.by_contractor.query(f"{PROCESS.noun}#{contractor_id}")))
    pending = [deal for deal in offers if deal.client_id == client_id and deal.status == PENDING
               and deals.settle(deal, now).status == PENDING]
    if len(pending) >= MAX_PENDING_PER_CLIENT:
        raise Conflict("too_many_pending_offers", f"At most {MAX_PENDING_PER_CLIENT} offers may wait for one "
                                                  "client's answer; withdraw one or wait for the answers")


def _in_touch(principal: Principal, client_id: str, order_id: str | None) -> None:
    """An offer starts from an order between the two, or from a conversation the client wrote in."""
    if order_id is not None:
        order = orders.load(order_id)
        if (order.client_id, order.contractor_id) != (client_id, principal.user_id):
            raise NotFound("not_found", "No such order between you and this client")
    elif not conversations.has_written(client_id, principal.user_id):
        raise Unprocessable("no_conversation", "Make an offer from a conversation in which the client has written "
                                               "to you, or from an order of his", field="client_id")


def _within_level(level: str, amount_minor: int, currency: str, delivery_days: int) -> None:
    limits = settings.offer_levels[level]
    ceiling = limits["max_amount"].get(currency)
    if ceiling is None:
        raise Unprocessable("currency_not_allowed", f"Your level ({level}) cannot make offers in {currency}",
                            field="currency")
    if amount_minor > ceiling:
        raise Unprocessable("over_level_limit", f"Your level ({level}) allows offers up to {ceiling} {currency}",
                            field="amount")
    if delivery_days > limits["max_days"]:
        raise Unprocessable("over_level_limit", f"Your level ({level}) allows at most {limits['max_days']} days",
                            field="delivery_days")


def _last_date(accept_by: str | None, now: datetime) -> str:
    if accept_by is None:
        return clock.iso(now + timedelta(days=settings.offer_valid_days))
    try:
        parsed = datetime.fromisoformat(accept_by.replace("Z", "+00:00"))
    except ValueError:
        raise Unprocessable("validation_error", "accept_by must be an ISO 8601 timestamp", field="accept_by") from None
    if parsed.tzinfo is None:
        raise Unprocessable("validation_error", "accept_by needs a time zone (e.g. Z)", field="accept_by")
    moment = parsed.astimezone(UTC)
    if not now < moment <= now + timedelta(days=settings.offer_max_valid_days):
        raise Unprocessable("invalid_accept_by",
                            f"accept_by must lie within the next {settings.offer_max_valid_days} days",
                            field="accept_by")
    return clock.iso(moment)


def load(offer_id: str) -> DealModel:
    return deals.load(PROCESS, offer_id)


def _role(principal: Principal, deal: DealModel) -> Actor:
    return deals.role_of(principal, deal, "offer", operators=False)


def get(principal: Principal, offer_id: str) -> dict:
    deal = load(offer_id)
    _role(principal, deal)
    return views.offer(deal)


def list_mine(principal: Principal, role: str, limit: int, cursor: str | None) -> dict:
    return deals.list_for(principal, PROCESS, role, limit, cursor, views.offer)


def accept(principal: Principal, offer_id: str) -> tuple[int, dict]:
    """The client accepts: the order is created on the offer's terms and paid into escrow at once. Too little
    available balance answers 402 with a card top-up that accepts the offer once paid."""

    def attempt() -> tuple[int, dict]:
        offer = load(offer_id)
        uow = UnitOfWork()
        order = _accept(uow, offer, _role(principal, offer), clock.now())
        return idempotency.commit(uow, 201, views.order(order, "client"))

    try:
        return run_with_retries(attempt)
    except InsufficientFunds:
        offer = load(offer_id)
        raise topups.required(principal.user_id, Money(int(offer.amount), offer.currency),
                              {"kind": topups.ACCEPT_OFFER, "offer_id": offer.id}) from None


def accept_into(uow: UnitOfWork, client_id: str, offer_id: str, now: datetime) -> DealModel:
    """Add the acceptance of an offer to the unit of work, with the checks of `accept` (a paid top-up accepts it)."""
    offer = load(offer_id)
    if offer.client_id != client_id:
        raise NotFound("not_found", "No such offer")
    return _accept(uow, offer, "client", now)


def _accept(uow: UnitOfWork, offer: DealModel, role: Actor, now: datetime) -> DealModel:
    agreed = dict(offer.terms)
    if not deal_terms.verify(agreed, offer.terms_hash):
        raise AssertionError(f"offer {offer.id}: stored terms do not match their hash")
    gig = gigs.load(offer.subject_id)
    order_id = ids.new_id("ord")
    engine.apply(uow, PROCESS, offer, "accept", Context(now, role, payload={"order_id": order_id}))
    return orders.open_order(uow, offer.client_id, gig, agreed, now, offer_id=offer.id, order_id=order_id)


def close(principal: Principal, offer_id: str, transition: str, reason: str = "") -> tuple[int, dict]:
    """The client rejects, or the contractor withdraws, a pending offer."""

    return deals.fire(PROCESS, offer_id, transition, lambda offer: _role(principal, offer), views.offer,
                      reason=reason)

"""Gig orders: placing one pays the gig's price into escrow; every later step — extras, cancellation
requests, delivery, review, disputes — is a transition of the gig-order process
(`chalicelib/processes/gig_order.py`) applied by the engine."""
from __future__ import annotations

from datetime import datetime

from chalicelib import engine
from chalicelib.access.auth import Principal
from chalicelib.money import deal_terms, ledger
from chalicelib.money.amounts import Money, require_positive
from chalicelib.platform import clock, ids
from chalicelib.platform.config import settings
from chalicelib.platform.errors import InsufficientFunds, NotFound, Unprocessable
from chalicelib.processes import Actor, Context
from chalicelib.processes.disputes import QUEUE as DISPUTES_QUEUE
from chalicelib.processes.gig_order import NOT_STARTED, PROCESS
from chalicelib.services import deals, gigs, idempotency, topups, uploads, views
from chalicelib.services.pagination import page
from chalicelib.store import lookup
from chalicelib.store.models import DealModel, GigModel, ThreadEntryModel
from chalicelib.store.uow import UnitOfWork

MAX_DELIVERY_FILES = 5


def place(principal: Principal, gig_id: str, currency: str | None = None) -> tuple[int, dict]:
    """The client orders a gig: its price moves from available to escrow, status `not_started`. Too little
    available balance answers 402 with a card top-up that places the order once paid."""
    gig = gigs.load(gig_id)
    _orderable(gig, principal.user_id)
    if currency is not None and currency != gig.currency:
        raise Unprocessable("currency_mismatch", f"This gig is priced in {gig.currency}, not {currency}",
                            field="currency")
    uow = UnitOfWork()
    deal = open_order(uow, principal.user_id, gig, _agreed(gig), clock.now())
    try:
        return idempotency.commit(uow, 201, views.order(deal, "client"))
    except InsufficientFunds:
        raise topups.required(principal.user_id, Money(int(gig.amount), gig.currency),
                              {"kind": topups.PLACE_ORDER, "gig_id": gig.id}) from None


def place_into(uow: UnitOfWork, client_id: str, gig_id: str, now: datetime) -> DealModel:
    """Add the order of a gig to the unit of work, with the checks of `place` (a paid top-up places it)."""
    gig = gigs.load(gig_id)
    _orderable(gig, client_id)
    return open_order(uow, client_id, gig, _agreed(gig), now)


def _orderable(gig: GigModel, client_id: str) -> None:
    if gig.status != gigs.ACTIVE:
        raise Unprocessable("gig_not_active", "This gig is paused and cannot be ordered", field="gig_id")
    if gig.contractor_id == client_id:
        raise Unprocessable("own_gig", "You cannot order your own gig", field="gig_id")


def _agreed(gig: GigModel) -> dict:
    return {"gig_id": gig.id, "title": gig.title, "description": gig.description, "amount": int(gig.amount),
            "currency": gig.currency, "delivery_days": int(gig.delivery_days), "revision_limit": None}


def open_order(uow: UnitOfWork, client_id: str, gig: GigModel, agreed: dict, now: datetime, *,
               offer_id: str | None = None, order_id: str | None = None) -> DealModel:
    """Add a new order on the frozen terms `agreed` to the unit of work, its price held in escrow."""
    deal = DealModel(
        order_id or ids.new_id("ord"), client_id=client_id, contractor_id=gig.contractor_id, subject_id=gig.id,
        related_id=offer_id, title=agreed["title"], amount=agreed["amount"], currency=agreed["currency"],
        # an offer's frozen terms name the commission its contractor was shown; a gig's order takes today's
        commission_bps=int(agreed.get("commission_bps", settings.commission_gig_order_bps)),
        delivery_days=agreed["delivery_days"],
        created_at=clock.iso(now), terms=agreed, terms_hash=deal_terms.digest(agreed),
    )
    hold = ledger.hold(f"{deal.id}:place", client_id, Money(agreed["amount"], agreed["currency"]), ref=deal.id,
                       kind="escrow_hold")
    uow.check(GigModel, gig.id, condition=GigModel.status == gigs.ACTIVE,
              on_fail=Unprocessable("gig_not_active", "This gig is paused and cannot be ordered", field="gig_id"))
    engine.create(uow, PROCESS, deal, NOT_STARTED, Context(now, "client"), hold, notify="order_placed")
    return deal


def load(order_id: str) -> DealModel:
    return deals.load(PROCESS, order_id)


def role_in(principal: Principal, deal: DealModel) -> Actor:
    """The caller's part in this order; strangers see nothing (404)."""
    return deals.role_of(principal, deal, "order")


def get(principal: Principal, order_id: str) -> dict:
    deal = load(order_id)
    return views.order(deal, role_in(principal, deal))


def list_mine(principal: Principal, role: str, limit: int, cursor: str | None, status: str | None = None) -> dict:
    """The caller's orders as client or contractor, newest first; only those in `status` when given."""
    if status is not None and status not in PROCESS.states:
        raise Unprocessable("validation_error", f"status must be one of: {', '.join(sorted(PROCESS.states))}",
                            field="status")
    reader = "contractor" if role == "contractor" else "client"
    only = None if status is None else (lambda deal: deal.status == status)
    return deals.list_for(principal, PROCESS, role, limit, cursor, lambda deal: views.order(deal, reader), only=only)


def act(principal: Principal, order_id: str, transition: str, *, message: str | None = None,
        reason: str | None = None, payload: dict | None = None, status: int = 200) -> tuple[int, dict]:
    """A party (or an operator) fires a transition on an order: start, deliver, accept, pay_extra..."""
    return deals.fire(PROCESS, order_id, transition, lambda deal: role_in(principal, deal),
                      lambda deal: views.order(deal, role_in(principal, deal)),
                      message=message, reason=reason, payload=payload, status=status)


def pay_extra(principal: Principal, order_id: str, extra_id: str) -> tuple[int, dict]:
    """The client pays an extra into escrow; too little available balance answers 402 with a card top-up
    that pays it once paid."""
    try:
        return act(principal, order_id, "pay_extra", payload={"extra_id": extra_id})
    except InsufficientFunds:
        deal = load(order_id)
        extra = next(e for e in deal.extras if e["id"] == extra_id)
        raise topups.required(principal.user_id, Money(int(extra["amount"]), deal.currency),
                              {"kind": topups.PAY_EXTRA, "order_id": deal.id, "extra_id": extra_id}) from None


def pay_extra_into(uow: UnitOfWork, client_id: str, order_id: str, extra_id: str, now: datetime) -> DealModel:
    """Add the payment of an extra to the unit of work, as its client firing `pay_extra` (a paid top-up pays it)."""
    deal = load(order_id)
    if deal.client_id != client_id:
        raise NotFound("not_found", "No such order")
    engine.apply(uow, PROCESS, deal, "pay_extra", Context(now, "client", payload={"extra_id": extra_id}))
    return deal


def deliver(principal: Principal, order_id: str, message: str, file_ids: list[str],
            links: list[str] | None = None) -> tuple[int, dict]:
    """The contractor delivers a message with uploaded files (`POST /v1/uploads`): the delivery claims them in its
    own unit of work, so a file is either this delivery's or still his to attach."""
    if len(file_ids) > MAX_DELIVERY_FILES:
        raise Unprocessable("too_many_files", f"A delivery carries at most {MAX_DELIVERY_FILES} files",
                            field="attachments")

    def claiming(uow: UnitOfWork, deal: DealModel, ctx: Context) -> None:
        ctx.payload["files"] = uploads.claim(uow, principal, file_ids, deal.id, ctx.now)

    return deals.fire(PROCESS, order_id, "deliver", lambda deal: role_in(principal, deal), views.order,
                      message=message, payload={"links": list(links or [])}, prepare=claiming)


def thread(principal: Principal, order_id: str, limit: int, cursor: str | None) -> dict:
    """The order's thread, oldest first: every step with its message, files, extra or cancellation."""
    role_in(principal, load(order_id))
    return page(lambda **kw: ThreadEntryModel.query(order_id, scan_index_forward=True, **kw), limit, cursor,
                views.thread_entry)


def download_link(principal: Principal, order_id: str, file_id: str) -> dict:
    """A short-lived link to a delivered file, for the two parties and operators."""
    deal = load(order_id)
    role_in(principal, deal)
    delivered = (f for delivery in (deal.data or {}).get("deliveries", []) for f in delivery["files"])
    found = next((f for f in delivered if f["id"] == file_id), None)
    if found is None:
        raise NotFound("not_found", "No such file on this order")
    return uploads.link(found)


def offer_extra(principal: Principal, order_id: str, title: str, amount_minor: int,
                extra_days: int) -> tuple[int, dict]:
    """The contractor offers a paid option; the client pays or rejects it later."""
    currency = load(order_id).currency
    require_positive(amount_minor, currency)
    payload = {"extra_id": ids.new_id("ext"), "title": title, "amount": amount_minor, "extra_days": extra_days}
    return act(principal, order_id, "offer_extra", payload=payload, status=201)


def resolve_dispute(principal: Principal, order_id: str, refund_minor: int, release_minor: int,
                    note: str) -> tuple[int, dict]:
    """An operator splits a disputed order's escrow between a refund and a release; the decision and its reason
    are his act in the audit log, committed with the split (`subject` = `order#<id>`)."""
    principal.require_operator()
    return deals.fire(PROCESS, order_id, "resolve_dispute", lambda deal: role_in(principal, deal),
                      lambda deal: views.order(deal, role_in(principal, deal)), message=note,
                      payload={"refund": refund_minor, "release": release_minor, "operator_id": principal.user_id},
                      also=deals.audit_resolution(principal, "order", note))


def open_disputes(principal: Principal, limit: int, cursor: str | None) -> dict:
    principal.require_operator()
    return page(lambda **kw: DealModel.by_queue.query(DISPUTES_QUEUE, **kw), limit, cursor, views.deal,
                load=lambda listed: lookup.in_order(DealModel, listed))

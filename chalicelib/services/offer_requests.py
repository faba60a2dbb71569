"""Requests for a custom offer (seed 004, "the buyer's request form"): a client tells a contractor
who takes custom offers what he needs — perhaps naming one of the contractor's gigs, a budget and a
deadline. The request is an entry in their conversation (a message that names it) and a deal of
`chalicelib/processes/offer_request.py`; the contractor answers it with an offer (`POST /v1/offers`
with its `request_id`: the offer and the answer are one transaction, see `services/offers.py`) or
declines it with a reason, and the client is told either way. A client may have at most
`MAX_PENDING_PER_CONTRACTOR` requests waiting for one contractor."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chalicelib import engine
from chalicelib.access.auth import Principal
from chalicelib.money.amounts import require_positive
from chalicelib.platform import clock, ids
from chalicelib.platform.config import settings
from chalicelib.platform.errors import Conflict, NotFound, Unprocessable
from chalicelib.processes import Actor, Context
from chalicelib.processes.offer_request import PENDING, PROCESS
from chalicelib.services import conversations, deals, gigs, idempotency, profiles, views
from chalicelib.store import lookup
from chalicelib.store.models import ConversationModel, DealModel, MessageModel, UserModel
from chalicelib.store.uow import UnitOfWork

MAX_PENDING_PER_CONTRACTOR = 3
MAX_DEADLINE_DAYS = 365


def create(principal: Principal, contractor_id: str, gig_id: str | None, description: str,
           budget: tuple[int, str] | None, deadline_at: str | None) -> tuple[int, dict]:
    if contractor_id == principal.user_id:
        raise Unprocessable("own_request", "You cannot ask yourself for an offer", field="contractor_id")
    lookup.load(UserModel, contractor_id, what="contractor")
    if profiles.load(contractor_id).custom_offers != profiles.ENABLED:
        raise Unprocessable("custom_offers_disabled", "This contractor does not take custom offers",
                            field="contractor_id")
    gig_title = ""
    if gig_id is not None:
        gig = gigs.load(gig_id)
        if gig.contractor_id != contractor_id:
            raise Unprocessable("not_his_gig", "The gig must be one of this contractor's", field="gig_id")
        if gig.status != gigs.ACTIVE:
            raise Unprocessable("gig_not_active", "The gig must be active", field="gig_id")
        gig_title = gig.title
    if budget is not None:
        require_positive(budget[0], budget[1], field="budget.amount")
    now = clock.now()
    deadline = _deadline(deadline_at, now)
    _few_pending(principal.user_id, contractor_id, now)
    answer_by = now + timedelta(days=settings.offer_request_answer_days)
    if deadline is not None:
        answer_by = min(answer_by, clock.parse_iso(deadline))
    request_id, cid = ids.new_id("orq"), conversations.conversation_id(principal.user_id, contractor_id)
    message = MessageModel(cid, ids.new_id("msg"), sender_id=principal.user_id, text=description, attachments=[],
                           created_at=clock.iso(now), offer_request_id=request_id)
    deal = DealModel(request_id, client_id=principal.user_id, contractor_id=contractor_id,
                     subject_id=gig_id or contractor_id, title=gig_title or description[:100], description=description,
                     amount=budget[0] if budget else 0, currency=budget[1] if budget else "-", commission_bps=0,
                     delivery_days=0, deadline_at=deadline, accept_by=clock.iso(answer_by), created_at=clock.iso(now),
                     data={"conversation_id": cid, "message_id": message.message_id, "gig_id": gig_id,
                           "gig_title": gig_title,
                           "budget": None if budget is None else {"amount": budget[0], "currency": budget[1]}})
    uow = UnitOfWork()
    stamp = clock.iso(now)
    for owner, peer, wrote in ((principal.user_id, contractor_id, True), (contractor_id, principal.user_id, False)):
        actions = [ConversationModel.peer_id.set(peer), ConversationModel.created_at.set(
            ConversationModel.created_at | stamp)]
        if wrote:  # the client's words: the contractor may answer them with an offer
            actions.append(ConversationModel.wrote_at.set(ConversationModel.wrote_at | stamp))
        uow.update(ConversationModel(owner, cid), actions)
    uow.put(message, condition=MessageModel.message_id.does_not_exist())
    engine.create(uow, PROCESS, deal, PENDING, Context(now, "client"), None, notify="offer_requested")
    return idempotency.commit(uow, 201, views.offer_request(deal))


def _deadline(value: str | None, now: datetime) -> str | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Unprocessable("validation_error", "deadline_at must be an ISO 8601 timestamp",
                            field="deadline_at") from None
    if parsed.tzinfo is None:
        raise Unprocessable("validation_error", "deadline_at needs a time zone (e.g. Z)", field="deadline_at")
    moment = parsed.astimezone(UTC)
    if not now < moment <= now + timedelta(days=MAX_DEADLINE_DAYS):
        raise Unprocessable("invalid_deadline", f"deadline_at must lie within the next {MAX_DEADLINE_DAYS} days",
                            field="deadline_at")
    return clock.iso(moment)


def _few_pending(client_id: str, contractor_id: str, now: datetime) -> None:
    # the index holds keys only: the requests are read whole in one batch, then sorted out here
    requests = lookup.in_order(DealModel, list(DealModel.by_client.query(f"{PROCESS.noun}#{client_id}")))
    pending = [deal for deal in requests if deal.contractor_id == contractor_id and deal.status == PENDING
               and deals.settle(deal, now).status == PENDING]
    if len(pending) >= MAX_PENDING_PER_CONTRACTOR:
        raise Conflict("too_many_pending_requests", f"At most {MAX_PENDING_PER_CONTRACTOR} requests may wait for one "
                                                    "contractor's answer; withdraw one or wait for the answers")


def load(request_id: str) -> DealModel:
    return deals.load(PROCESS, request_id)


def _role(principal: Principal, deal: DealModel) -> Actor:
    return deals.role_of(principal, deal, "request", operators=False)


def get(principal: Principal, request_id: str) -> dict:
    deal = load(request_id)
    _role(principal, deal)
    return views.offer_request(deal)


def list_mine(principal: Principal, role: str, limit: int, cursor: str | None) -> dict:
    """The requests the caller sent (client, default) or received (contractor), newest first."""
    return deals.list_for(principal, PROCESS, role, limit, cursor, views.offer_request)


def answering(principal: Principal, request_id: str, client_id: str) -> DealModel:
    """The pending request a contractor's new offer answers; refused unless it is his and the client's."""
    deal = load(request_id)
    if _role(principal, deal) != "contractor":
        raise NotFound("not_found", "No such request to you")
    if deal.client_id != client_id:
        raise Unprocessable("request_mismatch", "The offer must go to the client who sent the request",
                            field="request_id")
    engine.check(PROCESS, deal, "answer", Context(clock.now(), "contractor"))
    return deal


def answer(uow: UnitOfWork, deal: DealModel, offer_id: str, now: datetime) -> None:
    engine.apply(uow, PROCESS, deal, "answer", Context(now, "contractor", payload={"offer_id": offer_id}))


def close(principal: Principal, request_id: str, transition: str, reason: str = "") -> tuple[int, dict]:
    """The contractor declines (with a reason), or the client withdraws, a pending request."""
    return deals.fire(PROCESS, request_id, transition, lambda deal: _role(principal, deal), views.offer_request,
                      reason=reason)

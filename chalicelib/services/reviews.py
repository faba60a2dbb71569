"""Reviews: the client rates an order once (1–5 and text) once it is completed — or once it ended badly
for him: cancelled in a way that counts against the contractor (declined, not started in time, cancelled
as late) or decided by an operator's dispute decision. The review carries the order's outcome beside it.
The gig it was ordered under (for a custom offer: the related gig) keeps a running sum and count of its
ratings, and so does its contractor across all his gigs: his review summary ranks his gigs in the catalog, and
the review re-ranks them in its own transaction.

A project's contract, once completed, is reviewed both ways: the client reviews the contractor and the
contractor the client, each once; the reviews are listed as the user's (GET /v1/users/{id}/reviews) and
rate him in his contractor's profile or his client's profile."""
from __future__ import annotations

from chalicelib.access.auth import Principal
from chalicelib.notify import outbox
from chalicelib.platform import clock
from chalicelib.platform.errors import Conflict, Forbidden
from chalicelib.processes import notice_params
from chalicelib.processes.gig_order import COMPLETED
from chalicelib.processes.project import COMPLETED as CONTRACT_COMPLETED
from chalicelib.services import deals, gigs, idempotency, orders, profiles, projects, views
from chalicelib.services.pagination import page
from chalicelib.store import catalog, lookup
from chalicelib.store.models import DealModel, GigModel, ProfileModel, ReviewModel, UserModel
from chalicelib.store.uow import UnitOfWork, run_with_retries

# the transition that ended an order → the outcome a review of it shows; only these endings may be reviewed
OUTCOMES = {"accept": "completed", "auto_accept": "completed", "decline": "declined_by_contractor",
            "auto_cancel": "not_started_in_time", "cancel_late": "cancelled_as_late",
            "resolve_dispute": "decided_by_operator"}


def outcome_of(deal: DealModel) -> str | None:
    """How the order ended, if it ended in a way its client may review."""
    ending = deal.history[-1]["transition"] if deal.history else None
    if deal.status == COMPLETED or ending in OUTCOMES:
        return OUTCOMES.get(ending or "", "completed")
    return None


def leave(principal: Principal, order_id: str, rating: int, text: str) -> tuple[int, dict]:
    return run_with_retries(lambda: _leave(principal, order_id, rating, text))


def _leave(principal: Principal, order_id: str, rating: int, text: str) -> tuple[int, dict]:
    deal = orders.load(order_id)
    if orders.role_in(principal, deal) != "client":
        raise Forbidden("not_your_move", "Only the client reviews an order")
    outcome = outcome_of(deal)
    if outcome is None:
        raise Conflict("not_completed", "An order can be reviewed once it is completed, or once it was cancelled "
                                        "against the contractor or decided by an operator")
    now = clock.iso(clock.now())
    review = ReviewModel(deal.id, gig_id=deal.subject_id, client_id=deal.client_id, contractor_id=deal.contractor_id,
                         rating=rating, text=text, created_at=now, outcome=outcome)
    already = Conflict("already_reviewed", "This order has already been reviewed")
    uow = UnitOfWork()
    uow.put(review, condition=ReviewModel.order_id.does_not_exist(), on_fail=already)
    uow.update(deal, [DealModel.reviewed_at.set(now)], condition=DealModel.reviewed_at.does_not_exist(),
               on_fail=already)
    uow.update(GigModel(deal.subject_id), [GigModel.rating_sum.add(rating), GigModel.rating_count.add(1)],
               condition=GigModel.id.exists())
    profile = profiles.load(deal.contractor_id)
    profile.review_sum, profile.review_count = int(profile.review_sum or 0) + rating, int(profile.review_count or 0) + 1
    catalog.restand(uow, profile, [ProfileModel.review_sum.add(rating), ProfileModel.review_count.add(1)],
                    reviewed_gig=(deal.subject_id, rating))
    for recipient, role in ((deal.client_id, "client"), (deal.contractor_id, "contractor")):
        params = {**notice_params.deal_notification(deal, "review_received", role),
                  "review": {"rating": rating, "text": text, "outcome": outcome}}
        outbox.enqueue(uow, recipient, "review_received", params)
    return idempotency.commit(uow, 201, views.review(review))


def leave_on_contract(principal: Principal, contract_id: str, rating: int, text: str) -> tuple[int, dict]:
    """Either party of a completed project contract reviews the other, once: the client the contractor,
    the contractor the client. The review counts in the reviewed user's rating in that role."""
    deal = projects.load_contract(contract_id)
    author = deals.role_of(principal, deal, "contract", operators=False)
    if deal.status != CONTRACT_COMPLETED:
        raise Conflict("not_completed", "A contract can be reviewed once it is completed")
    reviewed_role, reviewed_id = ("contractor", deal.contractor_id) if author == "client" else (
        "client", deal.client_id)
    review = ReviewModel(f"{deal.id}#{author}", gig_id=f"{reviewed_role}#{reviewed_id}", client_id=deal.client_id,
                         contractor_id=deal.contractor_id, rating=rating, text=text, created_at=clock.iso(clock.now()),
                         outcome="completed", author=author, project_id=deal.subject_id)
    uow = UnitOfWork()
    uow.put(review, condition=ReviewModel.order_id.does_not_exist(),
            on_fail=Conflict("already_reviewed", "You have already reviewed this contract"))
    total, count = (ProfileModel.contractor_rating_sum, ProfileModel.contractor_rating_count) \
        if reviewed_role == "contractor" else (ProfileModel.client_rating_sum, ProfileModel.client_rating_count)
    uow.update(ProfileModel(reviewed_id), [total.add(rating), count.add(1)])
    return idempotency.commit(uow, 201, views.contract_review(review))


def list_for_user(user_id: str, role: str, limit: int, cursor: str | None) -> dict:
    """What the other parties of his completed project contracts wrote about a user as a contractor
    or as a client, newest first."""
    lookup.load(UserModel, user_id, what="user")
    return page(lambda **kw: ReviewModel.by_gig.query(f"{role}#{user_id}", scan_index_forward=False, **kw), limit,
                cursor, views.contract_review)


def list_for_gig(gig_id: str, limit: int, cursor: str | None) -> dict:
    gigs.load(gig_id)
    return page(lambda **kw: ReviewModel.by_gig.query(gig_id, scan_index_forward=False, **kw), limit, cursor,
                views.review)


def list_for_contractor(contractor_id: str, limit: int, cursor: str | None) -> dict:
    """A seller's reviews across all his gigs, newest first (public)."""
    lookup.load(UserModel, contractor_id, what="contractor")
    return page(lambda **kw: ReviewModel.by_contractor.query(contractor_id, scan_index_forward=False, **kw), limit,
                cursor, views.review)

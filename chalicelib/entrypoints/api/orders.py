"""Gigs, gig orders, their reviews and disputes. Each order action is one transition of the
gig-order process."""
from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint

from chalicelib.entrypoints.api.http import Call, endpoint
from chalicelib.entrypoints.api.http import schema_names as s
from chalicelib.platform.lazy import lazy_modules

if TYPE_CHECKING:
    from chalicelib.services import gigs, orders, reviews
else:  # loaded when a route first runs (chalicelib/platform/lazy.py)
    gigs, orders, reviews = lazy_modules("chalicelib.services", "gigs", "orders", "reviews")

bp = Blueprint(__name__)


@endpoint(bp, "POST", "/v1/gigs", summary="Publish a gig (contractor)", tag="gigs", status=201, request=s.GigIn,
          response=s.GigOut)
def publish_gig(call: Call):
    body = call.body
    return gigs.publish(call.user, body.title, body.description, body.amount, body.currency, body.delivery_days,
                        category=body.category, tags=body.tags, extras=[extra.model_dump() for extra in body.extras])


@endpoint(bp, "GET", "/v1/gigs", summary="My gigs, newest first", tag="gigs", response=s.GigList,
          query=("limit", "cursor"), errors=(422,))
def list_gigs(call: Call):
    return gigs.list_by_contractor(call.user.user_id, call.limit, call.cursor)


@endpoint(bp, "GET", "/v1/gigs/{gig_id}", summary="One gig", tag="gigs", response=s.GigOut)
def get_gig(call: Call):
    return gigs.get(call.params["gig_id"])


@endpoint(bp, "PATCH", "/v1/gigs/{gig_id}", summary="Edit a gig (its contractor): orders already placed keep their "
          "terms", tag="gigs", request=s.GigEditIn, response=s.GigOut, errors=(409,))
def edit_gig(call: Call):
    return gigs.edit(call.user, call.params["gig_id"], call.body.model_dump(exclude_unset=True))


@endpoint(bp, "GET", "/v1/gigs/{gig_id}/reviews", summary="A gig's reviews, newest first", tag="gigs",
          response=s.ReviewList, query=("limit", "cursor"), errors=(422,))
def list_gig_reviews(call: Call):
    return reviews.list_for_gig(call.params["gig_id"], call.limit, call.cursor)


@endpoint(bp, "POST", "/v1/gigs/{gig_id}/pause", summary="Stop taking orders for a gig", tag="gigs",
          response=s.GigOut)
def pause_gig(call: Call):
    return gigs.set_status(call.user, call.params["gig_id"], gigs.PAUSED)


@endpoint(bp, "POST", "/v1/gigs/{gig_id}/activate", summary="Take orders for a gig again", tag="gigs",
          response=s.GigOut)
def activate_gig(call: Call):
    return gigs.set_status(call.user, call.params["gig_id"], gigs.ACTIVE)


@endpoint(bp, "POST", "/v1/orders", summary="Order a gig: its price moves into escrow at once", tag="orders",
          status=201, request=s.OrderIn, response=s.OrderOut, errors=(402, 409), moves_money=True)
def place_order(call: Call):
    return orders.place(call.user, call.body.gig_id, call.body.currency)


@endpoint(bp, "GET", "/v1/orders", summary="My orders as client (default) or contractor, ?status= to filter",
          tag="orders", response=s.OrderList, query=("role", "status", "limit", "cursor"), errors=(422,))
def list_orders(call: Call):
    return orders.list_mine(call.user, call.party, call.limit, call.cursor, call.query.get("status") or None)


@endpoint(bp, "GET", "/v1/orders/{order_id}", summary="One order", tag="orders", response=s.OrderOut)
def get_order(call: Call):
    return orders.get(call.user, call.params["order_id"])


def _transition(path: str, transition: str, summary: str, request=None, field: str | None = None) -> None:
    """One route per transition a party fires; the process decides whether it may."""

    def handler(call: Call):
        value = getattr(call.body, field) if field else None
        return orders.act(call.user, call.params["order_id"], transition,
                          message=value if field == "message" else None, reason=value if field == "reason" else None)

    handler.__name__ = handler.__qualname__ = f"order_{transition}"
    endpoint(bp, "POST", f"/v1/orders/{{order_id}}/{path}", summary=summary, tag="orders", request=request,
             response=s.OrderOut, errors=(403, 409), moves_money=True)(handler)


_transition("start", "start", "Start work (contractor): the delivery clock starts")


@endpoint(bp, "POST", "/v1/orders/{order_id}/decline", summary="Decline a new order with a reason from the list "
          "(contractor): full refund", tag="orders", request=s.DeclineIn, response=s.OrderOut, errors=(403, 409),
          moves_money=True)
def order_decline(call: Call):
    return orders.act(call.user, call.params["order_id"], "decline", reason=call.body.reason,
                      message=call.body.message or None)


_transition("accept", "accept", "Accept the work (client): escrow released less commission")
_transition("request-revision", "request_revision", "Ask for a revision (client)", s.MessageIn, "message")
_transition("cancel", "cancel_late", "Cancel a late order (client): full refund")
_transition("dispute", "open_dispute", "Open a dispute on a delivered order instead of accepting (client)",
            s.DisputeIn, "message")
_transition("cancellation/accept", "accept_cancellation",
            "Accept the other party's cancellation request: full refund, no rating drop")
_transition("cancellation/refuse", "refuse_cancellation", "Refuse the other party's cancellation request")
_transition("cancellation/operator", "ask_operator_to_cancel", "Ask an operator to cancel a started order, saying why "
            "(contractor, once the client refused or the requests are used up)", s.MessageIn, "message")


@endpoint(bp, "POST", "/v1/orders/{order_id}/deliver",
          summary="Deliver the work, a message and uploaded files (contractor): the order goes on review",
          tag="orders", request=s.DeliveryIn, response=s.OrderOut, errors=(403, 409))
def deliver_order(call: Call):
    body = call.body
    return orders.deliver(call.user, call.params["order_id"], body.message, [a.file_id for a in body.attachments],
                          body.links)


@endpoint(bp, "GET", "/v1/orders/{order_id}/thread", summary="The order's thread, oldest first: every step with "
          "its message and files (the parties and operators)", tag="orders", response=s.ThreadList,
          query=("limit", "cursor"), errors=(422,))
def order_thread(call: Call):
    return orders.thread(call.user, call.params["order_id"], call.limit, call.cursor)


@endpoint(bp, "GET", "/v1/orders/{order_id}/files/{file_id}",
          summary="A short-lived download link to a delivered file (the parties and operators)", tag="orders",
          response=s.DownloadOut)
def download_delivered_file(call: Call):
    return orders.download_link(call.user, call.params["order_id"], call.params["file_id"])


@endpoint(bp, "POST", "/v1/orders/{order_id}/cancellation", summary="Ask the other party to cancel, with a reason",
          tag="orders", request=s.CancellationIn, response=s.OrderOut, errors=(403, 409))
def request_cancellation(call: Call):
    return orders.act(call.user, call.params["order_id"], "request_cancellation", reason=call.body.reason,
                      message=call.body.message)


@endpoint(bp, "POST", "/v1/orders/{order_id}/extras", summary="Offer a paid extra option (contractor)",
          tag="orders", status=201, request=s.ExtraIn, response=s.OrderOut, errors=(403, 409))
def offer_extra(call: Call):
    body = call.body
    return orders.offer_extra(call.user, call.params["order_id"], body.title, body.amount, body.extra_days)


@endpoint(bp, "POST", "/v1/orders/{order_id}/extras/{extra_id}/pay",
          summary="Pay an extra (client): more escrow, a later deadline", tag="orders", response=s.OrderOut,
          errors=(402, 403, 409), moves_money=True)
def pay_extra(call: Call):
    return orders.pay_extra(call.user, call.params["order_id"], call.params["extra_id"])


@endpoint(bp, "POST", "/v1/orders/{order_id}/extras/{extra_id}/reject", summary="Reject an extra (client)",
          tag="orders", response=s.OrderOut, errors=(403, 409))
def reject_extra(call: Call):
    return orders.act(call.user, call.params["order_id"], "reject_extra",
                      payload={"extra_id": call.params["extra_id"]})


@endpoint(bp, "POST", "/v1/orders/{order_id}/review", summary="Review a completed order once (client)",
          tag="orders", status=201, request=s.ReviewIn, response=s.ReviewOut, errors=(403, 409))
def review_order(call: Call):
    return reviews.leave(call.user, call.params["order_id"], call.body.rating, call.body.text)


@endpoint(bp, "GET", "/v1/operator/disputes", summary="Open disputes, oldest first (operator)", tag="operator",
          auth_="operator", response=s.DisputeQueue, query=("limit", "cursor"), errors=(422,))
def list_disputes(call: Call):
    return orders.open_disputes(call.user, call.limit, call.cursor)


@endpoint(bp, "POST", "/v1/operator/disputes/{order_id}/resolve",
          summary="Resolve a dispute by splitting the escrow (operator)", tag="operator", auth_="operator",
          request=s.ResolutionIn, response=s.OrderOut, errors=(409,), moves_money=True)
def resolve_dispute(call: Call):
    body = call.body
    return orders.resolve_dispute(call.user, call.params["order_id"], body.refund, body.release, body.note)

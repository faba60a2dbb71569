"""Custom offers, conversations and contractor profiles."""
from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint

from chalicelib.entrypoints.api.http import Call, endpoint
from chalicelib.entrypoints.api.http import schema_names as s
from chalicelib.platform.lazy import lazy_modules

if TYPE_CHECKING:
    from chalicelib.services import conversations, offer_requests, offers, profiles
else:  # loaded when a route first runs (chalicelib/platform/lazy.py)
    conversations, offer_requests, offers, profiles = lazy_modules("chalicelib.services", "conversations",
                                                                   "offer_requests", "offers", "profiles")

bp = Blueprint(__name__)


# --- custom offers ---------------------------------------------------------------------------------------------------

@endpoint(bp, "POST", "/v1/offers", summary="Make a client a custom offer (contractor)", tag="offers", status=201,
          request=s.OfferIn, response=s.OfferOut, errors=(403, 404))
def create_offer(call: Call):
    b = call.body
    return offers.create(call.user, b.client_id, b.gig_id, b.description, b.amount, b.currency, b.delivery_days,
                         b.revision_limit, b.accept_by, b.order_id, b.request_id)


@endpoint(bp, "GET", "/v1/offers", summary="Offers received (client, default) or made (contractor)", tag="offers",
          response=s.OfferList, query=("role", "limit", "cursor"), errors=(422,))
def list_offers(call: Call):
    return offers.list_mine(call.user, call.party, call.limit, call.cursor)


@endpoint(bp, "GET", "/v1/offers/{offer_id}", summary="One offer", tag="offers", response=s.OfferOut)
def get_offer(call: Call):
    return offers.get(call.user, call.params["offer_id"])


@endpoint(bp, "POST", "/v1/offers/{offer_id}/accept",
          summary="Accept an offer (client): the order is created and paid into escrow", tag="offers", status=201,
          response=s.OrderOut, errors=(402, 403, 409), moves_money=True)
def accept_offer(call: Call):
    return offers.accept(call.user, call.params["offer_id"])


@endpoint(bp, "POST", "/v1/offers/{offer_id}/reject", summary="Reject an offer (client)", tag="offers",
          request=s.OptionalReasonIn, response=s.OfferOut, errors=(403, 409))
def reject_offer(call: Call):
    return offers.close(call.user, call.params["offer_id"], "reject", call.body.reason)


@endpoint(bp, "POST", "/v1/offers/{offer_id}/withdraw", summary="Withdraw an offer (contractor)", tag="offers",
          response=s.OfferOut, errors=(403, 409))
def withdraw_offer(call: Call):
    return offers.close(call.user, call.params["offer_id"], "withdraw")


# --- requests for a custom offer -------------------------------------------------------------------------------------

@endpoint(bp, "POST", "/v1/offer-requests", summary="Ask a contractor for a custom offer (client)", tag="offers",
          status=201, request=s.OfferRequestIn, response=s.OfferRequestOut, errors=(404, 409))
def create_offer_request(call: Call):
    b = call.body
    budget = None if b.budget is None else (b.budget.amount, b.budget.currency)
    return offer_requests.create(call.user, b.contractor_id, b.gig_id, b.description, budget, b.deadline_at)


@endpoint(bp, "GET", "/v1/offer-requests", summary="Requests sent (client, default) or received (contractor)",
          tag="offers", response=s.OfferRequestList, query=("role", "limit", "cursor"), errors=(422,))
def list_offer_requests(call: Call):
    return offer_requests.list_mine(call.user, call.party, call.limit, call.cursor)


@endpoint(bp, "GET", "/v1/offer-requests/{request_id}", summary="One request for a custom offer", tag="offers",
          response=s.OfferRequestOut)
def get_offer_request(call: Call):
    return offer_requests.get(call.user, call.params["request_id"])


@endpoint(bp, "POST", "/v1/offer-requests/{request_id}/decline",
          summary="Decline a request for a custom offer, with a reason (contractor); answer one with POST /v1/offers "
                  "and its request_id", tag="offers", request=s.RequiredReasonIn, response=s.OfferRequestOut,
          errors=(403, 409))
def decline_offer_request(call: Call):
    return offer_requests.close(call.user, call.params["request_id"], "decline", call.body.reason)


@endpoint(bp, "POST", "/v1/offer-requests/{request_id}/withdraw", summary="Withdraw a pending request (client)",
          tag="offers", response=s.OfferRequestOut, errors=(403, 409))
def withdraw_offer_request(call: Call):
    return offer_requests.close(call.user, call.params["request_id"], "withdraw")


# --- conversations ---------------------------------------------------------------------------------------------------

@endpoint(bp, "POST", "/v1/conversations", summary="Open the conversation with a user (200 if it exists)",
          tag="conversations", status=201, request=s.ConversationIn, response=s.ConversationOut, also=(200,))
def start_conversation(call: Call):
    return conversations.start(call.user, call.body.user_id)


@endpoint(bp, "GET", "/v1/conversations", summary="My conversations", tag="conversations",
          response=s.ConversationList, query=("limit", "cursor"), errors=(422,))
def list_conversations(call: Call):
    return conversations.list_mine(call.user, call.limit, call.cursor)


@endpoint(bp, "POST", "/v1/conversations/{conversation_id}/messages", summary="Send a message", status=201,
          tag="conversations", request=s.ChatMessageIn, response=s.ChatMessageOut, errors=(403,))
def send_message(call: Call):
    body = call.body
    return conversations.send(call.user, call.params["conversation_id"], body.text,
                              [a.file_id for a in body.attachments], body.links)


@endpoint(bp, "GET", "/v1/conversations/{conversation_id}/messages", summary="Messages, newest first",
          tag="conversations", response=s.ChatMessageList, query=("limit", "cursor"), errors=(422,))
def list_messages(call: Call):
    return conversations.messages(call.user, call.params["conversation_id"], call.limit, call.cursor)


@endpoint(bp, "POST", "/v1/orders/{order_id}/messages", summary="Send a message on an order", status=201,
          tag="conversations", request=s.ChatMessageIn, response=s.ChatMessageOut, errors=(403,))
def send_order_message(call: Call):
    body = call.body
    return conversations.send_on_order(call.user, call.params["order_id"], body.text,
                                       [a.file_id for a in body.attachments], body.links)


@endpoint(bp, "GET", "/v1/orders/{order_id}/messages", summary="An order's messages, newest first",
          tag="conversations", response=s.ChatMessageList, query=("limit", "cursor"), errors=(422,))
def list_order_messages(call: Call):
    return conversations.order_messages(call.user, call.params["order_id"], call.limit, call.cursor)


# --- contractor profiles ---------------------------------------------------------------------------------------------

@endpoint(bp, "GET", "/v1/contractors/{user_id}", summary="A contractor's profile and responsibility rating",
          tag="profiles", response=s.ContractorOut)
def get_contractor(call: Call):
    return profiles.show(call.params["user_id"])


@endpoint(bp, "GET", "/v1/clients/{user_id}", summary="A client's profile: how contractors rated him on projects",
          tag="profiles", response=s.ClientOut)
def get_client(call: Call):
    return profiles.show_client(call.params["user_id"])


@endpoint(bp, "PATCH", "/v1/me/profile", summary="Change my contractor settings (custom offers, skills)",
          tag="profiles", request=s.ProfileIn, response=s.ContractorOut)
def update_profile(call: Call):
    return profiles.update(call.user, call.body.custom_offers, call.body.skills)


@endpoint(bp, "POST", "/v1/operator/contractors/{user_id}/level", summary="Set a contractor's level (operator)",
          tag="operator", auth_="operator", request=s.LevelIn, response=s.ContractorOut)
def set_level(call: Call):
    return profiles.set_level(call.user, call.params["user_id"], call.body.level, call.body.reason)

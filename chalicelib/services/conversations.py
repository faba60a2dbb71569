"""Conversations: messages between two users before any order, and on each order between its client and
contractor. A message notifies whoever else is in the thread. Its files are uploads (`POST /v1/uploads`) it
claims in its own unit of work; outside addresses travel only as links.

Two users share one conversation, whose id is derived from the pair; each has his own item for it,
so each lists his conversations with one query, and his item records when he first wrote in it (a
contractor may make a client a custom offer only once the client has written to him).
"""
from __future__ import annotations

from chalicelib.access.auth import Principal
from chalicelib.notify import outbox
from chalicelib.platform import clock, ids
from chalicelib.platform.errors import Unprocessable
from chalicelib.services import idempotency, orders, uploads, views
from chalicelib.services.pagination import page
from chalicelib.store import lookup
from chalicelib.store.models import ConversationModel, MessageModel, UserModel
from chalicelib.store.uow import UnitOfWork


def conversation_id(user_a: str, user_b: str) -> str:
    return ids.derived_id("cnv", *sorted((user_a, user_b)))


def has_written(writer_id: str, peer_id: str) -> bool:
    """Whether `writer_id` has written to `peer_id` in their conversation."""
    try:
        mine = ConversationModel.get(writer_id, conversation_id(writer_id, peer_id), consistent_read=True)
    except ConversationModel.DoesNotExist:
        return False
    return mine.wrote_at is not None


def start(principal: Principal, peer_id: str) -> tuple[int, dict]:
    """Open (or find) the conversation with another user: 201 when new, 200 when it already was."""
    if peer_id == principal.user_id:
        raise Unprocessable("self_conversation", "You cannot start a conversation with yourself", field="user_id")
    lookup.load(UserModel, peer_id, what="user")
    cid = conversation_id(principal.user_id, peer_id)
    try:
        return 200, views.conversation(ConversationModel.get(principal.user_id, cid, consistent_read=True))
    except ConversationModel.DoesNotExist:
        pass
    now = clock.iso(clock.now())
    mine = ConversationModel(principal.user_id, cid, peer_id=peer_id, created_at=now)
    uow = UnitOfWork()
    uow.put(mine)
    uow.put(ConversationModel(peer_id, cid, peer_id=principal.user_id, created_at=now))
    return idempotency.commit(uow, 201, views.conversation(mine))


def list_mine(principal: Principal, limit: int, cursor: str | None) -> dict:
    return page(lambda **kw: ConversationModel.query(principal.user_id, **kw), limit, cursor, views.conversation)


def _membership(principal: Principal, cid: str) -> ConversationModel:
    return lookup.load(ConversationModel, principal.user_id, cid, what="conversation")


def send(principal: Principal, cid: str, text: str, file_ids: list[str], links: list[str] | None = None,
         ) -> tuple[int, dict]:
    membership = _membership(principal, cid)
    return _post(principal, cid, text, file_ids, links or [], [membership.peer_id],
                 {"conversation_id": cid, "order_id": None, "title": ""}, membership=membership)


def messages(principal: Principal, cid: str, limit: int, cursor: str | None) -> dict:
    _membership(principal, cid)
    return _history(cid, limit, cursor)


def send_on_order(principal: Principal, order_id: str, text: str, file_ids: list[str],
                  links: list[str]) -> tuple[int, dict]:
    deal = orders.load(order_id)
    role = orders.role_in(principal, deal)
    others = {"client": [deal.contractor_id], "contractor": [deal.client_id]}.get(role,
                                                                               [deal.client_id, deal.contractor_id])
    return _post(principal, deal.id, text, file_ids, links, others,
                 {"conversation_id": None, "order_id": deal.id, "title": deal.title})


def order_messages(principal: Principal, order_id: str, limit: int, cursor: str | None) -> dict:
    orders.role_in(principal, orders.load(order_id))
    return _history(order_id, limit, cursor)


def _post(principal: Principal, thread_id: str, text: str, file_ids: list[str], links: list[str],
          recipients: list[str], where: dict, membership: ConversationModel | None = None) -> tuple[int, dict]:
    if not text.strip() and not file_ids and not links:
        raise Unprocessable("empty_message", "A message needs text, a file or a link", field="text")
    sender = lookup.load(UserModel, principal.user_id, what="user")
    now = clock.now()
    uow = UnitOfWork()
    attachments = uploads.claim(uow, principal, file_ids, thread_id, now)
    message = MessageModel(thread_id, ids.new_id("msg"), sender_id=principal.user_id, text=text,
                           attachments=attachments, links=links or None, created_at=clock.iso(now))
    uow.put(message, condition=MessageModel.message_id.does_not_exist())
    if membership is not None:
        uow.update(membership, [ConversationModel.wrote_at.set(ConversationModel.wrote_at | clock.iso(now))])
    for recipient in recipients:
        outbox.enqueue(uow, recipient, "message_received",
                              {"sender_name": sender.name, "text": text, "attachments": len(attachments), **where})
    return idempotency.commit(uow, 201, views.message(message))


def _history(thread_id: str, limit: int, cursor: str | None) -> dict:
    """Newest first; the cursor pages back in time."""
    return page(lambda **kw: MessageModel.query(thread_id, scan_index_forward=False, **kw), limit, cursor,
                views.message)

"""The notifications outbox: a state change adds its notifications to its own unit of work, so they are
written in the same transaction as the change they tell of. The table's stream then e-mails each one
(`chalicelib.services.notifications`): the stream is the only feed of the sending. This module sits below the
engine, so a process can notify without reaching up into a use case.

A new notification is written alone, with no index entry. One that tells its recipient of his own move (and is
not a security notice) is written `not_emailed` at once, since with the default choices it is not e-mailed: its
delivery then writes nothing, unless the user asked for his own moves too and it is sent after all. Only one
whose e-mail could not go out at the first try (the sender failed, or a claim was left behind by a sender that
died) enters the retry queue: it then carries `email_queue`, the key of a sparse index the retry job reads. The
key is sharded (`pending#<n>`, `EMAIL_QUEUE_SHARDS`) by a hash of the notification's id, so no index partition is
hot even if many fail at once."""
from __future__ import annotations

import zlib

from chalicelib.notify import preferences
from chalicelib.platform import clock, ids
from chalicelib.platform.config import settings
from chalicelib.store.models import NotificationModel
from chalicelib.store.uow import UnitOfWork

PENDING = "pending"
NOT_EMAILED = "not_emailed"  # the feed has it; its recipient's choices (or his own action) keep it from e-mail
LEGACY_QUEUE = PENDING  # the one unsharded key notifications written before the shards carry
OPERATORS = "role:operator"  # a broadcast to every operator, fanned out when delivered


def enqueue(uow: UnitOfWork, user_id: str, kind: str, params: dict, *, actor: str | None = None) -> str:
    """Add an in-cabinet notification (and its e-mail, via the stream) to the unit of work. `actor`: the user
    whose action it tells of, so that he is not e-mailed about what he did himself."""
    notification_id = ids.new_id("ntf")
    uow.put(pending_record(user_id, notification_id, kind, params, clock.iso(clock.now()), actor=actor))
    return notification_id


def pending_record(user_id: str, notification_id: str, kind: str, params: dict, created_at: str, *,
                   actor: str | None = None) -> NotificationModel:
    """A notification not yet e-mailed: its state says `pending` (`not_emailed` for the recipient's own move,
    which only a user who asked for those gets by e-mail); it is in no queue until a try fails."""
    own = actor is not None and actor == user_id and preferences.own_move_held_back(kind)
    return NotificationModel(user_id, notification_id, kind=kind, params=params, created_at=created_at,
                             email_state=NOT_EMAILED if own else PENDING, actor_id=actor)


def queue_key(notification_id: str) -> str:
    """The e-mail retry queue index's partition a notification waits in."""
    return f"{PENDING}#{zlib.crc32(notification_id.encode()) % settings.email_queue_shards}"


def queue_keys() -> list[str]:
    """Every partition of the e-mail queue index, the unsharded key of older notifications last."""
    return [f"{PENDING}#{shard}" for shard in range(settings.email_queue_shards)] + [LEGACY_QUEUE]

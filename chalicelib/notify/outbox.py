"""The notifications outbox: a state change adds its notifications to its own unit of work, so they are
written in the same transaction as the change they tell of. The table's stream then e-mails each one
(`chalicelib.services.notifications`). This module sits below the engine, so a process can notify without
reaching up into a use case."""
from __future__ import annotations

from chalicelib.platform import clock, ids
from chalicelib.store.models import NotificationModel
from chalicelib.store.uow import UnitOfWork

PENDING = "pending"
OPERATORS = "role:operator"  # a broadcast to every operator, fanned out when delivered


def enqueue(uow: UnitOfWork, user_id: str, kind: str, params: dict) -> str:
    """Add an in-cabinet notification (and its e-mail, via the stream) to the unit of work."""
    notification_id = ids.new_id("ntf")
    uow.put(pending_record(user_id, notification_id, kind, params, clock.iso(clock.now())))
    return notification_id


def pending_record(user_id: str, notification_id: str, kind: str, params: dict, created_at: str) -> NotificationModel:
    """A notification not yet e-mailed: its state and the e-mail queue index both say `pending`."""
    return NotificationModel(user_id, notification_id, kind=kind, params=params, created_at=created_at,
                             email_state=PENDING, email_queue=PENDING)

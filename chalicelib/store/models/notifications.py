"""The notifications table: the in-cabinet feed and the e-mail outbox its stream delivers."""
from __future__ import annotations

from pynamodb.attributes import (
    UnicodeAttribute,
)
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib.store.models.base import BaseMeta, JSONAttribute


class PendingEmails(GlobalSecondaryIndex):
    """Sparse: notifications whose e-mail has not gone out carry `email_queue`, one of `EMAIL_QUEUE_SHARDS` keys
    (`chalicelib.notify.outbox.queue_key`), so the queue has no hot partition."""

    class Meta:
        index_name = "by_email_queue"
        projection = KeysOnlyProjection()

    email_queue = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class NotificationModel(Model):
    """The outbox and the in-cabinet feed at once; the table's stream drives e-mail."""

    class Meta(BaseMeta):
        logical_name = "notifications"
        table_name = "notifications"
        stream_view_type = "NEW_IMAGE"

    user_id = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute()
    params = JSONAttribute()
    created_at = UnicodeAttribute()
    email_state = UnicodeAttribute()  # pending | sending | sent | failed | not_emailed (not wanted; own moves start so)
    email_queue = UnicodeAttribute(null=True)
    read_at = UnicodeAttribute(null=True)
    actor_id = UnicodeAttribute(null=True)  # the user whose action it tells of, when one did it
    by_email_queue = PendingEmails()


"""Operators' acts as a trail: who did what to which subject, when, from what to what, and why."""
from __future__ import annotations

from pynamodb.attributes import UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.store.models.base import BaseMeta, JSONAttribute


class AuditLogByActor(GlobalSecondaryIndex):
    """One operator's acts, by time: `actor_id`, then `sk`."""

    class Meta:
        index_name = "by_actor"
        projection = AllProjection()

    actor_id = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


class AuditLogByMonth(GlobalSecondaryIndex):
    """Every operator's acts, one partition per month (`month` = `YYYY-MM` of `at`, UTC), by time within it: the
    whole log newest first is the newest month's partition, then the month before, and so on."""

    class Meta:
        index_name = "by_month"
        projection = AllProjection()

    month = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


class AuditLogModel(Model):
    """One operator's act (`subject` = `site#<id>`, ...), sorted by time within its subject (`sk` =
    `<at>#<id>`). Written in the act's own transaction (`store/audit_log.py`), so an act that did not
    happen leaves no record and one that happened always has its record; records are never changed (the API's
    role may put and read them, never update or delete them: infra/template.py)."""

    class Meta(BaseMeta):
        logical_name = "audit_log"
        table_name = "audit_log"

    subject = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    id = UnicodeAttribute()
    actor_id = UnicodeAttribute()  # the operator's user id
    action = UnicodeAttribute()  # change_tariff | resume_autopay | write_off | apply_transfer | change_owner | ...
    at = UnicodeAttribute()
    month = UnicodeAttribute()  # `at`'s month, `YYYY-MM`: its partition of `by_month`
    before = JSONAttribute(null=True)  # what the act changed, as it was
    after = JSONAttribute(null=True)  # and as the act left it
    reason = UnicodeAttribute()

    by_actor = AuditLogByActor()
    by_month = AuditLogByMonth()

"""The operators' audit trail's writer: one record per act, put in the act's own unit of work."""
from __future__ import annotations

from datetime import datetime

from chalicelib.platform import clock, ids
from chalicelib.store.models import AuditLogModel
from chalicelib.store.uow import UnitOfWork

# No operator's act is older than this month (the trail began in 2026): reading the whole log newest first walks
# `by_month` back month by month to here, one query per month.
FIRST_MONTH = "2026-01"


def previous_month(month: str) -> str:
    """`2026-01` → `2025-12`."""
    year, number = int(month[:4]), int(month[5:7])
    return f"{year - 1}-12" if number == 1 else f"{year}-{number - 1:02d}"


def site_subject(site_id: str) -> str:
    return f"site#{site_id}"


def tariff_subject(code: str) -> str:
    return f"tariff#{code}"


def record(uow: UnitOfWork, *, subject: str, actor_id: str, action: str, reason: str, before: dict | None,
           after: dict | None, now: datetime | None = None) -> AuditLogModel:
    """Add the record of an operator's act to `uow`: it commits with the act or not at all."""
    at = clock.iso(now or clock.now())
    record_id = ids.new_id("aud")
    item = AuditLogModel(subject, f"{at}#{record_id}", id=record_id, actor_id=actor_id, action=action, at=at,
                         month=at[:7], before=before, after=after, reason=reason)
    uow.put(item, condition=AuditLogModel.sk.does_not_exist())
    return item

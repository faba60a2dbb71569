"""Abuse limits, kept in DynamoDB (the `limits` table) so that they hold across Lambda instances.

Each limit counts events for a subject (an e-mail address, a source address, a company) in a window:
- `Window` limits open a window at the first event and count until it passes. `take` charges one event
  before the work it limits, by a conditional add: of many requests at the same instant, only as many as
  the limit allows get through, and the rest are refused without the work being done;
- `Daily` limits count per calendar day in UTC (invitations per company, e-mails per address), and
  their counter is written inside the transaction that does what they count, so a refused event
  leaves nothing behind.
Subjects are stored as SHA-256 digests: the table holds no addresses. Items expire by TTL.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from pynamodb.exceptions import PutError, UpdateError

from chalicelib.platform import clock
from chalicelib.platform.errors import TooManyRequests
from chalicelib.store.models import LimitModel
from chalicelib.store.uow import UnitOfWork

_CONDITION_FAILED = "ConditionalCheckFailedException"
_KEEP_SECONDS = 3600  # an item outlives its window by this much before TTL may delete it


@dataclass(frozen=True)
class Window:
    """At most `max_count` events per subject in `seconds` from the first."""

    name: str
    max_count: int
    seconds: int


@dataclass(frozen=True)
class Daily:
    """At most `max_count` events per subject and calendar day (UTC)."""

    name: str
    max_count: int


def _digest(subject: str) -> str:
    return hashlib.sha256(subject.strip().lower().encode()).hexdigest()[:40]


def _now_seconds() -> int:
    return int(clock.now().timestamp())


def retry_after(limit: Window, subject: str) -> int | None:
    """Seconds until `subject` may try again, or None while it is under the limit."""
    now = _now_seconds()
    try:
        item = LimitModel.get(f"{limit.name}#{_digest(subject)}", consistent_read=True)
    except LimitModel.DoesNotExist:
        return None
    if int(item.window_ends) > now and int(item.hits) >= limit.max_count:
        return int(item.window_ends) - now
    return None


def take(limit: Window, subject: str, code: str, message: str) -> None:
    """Charge one event before doing the work it limits, atomically: refuse with 429 and `Retry-After` if
    it would be one too many (then nothing is counted)."""
    key, now = f"{limit.name}#{_digest(subject)}", _now_seconds()
    for _ in range(3):  # two racers may both find no open window; the loser counts in the winner's
        try:
            LimitModel(key).update(actions=[LimitModel.hits.add(1)],
                                   condition=(LimitModel.window_ends > now) & (LimitModel.hits < limit.max_count))
            return
        except UpdateError as error:
            if error.cause_response_code != _CONDITION_FAILED:
                raise
        wait = retry_after(limit, subject)
        if wait is not None:
            raise TooManyRequests(code, message, retry_after=wait)
        ends = now + limit.seconds
        try:
            LimitModel(key, hits=1, window_ends=ends, expires_at=ends + _KEEP_SECONDS).save(
                condition=LimitModel.key.does_not_exist() | (LimitModel.window_ends <= now))
            return
        except PutError as error:
            if error.cause_response_code != _CONDITION_FAILED:
                raise
    raise TooManyRequests(code, message, retry_after=1)


def give_back(limit: Window, subject: str) -> None:
    """Return one event charged by `take` (the work turned out to be no abuse, e.g. a right password)."""
    try:
        LimitModel(f"{limit.name}#{_digest(subject)}").update(actions=[LimitModel.hits.add(-1)],
                                                              condition=LimitModel.hits > 0)
    except UpdateError as error:
        if error.cause_response_code != _CONDITION_FAILED:
            raise


def mark(name: str, subject: str, seconds: int) -> None:
    """Remember that `subject` did something (e.g. logged in from an address), for `seconds`."""
    ends = _now_seconds() + seconds
    LimitModel(f"{name}#{_digest(subject)}", hits=1, window_ends=ends, expires_at=ends).save()


def marked(name: str, subject: str) -> bool:
    try:
        item = LimitModel.get(f"{name}#{_digest(subject)}", consistent_read=True)
    except LimitModel.DoesNotExist:
        return False
    return int(item.window_ends) > _now_seconds()


def clear(limit: Window, subject: str) -> None:
    """Forget the subject's count (it proved who it is, e.g. by a password reset)."""
    try:
        LimitModel(f"{limit.name}#{_digest(subject)}").update(actions=[LimitModel.hits.set(0)],
                                                              condition=LimitModel.key.exists())
    except UpdateError as error:
        if error.cause_response_code != _CONDITION_FAILED:
            raise


def _day_end(now: datetime) -> datetime:
    return datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), tzinfo=now.tzinfo)


def seconds_to_next_day() -> int:
    now = clock.now()
    return max(1, int((_day_end(now) - now).total_seconds()))


def count_today(limit: Daily, subject: str) -> int:
    now = clock.now()
    try:
        item = LimitModel.get(f"{limit.name}#{_digest(subject)}#{now.date().isoformat()}", consistent_read=True)
    except LimitModel.DoesNotExist:
        return 0
    return int(item.hits)


def charge(uow: UnitOfWork, limit: Daily, subject: str, *, on_fail: Exception) -> None:
    """Count one event today inside `uow`; the transaction fails with `on_fail` if that is one too many."""
    now = clock.now()
    ends = int(_day_end(now).timestamp())
    item = LimitModel(f"{limit.name}#{_digest(subject)}#{now.date().isoformat()}")
    uow.update(item, [LimitModel.hits.add(1), LimitModel.window_ends.set(ends),
                      LimitModel.expires_at.set(ends + _KEEP_SECONDS)],
               condition=LimitModel.hits.does_not_exist() | (LimitModel.hits < limit.max_count), on_fail=on_fail)

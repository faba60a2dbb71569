"""The timer job: fires every timed transition that is due, reading only due timers.

The same firing (`deals.fire_timer`) also happens when a request touches a deal whose timer is
due before the job came by: whichever runs first fires it, the other finds nothing to do.
Pending timers sit in a sparse index partitioned by shard (`TIMER_SHARDS`) and sorted by due time, so
a run queries `due_at <= now` in each shard and never scans the table. Shards are fired in parallel:
an invocation fires its shards on a pool of `TIMER_WORKERS` threads, each thread one shard at a time,
oldest timer first. On AWS the one-minute schedule fires nothing itself: it sends one message per
group of `TIMER_WORKERS` shards to the timer queue (`TIMER_QUEUE_URL`), and each message is one
invocation of the queue's handler, so throughput grows with shards and invocations until DynamoDB is
the limit. Without a queue (the local stage, tests) the schedule fires every shard in its own process.
An invocation stops taking timers shortly before its Lambda timeout (shorter than the schedule's
minute), so a backlog is drained by one invocation per group at a time, minute after minute, instead
of by runs that overlap and race each other for the same deals.

Each timer fires through the engine with a condition on the status and version it was set for: a deal
that moved on, a timer another run fired first, or an index copy that lags behind the table is
skipped, and nothing changes twice. A fire that loses a race on real DynamoDB (a transaction conflict)
wrote nothing either; the deal stays due and the next run fires it. The index holds keys only, so a
deal's transitions do not rewrite it with the whole deal; each page of due timers (`BATCH`) is read whole in one
`BatchGetItem`, half a read unit a deal under 4 KB.
"""
from __future__ import annotations

import itertools
import json
import random
import threading
import time
from collections.abc import Iterable, Iterator
from datetime import datetime

import boto3

from chalicelib.platform import clock
from chalicelib.platform.config import settings
from chalicelib.platform.errors import Retryable
from chalicelib.platform.observability import logger
from chalicelib.services.deals import fire_timer
from chalicelib.store import lookup
from chalicelib.store.models import DealModel
from chalicelib.store.uow import connection_for

BATCH = 100
SQS_BATCH = 10  # entries one SendMessageBatch takes
STOP_MARGIN_SECONDS = 3.0  # a fire in flight finishes (one transaction, retries included) well within it


def fire_due(now: datetime) -> dict:
    """The scheduled job: every shard's due timers — through the timer queue when there is one."""
    if settings.timer_queue_url:
        return dispatch(now)
    return fire_shards(range(settings.timer_shards), now)


def shard_groups() -> list[list[int]]:
    """The shards, in groups of `TIMER_WORKERS`: one group per invocation of the queue's handler."""
    shards, size = list(range(settings.timer_shards)), max(1, settings.timer_workers)
    return [shards[start:start + size] for start in range(0, len(shards), size)]


def dispatch(now: datetime) -> dict:
    """One message per group of shards on the timer queue. A message is only a reminder: a lost or late
    one costs at most a minute, when the next run sends its shards again."""
    groups = shard_groups()
    bodies = [json.dumps({"shards": group, "scheduled_at": clock.iso(now)}) for group in groups]
    sqs = boto3.client("sqs", region_name=settings.region)
    for start in range(0, len(bodies), SQS_BATCH):
        entries = [{"Id": str(number), "MessageBody": body}
                   for number, body in enumerate(bodies[start:start + SQS_BATCH], start)]
        failed = sqs.send_message_batch(QueueUrl=settings.timer_queue_url, Entries=entries).get("Failed")
        if failed:
            raise RuntimeError(f"the timer queue refused {len(failed)} message(s): {failed}")
    return {"groups": len(groups), "shards": settings.timer_shards}


def fire_messages(bodies: Iterable[str], now: datetime, *, seconds_left: float) -> dict:
    """The timer queue's handler: fire the shards each message names, in the `seconds_left` before the
    invocation times out (what is still due then waits for the next run)."""
    shards = sorted({int(shard) for body in bodies for shard in json.loads(body)["shards"]})
    return fire_shards(shards, now, stop_at=time.monotonic() + seconds_left - STOP_MARGIN_SECONDS)


def fire_shards(shards: Iterable[int], now: datetime, *, workers: int | None = None,
                stop_at: float | None = None) -> dict:
    """Fire the due timers of `shards`, at most `workers` (default `TIMER_WORKERS`) shards at once,
    taking no new timer once `time.monotonic()` passes `stop_at`."""
    shards = list(shards)
    pool_size = min(workers or settings.timer_workers, len(shards))
    if pool_size <= 1:
        outcomes = [_fire_shard(shard, now, stop_at) for shard in shards]
    else:
        from concurrent.futures import ThreadPoolExecutor  # only the job's invocations use threads

        _connect()
        with ThreadPoolExecutor(max_workers=pool_size, thread_name_prefix="timers") as pool:
            outcomes = list(pool.map(lambda shard: _fire_shard(shard, now, stop_at), shards))
    return {key: sum(outcome[key] for outcome in outcomes) for key in ("due", "fired", "skipped")}


def _connect() -> None:
    """Make the DynamoDB client before the threads share it: a botocore client is thread-safe, but PynamoDB
    creates it on first use, unguarded (every model and the unit of work share it: `models.bind`)."""
    _ = connection_for(DealModel).client  # the property creates the client


# A fire that loses a race for a shared item — most often its contractor's standing, which every scored step of
# his re-ranks in the catalog — is tried again at once, after a short random pause: the job's workers firing many
# timers of one contractor take turns instead of leaving the losers to the next run.
FIRE_ATTEMPTS = 30
FIRE_PAUSE_CAP_S = 0.2


# One contractor's timers fire one at a time within an invocation (their scored steps all write his standing,
# and threads racing for it only lose); other contractors' fire alongside. Across invocations, the retries.
_turns: dict[str, threading.Lock] = {}
_turns_guard = threading.Lock()


def _turn(deal: DealModel) -> threading.Lock:
    with _turns_guard:
        return _turns.setdefault(deal.contractor_id or deal.id, threading.Lock())


def _fire_with_retries(deal: DealModel, now: datetime) -> bool:
    with _turn(deal):
        return _fire_in_turn(deal, now)


def _fire_in_turn(deal: DealModel, now: datetime) -> bool:
    for attempt in range(FIRE_ATTEMPTS):
        try:
            return fire_timer(deal, now)
        except Retryable as lost:
            if attempt == FIRE_ATTEMPTS - 1:
                logger.info("timer lost its races; the next run fires it", extra={"deal_id": deal.id,
                                                                                   "code": str(lost)})
                return False
            time.sleep(random.uniform(0, min(FIRE_PAUSE_CAP_S, 0.005 * 2**attempt)))
    return False


def _fire_shard(shard: int, now: datetime, stop_at: float | None) -> dict:
    outcome = {"due": 0, "fired": 0, "skipped": 0}
    for deal in _due_deals(shard, now):
        if stop_at is not None and time.monotonic() >= stop_at:
            logger.warning("timer shard out of time; the next run goes on", extra={"shard": shard, **outcome})
            break
        outcome["due"] += 1
        fired = _fire_with_retries(deal, now)
        outcome["fired" if fired else "skipped"] += 1
    return outcome


def _due_deals(shard: int, now: datetime) -> Iterator[DealModel]:
    """The shard's due deals, earliest first: each page of the keys-only index read whole in one batch. A deal
    whose timer moved or fired since the index was read is the engine's to refuse (`fire_timer`)."""
    keys = DealModel.by_due.query(f"timer#{shard}", DealModel.timer_due_at <= clock.iso(now), page_size=BATCH)
    for page in itertools.batched(keys, BATCH, strict=False):  # the last page may be short
        yield from lookup.in_order(DealModel, list(page))


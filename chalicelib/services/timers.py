"""The timer job: fires every timed transition that is due, reading only due timers.

The same firing (`deals.fire_timer`) also happens when a request touches a deal whose timer is
due before the job came by: whichever runs first fires it, the other finds nothing to do.
Pending timers sit in a sparse index partitioned by shard and sorted by due time, so a run
queries `due_at <= now` in each shard and never scans the table. Each timer fires through the
engine with a condition on the status and version it was set for: a deal that moved on, a timer
another run fired first, or an index copy that lags behind the table is skipped, and nothing
changes twice. The index projects the whole deal, so each due timer costs one item read.
"""
from __future__ import annotations

from datetime import datetime

from chalicelib import clock
from chalicelib.config import settings
from chalicelib.services.deals import fire_timer
from chalicelib.store.models import DealModel

BATCH = 100


def fire_due(now: datetime) -> dict:
    outcome = {"due": 0, "fired": 0, "skipped": 0}
    due = clock.iso(now)
    for shard in range(settings.timer_shards):
        for deal in DealModel.by_timer.query(f"timer#{shard}", DealModel.timer_due_at <= due, page_size=BATCH):
            outcome["due"] += 1
            outcome["fired" if fire_timer(deal, now) else "skipped"] += 1
    return outcome

"""The timer job: fires every timed transition that is due, reading only due timers.

Pending timers sit in a sparse index partitioned by shard and sorted by due time, so a run
queries `due_at <= now` in each shard and never scans the table. Each timer fires through the
engine with a condition on the status and version it was set for: a deal that moved on, a timer
another run fired first, or an index copy that lags behind the table is skipped, and nothing
changes twice. The index projects the whole deal, so each due timer costs one item read.
"""
from __future__ import annotations

from datetime import datetime

from chalicelib import clock, engine
from chalicelib.config import settings
from chalicelib.errors import Conflict, Forbidden
from chalicelib.processes import Context, Process, b2b_task, custom_offer, gig_order, project
from chalicelib.store.models import DealModel
from chalicelib.store.uow import UnitOfWork

PROCESSES: dict[str, Process] = {process.name: process for process in (
    gig_order.PROCESS, custom_offer.PROCESS, project.PROCESS, b2b_task.PROCESS)}
BATCH = 100


def fire_due(now: datetime) -> dict:
    outcome = {"due": 0, "fired": 0, "skipped": 0}
    due = clock.iso(now)
    for shard in range(settings.timer_shards):
        for deal in DealModel.by_timer.query(f"timer#{shard}", DealModel.timer_due_at <= due, page_size=BATCH):
            outcome["due"] += 1
            outcome["fired" if _fire(deal, now) else "skipped"] += 1
    return outcome


def _fire(deal: DealModel, now: datetime) -> bool:
    if deal.timer_transition is None:
        return False
    uow = UnitOfWork()
    try:
        engine.apply(uow, PROCESSES[deal.process], deal, deal.timer_transition, Context(now, "system"))
        uow.commit()
    except (Conflict, Forbidden):
        return False
    return True

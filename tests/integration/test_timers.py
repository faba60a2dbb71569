"""Timers on real DynamoDB (Local): the job reads only what is due, and two runs at once move
each deal exactly once — one shard after another (1 worker) and 16 shards at once (16 workers)."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from chalicelib import engine
from chalicelib.access.auth import Principal
from chalicelib.money import ledger
from chalicelib.money.amounts import Money
from chalicelib.platform import clock, config
from chalicelib.processes.gig_order import PROCESS
from chalicelib.services import gigs, orders, timers
from chalicelib.store import models
from chalicelib.store.models import DealModel
from chalicelib.store.uow import UnitOfWork
from tests.support import assert_books_balance

CLIENT, CONTRACTOR = Principal("usr_client", ("client",)), Principal("usr_seller", ("contractor",))
SHARDS = 16


@pytest.fixture(params=[1, 16], ids=lambda workers: f"{workers}-workers")
def workers(request, monkeypatch, store) -> int:
    """The job on 16 timer shards, firing `workers` of them at once."""
    monkeypatch.setenv("TIMER_SHARDS", str(SHARDS))
    monkeypatch.setenv("TIMER_WORKERS", str(request.param))
    models.bind(config.reload())
    return request.param


def _due_orders(count: int) -> list[str]:
    """`count` real orders (money in escrow), all past their 24-hour start limit."""
    uow = UnitOfWork()
    ledger.record(uow, ledger.bank_top_up("fund", CLIENT.user_id, Money(100 * count, "USD"), ref="test"))
    uow.commit()
    gig = gigs.publish(CONTRACTOR, "Copy", "", 100, "USD", 1)[1]
    return [orders.place(CLIENT, gig["id"])[1]["id"] for _ in range(count)]


def _not_due_deals(count: int) -> None:
    """`count` deals whose timers lie a month ahead, written directly (no money: they never fire)."""
    due = clock.iso(clock.now() + timedelta(days=30))
    with DealModel.batch_write() as batch:
        for n in range(count):
            deal_id = f"ord_idle{n:05d}"
            batch.save(DealModel(
                deal_id, process=PROCESS.name, status="not_started", version=1, client_id="usr_idle",
                contractor_id="usr_idle2", client_key="order#usr_idle", contractor_key="order#usr_idle2",
                subject_id="gig_idle", title="idle", amount=100,
                currency="USD", commission_bps=2000, delivery_days=1, created_at=clock.iso(clock.now()),
                timer_shard=engine.timer_shard(deal_id), timer_due_at=due, timer_transition="auto_cancel",
            ))


class ItemsRead:
    """Counts the deals DynamoDB returns to reads (Query/Scan items, GetItem hits, BatchGetItem responses); the
    keys-only entries of the timer index a Query returns (`keys`) and the contractors' standings a scored fire reads
    to re-rank his gigs in the catalog (items keyed by `user_id`) are counted apart."""

    def __init__(self) -> None:
        self.items = 0
        self.keys = 0
        self.standings = 0
        self.client = DealModel._get_connection().connection.client
        self._lock = threading.Lock()  # the job's threads answer at once

    def __enter__(self) -> ItemsRead:
        self.client.meta.events.register("after-call.dynamodb.*", self._count)
        return self

    def __exit__(self, *exc) -> None:
        self.client.meta.events.unregister("after-call.dynamodb.*", self._count)

    def _count(self, http_response, parsed, model, **kwargs) -> None:
        if model.name in ("Query", "Scan"):
            items = parsed.get("Items", [])
        elif model.name == "BatchGetItem":
            items = [item for found in parsed.get("Responses", {}).values() for item in found]
        else:
            items = [parsed["Item"]] if model.name == "GetItem" and parsed.get("Item") else []
        standings = sum(1 for item in items if "user_id" in item and "id" not in item)
        keys = sum(1 for item in items if set(item) == {"id", "timer_shard", "timer_due_at"})
        with self._lock:
            self.items += len(items) - standings - keys
            self.keys += keys
            self.standings += standings


def test_a_run_reads_the_due_timers_not_the_whole_table(workers):
    # Given 10,000 deals with timers a month away and 100 orders past their start limit
    due_ids = _due_orders(100)
    _not_due_deals(10_000)
    clock.advance(24 * 3600 + 1)

    # When the job runs once
    with ItemsRead() as reads:
        outcome = timers.fire_due(clock.now())

    # Then it fired the 100 and read about 100 deals, not 10,000: the index's keys (it holds nothing else), then
    # the due deals whole in a batch
    assert outcome == {"due": 100, "fired": 100, "skipped": 0}
    assert 100 <= reads.keys <= 110 and reads.items <= 110, (reads.keys, reads.items)
    assert all(DealModel.get(i).status == "cancelled" for i in due_ids)
    assert ledger.balances(CLIENT.user_id)["USD"] == (100 * 100, 0)
    assert_books_balance(holds_are_escrow=False)  # the idle deals were written without money


def test_two_runs_at_once_move_each_deal_once(workers):
    due_ids = _due_orders(30 * workers)
    clock.advance(24 * 3600 + 1)
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda _: timers.fire_due(clock.now()), range(2)))
    assert sum(r["fired"] for r in results) == len(due_ids)
    assert all(DealModel.get(i).status == "cancelled" for i in due_ids)
    assert ledger.balances(CLIENT.user_id)["USD"] == (len(due_ids) * 100, 0)  # refunded once, not twice
    assert timers.fire_due(clock.now())["due"] == 0
    assert_books_balance()

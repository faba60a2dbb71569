"""How the timer job reads and dispatches shards: groups of `TIMER_WORKERS` shards (one queue message,
one invocation each on AWS), a message firing only its own shards, and a run that stops before its
invocation's timeout leaving what is still due to the next run. (Firing in parallel, and two runs at
once, are tested on DynamoDB Local: tests/integration/test_timers.py.)"""
from __future__ import annotations

import json
from datetime import timedelta

from chalicelib import engine
from chalicelib.platform import clock, config
from chalicelib.services import timers
from chalicelib.store import lookup
from chalicelib.store.models import DealModel
from tests.support import assert_books_balance, place_order


def test_shards_go_out_in_groups_of_timer_workers(monkeypatch):
    monkeypatch.setenv("TIMER_SHARDS", "10")
    monkeypatch.setenv("TIMER_WORKERS", "4")
    config.reload()
    assert timers.shard_groups() == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def _due_order(api, deal) -> tuple[str, int]:
    """Given an order past its 24-hour start limit: its id and its timer shard."""
    order = place_order(api, deal)
    clock.advance(timedelta(hours=25).total_seconds())
    return order["id"], int(engine.timer_shard(order["id"]).removeprefix("timer#"))


def _message(shards) -> str:
    return json.dumps({"shards": list(shards), "scheduled_at": clock.iso(clock.now())})


def test_a_message_fires_only_the_shards_it_names(api, deal, store):
    order_id, shard = _due_order(api, deal)
    others = [n for n in range(store.timer_shards) if n != shard]
    assert timers.fire_messages([_message(others)], clock.now(), seconds_left=30)["due"] == 0
    assert DealModel.get(order_id).status == "not_started"
    assert timers.fire_messages([_message([shard])], clock.now(), seconds_left=30) == {
        "due": 1, "fired": 1, "skipped": 0}
    assert DealModel.get(order_id).status == "cancelled"


def test_a_run_out_of_time_leaves_the_due_timer_to_the_next_run(api, deal, store):
    order_id, shard = _due_order(api, deal)
    late = timers.fire_messages([_message([shard])], clock.now(), seconds_left=timers.STOP_MARGIN_SECONDS)
    assert late == {"due": 0, "fired": 0, "skipped": 0}
    assert DealModel.get(order_id).status == "not_started"
    assert timers.fire_due(clock.now())["fired"] == 1
    assert DealModel.get(order_id).status == "cancelled"


def test_a_shard_with_more_due_timers_than_a_batch_reads_them_page_by_page_and_fires_each_once(api, deal,
                                                                                              monkeypatch):
    """The timer index holds keys only: the job reads each page of due keys' deals whole in one batch."""
    monkeypatch.setenv("TIMER_SHARDS", "1")
    config.reload()
    monkeypatch.setattr(timers, "BATCH", 1)
    pages: list[int] = []
    read = lookup.in_order
    monkeypatch.setattr(lookup, "in_order", lambda model, listed: pages.append(len(listed)) or read(model, listed))
    order_ids = [place_order(api, deal)["id"] for _ in range(2)]
    clock.advance(timedelta(hours=25).total_seconds())
    assert timers.fire_due(clock.now()) == {"due": 2, "fired": 2, "skipped": 0}
    assert pages == [1, 1]
    assert [DealModel.get(order_id).status for order_id in order_ids] == ["cancelled", "cancelled"]
    assert timers.fire_due(clock.now()) == {"due": 0, "fired": 0, "skipped": 0}
    assert_books_balance()

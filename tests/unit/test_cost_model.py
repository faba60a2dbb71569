"""The cost model (`bench.cost`) on moto: completed gig orders billed item by item as DynamoDB bills writes,
where each unit goes, and the deals' keys-only list indexes as moto serves them."""
from __future__ import annotations

import importlib
from pathlib import Path

import boto3
import pytest

from bench import cost
from chalicelib.store import models

ORDERS = 2


@pytest.fixture
def billed(store):
    """Completed gig orders run through the API on moto with the cost model's hooks: (usage, orders)."""
    tap = cost.IndexTap()
    with tap.installed():
        models.bind(store)  # a new connection, made with the hooks
        reader = tap.untapped(boto3.client("dynamodb", region_name=store.region))
        tap.writes = cost.WriteModel(reader, cost.table_shapes())
        meter = cost.Meter(1.0, tap.writes, {name: cost.table_shapes(design)
                                             for name, design in cost.ALTERNATIVES.items()})
        people = cost.cast(client_count=2, contractor_count=2)
        driver = cost.Driver(importlib.import_module("app"), None, tap, meter)
        driver.drain_stream()  # the sign-ups' e-mails: set-up, not billed
        driver.usage = cost.Usage()
        mails = Path(store.mail_sink_dir)
        before = len(list(mails.glob("*.eml")))
        for n in range(ORDERS):
            driver.usage.order = n
            cost.gig_order(driver, people, n)
        driver.usage.emails = len(list(mails.glob("*.eml"))) - before
    models.bind(store)
    return driver.usage, ORDERS


def test_a_completed_order_is_billed_item_by_item_and_every_unit_has_a_step_and_a_table(billed):
    usage, orders = billed
    per_order, _ = cost.verdict(usage, orders)
    assert per_order == pytest.approx(usage.modelled / orders) and per_order > 0
    assert per_order == pytest.approx(sum(usage.step_units.values()) / orders)
    assert per_order == pytest.approx(sum(usage.key_units.values()) / orders)
    steps = {step for step, _ in usage.step_units}
    assert steps == {"POST /v1/invoices", "POST /v1/webhooks/bank", "POST /v1/orders", "POST /v1/orders/{id}/start",
                     "POST /v1/orders/{id}/deliver", "POST /v1/orders/{id}/accept", "stream: e-mail"}
    assert usage.emails == 0 or usage.stream_records["INSERT"] > 0


def test_at_a_thousand_orders_a_second_no_shared_key_takes_half_a_partition(billed):
    usage, orders = billed
    _, busiest = cost.verdict(usage, orders)
    assert 0 < busiest <= cost.HOT_SHARE
    assert not any(key.startswith("notifications.by_email_queue") for key in usage.key_units)  # none failed
    assert all(not key.startswith("accounts sys:") or "#" in key for key in usage.key_units)  # shards apart


def test_the_deals_list_indexes_are_written_once_an_order_when_it_is_placed(billed):
    usage, orders = billed
    lists = {(step, target): units for (step, target), units in usage.step_units.items()
             if target in ("deals.by_client", "deals.by_contractor")}
    assert set(lists) == {("POST /v1/orders", "deals.by_client"), ("POST /v1/orders", "deals.by_contractor")}
    assert all(units / orders == 2 for units in lists.values())  # one small entry each, in a transaction


def test_keys_only_lists_bill_fewer_writes_than_projecting_the_whole_deal_or_what_lists_show(billed):
    usage, orders = billed
    built = usage.modelled / orders
    assert usage.alternatives["list indexes ALL"] / orders >= built + 20
    assert usage.alternatives["list indexes INCLUDE what lists show"] / orders >= built + 20


def test_an_e_mail_claim_and_its_sent_mark_are_one_write_unit_each_and_nothing_enters_the_retry_queue(billed):
    """The stream sends each e-mail with a claim and a sent mark, one unit each; a notification of a party's own
    move, written `not_emailed` by the outbox, costs the stream no write at all; a notification written and sent
    at the first try never writes the e-mail queue index, in any step."""
    usage, _ = billed
    notices, e_mails = usage.stream_records["INSERT"], usage.emails
    assert 0 < e_mails < notices
    assert usage.step_units[("stream: e-mail", "notifications")] == 2 * e_mails
    assert not any(target == "notifications.by_email_queue" for _, target in usage.step_units)


def test_a_transaction_bills_every_item_of_a_table_and_an_unchanged_keys_only_entry_costs_nothing():
    shape = cost.TableShape("deals", "id", None, (
        cost.IndexShape("by_client", "client_key", "created_at", "KEYS_ONLY"),
        cost.IndexShape("by_timer", "timer_shard", "timer_due_at", "ALL")))
    old = {"id": {"S": "ord_1"}, "client_key": {"S": "order#usr_1"}, "created_at": {"S": "2027"},
           "status": {"S": "placed"}, "timer_shard": {"S": "timer#3"}, "timer_due_at": {"S": "2027-01-02"}}
    new = {**old, "status": {"S": "started"}, "timer_shard": {"S": "timer#9"}}
    assert cost._index_writes(shape, shape.indexes[0], old, new) == []
    assert cost._index_writes(shape, shape.indexes[1], old, new) == [("timer#3", 1), ("timer#9", 1)]
    assert cost._index_writes(shape, shape.indexes[0], None, new) == [("order#usr_1", 1)]
    assert cost.item_size({"ab": {"S": "xyz"}, "n": {"N": "12345"}}) == 2 + 3 + 1 + 4


def test_a_list_shows_its_deals_whole_whatever_the_index_holds(api, deal):
    """moto (5.x) serves a keys-only index's whole items: the projection itself is checked on DynamoDB Local
    (tests/integration/test_lists.py); here the list's page is read in one batch and shown whole."""
    from tests.support import place_order

    order = place_order(api, deal)
    shown = api.get("/v1/orders", token=deal["client"]).json_body["items"]
    assert [(item["id"], item["title"], item["status"], item["history"]) for item in shown] == [
        (order["id"], "Logo", order["status"], order["history"])]


def test_an_idempotency_record_is_one_write_unit_even_for_an_orders_whole_answer(billed):
    """The answer is kept compressed, so each step's record is under 1 KB: 2 units in its transaction."""
    usage, orders = billed
    records = {step: units / orders for (step, target), units in usage.step_units.items() if target == "idempotency"}
    assert {"POST /v1/orders", "POST /v1/orders/{id}/deliver", "POST /v1/orders/{id}/accept"} <= set(records)
    assert all(units <= 2 for units in records.values()), records

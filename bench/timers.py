"""One run of the timer job over N due orders hidden among M idle deals: time, throughput, items read.

Run from the repository root:

    python -m bench.timers [--due N] [--idle M]

How it measures
- DynamoDB Local (`infra.local.dynamodb_local`, in memory, a free port) holds the `bench-*` tables,
  the environment set up as `bench.api_ops` does it (in-memory clock, mail to a sink).
- N real due orders: the client is funded by a bank top-up through the ledger, each order is placed
  by `chalicelib.services.orders.place` (money into escrow), then the clock moves past the 24-hour
  start limit. M idle deals with timers a month ahead are batch-written directly, as
  tests/integration/test_timers.py does (no money: they never fire).
- ONE `chalicelib.services.timers.fire_due(clock.now())` run is timed. Botocore hooks on every
  DynamoDB client (`bench.api_ops.Tap`) count its requests by operation and the items DynamoDB returned
  to its reads (Query/Scan `Count`, GetItem hits), as `ItemsRead` does in the integration test.
  The hooks' own cost is inside the timed run (a few microseconds per request).
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.api_ops import APP_PREFIX, REGION, Tap, configure_environment, quiet, scratch_dynamodb

DAY = 86400
PRICE = 100  # 1.00 USD per order


class ItemTap(Tap):
    """`Tap`, plus the items each read returned."""

    def __init__(self) -> None:
        super().__init__()
        self.items_read = 0

    def _answered(self, parsed: dict, **kwargs: Any) -> None:
        super()._answered(parsed, **kwargs)
        operation = self.requests[-1].operation
        if operation in ("Query", "Scan"):
            self.items_read += parsed.get("Count", 0)
        elif operation == "GetItem" and parsed.get("Item"):
            self.items_read += 1

    def reset(self) -> None:
        self.drain()
        self.items_read = 0


def due_orders(count: int) -> list[str]:
    """`count` real orders (the client funded, each price in escrow); due once the clock moves a day on."""
    from chalicelib import ledger
    from chalicelib.auth import Principal
    from chalicelib.money import Money
    from chalicelib.services import gigs, orders
    from chalicelib.store.uow import UnitOfWork

    client, contractor = Principal("usr_client", ("client",)), Principal("usr_seller", ("contractor",))
    uow = UnitOfWork()
    ledger.record(uow, ledger.bank_top_up("bench-fund", client.user_id, Money(PRICE * count, "USD"), ref="bench"))
    uow.commit()
    gig = gigs.publish(contractor, "Copy", "", PRICE, "USD", 1)[1]
    return [orders.place(client, gig["id"])[1]["id"] for _ in range(count)]


def idle_deals(count: int) -> None:
    """`count` deals whose timers lie a month ahead, batch-written directly."""
    from chalicelib import clock, engine
    from chalicelib.processes.gig_order import PROCESS
    from chalicelib.store.models import DealModel

    due = clock.iso(clock.now() + timedelta(days=30))
    created = clock.iso(clock.now())
    with DealModel.batch_write() as batch:
        for n in range(count):
            deal_id = f"ord_idle{n:06d}"
            batch.save(DealModel(
                deal_id, process=PROCESS.name, status="not_started", version=1, client_id="usr_idle",
                contractor_id="usr_idle2", client_key="order#usr_idle", contractor_key="order#usr_idle2",
                subject_id="gig_idle", title="idle", amount=PRICE,
                currency="USD", commission_bps=2000, delivery_days=1, created_at=created,
                timer_shard=engine.timer_shard(deal_id), timer_due_at=due, timer_transition="auto_cancel",
            ))


def run(args: argparse.Namespace, endpoint: str, scratch: Path) -> str:
    configure_environment(endpoint, scratch, cheap_passwords=True)
    tap = ItemTap()
    tap.install()
    from chalicelib import clock, config
    from chalicelib.services import timers
    from chalicelib.store import models
    from chalicelib.store.models import DealModel
    from chalicelib.store.tables import create_tables

    settings = config.reload()
    models.bind(settings)  # as app.py does at import
    create_tables(endpoint_url=endpoint, region=REGION, prefix=APP_PREFIX)
    clock.reset()
    print(f"  placing {args.due} due orders, writing {args.idle} idle deals ...", file=sys.stderr, flush=True)
    with quiet():
        due_ids = due_orders(args.due)
        idle_deals(args.idle)
    clock.advance(DAY + 1)
    tap.reset()

    print("  firing ...", file=sys.stderr, flush=True)
    with quiet():
        start = time.perf_counter()
        outcome = timers.fire_due(clock.now())
        seconds = time.perf_counter() - start
    requests = tap.drain()
    items_read = tap.items_read

    statuses = Counter(DealModel.get(deal_id).status for deal_id in due_ids)
    by_operation = Counter(r.operation for r in requests)
    retries = sum(max(r.attempts - 1, 0) for r in requests)
    errors = Counter(r.error for r in requests if r.error)
    rate = outcome["fired"] / seconds if seconds else float("inf")
    items_note = f"{items_read / args.due:.2f} per due order" if args.due else "no due orders"
    lines = [
        f"escrowdesk timer job against DynamoDB Local: {args.due} due orders among {args.idle} idle deals "
        f"({settings.timer_shards} timer shards), one fire_due run",
        "",
        f"due (timers the run found):  {outcome['due']} (expected {args.due})",
        f"fired:                       {outcome['fired']} (skipped {outcome['skipped']})",
        f"seconds:                     {seconds:.3f}",
        f"due transitions per second:  {rate:.1f}",
        f"items read by the run:       {items_read} against {args.due} due ({items_note})",
        f"due orders' status after:    {dict(statuses)}",
        "DynamoDB requests by operation:",
        *(f"  {operation}: {n}" for operation, n in by_operation.most_common()),
        f"  total: {len(requests)}; HTTP retries: {retries}; errors: {dict(errors) or 'none'}",
    ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--due", type=int, default=500, help="due orders (default 500)")
    parser.add_argument("--idle", type=int, default=10000, help="idle deals, timers a month ahead (default 10000)")
    args = parser.parse_args(argv)
    if args.due < 0 or args.idle < 0:
        parser.error("--due and --idle must be >= 0")
    if args.idle > 999_999:
        parser.error("--idle must be < 1,000,000")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with scratch_dynamodb("escrowdesk-bench-timers-") as (endpoint, scratch):
        text = run(args, endpoint, scratch)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

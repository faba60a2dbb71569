"""The timer job at 1, 4 and 16 workers: due transitions per second beside the raw floor at the same concurrency.

Run from the repository root:

    python -m bench.timers [--due N] [--contractors C] [--idle M] [--shards S] [--workers 1,4,16] [--repeats R]

How it measures
- DynamoDB Local (`infra.local.dynamodb_local`, in memory, a free port) holds the `bench-*` tables and
  their twins `bench-floor-*`; the environment is set up as `bench.api_ops` does it (in-memory clock,
  mail to a sink), with `TIMER_SHARDS=S`.
- M idle deals with timers a month ahead are batch-written directly, as tests/integration/test_timers.py
  does (no money: they never fire). Then, for each worker count: N real due orders (the client funded by
  a bank top-up through the ledger, each order placed by `chalicelib.services.orders.place`, money into
  escrow) of C contractors' gigs in turn (the job fires one contractor's timers one at a time: a single
  contractor would leave every worker but one waiting), the clock moved past the 24-hour start limit, and
  ONE `timers.fire_shards(all shards, now, workers=W)` run timed: W threads, each firing one shard after
  another, as one invocation of the timer function does on AWS. The worker counts take turns, R rounds each
  (1, 4, 16, 1, 4, 16, ...), so drift in the machine's load hits them alike; the report shows medians over the rounds.
- Botocore hooks on every DynamoDB client (`ThreadTap`) keep each request with the thread that made it,
  and the items its reads returned. Everything the app writes, set-up included, is replayed untimed on
  the twin tables, so they go through the same states.
- The floor: a bare boto3 client replays exactly the timed run's requests (its queries and its
  transactions, same items and conditions) on the twins from W threads, each thread the sequence one of
  the app's threads made, all started at once. A contractor's profile, which each scored fire writes over the
  version the one before left, is written in the order the app wrote it (the app's threads took turns on
  him); everything else runs as the threads come. Its outcomes must match the app's.
- Aim: the app's due transitions per second at least 0.7x the floor's at each W.
The hooks' own cost (a few microseconds per request) is inside the app's timed run, not the floor's.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
from botocore import xform_name
from botocore.config import Config

from bench.api_ops import (
    APP_PREFIX,
    FLOOR_PREFIX,
    REGION,
    Floor,
    Request,
    Tap,
    call_all,
    capacity_units,
    configure_environment,
    quiet,
    scratch_dynamodb,
    twin,
)

DAY = 86400
PRICE = 100  # 1.00 USD per order
MIN_RATIO = 0.7
SETTLE_SECONDS = 2.0  # before each timed run, so DynamoDB Local's JVM meets both alike (its GC after a burst)


class ThreadTap(Tap):
    """`Tap` for many threads at once: each request is kept with the thread that made it, and the items
    each read returned are counted."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: list[int] = []
        self.items_read = 0
        self._lock = threading.Lock()
        self._current = threading.local()

    def _called(self, params: dict, model: Any, **_: Any) -> None:
        if "ReturnConsumedCapacity" in model.input_shape.members:
            params.setdefault("ReturnConsumedCapacity", "TOTAL")
        request = Request(model.name, params)
        self._current.request = request
        with self._lock:
            self.requests.append(request)
            self.threads.append(threading.get_ident())

    def _sent(self, **_: Any) -> None:
        self._current.request.attempts += 1

    def _answered(self, parsed: dict, **_: Any) -> None:
        request = self._current.request
        request.capacity = capacity_units(parsed.get("ConsumedCapacity"))
        request.error = parsed.get("Error", {}).get("Code")
        if request.operation in ("Query", "Scan"):
            read = parsed.get("Count", 0)
        elif request.operation == "BatchGetItem":
            read = sum(len(found) for found in parsed.get("Responses", {}).values())
        else:
            read = 0
        with self._lock:
            self.items_read += read

    def drain(self) -> list[Request]:
        with self._lock:
            self.threads = []
            self.items_read = 0
            return super().drain()

    def drain_by_thread(self) -> list[list[Request]]:
        """The requests since the last drain, one list per thread that made them, each in its order; each request
        knows its place among all of them (`seq`)."""
        with self._lock:
            pairs = list(zip(self.threads, self.requests, strict=True))
        self.drain()
        sequences: dict[int, list[Request]] = {}
        for seq, (thread, request) in enumerate(pairs):
            request.seq = seq
            sequences.setdefault(thread, []).append(request)
        return list(sequences.values())


def due_orders(count: int, round_: int, contractors: int) -> list[str]:
    """`count` real orders (the client funded, each price in escrow) of `contractors` sellers' gigs, in turn; due
    once the clock moves a day on."""
    from chalicelib.access.auth import Principal
    from chalicelib.money import ledger
    from chalicelib.money.amounts import Money
    from chalicelib.services import gigs, orders
    from chalicelib.store.uow import UnitOfWork

    client = Principal("usr_client", ("client",))
    uow = UnitOfWork()
    ledger.record(uow, ledger.bank_top_up(f"bench-fund-{round_}", client.user_id, Money(PRICE * count, "USD"),
                                          ref="bench"))
    uow.commit()
    gig_ids = [gigs.publish(Principal(f"usr_seller{n:03d}", ("contractor",)), "Copy", "", PRICE, "USD", 1)[1]["id"]
               for n in range(contractors)]
    return [orders.place(client, gig_ids[n % contractors])[1]["id"] for n in range(count)]


def idle_deals(count: int) -> None:
    """`count` deals whose timers lie a month ahead, batch-written directly."""
    from chalicelib import engine
    from chalicelib.platform import clock
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


def replay_in_threads(client: Any, sequences: list[list[Request]]) -> tuple[float, list[str | None]]:
    """Each sequence on a thread of its own, all started together: (seconds, error codes in request order). The
    writes of one contractor's profile go in the order the job made them: its threads take turns on a contractor
    (`timers._turn`), each write conditional on the profile version the one before left, so threads racing for it
    would only fail where the job's did not."""
    start_line = threading.Barrier(len(sequences) + 1)
    turns = Turns(sequences)

    def run(sequence: list[Request]) -> list[str | None]:
        calls = [(getattr(client, xform_name(r.operation)), twin(r.params)) for r in sequence]
        start_line.wait()
        outcomes: list[str | None] = []
        for request, call in zip(sequence, calls, strict=True):
            with turns.taken(request):
                outcomes += call_all([call])
        return outcomes

    with ThreadPoolExecutor(max_workers=len(sequences)) as pool:
        futures = [pool.submit(run, sequence) for sequence in sequences]
        start_line.wait()
        started = time.perf_counter()
        outcomes = [outcome for future in futures for outcome in future.result()]
        return time.perf_counter() - started, outcomes


class Turns:
    """Which of the replayed requests may go next on each contractor's profile: the job's order."""

    def __init__(self, sequences: list[list[Request]]) -> None:
        self.order: dict[str, list[int]] = {}
        for request in sorted((r for sequence in sequences for r in sequence), key=lambda r: r.seq):
            for profile in _profiles_written(request):
                self.order.setdefault(profile, []).append(request.seq)
        self.done = dict.fromkeys(self.order, 0)
        self.changed = threading.Condition()

    @contextmanager
    def taken(self, request: Request) -> Iterator[None]:
        profiles = _profiles_written(request)
        with self.changed:
            self.changed.wait_for(lambda: all(
                self.order[p][self.done[p]] == request.seq for p in profiles))
        try:
            yield
        finally:
            with self.changed:
                for profile in profiles:
                    self.done[profile] += 1
                self.changed.notify_all()


def _profiles_written(request: Request) -> list[str]:
    if request.operation != "TransactWriteItems":
        return []
    return [body["Key"]["user_id"]["S"] for item in request.params["TransactItems"] for body in item.values()
            if body["TableName"].endswith("profiles") and "Key" in body]


@dataclass
class Round:
    workers: int
    outcome: dict
    seconds: float
    floor_seconds: float
    requests: Counter[str]
    items_read: int
    divergences: int
    retries: int
    statuses: Counter[str]

    @property
    def rate(self) -> float:
        return self.outcome["fired"] / self.seconds

    @property
    def floor_rate(self) -> float:
        return self.outcome["fired"] / self.floor_seconds


def one_round(workers: int, args: argparse.Namespace, tap: ThreadTap, floor: Floor, floor_client: Any,
              round_: int) -> Round:
    from chalicelib.platform import clock
    from chalicelib.services import timers
    from chalicelib.store.models import DealModel

    print(f"  {workers} worker(s): placing {args.due} due orders ...", file=sys.stderr, flush=True)
    with quiet():
        due_ids = due_orders(args.due, round_, args.contractors)
    floor.replay(tap.drain())  # the twins go through the same set-up
    clock.advance(DAY + 1)
    print(f"  {workers} worker(s): firing, then the floor ...", file=sys.stderr, flush=True)
    time.sleep(SETTLE_SECONDS)
    with quiet():
        start = time.perf_counter()
        outcome = timers.fire_shards(range(args.shards), clock.now(), workers=workers)
        seconds = time.perf_counter() - start
    items_read = tap.items_read
    sequences = tap.drain_by_thread()
    requests = [request for sequence in sequences for request in sequence]
    time.sleep(SETTLE_SECONDS)
    floor_seconds, floor_outcomes = replay_in_threads(floor_client, sequences)
    tap.drain()
    statuses = Counter(DealModel.get(deal_id).status for deal_id in due_ids)
    tap.drain()
    return Round(workers, outcome, seconds, floor_seconds, Counter(r.operation for r in requests), items_read,
                 sum(a != r.error for a, r in zip(floor_outcomes, requests, strict=True)),
                 sum(max(r.attempts - 1, 0) for r in requests), statuses)


def run(args: argparse.Namespace, endpoint: str, scratch: Path) -> str:
    import os

    configure_environment(endpoint, scratch, cheap_passwords=True)
    os.environ.update({"TIMER_SHARDS": str(args.shards), "TIMER_WORKERS": str(max(args.workers))})
    tap = ThreadTap()
    tap.install()
    from chalicelib.platform import clock, config
    from chalicelib.store import models
    from chalicelib.store.tables import create_tables

    settings = config.reload()
    models.bind(settings)  # as app.py does at import
    for prefix in (APP_PREFIX, FLOOR_PREFIX):
        create_tables(endpoint_url=endpoint, region=REGION, prefix=prefix)
    clock.reset()
    floor = Floor(endpoint, tap)
    floor_client = boto3.client("dynamodb", endpoint_url=endpoint, region_name=REGION, config=Config(
        parameter_validation=False, max_pool_connections=max(10, *args.workers)))  # as PynamoDB's is set up
    tap.drain()
    print(f"  writing {args.idle} idle deals ...", file=sys.stderr, flush=True)
    with quiet():
        idle_deals(args.idle)
    floor.replay(tap.drain())
    turns = [workers for _ in range(args.repeats) for workers in args.workers]
    rounds = [one_round(workers, args, tap, floor, floor_client, n) for n, workers in enumerate(turns)]
    return report(rounds, args, settings.timer_shards)


def report(rounds: list[Round], args: argparse.Namespace, shards: int) -> str:
    lines = [
        f"escrowdesk timer job against DynamoDB Local: {args.due} due orders of {args.contractors} contractors among "
        f"{args.idle} idle deals per run, {shards} timer shards; app = one timers.fire_shards run with W workers, "
        f"floor = the same requests by bare boto3 from W threads, each contractor's profile written in the app's "
        f"order; medians of {args.repeats} rounds each",
        "",
        "| workers | fired per round | app due transitions/s | floor transitions/s | app / floor (min-max) | aim |",
        "|---|---|---|---|---|---|",
    ]
    for workers in args.workers:
        mine = [r for r in rounds if r.workers == workers]
        ratios = [r.rate / r.floor_rate for r in mine]
        ratio = statistics.median(ratios)
        verdict = "ok" if ratio >= MIN_RATIO else f"below {MIN_RATIO}x"
        lines.append(f"| {workers} | {mine[0].outcome['fired']} | {statistics.median(r.rate for r in mine):.0f} "
                     f"| {statistics.median(r.floor_rate for r in mine):.0f} | {ratio:.2f} "
                     f"({min(ratios):.2f}-{max(ratios):.2f}) | {verdict} |")
    lines.append("")
    for r in rounds:
        operations = ", ".join(f"{n} {operation}" for operation, n in r.requests.most_common())
        lines.append(f"{r.workers} worker(s): due {r.outcome['due']}, fired {r.outcome['fired']}, skipped "
                     f"{r.outcome['skipped']}; status after {dict(r.statuses)}; items read {r.items_read} "
                     f"(index entries and the deals read whole); "
                     f"requests {operations}; HTTP retries {r.retries}; floor outcomes differing {r.divergences}")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--due", type=int, default=800, help="due orders per run (default 800)")
    parser.add_argument("--contractors", type=int, default=100,
                        help="sellers the due orders are spread over (default 100; one fires one timer at a time)")
    parser.add_argument("--idle", type=int, default=10000, help="idle deals, timers a month ahead (default 10000)")
    parser.add_argument("--shards", type=int, default=16, help="TIMER_SHARDS (default 16)")
    parser.add_argument("--workers", default="1,4,16", help="worker counts (default 1,4,16)")
    parser.add_argument("--repeats", type=int, default=3, help="rounds per worker count (default 3)")
    args = parser.parse_args(argv)
    args.workers = [int(n) for n in args.workers.split(",")]
    if min(args.due, args.contractors, args.shards, args.repeats, *args.workers) < 1 or args.idle < 0:
        parser.error("--due, --contractors, --shards, --workers and --repeats must be >= 1, --idle >= 0")
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

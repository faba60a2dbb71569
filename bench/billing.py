"""The billing jobs against DynamoDB Local, beside their raw floor: the 1st-of-month run that issues the
invoices of the sites due among many and charges their saved cards, and the daily run that refreshes the
counters of the sites that reported usage among many.

Run from the repository root:

    python -m bench.billing [--sites N] [--due N] [--reporting N] [--no-cards]

How it measures
- DynamoDB Local (`infra.local.dynamodb_local`, in memory, a free port) holds the `bench-*` tables and
  their twins `bench-floor-*`, the environment set up as `bench.api_ops` does it.
- N sites are written directly (a site item and its subscription deal each, batch-written): `--due` of
  them have this month still to invoice (their `issue_invoice` timer is due now), the rest are invoiced
  up to next month. Two tariffs.
- The monthly run: ONE `timers.fire_due(now)`, timed. Botocore hooks (`bench.timers.ItemTap`) count
  its requests and the items its reads returned, so "items read per due site" is what the run read
  divided by the sites it invoiced. Every site has a saved card (unless `--no-cards`): the invoice's
  transaction records its charge, and once committed the charge is asked of the acquirer — here an
  in-process acquirer that only counts (the acquirer's own latency is not ours to measure), so
  "charges requested per second" is what the service can ask for.
- The daily run: `--reporting` sites (not among the due ones) each send one usage report through
  `services.usage.report` (the first report of a day arms the site's refresh) before the monthly run —
  so DynamoDB Local's transaction path is warm for both runs and their floors alike — and after the
  monthly run the clock moves to 00:10 of the next billing day and ONE `timers.fire_due(now)` is timed.
- The floor: a bare boto3 client replays exactly the requests each timed run made (same operations,
  items, conditions) on the twin tables, which went through the same set-up (every set-up request is
  replayed first, untimed), as `bench.api_ops` does. Its time is what the DynamoDB requests alone cost;
  the ratio is what the engine, PynamoDB and the rendering of the invoice's notification add.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

from bench.api_ops import APP_PREFIX, FLOOR_PREFIX, REGION, Floor, configure_environment, quiet, scratch_dynamodb
from bench.timers import ThreadTap

PRICES = {"start": 31000, "business": 62000}


class ItemTap(ThreadTap):
    """`ThreadTap` counting the item a GetItem returned too, beside what queries and scans return."""

    def _answered(self, parsed: dict, **kwargs) -> None:
        super()._answered(parsed, **kwargs)
        if self._current.request.operation == "GetItem" and "Item" in parsed:
            with self._lock:
                self.items_read += 1


class CountingAcquirer:
    """Takes every charge at once and only counts it; `answer_all` then plays the acquirer's webhooks."""

    def __init__(self) -> None:
        self.charges: dict[str, tuple[str, int]] = {}  # payment id -> (idempotency key, amount)

    def charge(self, payment_id, token, amount, description, idempotency_key) -> None:
        self.charges[payment_id] = (idempotency_key, amount.amount_minor)

    def answer_all(self) -> None:
        """The acquirer's webhooks: every charge succeeded."""
        from chalicelib.services import card_payments

        card = {"mask": "411111******1111", "holder": "OWNER", "token": "tok"}
        for payment_id, (_, amount) in self.charges.items():
            card_payments.receive(card_payments.AcquirerEvent(f"evt-{payment_id}", "payment.succeeded", payment_id,
                                                              amount, "UAH", card))


def write_sites(count: int, due: int, cards: bool) -> None:
    """`count` sites with their subscriptions; the first `due` have this month still to invoice; each with a
    saved card when `cards`."""
    from chalicelib import engine
    from chalicelib.money import periods
    from chalicelib.platform import clock
    from chalicelib.processes.site_deal import PLATFORM
    from chalicelib.store.models import DealModel, SiteModel, TariffModel

    now = clock.now()
    this, following = periods.period_of(now), periods.next_period(periods.period_of(now))
    for code, price in PRICES.items():
        TariffModel(code, name=code.title(), prices=[{"from": "0000-01", "amount": price}],
                    limits={"products": 1000, "orders_per_month": 500}, features=[code], active=True,
                    created_at=clock.iso(now)).save()
    created = clock.iso(now)
    with SiteModel.batch_write() as sites, DealModel.batch_write() as deals:
        for n in range(count):
            site_id, code = f"site_bench{n:06d}", ("start", "business")[n % 2]
            period = this if n < due else following
            card = {"card_mask": "411111******1111", "holder": "OWNER", "saved_at": created} if cards else None
            sites.save(SiteModel(site_id, service_code=str(10_001 + n), name=f"Shop {n}", domains=[],
                                 contact={"name": "Owner", "email": "owner@example.ua", "phone": "+380501234567"},
                                 vchasno="not_activated", contracts=[], payment_method=card, created_at=created))
            deals.save(DealModel(
                site_id, process="subscription", status="active", version=1, client_id=f"usr_owner{n % 100:03d}",
                contractor_id=PLATFORM, client_key=f"site#usr_owner{n % 100:03d}", contractor_key=f"site#{PLATFORM}",
                subject_id=site_id, title=f"Shop {n}", amount=PRICES[code], currency="UAH", commission_bps=0,
                delivery_days=0, created_at=created, history=[],
                data={"service_code": str(10_001 + n), "tariff": code, "tariff_name": code.title(),
                      "next_tariff": None, "next_period": period, "billable_from": None, "invoice_seq": 1,
                      "counters": {"products": 0, "orders": 0, "month": this, "refreshed_at": None},
                      "usage_days": [], "limit_notified": {}, "autopay": cards,
                      "card_token": f"tok_bench{n:06d}" if cards else None},
                timer_shard=engine.timer_shard(site_id), timer_due_at=clock.iso(periods.start_of(period)),
                timer_transition="issue_invoice"))


def timed_run(tap: ItemTap, floor: Floor) -> dict:
    """One fire_due run, timed, then the same requests replayed by the floor."""
    from chalicelib.platform import clock
    from chalicelib.services import timers

    tap.drain()
    with quiet():
        start = time.perf_counter()
        outcome = timers.fire_due(clock.now())
        seconds = time.perf_counter() - start
    items_read = tap.items_read
    requests = tap.drain()
    floor_ms = floor.replay(requests)
    return {"outcome": outcome, "seconds": seconds, "items_read": items_read, "floor_seconds": floor_ms / 1000,
            "requests": Counter(r.operation for r in requests),
            "retries": sum(max(r.attempts - 1, 0) for r in requests)}


def report_usage(first: int, count: int) -> None:
    from chalicelib.services import sites, usage
    from chalicelib.store.models import KeyModel, SiteModel

    for n in range(first, first + count):
        site_id, key = f"site_bench{n:06d}", f"sk_bench{n:06d}"
        KeyModel(f"sitekey#{sites.key_hash(key)}", target_id=site_id).save()
        SiteModel(site_id).update(actions=[SiteModel.key_hash.set(sites.key_hash(key))])
        usage.report(site_id, key, f"evt-{n}", None, 3)


def run(args: argparse.Namespace, endpoint: str, scratch: Path) -> str:
    configure_environment(endpoint, scratch, cheap_passwords=True)
    tap = ItemTap()
    tap.install()
    from chalicelib.money import periods
    from chalicelib.platform import clock, config
    from chalicelib.store import models
    from chalicelib.store.models import ServiceInvoiceModel
    from chalicelib.store.tables import create_tables

    settings = config.reload()
    models.bind(settings)
    for prefix in (APP_PREFIX, FLOOR_PREFIX):
        create_tables(endpoint_url=endpoint, region=REGION, prefix=prefix)
    tap.drain()  # the tables themselves are not the app's requests
    clock.reset()
    floor = Floor(endpoint, tap)
    print(f"  writing {args.sites} sites ({args.due} due) ...", file=sys.stderr, flush=True)
    with quiet():
        write_sites(args.sites, args.due, args.cards)
    floor.replay(tap.drain())
    print(f"  {args.reporting} sites report usage ...", file=sys.stderr, flush=True)
    with quiet():
        report_usage(args.due, args.reporting)
    floor.replay(tap.drain())

    print("  the monthly run ...", file=sys.stderr, flush=True)
    from chalicelib.adapters import acquirer

    counting = CountingAcquirer()
    acquirer.get_acquirer = lambda: counting  # type: ignore[assignment]
    monthly = timed_run(tap, floor)
    issued = sum(1 for _ in ServiceInvoiceModel.scan())
    charged = len({key for key, _ in counting.charges.values()})
    with quiet():
        counting.answer_all()  # before the next day, as the acquirer would (untimed)
    floor.replay(tap.drain())
    tap.drain()
    tomorrow = periods.start_of_day(periods.day_after(periods.local_day(clock.now()))) + timedelta(minutes=10)
    clock.advance((tomorrow - clock.now()).total_seconds())
    print("  the daily run ...", file=sys.stderr, flush=True)
    daily = timed_run(tap, floor)

    def block(title: str, run: dict, done: int, unit: str, charges: int | None = None) -> list[str]:
        rate = done / run["seconds"] if run["seconds"] else float("inf")
        floor_rate = done / run["floor_seconds"] if run["floor_seconds"] else float("inf")
        per_site = run["items_read"] / done if done else 0.0
        return [
            title,
            f"  due (timers the run found):   {run['outcome']['due']}; fired {run['outcome']['fired']}, "
            f"skipped {run['outcome']['skipped']}",
            f"  {unit}:{' ' * (28 - len(unit))}{done}",
            f"  seconds:                      {run['seconds']:.3f} (floor {run['floor_seconds']:.3f}, "
            f"ratio {run['seconds'] / run['floor_seconds']:.2f})",
            f"  {unit} per second:{' ' * (17 - len(unit))}{rate:.1f} (floor {floor_rate:.1f})",
            f"  items read:                   {run['items_read']} ({per_site:.2f} per due site)",
            "  DynamoDB requests: " + ", ".join(f"{op} {n}" for op, n in run["requests"].most_common())
            + f"; HTTP retries {run['retries']}",
            f"  DynamoDB requests per {unit.split()[0][:-1]}: {sum(run['requests'].values()) / done:.2f}"
            if done else "",
        ] + ([] if charges is None else [
            f"  charges requested:            {charges} ({charges / run['seconds']:.1f} per second; floor "
            f"{charges / run['floor_seconds']:.1f})"])

    lines = [
        f"escrowdesk billing jobs against DynamoDB Local ({settings.timer_shards} timer shards), "
        f"{args.sites} sites",
        "",
        *block(f"1st of the month: {args.due} due among {args.sites}"
               + (", every site with a saved card" if args.cards else ""), monthly, issued, "invoices issued",
               charged if args.cards else None),
        "",
        *block(f"next day: {args.reporting} reported among {args.sites}", daily, daily["outcome"]["fired"],
               "counters refreshed"),
        f"floor divergences (a replayed request's outcome differed): {floor.divergences}",
    ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=10_000)
    parser.add_argument("--due", type=int, default=1_000)
    parser.add_argument("--reporting", type=int, default=1_000)
    parser.add_argument("--no-cards", dest="cards", action="store_false", help="sites without saved cards")
    args = parser.parse_args(argv)
    if not 0 <= args.due <= args.sites or not 0 <= args.reporting <= args.sites - args.due:
        parser.error("--due and --reporting (sites that are not due) must lie within --sites")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with scratch_dynamodb("escrowdesk-bench-billing-") as (endpoint, scratch):
        text = run(args, endpoint, scratch)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

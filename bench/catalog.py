"""The public catalog's page latency and rows read per page with 100,000 gigs in 50 categories, beside the floor
of one raw Query.

Run from the repository root:

    python -m bench.catalog [--gigs N] [--categories N] [--iterations N]

How it measures
- DynamoDB Local (`infra.local.dynamodb_local`, in memory, a free port) holds the `bench-*` tables, created from
  the models as everywhere.
- Loading: the catalog's index rows are written directly with batch writes (25 items a request, a few threads),
  as `chalicelib/store/catalog.py` would have written them: for each gig a row in `all` and one in its category,
  and for one gig in four a row in its tag (one of 500). 2,000 contractors share the gigs, each with his own
  standing (orders completed and failed, reviews), so the rank keys spread as real ones would; prices spread over
  1.00–2,000.00 in USD, EUR and UAH; delivery 1–14 days. The category counters are written too.
- Each scenario is a `GET /v1/catalog/gigs` through `chalice.test.Client` (the HTTP adapter, the service, the
  adapter, the Query and the cards), timed alone, `--iterations` times after two warm-ups; the rows read are
  DynamoDB's own `ScannedCount`, summed over the page's Query calls (a botocore hook).
- The floor: one bare boto3 Query of one shard of the same listing and index (a page reads every shard:
  `CATALOG_LISTING_SHARDS` Queries, merged), `Limit` = the page size, timed the same way.

DynamoDB Local is not DynamoDB: absolute times are the machine's; the ratio to the floor and the rows read are
what carry over."""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3

from bench.api_ops import REGION, configure_environment, scratch_dynamodb

LEVELS = ("new", "advanced", "pro")
CURRENCIES = ("USD", "EUR", "UAH")
TAGS = 500
TAGGED_EVERY = 4  # one gig in four carries a tag (of 500): the tag listings hold 25,000 rows of 100,000 gigs
CONTRACTORS = 2_000
PAGE = 20


def categories(count: int) -> dict[str, str]:
    return {f"cat-{n:02d}": f"Category {n}" for n in range(count)}


def contractor_standings(rng: random.Random) -> list[dict]:
    since = datetime(2024, 1, 1, tzinfo=UTC)
    standings = []
    for _ in range(CONTRACTORS):
        completed = rng.randint(0, 300)
        reviews = rng.randint(0, completed)
        standings.append({"completed": completed, "failed": rng.randint(0, max(1, completed // 10)),
                          "review_sum": sum(rng.randint(3, 5) for _ in range(reviews)), "review_count": reviews,
                          "joined_at": (since + timedelta(days=rng.randint(0, 600))).strftime("%Y-%m-%dT%H:%M:%SZ"),
                          "level_override": None})
    return standings


def gig_rows(n: int, rng: random.Random, slugs: list[str], standings: list[dict]) -> list[dict]:
    """One gig's index rows as the store writes them."""
    from chalicelib.store import catalog

    gig_id = f"gig_bench{n:07d}"
    contractor = n % CONTRACTORS
    stand = standings[contractor]
    created_at = (datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=n)).strftime("%Y-%m-%dT%H:%M:%SZ")
    currency = CURRENCIES[n % len(CURRENCIES)]
    amount = rng.randint(100, 200_000)
    category, tag = slugs[n % len(slugs)], f"tag-{rng.randrange(TAGS):03d}" if n % TAGGED_EVERY == 0 else None
    common = {
        "gig_id": gig_id, "rank_key": catalog.rank_key(stand, created_at, gig_id),
        "price_key": catalog.price_key(currency, amount, gig_id), "new_key": f"{created_at}#{gig_id}",
        "contractor_id": f"usr_bench{contractor:05d}", "title": f"Gig {n}", "amount": amount, "currency": currency,
        "delivery_days": rng.randint(1, 14), "category": category, "created_at": created_at,
        "rating_sum": 0, "rating_count": 0, "contractor": json.dumps(stand, separators=(",", ":"))}
    if tag:
        common["tags"] = [tag]
    shard = catalog.shard_of(gig_id)  # the key of each listing's shard for this gig, as the service writes it
    listings = ["all", f"category#{category}", *([f"tag#{tag}"] if tag else [])]
    return [{**common, "listing": f"{listing}#{shard}"} for listing in listings]


def load(endpoint: str, table_prefix: str, gigs: int, slugs: list[str], threads: int = 8) -> tuple[int, float]:
    """Write every gig's rows with batch writes; the rows written and the seconds it took."""
    rng = random.Random(7)
    standings = contractor_standings(rng)
    seeds = [rng.random() for _ in range(threads)]
    resource = boto3.resource("dynamodb", endpoint_url=endpoint, region_name=REGION)
    table = resource.Table(table_prefix + "catalog")

    def write(part: int) -> int:
        local = random.Random(seeds[part])
        written = 0
        with table.batch_writer() as batch:
            for n in range(part, gigs, threads):
                for row in gig_rows(n, local, slugs, standings):
                    batch.put_item(Item=row)
                    written += 1
        return written

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        written = sum(pool.map(write, range(threads)))
    counts = resource.Table(table_prefix + "catalog_counts")
    with counts.batch_writer() as batch:
        for index, slug in enumerate(slugs):
            batch.put_item(Item={"shelf": "categories", "category": slug,
                                 "gigs": len(range(index, gigs, len(slugs)))})
    return written, time.perf_counter() - started


class ScannedCounter:
    """DynamoDB's ScannedCount of every Query the app's client makes."""

    def __init__(self) -> None:
        self.rows = 0
        self.queries = 0

    def __call__(self, parsed: dict, **_: Any) -> None:
        self.rows += int(parsed.get("ScannedCount", 0))
        self.queries += 1


def timed(call: Callable[[], Any], iterations: int) -> list[float]:
    for _ in range(2):
        call()
    samples = []
    for _ in range(iterations):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def scenarios(slugs: list[str]) -> list[tuple[str, str, str, str, dict]]:
    """name, query string, listing, index, the floor's extra Query arguments."""
    cat = slugs[7]
    return [
        ("whole catalog, rank", "", "all", "by_rank", {"ScanIndexForward": False}),
        ("category, rank", f"?category={cat}", f"category#{cat}", "by_rank", {"ScanIndexForward": False}),
        ("category, new", f"?category={cat}&sort=new", f"category#{cat}", "by_new", {"ScanIndexForward": False}),
        ("category, price 50.00-150.00 USD", f"?category={cat}&sort=price&currency=USD&min_price=5000"
                                             "&max_price=15000", f"category#{cat}", "by_price",
         {"KeyConditionExpression": "listing = :l AND price_key BETWEEN :a AND :b"}),
        ("tag, rank", "?tag=tag-042", "tag#tag-042", "by_rank", {"ScanIndexForward": False}),
        ("category, rank, max_days=3 (filter)", f"?category={cat}&max_days=3", f"category#{cat}", "by_rank",
         {"ScanIndexForward": False}),
        ("category, rank, currency=EUR (filter)", f"?category={cat}&currency=EUR", f"category#{cat}", "by_rank",
         {"ScanIndexForward": False}),
        ("category, rank, level=pro (filter)", f"?category={cat}&level=pro", f"category#{cat}", "by_rank",
         {"ScanIndexForward": False}),
    ]


def run(args: argparse.Namespace, endpoint: str, scratch: Path) -> list[str]:
    configure_environment(endpoint, scratch, cheap_passwords=True)
    slugs = list(categories(args.categories))
    os.environ["CATALOG_CATEGORIES"] = json.dumps(categories(args.categories))
    from chalice.test import Client

    import app as app_module
    from chalicelib.platform.config import settings
    from chalicelib.store import catalog, tables
    from chalicelib.store.models import CatalogEntryModel
    from chalicelib.store.uow import connection_for

    tables.create_tables(endpoint_url=endpoint, region=REGION, prefix=settings.table_prefix)
    written, seconds = load(endpoint, settings.table_prefix, args.gigs, slugs)
    lines = [f"escrowdesk catalog against DynamoDB Local: {args.gigs:,} gigs in {args.categories} categories "
             f"({written:,} index rows, loaded by batch writes in {seconds:.0f} s), page of {PAGE}, "
             f"{args.iterations} timed requests each",
             "",
             f"{'scenario':42} {'median ms':>9} {'p95 ms':>7} {'floor ms':>8} {'ratio':>5} {'rows read':>9} "
             f"{'queries':>7} {'cards':>5}"]
    counter = ScannedCounter()
    connection_for(CatalogEntryModel).client.meta.events.register("after-call.dynamodb.Query", counter)
    raw = boto3.client("dynamodb", endpoint_url=endpoint, region_name=REGION)
    index_names = {"by_rank", "by_price", "by_new"}
    with Client(app_module.app) as client:
        for name, query, listing, index, floor_args in scenarios(slugs):
            assert index in index_names
            path = f"/v1/catalog/gigs{query}{'&' if query else '?'}limit={PAGE}"
            counter.rows = counter.queries = 0
            response = client.http.get(path)
            if response.status_code != 200:
                raise RuntimeError(f"{name}: {response.status_code} {response.body[:300]!r}")
            cards, rows, queries = len(response.json_body["items"]), counter.rows, counter.queries
            app_ms = timed(lambda path=path: client.http.get(path), args.iterations)
            values: dict[str, Any] = {":l": {"S": f"{listing}#0"}}  # one shard's Query: the floor
            request: dict[str, Any] = {"TableName": settings.table_prefix + "catalog", "IndexName": index,
                                       "KeyConditionExpression": "listing = :l", "Limit": PAGE}
            if "BETWEEN" in floor_args.get("KeyConditionExpression", ""):
                low, high = catalog.price_bounds("USD", 5000, 15000)
                values.update({":a": {"S": low}, ":b": {"S": high}})
            request.update(floor_args, ExpressionAttributeValues=values)
            floor_ms = timed(lambda request=request: raw.query(**request), args.iterations)
            median, floor = statistics.median(app_ms), statistics.median(floor_ms)
            p95 = sorted(app_ms)[max(0, round(0.95 * len(app_ms)) - 1)]
            lines.append(f"{name:42} {median:9.1f} {p95:7.1f} {floor:8.1f} {median / floor:5.1f} {rows:9} "
                         f"{queries:7} {cards:5}")
        deep = walk(client, f"/v1/catalog/gigs?category={slugs[7]}&limit={PAGE}", pages=10, counter=counter)
        lines.append(f"{'category, rank, pages 1-10 by cursor':42} {deep[0]:9.1f} {'':7} {'':8} {'':5} "
                     f"{deep[1]:9.0f} {'':7} {'':5}")
        counter.rows = counter.queries = 0
        categories_ms = timed(lambda: client.http.get("/v1/catalog/categories"), args.iterations)
        lines.append(f"{'categories with counts':42} {statistics.median(categories_ms):9.1f} "
                     f"{sorted(categories_ms)[max(0, round(0.95 * len(categories_ms)) - 1)]:7.1f} {'':8} {'':5} "
                     f"{'':9} {'':7} {args.categories:5}")
    lines += ["", "rows read: DynamoDB's ScannedCount for the page (index rows, before any filter); a filter that is "
              "not a key reads on until the page is full or CATALOG_PAGE_READ_BUDGET "
              f"({settings.catalog_page_read_budget}) rows; the deep walk shows the mean per page"]
    return lines


def walk(client: Any, path: str, *, pages: int, counter: ScannedCounter) -> tuple[float, float]:
    """Median ms and mean rows read per page over `pages` pages followed by cursor."""
    times, cursor = [], None
    counter.rows = 0
    for _ in range(pages):
        started = time.perf_counter()
        response = client.http.get(path + (f"&cursor={cursor}" if cursor else ""))
        times.append((time.perf_counter() - started) * 1000)
        cursor = response.json_body["next_cursor"]
        if cursor is None:
            break
    return statistics.median(times), counter.rows / len(times)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gigs", type=int, default=100_000)
    parser.add_argument("--categories", type=int, default=50)
    parser.add_argument("--iterations", type=int, default=30)
    args = parser.parse_args(argv)
    if args.gigs < 1 or args.categories < 1 or args.iterations < 2:
        parser.error("--gigs and --categories must be >= 1, --iterations >= 2")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with scratch_dynamodb("escrowdesk-catalog-bench-") as (endpoint, scratch):
        lines = run(args, endpoint, scratch)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())

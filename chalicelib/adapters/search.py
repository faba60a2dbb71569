"""Finding gigs for the catalog, behind one small interface: `find(query)` answers one page of a listing in one
order. Today's implementation (`IndexSearch`) is one DynamoDB Query of the catalog's index rows
(chalicelib/store/catalog.py); free text is not searched. A full-text search would be a second implementation
of the same interface over an OpenSearch index fed from the gigs table's stream (docs/api.md, "The catalog"),
picked here by `get_search()`.

Every read is a Query of one listing (`all`, a category or a tag) in the index of the asked order, never a Scan:
one Query of each of the listing's shards (`CATALOG_LISTING_SHARDS`), the first pages read at once on threads, then
merged in that order as they are read; each reads a little over its share of the page, and reads on only when the
merge takes all of it. The cursor is the last row's sort key, which every shard goes on after.
Filters that are not part of that key (currency and price outside a price order, days, level, further tags) are
applied to the rows as they are read, and one page reads at most `CATALOG_PAGE_READ_BUDGET` rows: a page that
runs out of budget is short (even empty) and still carries a cursor to go on from where it stopped.
"""
from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from chalicelib.platform.config import settings
from chalicelib.store import catalog
from chalicelib.store.models import CatalogEntryModel

ORDERS = {"rank": ("by_rank", "rank_key", False), "price": ("by_price", "price_key", True),
          "new": ("by_new", "new_key", False)}  # the index, its sort key, and whether it is read ascending
_CHUNK = 3  # while filters skip rows, a Query reads this many pages' worth of rows


@dataclass(frozen=True)
class CatalogQuery:
    listing: str
    order: str
    limit: int
    now: datetime
    currency: str | None = None
    min_price: int | None = None
    max_price: int | None = None
    max_days: int | None = None
    level: str | None = None  # at least this level
    category: str | None = None
    tags: tuple[str, ...] = ()  # every one of them
    start_key: dict | None = None


@dataclass
class CatalogPage:
    rows: list[CatalogEntryModel]
    last_key: dict | None  # where the next page starts; None at the listing's end
    read: int = 0  # rows DynamoDB read for this page
    levels: dict[str, str] = field(default_factory=dict)  # gig id → its contractor's level now


class GigSearch(Protocol):
    def find(self, query: CatalogQuery) -> CatalogPage: ...


def start_key_names(order: str) -> set[str]:
    """The attributes of a cursor's start key in `order`'s index."""
    return {"gig_id", "listing", ORDERS[order][1]}


class IndexSearch:
    """One Query of each of the listing's shards in the order's index, merged; filters applied to the rows read."""

    def find(self, query: CatalogQuery) -> CatalogPage:
        index_name, sort_key, ascending = ORDERS[query.order]
        index = getattr(CatalogEntryModel, index_name)
        filtered = self._filters(query)
        shards = catalog.shards(query.listing)
        # a shard's share of what the page reads, and a little over (a shard reads on, a page at a time, only
        # when the merge takes all it read): unfiltered, the page's rows; filtered, a few times them
        wanted = min(_CHUNK * query.limit, settings.catalog_page_read_budget) if filtered else query.limit
        page_size = min(wanted, -(-wanted // len(shards)) + 2)
        condition = self._range(query, sort_key, ascending)

        def opened(shard: str) -> tuple[Any, Iterator[CatalogEntryModel]]:
            results = index.query(shard, condition, scan_index_forward=ascending, page_size=page_size)
            first = next(results, None)  # the first page's Query, made on this worker's thread
            return results, iter(()) if first is None else itertools.chain([first], results)

        workers = min(len(shards), settings.catalog_query_threads)
        if workers > 1:
            with ThreadPoolExecutor(max_workers=workers) as pool:  # the shards' first Queries at once
                queries, streams = zip(*pool.map(opened, shards), strict=True)
        else:
            queries, streams = zip(*map(opened, shards), strict=True)
        merged = heapq.merge(*streams, key=lambda row: getattr(row, sort_key), reverse=not ascending)
        page = CatalogPage(rows=[], last_key=None)
        seen, last, ended = 0, None, True
        for row in merged:
            seen, last = seen + 1, row
            if all(check(row) for check in filtered):
                page.rows.append(row)
                page.levels[row.gig_id] = _level(row, query.now)
                if len(page.rows) == query.limit:
                    ended = False
                    break
            if seen >= settings.catalog_page_read_budget:
                ended = False
                break
        page.read = sum(results.page_iter.total_scanned_count for results in queries)
        if last is not None and not ended:
            page.last_key = _key(last, query.listing, sort_key)
        return page

    @staticmethod
    def _range(query: CatalogQuery, sort_key: str, ascending: bool) -> Any:
        """The sort key's condition: a price range in one currency, and past the cursor's row."""
        attribute = getattr(CatalogEntryModel, sort_key)
        after = query.start_key[sort_key]["S"] if query.start_key else None
        if query.order == "price" and query.currency:
            low, high = catalog.price_bounds(query.currency, query.min_price, query.max_price)
            if after is not None:
                low = max(low, after + "\0")  # the smallest key after the cursor's row
            return attribute.between(low, high)
        if after is None:
            return None
        return attribute > after if ascending else attribute < after

    @staticmethod
    def _filters(query: CatalogQuery) -> list:
        """The checks the index's key does not make."""
        checks: list = []
        in_key = query.order == "price" and query.currency is not None
        if query.currency and not in_key:
            checks.append(lambda row: row.currency == query.currency)
        if query.min_price is not None and not in_key:
            checks.append(lambda row: int(row.amount) >= query.min_price)
        if query.max_price is not None and not in_key:
            checks.append(lambda row: int(row.amount) <= query.max_price)
        if query.max_days is not None:
            checks.append(lambda row: int(row.delivery_days) <= query.max_days)
        if query.category and query.listing != f"category#{query.category}":
            checks.append(lambda row: row.category == query.category)
        wanted = {tag for tag in query.tags if query.listing != f"tag#{tag}"}
        if wanted:
            checks.append(lambda row: wanted <= set(row.tags or []))
        if query.level is not None:  # last: the level is worked out from the row's standing
            ladder = list(settings.offer_levels)
            checks.append(lambda row: ladder.index(_level(row, query.now)) >= ladder.index(str(query.level)))
        return checks


def _level(row: CatalogEntryModel, now: datetime) -> str:
    """The contractor's level now, from the standing his row carries (his account's age moves it too)."""
    stand = row.contractor
    return catalog.earned_level(stand["level_override"], stand["completed"], stand["failed"], stand["joined_at"], now)


def _key(row: CatalogEntryModel, listing: str, sort_key: str) -> dict[str, Any]:
    """The cursor: the listing (not its shard) and where the last row read stands in the order."""
    return {"gig_id": {"S": row.gig_id}, "listing": {"S": listing}, sort_key: {"S": getattr(row, sort_key)}}


def get_search() -> GigSearch:
    return IndexSearch()

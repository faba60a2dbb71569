"""The catalog's index rows, kept in step with the gigs and their contractors inside the changes' own transactions.

A listed (active) gig has one `CatalogEntryModel` row per listing it appears in: `all`, `category#<slug>` and
`tag#<tag>` for each of its tags (at most `MAX_TAGS`), each under the listing's shard for the gig
(`all#<n>`: `CATALOG_LISTING_SHARDS` keys a listing, picked by a hash of the gig id, so no index key takes the
whole catalog's writes). Each row carries the gig's card, the contractor's standing
(the counters behind his responsibility rating and level, his review summary) and three sort keys. The
counters are those of the last change the rows show (`shown`): a completed order that leaves his percent and the
levels he reaches as they were is written to his profile alone, so the rows' raw counts may trail the profile's
while everything worked out from them (the card, the rank, the level filter) stays the same:

- `rank_key`: responsibility percent, then review average (hundredths), then review count, then the gig's age,
  each zero-padded so the key's text order is the rank (read backwards: best first);
- `price_key`: `<currency>#<amount>#<gig id>`, so a price range in one currency is a key range;
- `new_key`: `<created_at>#<gig id>`.

Everything that changes a rank — a scored order, a review, an operator's level — or a gig's rows goes through the
contractor's profile: the profile keeps his listed gigs and their listings (`catalog`) and a `rank_version` that
every such write moves on, written only over the version it read. Two changes that race for one contractor
cannot both commit, so no row is left with a standing the profile no longer has: the loser is `Retryable` and its
use case runs again from its reads. Categories' gig counts are counters (`CategoryCountModel`) moved in the
same transactions.
"""
from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from chalicelib.platform import clock
from chalicelib.platform.config import settings
from chalicelib.platform.errors import Conflict, Retryable
from chalicelib.store.models import CatalogEntryModel, CategoryCountModel, GigModel, ProfileModel
from chalicelib.store.uow import UnitOfWork

MAX_TAGS = 5
ALL = "all"
_PRICE_DIGITS = 15
SHELF = "categories"
RANKED_COUNTERS = ("orders_completed", "orders_failed")  # the profile's counters a catalog rank reads


def listings(gig: GigModel) -> list[str]:
    """Every listing the gig appears in while it is active, each as the key of its shard for this gig."""
    names = [ALL, *([f"category#{gig.category}"] if gig.category else []), *(f"tag#{tag}" for tag in gig.tags or [])]
    shard = shard_of(gig.id)
    return [f"{name}#{shard}" for name in names]


def shard_of(gig_id: str) -> int:
    return int.from_bytes(hashlib.sha256(gig_id.encode()).digest()[:4], "big") % settings.catalog_listing_shards


def shards(listing: str) -> list[str]:
    """The index keys a listing is spread over."""
    return [f"{listing}#{n}" for n in range(settings.catalog_listing_shards)]


def responsibility_percent(completed: int, failed: int) -> int:
    """Orders completed out of those completed or failed; 100 before any counts."""
    counted = completed + failed
    return 100 if not counted else completed * 100 // counted


def earned_level(override: str | None, completed: int, failed: int, joined_at: str, now: datetime) -> str:
    """The operator's override if any, else the highest level whose rule (`LEVEL_RULES`) the contractor meets
    at `now`."""
    if override in settings.offer_levels:
        return str(override)
    age_days = (now - clock.parse_iso(joined_at)).days
    earned = "new"
    for name in levels_by_record(completed, failed):
        if age_days >= settings.level_rules[name]["min_account_days"]:
            earned = name
    return earned


def levels_by_record(completed: int, failed: int) -> tuple[str, ...]:
    """The levels, lowest first, whose rules on completed orders and responsibility the counts meet: the rest of
    a rule is the account's age, which time alone moves."""
    percent = responsibility_percent(completed, failed)
    return tuple(name for name in settings.offer_levels if (rule := settings.level_rules.get(name))
                 and completed >= rule["min_completed"] and percent >= rule["min_responsibility"])


def standing(profile: ProfileModel, joined_at: str) -> dict:
    """What a catalog row keeps of its contractor."""
    return {"completed": int(profile.orders_completed or 0), "failed": int(profile.orders_failed or 0),
            "review_sum": int(profile.review_sum or 0), "review_count": int(profile.review_count or 0),
            "joined_at": joined_at,
            "level_override": profile.level if profile.level in settings.offer_levels else None}


def shown(stand: dict) -> tuple:
    """What a row's standing decides: the card's responsibility percent and reviews, its rank, and its level at
    any time (the levels the counts reach, the account's age, the override). Two standings alike in this are
    alike on every card, every rank and every level filter, whatever their raw counts."""
    return (responsibility_percent(stand["completed"], stand["failed"]),
            levels_by_record(stand["completed"], stand["failed"]), stand["review_sum"], stand["review_count"],
            stand["joined_at"], stand["level_override"])


def joined(profile: ProfileModel) -> str:
    """When the contractor first listed a gig: the age his level rules count."""
    return str((profile.catalog_gigs or {}).get("joined_at", ""))


def rank_key(stand: dict, created_at: str, gig_id: str) -> str:
    count = stand["review_count"]
    hundredths = (stand["review_sum"] * 100 + count // 2) // count if count else 0
    return (f"{responsibility_percent(stand['completed'], stand['failed']):03d}#{hundredths:03d}#{count:09d}"
            f"#{created_at}#{gig_id}")


def price_key(currency: str, amount: int, gig_id: str = "") -> str:
    return f"{currency}#{amount:0{_PRICE_DIGITS}d}#{gig_id}"


def price_bounds(currency: str, low: int | None, high: int | None) -> tuple[str, str]:
    """The `price_key` range of a currency's prices from `low` to `high` (both included)."""
    top = 10**_PRICE_DIGITS - 1
    high = top if high is None else min(high, top)
    return f"{currency}#{(low or 0):0{_PRICE_DIGITS}d}#", f"{currency}#{high:0{_PRICE_DIGITS}d}$"


def rows(gig: GigModel, stand: dict) -> list[CatalogEntryModel]:
    """The gig's index rows, one per listing."""
    common: dict[str, Any] = {
        "rank_key": rank_key(stand, gig.created_at, gig.id),
        "price_key": price_key(gig.currency, int(gig.amount), gig.id),
        "new_key": f"{gig.created_at}#{gig.id}", "contractor_id": gig.contractor_id, "title": gig.title,
        "amount": int(gig.amount), "currency": gig.currency, "delivery_days": int(gig.delivery_days),
        "category": gig.category, "tags": list(gig.tags or []) or None, "created_at": gig.created_at,
        "rating_sum": int(gig.rating_sum or 0), "rating_count": int(gig.rating_count or 0), "contractor": stand}
    return [CatalogEntryModel(gig.id, listing, **common) for listing in listings(gig)]


def listed(profile: ProfileModel) -> dict:
    """The contractor's listed gigs: {gig id: {"listings": [...], "created_at": ...}}."""
    return dict((profile.catalog_gigs or {}).get("gigs", {}))


def show(uow: UnitOfWork, profile: ProfileModel, joined_at: str, gig: GigModel, *,
         was_category: str | None = None) -> None:
    """List the gig as it is now (published, activated or edited); an edited gig was listed under
    `was_category`."""
    gigs = listed(profile)
    if gig.id not in gigs and len(gigs) >= settings.catalog_max_active_gigs:
        raise Conflict("active_gig_limit", f"A contractor may have at most {settings.catalog_max_active_gigs} "
                                           "active gigs; pause one first")
    stand = standing(profile, joined_at)
    new_rows = rows(gig, stand)
    kept = {row.listing for row in new_rows}
    for listing in (gigs.get(gig.id) or {}).get("listings", []):
        if listing not in kept:
            uow.delete(CatalogEntryModel(gig.id, listing))
    for row in new_rows:
        uow.put(row)
    _count(uow, was_category if gig.id in gigs else None, gig.category)
    gigs[gig.id] = {"listings": sorted(kept), "created_at": gig.created_at}
    _save(uow, profile, gigs, joined_at)


def hide(uow: UnitOfWork, profile: ProfileModel, gig: GigModel) -> None:
    """Take a paused gig out of the catalog."""
    gigs = listed(profile)
    entry = gigs.pop(gig.id, None)
    if entry is None:
        return
    for listing in entry["listings"]:
        uow.delete(CatalogEntryModel(gig.id, listing))
    _count(uow, gig.category, None)
    _save(uow, profile, gigs, joined(profile))


def restand(uow: UnitOfWork, profile: ProfileModel, actions: list, *,
            reviewed_gig: tuple[str, int] | None = None, was: dict | None = None) -> None:
    """Write `actions` to the contractor's profile and his new standing to every row of his listed gigs (their
    rank moves at once); `reviewed_gig` (gig id, rating) adds a review to that gig's own rating on its rows.
    `profile` must already hold the values the actions write. `was`: his standing before them; when they leave
    what the rows show as it was (`shown`: a completed order that keeps his percent and his levels), the rows are
    left as they are and only the profile is written, so an order's acceptance does not rewrite each row of each
    of his gigs with their listing indexes. The profile's `rank_version` moves either way: a change racing this
    one is retried from its reads, so the rows always show what the profile holds."""
    joined_at = joined(profile)
    stand = standing(profile, joined_at)
    rows_change = reviewed_gig is not None or was is None or shown(was) != shown(stand)
    for gig_id, entry in listed(profile).items() if rows_change else ():
        row_actions: list = [CatalogEntryModel.contractor.set(stand),
                       CatalogEntryModel.rank_key.set(rank_key(stand, entry["created_at"], gig_id))]
        if reviewed_gig is not None and reviewed_gig[0] == gig_id:
            row_actions += [CatalogEntryModel.rating_sum.add(reviewed_gig[1]), CatalogEntryModel.rating_count.add(1)]
        for listing in entry["listings"]:
            uow.update(CatalogEntryModel(gig_id, listing), row_actions,
                       condition=CatalogEntryModel.gig_id.exists(), on_fail=Retryable("catalog_changed"))
    uow.update(ProfileModel(profile.user_id), [*actions, ProfileModel.rank_version.add(1)],
               condition=_unchanged(profile), on_fail=Retryable("profile_changed"))


def _save(uow: UnitOfWork, profile: ProfileModel, gigs: dict, joined_at: str) -> None:
    uow.update(ProfileModel(profile.user_id), [ProfileModel.catalog_gigs.set({"joined_at": joined_at, "gigs": gigs}),
                                               ProfileModel.rank_version.add(1)],
               condition=_unchanged(profile), on_fail=Retryable("profile_changed"))


def _unchanged(profile: ProfileModel) -> Any:
    if profile.rank_version is None:
        return ProfileModel.rank_version.does_not_exist()
    return ProfileModel.rank_version == int(profile.rank_version)


def _count(uow: UnitOfWork, left: str | None, entered: str | None) -> None:
    """Move the categories' gig counters: one fewer in `left`, one more in `entered`."""
    if left == entered:
        return
    if left:
        uow.update(CategoryCountModel(SHELF, left), [CategoryCountModel.gigs.add(-1)])
    if entered:
        uow.update(CategoryCountModel(SHELF, entered), [CategoryCountModel.gigs.add(1)])


def category_counts() -> dict[str, int]:
    """Every configured category's count of listed gigs: one Query of the counters (one item per category)."""
    found = {item.category: int(item.gigs or 0) for item in CategoryCountModel.query(SHELF)}
    return {slug: found.get(slug, 0) for slug in settings.catalog_categories}

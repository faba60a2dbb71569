"""The public catalog (no token): active gigs by category, tag, price, days and level, in the order of rank
(the contractor's responsibility rating, then his review score and count), price or novelty; the categories
with their gig counts; a gig's public page. Every read is a Query (chalicelib/adapters/search.py)."""
from __future__ import annotations

from chalicelib.adapters.search import CatalogQuery, get_search, start_key_names
from chalicelib.money.amounts import SUPPORTED_CURRENCIES
from chalicelib.platform import clock
from chalicelib.platform.config import settings
from chalicelib.platform.errors import BadRequest, NotFound, Unprocessable
from chalicelib.services import gigs, profiles, views
from chalicelib.services.pagination import decode_cursor, encode_cursor
from chalicelib.store import catalog, lookup
from chalicelib.store.models import UserModel

SORTS = ("rank", "price", "new")
FILTERS = ("category", "tag", "min_price", "max_price", "currency", "max_days", "level", "sort")


def browse(params: dict[str, list[str]], limit: int, cursor: str | None) -> dict:
    """One page of the catalog: `params` are the query's filters (each name with every value it was given)."""
    query = _query(params, limit, cursor)
    page = get_search().find(query)
    return {"items": [views.catalog_card(row, page.levels[row.gig_id]) for row in page.rows],
            "next_cursor": encode_cursor(page.last_key)}


def _query(params: dict[str, list[str]], limit: int, cursor: str | None) -> CatalogQuery:
    for name, values in params.items():
        if name in FILTERS and name != "tag" and len(values) > 1:
            raise Unprocessable("validation_error", f"{name} may be given once", field=name)
    one = {name: values[0] for name, values in params.items() if values}
    sort = one.get("sort", "rank")
    if sort not in SORTS:
        raise Unprocessable("invalid_sort", f"sort must be one of: {', '.join(SORTS)}", field="sort")
    category = gigs.check_category(one.get("category"))
    raw_tags = params.get("tag", [])
    if len(raw_tags) > catalog.MAX_TAGS:
        raise Unprocessable("too_many_tags", f"Filter by at most {catalog.MAX_TAGS} tags (a gig has no more)",
                            field="tag")
    tags = gigs.normalise_tags(raw_tags, field="tag")
    currency = one.get("currency")
    if currency is not None and currency not in SUPPORTED_CURRENCIES:
        raise Unprocessable("unsupported_currency", f"currency must be one of: {', '.join(SUPPORTED_CURRENCIES)}",
                            field="currency")
    min_price, max_price = _number(one, "min_price", 0), _number(one, "max_price", 0)
    if min_price is not None and max_price is not None and min_price > max_price:
        raise Unprocessable("price_range_reversed", "min_price is above max_price", field="min_price")
    if (min_price is not None or max_price is not None or sort == "price") and currency is None:
        raise Unprocessable("currency_required", "Prices are compared in one currency: name it (currency=USD)",
                            field="currency")
    level = one.get("level")
    if level is not None and level not in settings.offer_levels:
        raise Unprocessable("unknown_level", f"level must be one of: {', '.join(settings.offer_levels)}",
                            field="level")
    listing = f"category#{category}" if category else f"tag#{tags[0]}" if tags else catalog.ALL
    return CatalogQuery(listing=listing, order=sort, limit=limit, now=clock.now(), currency=currency,
                        min_price=min_price, max_price=max_price, max_days=_number(one, "max_days", 1), level=level,
                        category=category, tags=tuple(tags), start_key=_start_key(cursor, listing, sort))


def _number(params: dict[str, str], name: str, minimum: int) -> int | None:
    raw = params.get(name)
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 15) or int(raw) < minimum:
        raise Unprocessable("validation_error", f"{name} must be an integer of at least {minimum}", field=name)
    return int(raw)


def _start_key(cursor: str | None, listing: str, sort: str) -> dict | None:
    """The cursor's start key, if it is one of this listing in this order (the cursor's MAC already ties it to
    these filters)."""
    key = decode_cursor(cursor)
    if key is None:
        return None
    if set(key) != start_key_names(sort) or key.get("listing") != {"S": listing} or not all(
            isinstance(value, dict) and set(value) == {"S"} and isinstance(value["S"], str) for value in key.values()):
        raise BadRequest("invalid_cursor", "cursor is not valid for this list", field="cursor")
    return key


def categories() -> dict:
    counts = catalog.category_counts()
    return {"items": [{"id": slug, "name": name, "gigs": counts[slug]}
                      for slug, name in settings.catalog_categories.items()]}


def gig_page(gig_id: str) -> dict:
    """An active gig as the public sees it: its terms and extras, and its contractor's level, responsibility
    rating and review summary."""
    gig = gigs.load(gig_id)
    if gig.status != gigs.ACTIVE:
        raise NotFound("not_found", "No such gig")
    user = lookup.load(UserModel, gig.contractor_id, what="contractor")
    profile = profiles.load(gig.contractor_id)
    completed, failed = int(profile.orders_completed or 0), int(profile.orders_failed or 0)
    return {**views.gig(gig), "contractor": {
        "id": user.id, "name": user.name, "level": profiles.level_of(profile, user),
        "responsibility": {"percent": catalog.responsibility_percent(completed, failed), "completed": completed,
                           "failed": failed},
        "reviews": views.rating(profile.review_sum, profile.review_count)}}


def restand_all() -> int:
    """Rewrite every listed gig's rows with its contractor's standing as his profile holds it now: once after
    `LEVEL_RULES` changed, since a row keeps the counts of the last change it shows (`catalog.shown`), which the
    new rules may read differently. Each contractor is written over the profile version read (a change racing it
    is retried from a fresh read); a second run writes the same rows again. Returns the contractors re-stood."""
    from chalicelib.store.models import ProfileModel
    from chalicelib.store.uow import UnitOfWork, run_with_retries

    count = 0
    for scanned in ProfileModel.scan(ProfileModel.catalog_gigs.exists()):
        if not catalog.listed(scanned):
            continue

        def attempt(user_id: str = scanned.user_id) -> None:
            uow = UnitOfWork()
            catalog.restand(uow, profiles.load(user_id), [])
            uow.commit()

        run_with_retries(attempt)
        count += 1
    return count

"""The public catalog's index rows: each listed (active) gig has one row per listing it appears in — the whole
catalog (`all`), its category (`category#<slug>`) and each of its tags (`tag#<tag>`) — carrying the gig's card
and three sort keys. One index per ordering, each keyed by the listing, so every catalog page is one Query of
one listing in one order (see chalicelib/store/catalog.py)."""
from __future__ import annotations

from pynamodb.attributes import ListAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.store.models.base import BaseMeta, JSONAttribute


class ListingByRank(GlobalSecondaryIndex):
    """`rank_key` sorts by the contractor's responsibility rating, then his review score and count (read
    backwards: best first)."""

    class Meta:
        index_name = "by_rank"
        projection = AllProjection()  # a page is built from the index rows alone: no read per card

    listing = UnicodeAttribute(hash_key=True)
    rank_key = UnicodeAttribute(range_key=True)


class ListingByPrice(GlobalSecondaryIndex):
    """`price_key` is `<currency>#<amount, zero-padded>#<gig id>`: a price range in one currency is a key range."""

    class Meta:
        index_name = "by_price"
        projection = AllProjection()

    listing = UnicodeAttribute(hash_key=True)
    price_key = UnicodeAttribute(range_key=True)


class ListingByNew(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_new"
        projection = AllProjection()

    listing = UnicodeAttribute(hash_key=True)
    new_key = UnicodeAttribute(range_key=True)


class CatalogEntryModel(Model):
    """One listed gig in one listing: the card a catalog page shows, and what its filters read."""

    class Meta(BaseMeta):
        logical_name = "catalog"
        table_name = "catalog"

    gig_id = UnicodeAttribute(hash_key=True)
    listing = UnicodeAttribute(range_key=True)
    rank_key = UnicodeAttribute()
    price_key = UnicodeAttribute()
    new_key = UnicodeAttribute()
    contractor_id = UnicodeAttribute()
    title = UnicodeAttribute()
    amount = NumberAttribute()
    currency = UnicodeAttribute()
    delivery_days = NumberAttribute()
    category = UnicodeAttribute(null=True)
    tags = ListAttribute(of=UnicodeAttribute, null=True)
    created_at = UnicodeAttribute()
    rating_sum = NumberAttribute(null=True)  # the gig's own reviews
    rating_count = NumberAttribute(null=True)
    contractor = JSONAttribute()  # {completed, failed, review_sum, review_count, joined_at, level_override}
    by_rank = ListingByRank()
    by_price = ListingByPrice()
    by_new = ListingByNew()


class CategoryCountModel(Model):
    """How many listed gigs each category has: a counter per category, moved in the transaction that lists or
    unlists a gig, all read by one Query of the one shelf."""

    class Meta(BaseMeta):
        logical_name = "catalog_counts"
        table_name = "catalog_counts"

    shelf = UnicodeAttribute(hash_key=True)  # "categories"
    category = UnicodeAttribute(range_key=True)
    gigs = NumberAttribute(default=0)

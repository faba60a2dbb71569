"""The public catalog, no token: gigs by category, tag, price, days and level in the order of rank, price or
novelty; the categories with their counts; a gig's public page; a seller's reviews across his gigs."""
from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint

from chalicelib.entrypoints.api.http import Call, endpoint
from chalicelib.entrypoints.api.http import schema_names as s
from chalicelib.platform.lazy import lazy_modules

if TYPE_CHECKING:
    from chalicelib.services import catalog, reviews
else:  # loaded when a route first runs (chalicelib/platform/lazy.py)
    catalog, reviews = lazy_modules("chalicelib.services", "catalog", "reviews")

bp = Blueprint(__name__)

FILTERS = ("category", "tag", "min_price", "max_price", "currency", "max_days", "level", "sort")


@endpoint(bp, "GET", "/v1/catalog/gigs", summary="The catalog: active gigs, best ranked first (or by price, or "
          "newest); filters by category, tags, price, days and level", tag="catalog", auth_="none",
          response=s.CatalogPage, query=(*FILTERS, "limit", "cursor"), errors=(422,))
def browse_catalog(call: Call):
    return catalog.browse(call.every(), call.limit, call.cursor)


@endpoint(bp, "GET", "/v1/catalog/categories", summary="The catalog's categories with their active gigs' counts",
          tag="catalog", auth_="none", response=s.CategoryList)
def list_categories(call: Call):
    return catalog.categories()


@endpoint(bp, "GET", "/v1/catalog/gigs/{gig_id}", summary="A gig's public page: its terms, extras and its "
          "contractor's level, rating and reviews", tag="catalog", auth_="none", response=s.GigPage)
def gig_page(call: Call):
    return catalog.gig_page(call.params["gig_id"])


@endpoint(bp, "GET", "/v1/contractors/{user_id}/reviews", summary="A seller's reviews across all his gigs, newest "
          "first", tag="catalog", auth_="none", response=s.ReviewList, query=("limit", "cursor"), errors=(422,))
def list_contractor_reviews(call: Call):
    return reviews.list_for_contractor(call.params["user_id"], call.limit, call.cursor)

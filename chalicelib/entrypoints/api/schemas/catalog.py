"""The public catalog: its pages of gig cards, its categories, a gig's public page."""
from __future__ import annotations

from pydantic import Field

from chalicelib.entrypoints.api.schemas.common import ApiModel
from chalicelib.entrypoints.api.schemas.orders import GigOut, RatingOut


class CardContractorOut(ApiModel):
    id: str
    level: str
    responsibility_percent: int = Field(description="orders completed out of those completed or failed")
    reviews: RatingOut = Field(description="his reviews across all his gigs")


class CatalogCard(ApiModel):
    id: str
    title: str
    amount: int
    currency: str
    delivery_days: int
    category: str | None
    tags: list[str]
    rating: RatingOut = Field(description="this gig's own reviews")
    created_at: str
    contractor: CardContractorOut


class CatalogPage(ApiModel):
    items: list[CatalogCard]
    next_cursor: str | None = Field(description="null at the end; a page whose filters skipped many gigs may be "
                                                "short, or even empty, and still go on")


class CategoryOut(ApiModel):
    id: str
    name: str
    gigs: int = Field(description="active gigs in it")


class CategoryList(ApiModel):
    items: list[CategoryOut]


class PageResponsibilityOut(ApiModel):
    percent: int
    completed: int
    failed: int


class PageContractorOut(ApiModel):
    id: str
    name: str
    level: str
    responsibility: PageResponsibilityOut
    reviews: RatingOut


class GigPage(GigOut):
    contractor: PageContractorOut

"""Gigs and gig orders: deliveries, extras, cancellations, disputes and reviews."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictInt, model_validator

from chalicelib.entrypoints.api.schemas.common import MAX_AMOUNT, ApiModel, CurrencyCode, RequestModel
from chalicelib.entrypoints.api.schemas.uploads import AttachedFileOut, FileRefIn, Link

MAX_GIG_TAGS = 5
Tag = Annotated[str, Field(min_length=1, max_length=30)]
CATEGORY = "one of GET /v1/catalog/categories' ids; without one a gig is listed in the whole catalog only"


class GigExtraIn(RequestModel):
    title: str = Field(min_length=1, max_length=200)
    amount: StrictInt = Field(gt=0, le=MAX_AMOUNT, description="minor units, in the gig's currency")
    extra_days: StrictInt = Field(ge=0, le=365)


class GigIn(RequestModel):
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=5000)
    amount: StrictInt = Field(gt=0, le=MAX_AMOUNT, description="minor units")
    currency: str = CurrencyCode
    delivery_days: StrictInt = Field(ge=1, le=365)
    category: str | None = Field(default=None, max_length=40, description=CATEGORY)
    tags: list[Tag] = Field(default_factory=list, max_length=MAX_GIG_TAGS,
                            description="at most 5 words (letters, digits, hyphens), kept in lower case")
    extras: list[GigExtraIn] = Field(default_factory=list, max_length=10,
                                     description="paid options shown on the gig's page")


class GigEditIn(RequestModel):
    """Only the fields sent change; orders already placed keep the terms they were placed on."""

    title: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=5000)
    amount: StrictInt | None = Field(None, gt=0, le=MAX_AMOUNT, description="minor units")
    currency: str | None = Field(None, pattern=r"^[A-Z]{3}$")
    delivery_days: StrictInt | None = Field(None, ge=1, le=365)
    category: str | None = Field(None, max_length=40, description=CATEGORY + "; null takes it out of its category")
    tags: list[Tag] | None = Field(None, max_length=MAX_GIG_TAGS, description="the whole new list, at most 5")
    extras: list[GigExtraIn] | None = Field(None, max_length=10, description="the whole new list of paid options")

    @model_validator(mode="after")
    def _only_category_clears(self) -> GigEditIn:
        cleared = sorted(name for name in self.model_fields_set if getattr(self, name) is None and name != "category")
        if cleared:
            raise ValueError(f"{cleared[0]} cannot be null")
        return self


class OrderIn(RequestModel):
    gig_id: str = Field(min_length=1, max_length=100)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$",
                                 description="optional: refuse unless the gig is priced in this currency")


class MessageIn(RequestModel):
    message: str = Field(min_length=1, max_length=5000)


class DeliveryIn(RequestModel):
    message: str = Field(min_length=1, max_length=5000)
    attachments: list[FileRefIn] = Field(default_factory=list, max_length=5,
                                         description="the delivered files: uploads (POST /v1/uploads) it claims")
    links: list[Link] = Field(default_factory=list, max_length=10, description="outside addresses, as links only")


class ReasonIn(RequestModel):
    reason: str = Field(min_length=1, max_length=1000)


class RatingOut(ApiModel):
    count: int
    sum: int
    average: str | None = Field(description="sum / count with two decimals, e.g. \"4.67\"; null without reviews")


class GigExtraOut(ApiModel):
    title: str
    amount: int
    extra_days: int


class GigOut(ApiModel):
    id: str
    contractor_id: str
    title: str
    description: str
    amount: int
    currency: str
    delivery_days: int
    status: Literal["active", "paused"]
    rating: RatingOut
    created_at: str
    category: str | None
    tags: list[str]
    extras: list[GigExtraOut]


class GigList(ApiModel):
    items: list[GigOut]
    next_cursor: str | None


class ExtraOut(ApiModel):
    id: str
    title: str
    amount: int
    extra_days: int
    status: Literal["offered", "paid", "rejected"]
    offered_at: str
    decided_at: str | None


class CancellationOut(ApiModel):
    by: Literal["client", "contractor"]
    reason: str
    message: str
    requested_at: str
    status: Literal["pending", "accepted", "refused", "lapsed"]
    answered_at: str | None


class DisputeOut(ApiModel):
    by: Literal["client", "contractor"] = Field(default="client", description="who opened it")
    reason: str
    opened_at: str
    refund: int | None
    release: int | None
    commission: int | None = Field(default=None, description="the contractor's and operators' to see, not the client's")
    note: str
    resolved_at: str | None
    resolved_by: str | None
    terms_hash: str | None


class DeliveryOut(ApiModel):
    at: str
    files: list[AttachedFileOut] = Field(description="GET /v1/orders/{order_id}/files/{id} or GET /v1/uploads/{id} "
                                                     "gives a download link")


class OrderOut(ApiModel):
    id: str
    gig_id: str
    offer_id: str | None
    client_id: str
    contractor_id: str
    title: str
    amount: int = Field(description="in escrow while open: the price plus paid extras")
    currency: str
    commission: int | None = Field(default=None, description=(
        "the platform's commission, minor units: shown to the contractor and operators, never to the client"))
    net_to_contractor: int | None = Field(default=None, description=(
        "what the contractor gets once the order completes, minor units: the contractor's and operators' only"))
    status: Literal["not_started", "in_progress", "on_review", "disputed", "completed", "cancelled", "resolved"]
    delivery_days: int
    deadline_at: str | None = Field(description="on review, where the deadline would be if the clock restarted now")
    review_due_at: str | None
    auto_cancel_at: str | None = Field(description="while not started: when the order cancels itself")
    remaining_seconds: int | None = Field(description="time left to deliver: counting down in progress, paused on "
                                                      "review; never below 0")
    deadline_paused: bool = Field(description="true on review: the clock stands still")
    deadline_passed: bool = Field(description="in progress past the deadline; never while paused")
    thread_count: int = Field(description="entries in the order's thread (GET /v1/orders/{id}/thread)")
    last_message: str | None
    closed_reason: str | None
    revisions: int
    extras: list[ExtraOut]
    deliveries: list[DeliveryOut] = Field(description="each delivery's files, oldest first (the latest message is "
                                                     "last_message; the conversation is the order's thread)")
    cancellation: CancellationOut | None
    dispute: DisputeOut | None
    terms: dict | None = Field(description="the terms frozen when the order was made")
    terms_hash: str | None = Field(description="SHA-256 of the terms as canonical JSON")
    terms_verified: bool
    reviewed: bool
    created_at: str
    version: int
    history: list[dict]


class OrderList(ApiModel):
    items: list[OrderOut]
    next_cursor: str | None


class ExtraIn(RequestModel):
    title: str = Field(min_length=1, max_length=200)
    amount: StrictInt = Field(gt=0, le=MAX_AMOUNT, description="minor units, in the order's currency")
    extra_days: StrictInt = Field(ge=0, le=365)


class DeclineIn(RequestModel):
    reason: str = Field(min_length=1, max_length=50, description=(
        "requirements_not_matching_gig | too_busy | unable_to_complete | client_asked | other"))
    message: str = Field(default="", max_length=5000, description="required with reason `other`")


class CancellationIn(RequestModel):
    reason: str = Field(min_length=1, max_length=50, description=(
        "contractor: requirements_exceed_gig | client_unresponsive | unable_to_complete | mutual_agreement | other; "
        "client: no_longer_needed | contractor_unresponsive | mutual_agreement | other"))
    message: str = Field(default="", max_length=5000)


class DisputeIn(RequestModel):
    message: str = Field(min_length=1, max_length=5000, description="what is wrong with the delivery")


class ResolutionIn(RequestModel):
    refund: StrictInt = Field(ge=0, le=MAX_AMOUNT, description="minor units back to the client")
    release: StrictInt = Field(ge=0, le=MAX_AMOUNT, description="minor units to the contractor, less commission")
    note: str = Field(min_length=1, max_length=5000, description="the decision, citing the frozen terms")


class ConsoleSplitForm(ApiModel):
    """The console's split of a dispute (`/console/disputes/{deal_id}/resolve`): amounts as the operator types
    them ("60.00", "60,00"), checked by the page before the resolve use case sees them."""
    csrf: str = Field(min_length=1, max_length=100)
    to_client: str = Field(default="", max_length=40, description="back to the client, e.g. 60.00")
    to_contractor: str = Field(default="", max_length=40, description="to the contractor (less commission)")
    reason: str = Field(default="", max_length=5000, description="the decision, citing the frozen terms")


class ReviewIn(RequestModel):
    rating: StrictInt = Field(ge=1, le=5)
    text: str = Field(default="", max_length=5000)


class ReviewOut(ApiModel):
    order_id: str
    gig_id: str
    client_id: str
    contractor_id: str
    rating: int
    text: str
    outcome: Literal["completed", "declined_by_contractor", "not_started_in_time", "cancelled_as_late",
                     "decided_by_operator"] = Field(description="how the order ended, shown beside the review")
    created_at: str


class ReviewList(ApiModel):
    items: list[ReviewOut]
    next_cursor: str | None


class ContractReviewOut(ApiModel):
    contract_id: str
    project_id: str | None
    author_role: Literal["client", "contractor"] = Field(description="the client reviews the contractor, and the "
                                                                     "contractor the client")
    author_id: str
    reviewed_id: str
    rating: int
    text: str
    created_at: str


class ContractReviewList(ApiModel):
    items: list[ContractReviewOut]
    next_cursor: str | None

"""Conversations, contractors' profiles and custom offers."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictInt

from chalicelib.entrypoints.api.schemas.common import MAX_AMOUNT, ApiModel, CurrencyCode, RequestModel
from chalicelib.entrypoints.api.schemas.uploads import AttachedFileOut, FileRefIn, Link


class ChatMessageIn(RequestModel):
    text: str = Field(default="", max_length=10000)
    attachments: list[FileRefIn] = Field(default_factory=list, max_length=10,
                                         description="uploads (POST /v1/uploads) the message claims")
    links: list[Link] = Field(default_factory=list, max_length=10, description="outside addresses, as links only")


class ChatMessageOut(ApiModel):
    id: str
    thread_id: str
    sender_id: str
    text: str
    attachments: list[AttachedFileOut] = Field(description="GET /v1/uploads/{id} gives a download link")
    links: list[str]
    offer_request_id: str | None = Field(default=None, description="the entry is this request for a custom offer "
                                                                    "(GET /v1/offer-requests/{id})")
    created_at: str


class ChatMessageList(ApiModel):
    items: list[ChatMessageOut]
    next_cursor: str | None


class ConversationIn(RequestModel):
    user_id: str = Field(min_length=1, max_length=100, description="the other participant")


class ConversationOut(ApiModel):
    id: str
    peer_id: str
    created_at: str


class ConversationList(ApiModel):
    items: list[ConversationOut]
    next_cursor: str | None


class ResponsibilityOut(ApiModel):
    percent: int = Field(description="orders completed out of completed + failed (auto-cancelled or late)")
    completed: int
    failed: int
    cancelled_without_penalty: int


class ContractorOut(ApiModel):
    id: str
    name: str
    level: str = Field(description="bounds custom offers: follows LEVEL_RULES (completed orders, responsibility "
                                   "rating, account age) unless an operator set it")
    level_set_by_operator: dict | None = Field(description="the operator's override, if any: `by` and `at`")
    custom_offers: bool
    skills: list[str]
    responsibility: ResponsibilityOut
    project_rating: RatingOut = Field(description="how the clients of his completed project contracts rated him")


class RatingOut(ApiModel):
    count: int
    sum: int
    average: str | None = Field(description="a decimal string with 2 places; null without ratings")


class ClientOut(ApiModel):
    id: str
    name: str
    project_rating: RatingOut = Field(description="how the contractors of his completed project contracts rated him")


Skill = Annotated[str, Field(min_length=1, max_length=50)]


class ProfileIn(RequestModel):
    custom_offers: bool | None = None
    skills: list[Skill] | None = Field(default=None, max_length=30)


class LevelIn(RequestModel):
    level: str = Field(min_length=1, max_length=50)
    reason: str = Field(default="", max_length=1000, description="why: kept with the act in the audit log")


class ConsoleLevelForm(ApiModel):
    """The console's level override (`/console/contractors/{user_id}/level`)."""
    csrf: str = Field(min_length=1, max_length=100)
    level: str = Field(default="", max_length=50)
    reason: str = Field(default="", max_length=1000)


class OfferIn(RequestModel):
    client_id: str = Field(min_length=1, max_length=100)
    gig_id: str = Field(min_length=1, max_length=100, description="the related gig: the review lands under it")
    description: str = Field(min_length=1, max_length=10000)
    amount: StrictInt = Field(gt=0, le=MAX_AMOUNT, description="minor units")
    currency: str = CurrencyCode
    delivery_days: StrictInt = Field(ge=1, le=365)
    revision_limit: StrictInt | None = Field(default=None, ge=0, le=10, description=(
        "how many revisions the order allows; at most the engine's 10, which is also the default"))
    accept_by: str | None = Field(default=None, max_length=40, description="ISO 8601; the offer expires after it")
    order_id: str | None = Field(default=None, min_length=1, max_length=100,
                                 description="made from the page of this order between the two; without it, the "
                                             "client must have written to the contractor in their conversation")
    request_id: str | None = Field(default=None, min_length=1, max_length=100,
                                   description="the client's pending request this offer answers (it becomes "
                                               "`answered` and names the offer)")


class OfferOut(ApiModel):
    id: str
    gig_id: str
    order_id: str | None
    client_id: str
    contractor_id: str
    title: str
    description: str
    amount: int
    currency: str
    delivery_days: int
    revision_limit: int | None
    commission: int = Field(description="the platform's commission the order will take, minor units")
    net_to_contractor: int = Field(description="what the contractor gets once the order completes, minor units")
    request_id: str | None = Field(default=None, description="the client's request it answers, if any")
    accept_by: str | None
    status: Literal["pending", "accepted", "rejected", "withdrawn", "expired"]
    closed_reason: str | None
    terms: dict | None
    terms_hash: str | None
    created_at: str
    version: int
    history: list[dict]


class OfferList(ApiModel):
    items: list[OfferOut]
    next_cursor: str | None


class OptionalReasonIn(RequestModel):
    reason: str = Field(default="", max_length=1000)


class BudgetIn(RequestModel):
    amount: StrictInt = Field(le=MAX_AMOUNT, description="minor units, more than 0")
    currency: str = CurrencyCode


class OfferRequestIn(RequestModel):
    contractor_id: str = Field(min_length=1, max_length=100)
    gig_id: str | None = Field(default=None, min_length=1, max_length=100,
                               description="one of the contractor's active gigs the request is about")
    description: str = Field(min_length=1, max_length=10000, description="what the client needs")
    budget: BudgetIn | None = None
    deadline_at: str | None = Field(default=None, max_length=40,
                                    description="ISO 8601, in the future; the request expires if unanswered by then")


class BudgetOut(ApiModel):
    amount: int
    currency: str


class OfferRequestOut(ApiModel):
    id: str
    client_id: str
    contractor_id: str
    gig_id: str | None
    description: str
    budget: BudgetOut | None
    deadline_at: str | None
    answer_by: str = Field(description="unanswered by then, it expires (the deadline or OFFER_REQUEST_ANSWER_DAYS)")
    status: Literal["pending", "answered", "declined", "withdrawn", "expired"]
    offer_id: str | None = Field(description="the offer that answered it")
    closed_reason: str | None = Field(description="why the contractor declined it")
    conversation_id: str
    message_id: str = Field(description="its entry in the conversation")
    created_at: str
    version: int
    history: list[dict]


class OfferRequestList(ApiModel):
    items: list[OfferRequestOut]
    next_cursor: str | None


class RequiredReasonIn(RequestModel):
    reason: str = Field(min_length=1, max_length=1000)

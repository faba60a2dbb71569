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


Skill = Annotated[str, Field(min_length=1, max_length=50)]


class ProfileIn(RequestModel):
    custom_offers: bool | None = None
    skills: list[Skill] | None = Field(default=None, max_length=30)


class LevelIn(RequestModel):
    level: str = Field(min_length=1, max_length=50)


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

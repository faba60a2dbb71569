"""Projects, proposals, contracts, deliverables and the operators' dispute queue."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, StrictInt

from chalicelib.entrypoints.api.schemas.common import MAX_AMOUNT, ApiModel, CurrencyCode, RequestModel
from chalicelib.entrypoints.api.schemas.offers import Skill
from chalicelib.entrypoints.api.schemas.orders import DisputeOut


class ProjectIn(RequestModel):
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(min_length=1, max_length=10000)
    skills: list[Skill] = Field(min_length=1, max_length=20)
    budget_min: StrictInt = Field(gt=0, le=MAX_AMOUNT, description="minor units")
    budget_max: StrictInt = Field(gt=0, le=MAX_AMOUNT, description="minor units")
    currency: str = CurrencyCode


class ProjectEditIn(RequestModel):
    title: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, min_length=1, max_length=10000)
    skills: list[Skill] | None = Field(default=None, min_length=1, max_length=20)
    budget_min: StrictInt | None = Field(default=None, gt=0, le=MAX_AMOUNT, description="minor units")
    budget_max: StrictInt | None = Field(default=None, gt=0, le=MAX_AMOUNT, description="minor units")


class ProjectOut(ApiModel):
    id: str
    client_id: str
    title: str
    description: str
    skills: list[str]
    budget_min: int
    budget_max: int
    currency: str
    status: Literal["open", "contracted", "closed"] = Field(
        description="open: taking proposals (again, after a contract was declined or lapsed); closed by its client")
    contract_id: str | None
    created_at: str


class ProjectList(ApiModel):
    items: list[ProjectOut]
    next_cursor: str | None


class ProposalIn(RequestModel):
    price: StrictInt = Field(gt=0, le=MAX_AMOUNT, description="minor units, in the project's currency")
    days: StrictInt = Field(ge=1, le=365)
    text: str = Field(min_length=1, max_length=5000)


class ProposalEditIn(RequestModel):
    price: StrictInt | None = Field(default=None, gt=0, le=MAX_AMOUNT)
    days: StrictInt | None = Field(default=None, ge=1, le=365)
    text: str | None = Field(default=None, min_length=1, max_length=5000)


class ProposalOut(ApiModel):
    project_id: str
    contractor_id: str
    price: int
    currency: str
    days: int
    text: str
    status: Literal["active", "withdrawn", "selected", "not_selected", "declined", "lapsed"] = Field(
        description="not_selected: another bid's contract was accepted or the project closed; declined, lapsed: "
                    "how the contract opened on this bid ended before it started")
    created_at: str
    updated_at: str


class ProposalList(ApiModel):
    items: list[ProposalOut]
    next_cursor: str | None


class ContractOut(ApiModel):
    id: str
    project_id: str
    client_id: str
    contractor_id: str
    title: str
    price: int
    escrowed: int = Field(description="in escrow now: half the price after selection, all of it once funded")
    currency: str
    commission_bps: int
    status: Literal["awaiting_acceptance", "in_progress", "delivered", "disputed", "completed", "declined", "lapsed",
                    "cancelled", "closed_unfunded", "resolved"]
    days: int
    deadline_at: str | None = Field(description="from the contractor's acceptance plus the proposal's days; past "
                                                "it the client may cancel with a full refund of the escrow")
    release_due_at: str | None = Field(description="when the escrow is released by itself: two days after the work "
                                                   "was marked done with the whole price in escrow")
    fund_due_at: str | None = Field(description="after the work was marked done with half the price in escrow: "
                                                "unless the rest is escrowed by then, the half goes to the "
                                                "contractor and the contract closes unfunded")
    deliverable: dict | None = Field(description="the latest upload (`file_id`, `filename`, `size`, `uploaded_at`)")
    versions: list[dict] = Field(description="every submitted deliverable, oldest first (`version`, `submitted_at`)")
    rework: dict = Field(description="rounds of changes the client asked for: `used` of `limit`")
    funding_extended: bool = Field(description="whether the contractor already extended the deadline to escrow "
                                               "the rest (allowed once)")
    dispute: DisputeOut | None
    terms: dict | None
    terms_hash: str | None
    terms_verified: bool
    created_at: str
    version: int
    history: list[dict]


class ContractList(ApiModel):
    items: list[ContractOut]
    next_cursor: str | None


class DisputeQueue(ApiModel):
    items: list[dict] = Field(description="orders and contracts in dispute, each with `process`")
    next_cursor: str | None


class ChangesIn(RequestModel):
    message: str = Field(min_length=1, max_length=5000, description="what should change in the work")


class DeliverableIn(RequestModel):
    file_id: str = Field(min_length=1, max_length=100, description="the zip archive's upload (POST /v1/uploads, "
                         "application/zip), which the contract claims")


class DownloadOut(ApiModel):
    url: str
    expires_in_seconds: int
    filename: str

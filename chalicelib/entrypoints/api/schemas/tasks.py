"""Companies' teams and B2B tasks: invitations, members, settings, tasks, acts and documents."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, StrictInt

from chalicelib.entrypoints.api.schemas.common import (
    MAX_AMOUNT,
    ApiModel,
    CurrencyCode,
    Locale,
    PlainText,
    RequestModel,
    TimeZone,
)


class InvitationsIn(RequestModel):
    emails: str = Field(min_length=1, max_length=10000, description="one address, or many separated by commas")
    greeting: PlainText = Field(default="", max_length=1000, description=(
        "the company's own words to the invitees, plain text (no markup is rendered), shown as a quote"))


class InvitationResult(ApiModel):
    email: str
    status: Literal["invited", "already_in_team", "invalid", "duplicate", "daily_limit_reached",
                    "not_sent_today"] = Field(description=(
        "invited: e-mailed a link to join (or, if the address has an account, a request to join it must "
        "accept: the answer does not say which); daily_limit_reached: the company's invitations for today are "
        "used up; not_sent_today: the address already got today's invitation e-mails (from this company, or "
        "from all companies together): nothing was sent, invite it again tomorrow"))
    reason: str | None = None


class InvitationsOut(ApiModel):
    results: list[InvitationResult]


class AcceptInvitationIn(RequestModel):
    password: str = Field(min_length=8, max_length=128)
    name: str = Field(min_length=1, max_length=100)
    locale: Locale = "en"
    timezone: TimeZone | None = None


class MemberOut(ApiModel):
    email: str
    user_id: str | None
    contractor_id: str | None = Field(description=(
        "whom to assign tasks to: an active member's id, or — until an invitee joins, drafts only — his id or, "
        "without an account yet, a placeholder id; null once the invitation was declined or expired"))
    state: Literal["invited", "requested", "active", "declined", "expired"] = Field(description=(
        "invited (no account yet) and requested (an existing account) are in the team at once, for drafts"))
    invited_at: str
    invitation_expires_at: str | None
    joined_at: str | None


class MemberList(ApiModel):
    items: list[MemberOut]
    next_cursor: str | None


class SettingsIn(RequestModel):
    company_name: str | None = Field(default=None, max_length=200)
    company_details: str | None = Field(default=None, max_length=2000, description="requisites printed on acts")
    send_tasks_immediately: bool | None = None


class SettingsOut(ApiModel):
    company_name: str
    company_details: str
    send_tasks_immediately: bool


class TaskIn(RequestModel):
    contractor_id: str = Field(min_length=1, max_length=100, description=(
        "a member of your team (`contractor_id` in GET /v1/team): an invitee who has not joined yet gets drafts "
        "only, sent once he joins (409 contractor_not_joined before)"))
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=10000)
    amount: StrictInt = Field(gt=0, le=MAX_AMOUNT, description="minor units")
    currency: str = CurrencyCode
    deadline_at: str | None = Field(default=None, max_length=40)


class TaskEditIn(RequestModel):
    contractor_id: str | None = Field(default=None, description=(
        "refused (a task's contractor never changes), but for a draft left unassigned when its invitee declined "
        "or his invitation expired"))
    title: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=10000)
    amount: StrictInt | None = Field(default=None, gt=0, le=MAX_AMOUNT)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    deadline_at: str | None = Field(default=None, max_length=40)


class ActOut(ApiModel):
    number: str
    issued_at: str
    pdf_url: str


class TaskDisputeOut(ApiModel):
    by: Literal["client"] = Field(description="the company")
    reason: str
    opened_at: str
    paid: int = Field(description="what the contractor was paid for the task")
    held: int = Field(description="what is held of it on his account until the decision (what he still had)")
    refund: int | None = Field(description="the decision: to the company")
    release: int | None = Field(description="the decision: back to the contractor")
    note: str
    resolved_at: str | None
    resolved_by: str | None


class TaskDisputeIn(RequestModel):
    reason: str = Field(min_length=1, max_length=1000)


class TaskOut(ApiModel):
    id: str
    company_id: str
    contractor_id: str | None = Field(description="null: a draft whose invitee declined or whose invitation expired")
    contractor_state: Literal["active", "invited", "unassigned"] = Field(description=(
        "invited: a draft waiting for its contractor to join the team"))
    invitation_expires_at: str | None
    title: str
    description: str
    amount: int
    currency: str
    commission: int
    deadline_at: str | None
    status: Literal["draft", "in_work", "done", "cancelled", "disputed", "resolved"]
    closed_reason: str | None
    dispute: TaskDisputeOut | None = Field(description="a done task the company contested, for an operator")
    act: ActOut | None
    created_at: str
    version: int
    history: list[dict]


class TaskList(ApiModel):
    items: list[TaskOut]
    next_cursor: str | None


class DeletedOut(ApiModel):
    deleted: bool
    id: str


class DocumentOut(ApiModel):
    kind: Literal["act"]
    number: str
    issued_at: str
    task_id: str
    title: str
    amount: int
    currency: str
    company_id: str
    contractor_id: str
    pdf_url: str


class DocumentList(ApiModel):
    items: list[DocumentOut]
    next_cursor: str | None

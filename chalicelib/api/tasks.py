"""The company's team, its settings, and B2B tasks with their acts of completed work."""
from __future__ import annotations

from typing import Literal

from chalice import Blueprint, Response
from pydantic import BaseModel, Field, StrictInt

from chalicelib.api import schemas as s
from chalicelib.api.http import Call, endpoint
from chalicelib.services import tasks, team

bp = Blueprint(__name__)


class InvitationsIn(s._In):
    emails: str = Field(min_length=1, max_length=10000, description="one address, or many separated by commas")
    greeting: s.PlainText = Field(default="", max_length=1000, description=(
        "the company's own words to the invitees, plain text (no markup is rendered), shown as a quote"))


class InvitationResult(BaseModel):
    email: str
    status: Literal["invited", "requested", "already_in_team", "invalid", "duplicate", "daily_limit_reached",
                    "recently_invited"] = Field(description=(
        "invited: e-mailed a link to join; requested: the address has an account, e-mailed a request to "
        "join it must accept; daily_limit_reached: the company's invitations for today are used up; "
        "recently_invited: the address got an invitation today already"))
    reason: str | None = None


class InvitationsOut(BaseModel):
    results: list[InvitationResult]


class AcceptInvitationIn(s._In):
    password: str = Field(min_length=8, max_length=128)
    name: str = Field(min_length=1, max_length=100)
    locale: s.Locale = "en"
    timezone: s.TimeZone | None = None


class MemberOut(BaseModel):
    email: str
    user_id: str | None
    state: Literal["invited", "requested", "active", "declined"]
    invited_at: str
    joined_at: str | None


class MemberList(BaseModel):
    items: list[MemberOut]
    next_cursor: str | None


class SettingsIn(s._In):
    company_name: str | None = Field(default=None, max_length=200)
    company_details: str | None = Field(default=None, max_length=2000, description="requisites printed on acts")
    send_tasks_immediately: bool | None = None


class SettingsOut(BaseModel):
    company_name: str
    company_details: str
    send_tasks_immediately: bool


class TaskIn(s._In):
    contractor_id: str = Field(min_length=1, max_length=100, description="an active member of your team")
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=10000)
    amount: StrictInt = Field(gt=0, le=s.MAX_AMOUNT, description="minor units")
    currency: str = s.CurrencyCode
    deadline_at: str | None = Field(default=None, max_length=40)


class TaskEditIn(s._In):
    contractor_id: str | None = Field(default=None, description="refused: a task's contractor never changes")
    title: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=10000)
    amount: StrictInt | None = Field(default=None, gt=0, le=s.MAX_AMOUNT)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    deadline_at: str | None = Field(default=None, max_length=40)


class ActOut(BaseModel):
    number: str
    issued_at: str
    pdf_url: str


class TaskOut(BaseModel):
    id: str
    company_id: str
    contractor_id: str
    title: str
    description: str
    amount: int
    currency: str
    commission: int
    deadline_at: str | None
    status: Literal["draft", "in_work", "done", "cancelled"]
    closed_reason: str | None
    act: ActOut | None
    created_at: str
    version: int
    history: list[dict]


class TaskList(BaseModel):
    items: list[TaskOut]
    next_cursor: str | None


class DeletedOut(BaseModel):
    deleted: bool
    id: str


class DocumentOut(BaseModel):
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


class DocumentList(BaseModel):
    items: list[DocumentOut]
    next_cursor: str | None


# --- team ------------------------------------------------------------------------------------------------------------

@endpoint(bp, "POST", "/v1/team/invitations", summary="Invite contractors by e-mail (one answer per address)",
          tag="team", request=InvitationsIn, response=InvitationsOut)
def invite(call: Call):
    return team.invite(call.user, call.body.emails, call.body.greeting)


@endpoint(bp, "POST", "/v1/invitations/{token}/accept", summary="Set a password from an invitation link",
          tag="team", status=201, request=AcceptInvitationIn, response=s.SignupOut, auth_="none", errors=(409,),
          issues_token=True)
def accept_invitation(call: Call):
    b = call.body
    return team.accept_invitation(call.params["token"], b.password, b.name, b.locale, b.timezone)


@endpoint(bp, "POST", "/v1/invitations/{token}/decline", summary="Decline an invitation or a request to join, "
          "from its link", tag="team", response=MemberOut, auth_="none", errors=(409,))
def decline_invitation(call: Call):
    return team.answer_invitation(call.params["token"], accept=False)


@endpoint(bp, "POST", "/v1/team/requests/{company_id}/accept", summary="Accept a company's request to join its "
          "team (signed in)", tag="team", response=MemberOut, errors=(409,))
def accept_join_request(call: Call):
    return team.answer_request(call.user, call.params["company_id"], accept=True)


@endpoint(bp, "POST", "/v1/team/requests/{company_id}/decline", summary="Decline a company's request to join its "
          "team (signed in)", tag="team", response=MemberOut, errors=(409,))
def decline_join_request(call: Call):
    return team.answer_request(call.user, call.params["company_id"], accept=False)


@endpoint(bp, "GET", "/v1/team", summary="My team, with each contractor's state", tag="team", response=MemberList,
          query=("limit", "cursor"), errors=(422,))
def list_team(call: Call):
    return team.members(call.user, call.limit, call.cursor)


@endpoint(bp, "GET", "/v1/company/settings", summary="Company settings", tag="team", response=SettingsOut)
def get_settings(call: Call):
    return team.get_settings(call.user)


@endpoint(bp, "PATCH", "/v1/company/settings", summary="Change company settings", tag="team", request=SettingsIn,
          response=SettingsOut, errors=(403,))
def update_settings(call: Call):
    return team.update_settings(call.user, call.body.model_dump())


# --- tasks -----------------------------------------------------------------------------------------------------------

@endpoint(bp, "POST", "/v1/tasks", summary="Create a task: a draft, or in work at once if the settings say so",
          tag="tasks", status=201, request=TaskIn, response=TaskOut, errors=(409,), moves_money=True)
def create_task(call: Call):
    b = call.body
    return tasks.create(call.user, b.contractor_id, b.title, b.description, b.amount, b.currency, b.deadline_at)


@endpoint(bp, "GET", "/v1/tasks", summary="My tasks as company (default) or contractor", tag="tasks",
          response=TaskList, query=("role", "limit", "cursor"), errors=(422,))
def list_tasks(call: Call):
    return tasks.list_mine(call.user, call.party, call.limit, call.cursor)


@endpoint(bp, "GET", "/v1/tasks/{task_id}", summary="One task, with its history", tag="tasks", response=TaskOut)
def get_task(call: Call):
    return tasks.get(call.user, call.params["task_id"])


@endpoint(bp, "PATCH", "/v1/tasks/{task_id}", summary="Edit a draft (everything but the contractor)", tag="tasks",
          request=TaskEditIn, response=TaskOut, errors=(403, 409))
def edit_task(call: Call):
    return tasks.edit(call.user, call.params["task_id"], call.body.model_dump(exclude_unset=True))


@endpoint(bp, "DELETE", "/v1/tasks/{task_id}", summary="Delete a draft", tag="tasks", response=DeletedOut,
          errors=(403, 409))
def delete_task(call: Call):
    return tasks.delete(call.user, call.params["task_id"])


def _transition(path: str, transition: str, summary: str) -> None:
    def handler(call: Call):
        return tasks.act(call.user, call.params["task_id"], transition)

    handler.__name__ = handler.__qualname__ = f"task_{transition}"
    endpoint(bp, "POST", f"/v1/tasks/{{task_id}}/{path}", summary=summary, tag="tasks", response=TaskOut,
             errors=(403, 409), moves_money=True)(handler)


_transition("send", "send", "Send to payment (company): the amount is reserved and the task goes in work")
_transition("done", "complete", "Mark done (contractor): paid, and the act is issued")
_transition("cancel", "cancel", "Cancel a task in work (company): the reserved amount returns")


@endpoint(bp, "GET", "/v1/tasks/{task_id}/act", summary="The act of completed work as PDF", tag="tasks",
          produces="application/pdf")
def get_act(call: Call):
    task_id = call.params["task_id"]
    content = tasks.act_pdf(call.user, task_id)
    return Response(body=content, status_code=200, headers={
        "Content-Type": "application/pdf", "Content-Disposition": f'inline; filename="act-{task_id}.pdf"'})


@endpoint(bp, "GET", "/v1/documents", summary="My acts of completed work (Documents)", tag="tasks",
          response=DocumentList, query=("role", "limit", "cursor"), errors=(422,))
def list_documents(call: Call):
    return tasks.documents(call.user, call.party, call.limit, call.cursor)

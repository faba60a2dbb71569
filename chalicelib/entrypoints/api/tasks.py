"""The company's team, its settings, and B2B tasks with their acts of completed work."""
from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint, Response

from chalicelib.entrypoints.api.http import Call, endpoint
from chalicelib.entrypoints.api.http import schema_names as s
from chalicelib.platform.lazy import lazy_modules

if TYPE_CHECKING:
    from chalicelib.services import tasks, team
else:  # loaded when a route first runs (chalicelib/platform/lazy.py)
    tasks, team = lazy_modules("chalicelib.services", "tasks", "team")

bp = Blueprint(__name__)


@endpoint(bp, "POST", "/v1/team/invitations", summary="Invite contractors by e-mail (one answer per address)",
          tag="team", request=s.InvitationsIn, response=s.InvitationsOut)
def invite(call: Call):
    return team.invite(call.user, call.body.emails, call.body.greeting)


@endpoint(bp, "POST", "/v1/invitations/{token}/accept", summary="Set a password from an invitation link",
          tag="team", status=201, request=s.AcceptInvitationIn, response=s.SignupOut, auth_="none", errors=(409,),
          issues_token=True)
def accept_invitation(call: Call):
    b = call.body
    return team.accept_invitation(call.params["token"], b.password, b.name, b.locale, b.timezone)


@endpoint(bp, "POST", "/v1/invitations/{token}/decline", summary="Decline an invitation or a request to join, "
          "from its link", tag="team", response=s.MemberOut, auth_="none", errors=(409,))
def decline_invitation(call: Call):
    return team.answer_invitation(call.params["token"], accept=False)


@endpoint(bp, "POST", "/v1/team/requests/{company_id}/accept", summary="Accept a company's request to join its "
          "team (signed in)", tag="team", response=s.MemberOut, errors=(409,))
def accept_join_request(call: Call):
    return team.answer_request(call.user, call.params["company_id"], accept=True)


@endpoint(bp, "POST", "/v1/team/requests/{company_id}/decline", summary="Decline a company's request to join its "
          "team (signed in)", tag="team", response=s.MemberOut, errors=(409,))
def decline_join_request(call: Call):
    return team.answer_request(call.user, call.params["company_id"], accept=False)


@endpoint(bp, "GET", "/v1/team", summary="My team, with each contractor's state", tag="team", response=s.MemberList,
          query=("limit", "cursor"), errors=(422,))
def list_team(call: Call):
    return team.members(call.user, call.limit, call.cursor)


@endpoint(bp, "GET", "/v1/company/settings", summary="Company settings", tag="team", response=s.SettingsOut)
def get_settings(call: Call):
    return team.get_settings(call.user)


@endpoint(bp, "PATCH", "/v1/company/settings", summary="Change company settings", tag="team", request=s.SettingsIn,
          response=s.SettingsOut, errors=(403,))
def update_settings(call: Call):
    return team.update_settings(call.user, call.body.model_dump())


# --- tasks -----------------------------------------------------------------------------------------------------------

@endpoint(bp, "POST", "/v1/tasks", summary="Create a task: a draft, or in work at once if the settings say so",
          tag="tasks", status=201, request=s.TaskIn, response=s.TaskOut, errors=(409,), moves_money=True)
def create_task(call: Call):
    b = call.body
    return tasks.create(call.user, b.contractor_id, b.title, b.description, b.amount, b.currency, b.deadline_at)


@endpoint(bp, "GET", "/v1/tasks", summary="My tasks as company (default) or contractor", tag="tasks",
          response=s.TaskList, query=("role", "limit", "cursor"), errors=(422,))
def list_tasks(call: Call):
    return tasks.list_mine(call.user, call.party, call.limit, call.cursor)


@endpoint(bp, "GET", "/v1/tasks/{task_id}", summary="One task, with its history", tag="tasks", response=s.TaskOut)
def get_task(call: Call):
    return tasks.get(call.user, call.params["task_id"])


@endpoint(bp, "PATCH", "/v1/tasks/{task_id}", summary="Edit a draft (everything but the contractor)", tag="tasks",
          request=s.TaskEditIn, response=s.TaskOut, errors=(403, 409))
def edit_task(call: Call):
    return tasks.edit(call.user, call.params["task_id"], call.body.model_dump(exclude_unset=True))


@endpoint(bp, "DELETE", "/v1/tasks/{task_id}", summary="Delete a draft", tag="tasks", response=s.DeletedOut,
          errors=(403, 409))
def delete_task(call: Call):
    return tasks.delete(call.user, call.params["task_id"])


def _transition(path: str, transition: str, summary: str) -> None:
    def handler(call: Call):
        return tasks.act(call.user, call.params["task_id"], transition)

    handler.__name__ = handler.__qualname__ = f"task_{transition}"
    endpoint(bp, "POST", f"/v1/tasks/{{task_id}}/{path}", summary=summary, tag="tasks", response=s.TaskOut,
             errors=(403, 409), moves_money=True)(handler)


_transition("send", "send", "Send to payment (company): the amount is reserved and the task goes in work")
_transition("done", "complete", "Mark done (contractor): paid, and the act is issued")
_transition("cancel", "cancel", "Cancel a task in work (company): the reserved amount returns; a done task's "
            "cancel opens a dispute for an operator instead, the contractor's pay held meanwhile")


@endpoint(bp, "POST", "/v1/tasks/{task_id}/dispute",
          summary="Contest a done task (company), with a reason: an operator decides; the contractor's pay is held "
                  "meanwhile", tag="tasks", request=s.TaskDisputeIn, response=s.TaskOut, errors=(403, 409),
          moves_money=True)
def dispute_task(call: Call):
    return tasks.dispute(call.user, call.params["task_id"], call.body.reason)


@endpoint(bp, "POST", "/v1/operator/tasks/{task_id}/resolve",
          summary="Resolve a contested task by splitting what it holds (operator): refund to the company, release "
                  "back to the contractor", tag="operator", auth_="operator", request=s.ResolutionIn,
          response=s.TaskOut, errors=(409,), moves_money=True)
def resolve_task_dispute(call: Call):
    b = call.body
    return tasks.resolve_dispute(call.user, call.params["task_id"], b.refund, b.release, b.note)


@endpoint(bp, "GET", "/v1/tasks/{task_id}/act", summary="The act of completed work as PDF", tag="tasks",
          produces="application/pdf")
def get_act(call: Call):
    task_id = call.params["task_id"]
    content = tasks.act_pdf(call.user, task_id)
    return Response(body=content, status_code=200, headers={
        "Content-Type": "application/pdf", "Content-Disposition": f'inline; filename="act-{task_id}.pdf"'})


@endpoint(bp, "GET", "/v1/documents", summary="My acts of completed work (Documents)", tag="tasks",
          response=s.DocumentList, query=("role", "limit", "cursor"), errors=(422,))
def list_documents(call: Call):
    return tasks.documents(call.user, call.party, call.limit, call.cursor)

"""Projects with proposals, their contracts (two-half escrow, deliverables), and local file links."""
from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint, Response

from chalicelib.adapters.files import LocalFiles, content_disposition
from chalicelib.entrypoints.api.http import Call, endpoint
from chalicelib.entrypoints.api.http import schema_names as s
from chalicelib.platform.config import settings
from chalicelib.platform.errors import NotFound
from chalicelib.platform.lazy import lazy_modules

if TYPE_CHECKING:
    from chalicelib.services import projects, reviews
else:  # loaded when a route first runs (chalicelib/platform/lazy.py)
    projects, reviews = lazy_modules("chalicelib.services", "projects", "reviews")

bp = Blueprint(__name__)


@endpoint(bp, "POST", "/v1/projects", summary="Post a project (client)", tag="projects", status=201,
          request=s.ProjectIn, response=s.ProjectOut)
def post_project(call: Call):
    b = call.body
    return projects.post(call.user, b.title, b.description, b.skills, b.budget_min, b.budget_max, b.currency)


@endpoint(bp, "GET", "/v1/projects", summary="Active projects needing my skills (or ?skills=a,b), newest first",
          tag="projects", response=s.ProjectList, query=("skills", "limit", "cursor"), errors=(422,))
def list_projects(call: Call):
    raw = call.query.get("skills")
    skills = [skill.strip() for skill in raw.split(",") if skill.strip()] if raw is not None else None
    return projects.list_open(call.user, skills, call.limit, call.cursor)


@endpoint(bp, "GET", "/v1/projects/mine", summary="Projects I posted", tag="projects", response=s.ProjectList,
          query=("limit", "cursor"), errors=(422,))
def my_projects(call: Call):
    return projects.list_mine(call.user, call.limit, call.cursor)


@endpoint(bp, "GET", "/v1/projects/{project_id}", summary="One project", tag="projects", response=s.ProjectOut)
def get_project(call: Call):
    return projects.get(call.params["project_id"])


@endpoint(bp, "PATCH", "/v1/projects/{project_id}", summary="Change my project while it has no contract (client); "
          "every bidder is told", tag="projects", request=s.ProjectEditIn, response=s.ProjectOut, errors=(403, 409))
def edit_project(call: Call):
    return projects.edit(call.user, call.params["project_id"], call.body.model_dump(exclude_none=True))


@endpoint(bp, "POST", "/v1/projects/{project_id}/close", summary="Close my project while it has no contract "
          "(client); every bidder is told", tag="projects", response=s.ProjectOut, errors=(403, 409))
def close_project(call: Call):
    return projects.close(call.user, call.params["project_id"])


@endpoint(bp, "POST", "/v1/projects/{project_id}/proposals", summary="Send a proposal (contractor)",
          tag="projects", status=201, request=s.ProposalIn, response=s.ProposalOut, errors=(409,))
def propose(call: Call):
    b = call.body
    return projects.propose(call.user, call.params["project_id"], b.price, b.days, b.text)


@endpoint(bp, "GET", "/v1/projects/{project_id}/proposals", summary="The project's proposals (its client)",
          tag="projects", response=s.ProposalList, query=("limit", "cursor"), errors=(403, 422))
def list_proposals(call: Call):
    return projects.proposals(call.user, call.params["project_id"], call.limit, call.cursor)


@endpoint(bp, "PATCH", "/v1/projects/{project_id}/proposals/mine", summary="Edit my proposal until one is chosen",
          tag="projects", request=s.ProposalEditIn, response=s.ProposalOut, errors=(409,))
def edit_proposal(call: Call):
    b = call.body
    return projects.edit_proposal(call.user, call.params["project_id"], b.price, b.days, b.text)


@endpoint(bp, "POST", "/v1/projects/{project_id}/proposals/mine/withdraw", summary="Withdraw my proposal",
          tag="projects", response=s.ProposalOut, errors=(409,))
def withdraw_proposal(call: Call):
    return projects.withdraw(call.user, call.params["project_id"])


@endpoint(bp, "POST", "/v1/projects/{project_id}/proposals/{contractor_id}/select",
          summary="Choose a proposal (client): half its price goes into escrow", tag="projects", status=201,
          response=s.ContractOut, errors=(402, 403, 409), moves_money=True)
def select_proposal(call: Call):
    return projects.select(call.user, call.params["project_id"], call.params["contractor_id"])


@endpoint(bp, "GET", "/v1/contracts", summary="My contracts as client (default) or contractor", tag="contracts",
          response=s.ContractList, query=("role", "limit", "cursor"), errors=(422,))
def list_contracts(call: Call):
    return projects.list_contracts(call.user, call.party, call.limit, call.cursor)


@endpoint(bp, "GET", "/v1/contracts/{contract_id}", summary="One contract", tag="contracts", response=s.ContractOut)
def get_contract(call: Call):
    return projects.get_contract(call.user, call.params["contract_id"])


def _transition(path: str, transition: str, summary: str, request=None, errors: tuple[int, ...] = (403, 409)) -> None:
    def handler(call: Call):
        message = call.body.message if request is not None else None
        return projects.act(call.user, call.params["contract_id"], transition, message=message)

    handler.__name__ = handler.__qualname__ = f"contract_{transition}"
    endpoint(bp, "POST", f"/v1/contracts/{{contract_id}}/{path}", summary=summary, tag="contracts", request=request,
             response=s.ContractOut, errors=errors, moves_money=True)(handler)


_transition("accept", "accept", "Accept the work (contractor): the delivery clock starts")
_transition("decline", "decline", "Decline the contract (contractor): the escrowed half returns")
_transition("fund", "fund_rest", "Escrow the remaining half (client): the deliverable can then be downloaded",
            errors=(402, 403, 409))
_transition("submit", "submit", "Mark the work done (contractor; needs the deliverable)")
_transition("changes", "request_changes", "Send the work marked done back for changes, with a message (client; at "
            "most CONTRACT_REWORK_LIMIT times): the clocks stop until the next submission", s.ChangesIn)
_transition("extend-funding", "extend_funding", "Give the client more time to escrow the rest, once (contractor)")
_transition("approve", "approve", "Approve the work (client): the price less commission goes to the contractor")
_transition("cancel", "cancel_late", "Cancel a contract past its deadline (client): the escrow returns in full")
_transition("dispute", "open_dispute", "Ask an operator to decide, at any time before completion (either party)",
            s.DisputeIn)


@endpoint(bp, "POST", "/v1/contracts/{contract_id}/deliverable",
          summary="Attach the deliverable: an uploaded zip (contractor)", tag="contracts", request=s.DeliverableIn,
          response=s.ContractOut, errors=(403, 409))
def upload_deliverable(call: Call):
    return projects.upload(call.user, call.params["contract_id"], call.body.file_id)


@endpoint(bp, "GET", "/v1/contracts/{contract_id}/deliverable",
          summary="A short-lived download link (403 for the client until fully funded); ?version=N for an "
          "earlier submitted version", tag="contracts", response=s.DownloadOut, query=("version",), errors=(403, 422))
def download_deliverable(call: Call):
    return projects.download_link(call.user, call.params["contract_id"], call.query.get("version"))


@endpoint(bp, "POST", "/v1/contracts/{contract_id}/review",
          summary="Review the other party of a completed contract once (the client the contractor, the contractor "
                  "the client)", tag="contracts", status=201, request=s.ReviewIn, response=s.ContractReviewOut,
          errors=(409,))
def review_contract(call: Call):
    return reviews.leave_on_contract(call.user, call.params["contract_id"], call.body.rating, call.body.text)


@endpoint(bp, "GET", "/v1/users/{user_id}/reviews",
          summary="What others wrote about a user on completed projects: as a client (default) or ?role=contractor",
          tag="profiles", response=s.ContractReviewList, query=("role", "limit", "cursor"), errors=(422,))
def list_user_reviews(call: Call):
    return reviews.list_for_user(call.params["user_id"], call.party, call.limit, call.cursor)


@endpoint(bp, "POST", "/v1/operator/contracts/{contract_id}/resolve",
          summary="Resolve a contract's dispute by splitting its escrow (operator)", tag="operator",
          auth_="operator", request=s.ResolutionIn, response=s.ContractOut, errors=(409,), moves_money=True)
def resolve_contract_dispute(call: Call):
    b = call.body
    return projects.resolve_dispute(call.user, call.params["contract_id"], b.refund, b.release, b.note)


def _local_files_only() -> None:
    if settings.files_bucket:
        raise NotFound("not_found", "Files are served by S3 links on this stage")


@endpoint(bp, "GET", "/v1/files/{token}", summary="Download through a local short-lived link (no bucket)",
          tag="contracts", auth_="none", produces="application/zip", errors=(403, 404), guard=_local_files_only)
def download_file(call: Call):
    data, filename, content_type = LocalFiles().read(call.params["token"])
    return Response(body=data, status_code=200, headers={
        "Content-Type": content_type, "Content-Disposition": content_disposition(filename)})

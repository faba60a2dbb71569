"""Local stage only: move the application clock, run the scheduled jobs on demand, and confirm an account's
address without its e-mail (for tools that create many accounts). On any other stage these routes answer 404."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.entrypoints import jobs
from chalicelib.entrypoints.api.http import Call, endpoint
from chalicelib.entrypoints.api.http import schema_names as s
from chalicelib.platform import clock
from chalicelib.platform.config import settings
from chalicelib.platform.errors import NotFound

bp = Blueprint(__name__)


def _local_only() -> None:
    if not settings.is_local:
        raise NotFound("not_found", "No such route")


def _clock() -> dict:
    return {"now": clock.iso(clock.now()), "offset_seconds": clock.offset()}


@endpoint(bp, "GET", "/dev/clock", summary="The application clock (local stage only)", tag="dev",
          response=s.ClockOut, auth_="none", errors=(404,), guard=_local_only)
def get_clock(call: Call):
    return _clock()


@endpoint(bp, "POST", "/dev/clock", summary="Move the application clock forward (local stage only)", tag="dev",
          request=s.ClockIn, response=s.ClockOut, auth_="none", errors=(404,), guard=_local_only)
def advance_clock(call: Call):
    clock.advance(call.body.advance_seconds)
    return _clock()


@endpoint(bp, "POST", "/dev/jobs/run", summary="Run every scheduled job once now (local stage only)", tag="dev",
          response=s.JobsOut, auth_="none", errors=(404,), guard=_local_only)
def run_jobs(call: Call):
    now = clock.now()
    return {"now": clock.iso(now), "jobs": jobs.run_all(now)}


@endpoint(bp, "POST", "/dev/users/{user_id}/email-confirmation", summary="Confirm an account's address without its "
          "e-mailed link, for the local stage's tools (local stage only)", tag="dev", response=s.StatusOut,
          auth_="none", errors=(404,), guard=_local_only)
def confirm_email(call: Call):
    from chalicelib.services import accounts

    return accounts.confirm_without_link(call.params["user_id"])

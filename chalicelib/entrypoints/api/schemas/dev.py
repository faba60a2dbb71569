"""The local stage's clock and job runner."""
from __future__ import annotations

from pydantic import Field, StrictInt

from chalicelib.entrypoints.api.schemas.common import ApiModel, RequestModel


class ClockIn(RequestModel):
    advance_seconds: StrictInt = Field(ge=0, le=10 * 365 * 24 * 3600)


class ClockOut(ApiModel):
    now: str
    offset_seconds: float


class JobsOut(ApiModel):
    now: str
    jobs: dict[str, dict]

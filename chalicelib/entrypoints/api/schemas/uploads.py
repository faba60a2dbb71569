"""Uploads, the files messages and deliveries attach, and an order's thread."""
from __future__ import annotations

import urllib.parse
from typing import Annotated

from pydantic import AfterValidator, Field, StrictInt

from chalicelib.entrypoints.api.schemas.common import ApiModel, RequestModel
from chalicelib.platform.config import settings


def _link_url(value: str) -> str:
    """`https:` links, or the service's own file links (`/v1/files/…`): never `javascript:`, `data:`,
    `http:` or anything else a reader's client might run or that travels in the clear."""
    if not value or value.startswith(f"{settings.app_url.rstrip('/')}/v1/files/"):
        return value
    parts = urllib.parse.urlsplit(value)
    if any(ch.isspace() or ord(ch) < 32 for ch in value):
        raise ValueError("the URL may not contain spaces or control characters")
    if parts.scheme == "https" and parts.hostname:
        return value
    if not parts.scheme and not parts.netloc and parts.path.startswith("/v1/files/"):
        return value
    raise ValueError("an attachment URL must be an https: link or one of the service's own /v1/files/ links")


Link = Annotated[str, AfterValidator(_link_url), Field(min_length=1, max_length=2000,
                                                              description="an https: link, shown as a link only")]


class UploadIn(RequestModel):
    filename: str = Field(min_length=1, max_length=255, pattern=r"^[^/\\]+$")
    size: StrictInt = Field(ge=1, description="bytes; at most UPLOAD_MAX_BYTES (100 MB by default)")
    content_type: str = Field(min_length=1, max_length=255, description="one of the allowed types; the name's "
                                                                        "extension must fit it")


class PresignedPostOut(ApiModel):
    url: str = Field(description="POST a multipart form here: every field below, then `file` last")
    fields: dict[str, str]


class UploadOut(ApiModel):
    id: str = Field(description="the file id messages and deliveries attach")
    upload: PresignedPostOut
    expires_at: str = Field(description="when the form stops working; unclaimed files go a day after upload")


class FileRefIn(RequestModel):
    file_id: str = Field(min_length=1, max_length=100, description="an upload's id (POST /v1/uploads)")


class AttachedFileOut(ApiModel):
    id: str
    filename: str
    size: int = Field(description="bytes")
    content_type: str
    width: int | None = Field(description="an image's pixels; null for other files")
    height: int | None


class FileOut(AttachedFileOut):
    status: str = Field(description="pending | claimed")
    claimed_by: str | None = Field(description="the order or conversation it is attached to")
    created_at: str
    download_url: str = Field(description="short-lived")
    thumbnail_url: str | None = Field(description="an image's thumbnail (PNG), short-lived")
    expires_in_seconds: int


class ThreadEntryOut(ApiModel):
    seq: int = Field(description="1, 2, 3… in the order the steps happened")
    kind: str = Field(description="placed, or the step: deliver, request_revision, offer_extra, pay_extra, "
                                  "reject_extra, request_cancellation, accept_cancellation, refuse_cancellation, "
                                  "auto_cancel, auto_accept, accept, ...")
    actor: str = Field(description="client | contractor | operator | system (a timer)")
    status: str = Field(description="the order's status after the step")
    at: str
    message: str | None
    reason: str | None
    files: list[AttachedFileOut] = Field(default_factory=list, description="a delivery's files")
    links: list[str] = Field(default_factory=list)
    extra: dict | None = None
    cancellation: dict | None = None
    split: dict | None = None


class ThreadList(ApiModel):
    items: list[ThreadEntryOut]
    next_cursor: str | None

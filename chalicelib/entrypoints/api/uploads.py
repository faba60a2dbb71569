"""Uploads: declaring a file for a presigned POST, reading it back with short-lived links, and — on the local
stage only — the form endpoint that plays the bucket."""
from __future__ import annotations

import email.parser
import email.policy
from typing import TYPE_CHECKING

from chalice import Blueprint, Response

from chalicelib.entrypoints.api.http import Call, endpoint, raw_body
from chalicelib.entrypoints.api.http import schema_names as s
from chalicelib.platform.config import settings
from chalicelib.platform.errors import BadRequest, NotFound
from chalicelib.platform.lazy import lazy_modules

if TYPE_CHECKING:
    from chalicelib.services import uploads
else:  # loaded when a route first runs (chalicelib/platform/lazy.py)
    (uploads,) = lazy_modules("chalicelib.services", "uploads")

bp = Blueprint(__name__)


@endpoint(bp, "POST", "/v1/uploads", summary="Declare a file to upload: a presigned POST for it (at most "
          "UPLOAD_MAX_BYTES); attach it by its id to a message or a delivery", tag="files", status=201,
          request=s.UploadIn, response=s.UploadOut)
def create_upload(call: Call):
    body = call.body
    return uploads.create(call.user, body.filename, body.size, body.content_type)


@endpoint(bp, "GET", "/v1/uploads/{upload_id}", summary="A file with short-lived download links (its uploader, "
          "the parties of the order or conversation it is attached to, operators)", tag="files",
          response=s.FileOut)
def get_upload(call: Call):
    return uploads.get(call.user, call.params["upload_id"])


def _local_files_only() -> None:
    if settings.files_bucket:
        raise NotFound("not_found", "Files are uploaded to S3 on this stage")


@endpoint(bp, "POST", "/v1/files", summary="The local stage's bucket: takes the form POST /v1/uploads answered "
          "(multipart: its fields, then `file`)", tag="files", auth_="none", status=204, errors=(400, 403, 422),
          guard=_local_files_only, keeps_record=False)
def receive_upload(call: Call):
    fields, data = _form(call.request.headers.get("content-type") or "", raw_body(call.request))
    from chalicelib.adapters.files import LocalFiles

    LocalFiles().receive(fields, data)
    return Response(body="", status_code=204)


def _form(content_type: str, body: bytes) -> tuple[dict[str, str], bytes]:
    """A multipart/form-data body's text fields and its `file`."""
    if not content_type.lower().startswith("multipart/form-data"):
        raise BadRequest("malformed_form", "Send the upload as multipart/form-data")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body)
    fields: dict[str, str] = {}
    data: bytes | None = None
    for part in message.iter_parts() if message.is_multipart() else ():
        name = part.get_param("name", header="content-disposition")
        decoded = part.get_payload(decode=True)
        payload = decoded if isinstance(decoded, bytes) else b""
        if name == "file":
            data = payload
        elif isinstance(name, str):
            fields[name] = payload.decode("utf-8", "replace")
    if data is None:
        raise BadRequest("malformed_form", "The form has no `file` part")
    return fields, data

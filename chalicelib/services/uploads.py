"""Uploaded files: `POST /v1/uploads` declares a file and answers a presigned POST straight to the bucket (on the
local stage, to this service's `POST /v1/files`); a message, a delivery or a conversation then attaches the file
by its id, which claims it — once, by its uploader only, in the attaching step's own unit of work. Claiming checks
again what arrived: that it is there, no larger than declared, of the declared type, and that the name's
extension fits the type.

A contract's deliverable (a zip) and a site's personal contract (a PDF) are uploads too, each claimed alone by
its own step (`claim_one`) with that document's own checks of what arrived.

An image gets its pixel size and a thumbnail (`process`): on AWS from the bucket's event, locally from the
runner's job, and in any case before a claim that finds it not yet done. An upload nothing claims within a day
is removed: on AWS by the bucket's lifecycle rule (its tag) and the item's TTL, locally by `sweep`.

Who may download: the uploader; once claimed, the parties of the order or conversation it is attached to, and
operators. Downloads are short-lived links from the files adapter's signer."""
from __future__ import annotations

import io
import json
import os
import urllib.parse
from collections.abc import Callable
from datetime import datetime, timedelta

from pynamodb.exceptions import DeleteError

from chalicelib.access.auth import Principal
from chalicelib.adapters.files import ANY_FILE, IMAGES, LocalFiles, get_files, safe_filename
from chalicelib.adapters.files import UPLOAD_TYPES as CONTENT_TYPES
from chalicelib.platform import clock, ids
from chalicelib.platform.config import settings
from chalicelib.platform.errors import Conflict, Forbidden, NotFound, Unprocessable
from chalicelib.platform.observability import logger
from chalicelib.services import deals, idempotency
from chalicelib.store.models import ConversationModel, DealModel, UploadModel
from chalicelib.store.uow import UnitOfWork

UNCLAIMED_FOR = timedelta(days=1)  # the bucket's lifecycle rule counts the same day (infra/template.py)
FILES_PREFIX, THUMBNAILS_PREFIX = "uploads/files/", "uploads/thumbs/"
THUMBNAIL_PIXELS = (320, 320)
# Pillow refuses images above this many pixels (a decompression bomb) before decoding them.
MAX_IMAGE_PIXELS = 80_000_000
PENDING, CLAIMED = "pending", "claimed"
MAX_ATTACHED = 10


def _check_type(filename: str, content_type: str) -> None:
    extensions = CONTENT_TYPES.get(content_type)
    if extensions is None:
        raise Unprocessable("unsupported_content_type", f"Files of type {content_type!r} cannot be uploaded; "
                            f"allowed: {', '.join(sorted(CONTENT_TYPES))}", field="content_type")
    if os.path.splitext(filename)[1].lower() not in extensions:
        raise Unprocessable("extension_mismatch", f"A {content_type} file's name must end in "
                            f"{' or '.join(extensions)}", field="filename")


def create(principal: Principal, filename: str, size: int, content_type: str) -> tuple[int, dict]:
    """Declare a file: its item, and a presigned POST that takes only this file's key and type, at most `size`
    bytes (itself at most UPLOAD_MAX_BYTES)."""
    if size > settings.upload_max_bytes:
        raise Unprocessable("file_too_large", f"A file may be at most {settings.upload_max_bytes} bytes",
                            field="size")
    name = safe_filename(filename)
    _check_type(name, content_type)
    now = clock.now()
    upload_id = ids.new_id("upl")
    record = UploadModel(upload_id, owner_id=principal.user_id, filename=name, size=size, content_type=content_type,
                         key=f"{FILES_PREFIX}{upload_id}", created_at=clock.iso(now), status=PENDING,
                         expires_at=int((now + UNCLAIMED_FOR).timestamp()))
    post = get_files().presigned_post(record.key, content_type, size)
    uow = UnitOfWork()
    uow.put(record, condition=UploadModel.id.does_not_exist())
    return idempotency.commit(uow, 201, {"id": upload_id, "upload": post, "expires_at": clock.iso(
        now + timedelta(seconds=settings.upload_post_seconds))})


def claim(uow: UnitOfWork, principal: Principal, file_ids: list[str], claimed_by: str, now: datetime,
          field: str = "attachments") -> list[dict]:
    """Add the claims of the caller's uploads `file_ids` to the unit of work, for `claimed_by` (an order or a
    conversation): each checked against what arrived; the files' descriptions, as messages and deliveries keep
    them. Refused, with nothing changed: an unknown id (422), another user's upload (403), one claimed already
    or not uploaded yet (409), one larger than declared or not of its declared type (422)."""
    if len(set(file_ids)) != len(file_ids):
        raise Unprocessable("duplicate_file", "A file may be attached once", field=field)
    arrived = [_arrived(principal, file_id, f"{field}.{n}.file_id") for n, file_id in enumerate(file_ids)]
    return _claim(uow, principal, arrived, claimed_by, now)


def claim_one(uow: UnitOfWork, principal: Principal, file_id: str, claimed_by: str, now: datetime,
              check: Callable[[UploadModel, Callable[[], bytes]], None], field: str = "file_id") -> dict:
    """Add the claim of one of the caller's uploads, as a document of its own (a contract's deliverable, a site's
    personal contract), to the unit of work: refused as `claim` refuses, and also when `check` refuses it (given
    the upload, as declared and found no larger, and a reader of its bytes) — before anything is marked."""
    record, size = _arrived(principal, file_id, field)
    check(record, lambda: get_files().get(record.key))
    return _claim(uow, principal, [(record, size)], claimed_by, now)[0]


def _arrived(principal: Principal, file_id: str, where: str) -> tuple[UploadModel, int]:
    """The caller's pending upload `file_id` and its size, checked against what arrived."""
    try:
        record = UploadModel.get(file_id, consistent_read=True)
    except UploadModel.DoesNotExist:
        raise Unprocessable("unknown_file", f"No upload {file_id!r}: upload it with POST /v1/uploads first",
                            field=where) from None
    if record.owner_id != principal.user_id:
        raise Forbidden("not_your_upload", "Only its uploader may attach a file")
    if record.status != PENDING:
        raise Conflict("upload_claimed", "This file is attached already; upload it again to attach it twice")
    found = get_files().head(record.key)
    if found is None:
        raise Conflict("upload_incomplete", "The file has not arrived yet: post it to the upload form first")
    size, content_type = found
    if size > int(record.size):
        raise Unprocessable("upload_too_large", f"The file is {size} bytes, more than the {int(record.size)} "
                                                "declared", field=where)
    if content_type != record.content_type:
        raise Unprocessable("upload_type_mismatch", f"The file arrived as {content_type}, not the declared "
                                                    f"{record.content_type}", field=where)
    _check_type(record.filename, content_type)
    return record, size


def _claim(uow: UnitOfWork, principal: Principal, arrived: list[tuple[UploadModel, int]], claimed_by: str,
           now: datetime) -> list[dict]:
    files = get_files()
    claimed = []
    for record, size in arrived:
        if record.content_type in IMAGES and record.width is None:
            record = process(record.key) or record
        uow.update(record, [UploadModel.status.set(CLAIMED), UploadModel.claimed_by.set(claimed_by),
                            UploadModel.claimed_at.set(clock.iso(now)), UploadModel.size.set(size),
                            UploadModel.expires_at.remove()],
                   condition=(UploadModel.status == PENDING) & (UploadModel.owner_id == principal.user_id),
                   on_fail=Conflict("upload_claimed", "This file was attached meanwhile"))
        claimed.append(describe(record, size=size))
    for record_key in (f["key"] for f in claimed):
        files.mark(record_key, claimed=True)  # before the commit: a lost commit leaves a kept orphan, never a gap
    for f in claimed:
        if f.get("thumbnail_key"):
            files.mark(f["thumbnail_key"], claimed=True)
    return claimed


def describe(record: UploadModel, *, size: int | None = None) -> dict:
    return {"id": record.id, "key": record.key, "filename": record.filename,
            "size": int(size if size is not None else record.size), "content_type": record.content_type,
            "width": None if record.width is None else int(record.width),
            "height": None if record.height is None else int(record.height),
            "thumbnail_key": record.thumbnail_key}


def process(key: str) -> UploadModel | None:
    """An uploaded image's pixel size and thumbnail, recorded on its item (safe to run twice); None when the key is
    no upload's or the file is no image. A file that does not decode as an image of its type is left as it is:
    its claim refuses it."""
    from PIL import Image, UnidentifiedImageError

    if not key.startswith(FILES_PREFIX):
        return None
    try:
        record = UploadModel.get(key.removeprefix(FILES_PREFIX), consistent_read=True)
    except UploadModel.DoesNotExist:
        return None
    if record.content_type not in IMAGES or record.width is not None:
        return record
    files = get_files()
    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    try:
        with Image.open(io.BytesIO(files.get(key))) as image:
            width, height = image.size
            image.thumbnail(THUMBNAIL_PIXELS)
            thumbnail = io.BytesIO()
            image.convert("RGBA" if image.mode in ("RGBA", "LA", "P") else "RGB").save(thumbnail, "PNG")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        logger.warning("upload is not a readable image", extra={"upload_id": record.id})
        return record
    thumbnail_key = f"{THUMBNAILS_PREFIX}{record.id}.png"
    files.put(thumbnail_key, thumbnail.getvalue(), "image/png")
    files.mark(thumbnail_key, claimed=record.status == CLAIMED)
    record.update(actions=[UploadModel.width.set(width), UploadModel.height.set(height),
                           UploadModel.thumbnail_key.set(thumbnail_key)])
    if record.status == CLAIMED:  # claimed while the thumbnail was made: keep it too
        files.mark(thumbnail_key, claimed=True)
    return record


def keys_of(messages: list[str]) -> list[str]:
    """The object keys S3 event notifications name (their keys are URL-encoded; a test event names none)."""
    keys = []
    for body in messages:
        try:
            records = json.loads(body).get("Records", [])
        except (ValueError, AttributeError):
            logger.warning("not an S3 event notification")
            continue
        keys += [urllib.parse.unquote_plus(r["s3"]["object"]["key"]) for r in records
                 if r.get("eventName", "").startswith("ObjectCreated") and "s3" in r]
    return keys


def on_stored(keys: list[str]) -> dict:
    """The bucket's event: make the new uploads' thumbnails."""
    return {"processed": sum(1 for key in keys if process(key) is not None)}


def get(principal: Principal, upload_id: str) -> dict:
    """The file with short-lived download links (and its thumbnail's), for whoever may see it."""
    record = _visible(principal, upload_id)
    files = get_files()
    thumbnail = files.link(record.thumbnail_key, f"{os.path.splitext(record.filename)[0]}.png", "image/png") \
        if record.thumbnail_key else None
    return {**{k: v for k, v in describe(record).items() if k not in ("key", "thumbnail_key")},
            "status": record.status, "claimed_by": record.claimed_by, "created_at": record.created_at,
            "download_url": files.link(record.key, record.filename, record.content_type),
            "thumbnail_url": thumbnail, "expires_in_seconds": settings.download_link_seconds}


def link(stored: dict) -> dict:
    """A short-lived link to a file as a delivery keeps it."""
    return {"url": get_files().link(stored["key"], stored["filename"], stored.get("content_type", ANY_FILE)),
            "expires_in_seconds": settings.download_link_seconds, "filename": stored["filename"]}


def _visible(principal: Principal, upload_id: str) -> UploadModel:
    try:
        record = UploadModel.get(upload_id)
    except UploadModel.DoesNotExist:
        raise NotFound("not_found", "No such file") from None
    if record.owner_id == principal.user_id or principal.is_operator:
        return record
    if record.status == CLAIMED and record.claimed_by:
        if record.claimed_by.startswith("ord_"):
            try:
                deals.role_of(principal, DealModel.get(record.claimed_by), "file")
            except DealModel.DoesNotExist:
                raise NotFound("not_found", "No such file") from None
            return record
        try:
            ConversationModel.get(principal.user_id, record.claimed_by)
            return record
        except ConversationModel.DoesNotExist:
            pass
    raise NotFound("not_found", "No such file")


def sweep(now: datetime) -> dict:
    """The local stage's part of the bucket's event and lifecycle rule: thumbnails for new images, and uploads
    nothing claimed within a day removed with their items. On AWS the bucket does both, and this does nothing."""
    if settings.files_bucket or not settings.is_local:
        return {"processed": 0, "removed": 0}
    folder = LocalFiles()._path(FILES_PREFIX)
    if not folder.is_dir():
        return {"processed": 0, "removed": 0}
    processed = removed = 0
    files = get_files()
    for path in sorted(folder.iterdir()):
        if path.suffix == ".type":
            continue
        key = f"{FILES_PREFIX}{path.name}"
        try:
            record = UploadModel.get(path.name, consistent_read=True)
        except UploadModel.DoesNotExist:
            record = None
        if record is None or (record.status == PENDING and clock.parse_iso(record.created_at) + UNCLAIMED_FOR <= now):
            if record is not None:
                try:  # the item first, while still unclaimed: a claim racing the sweep wins or fails whole
                    record.delete(condition=UploadModel.status == PENDING)
                except DeleteError:
                    continue
                if record.thumbnail_key:
                    files.delete(record.thumbnail_key)
            files.delete(key)
            removed += 1
        elif record.content_type in IMAGES and record.width is None:
            processed += process(key) is not None
    return {"processed": processed, "removed": removed}

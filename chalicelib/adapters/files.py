"""Deliverable files (a project's zip, the files delivered with a gig order): kept in an S3 bucket on
AWS (`FILES_BUCKET`) and in a local folder otherwise (`FILES_DIR`), handed out only through
short-lived download links — an S3 presigned URL, or locally a signed token for
`GET /v1/files/{token}` that expires by the application clock and names the key that signed it (`kid`), so it
still downloads after the key rotates.

What a caller names a file is reduced to a safe name before it is stored (`safe_filename`), and the
download's `Content-Disposition` is built with RFC 6266 / RFC 5987 quoting (`content_disposition`),
so no name can break the header or make a file undownloadable. A zip must be a real one whose
central directory an unpacker can walk without harm (`check_zip`)."""
from __future__ import annotations

import io
import os
import re
import stat
import unicodedata
import urllib.parse
import zipfile
from pathlib import Path
from typing import Protocol

import boto3

from chalicelib.platform import clock, secret_store
from chalicelib.platform.config import settings
from chalicelib.platform.errors import Forbidden, Unprocessable

ZIP, ANY_FILE = "application/zip", "application/octet-stream"

# What `POST /v1/uploads` takes: each content type with the extensions a name of that type may end in (the
# local stage serves them as binary types).
UPLOAD_TYPES: dict[str, tuple[str, ...]] = {
    "image/png": (".png",),
    "image/jpeg": (".jpg", ".jpeg"),
    "image/gif": (".gif",),
    "image/webp": (".webp",),
    "application/pdf": (".pdf",),
    "application/zip": (".zip",),
    "text/plain": (".txt", ".md"),
    "text/csv": (".csv",),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (".docx",),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (".xlsx",),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": (".pptx",),
    "video/mp4": (".mp4",),
    "audio/mpeg": (".mp3",),
}
IMAGES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})


# Uploads waiting for a claim carry this tag on S3; the bucket's lifecycle rule removes them a day later.
UNCLAIMED_TAG = ("state", "unclaimed")
_UNCLAIMED_TAGGING = f"<Tagging><TagSet><Tag><Key>{UNCLAIMED_TAG[0]}</Key><Value>{UNCLAIMED_TAG[1]}</Value></Tag>" \
    "</TagSet></Tagging>"


class Files(Protocol):
    def put(self, key: str, data: bytes, content_type: str) -> None: ...

    def link(self, key: str, filename: str, content_type: str = ZIP) -> str: ...

    def get(self, key: str) -> bytes: ...

    def presigned_post(self, key: str, content_type: str, max_bytes: int) -> dict: ...

    def head(self, key: str) -> tuple[int, str] | None: ...

    def mark(self, key: str, *, claimed: bool) -> None: ...

    def delete(self, key: str) -> None: ...


MAX_FILENAME_CHARS = 150
# Characters no stored name keeps: quotes and separators break headers and paths, and the rest mean
# something to a shell or a file system.
_JOINERS = "\u200c\u200d"  # zero-width (non-)joiners: Persian words need them
_UNSAFE_CHARS = re.compile(r'["\'\\/:;*?<>|`$]')


def safe_filename(name: str, *, suffix: str = "") -> str:
    """A name safe to store, show and send in a header: no control or format characters (CR, LF, NUL,
    bidi overrides), no quotes or path separators, no leading dots, at most MAX_FILENAME_CHARS
    characters, and ending in `suffix` (`.zip`) when one is given."""
    name = unicodedata.normalize("NFC", name)
    kept = "".join(" " if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") and ch not in _JOINERS else ch
                   for ch in name)
    kept = " ".join(_UNSAFE_CHARS.sub("_", kept).split()).lstrip(". ")
    if suffix and kept.lower().endswith(suffix):
        kept = kept[: -len(suffix)]
    return (kept[: MAX_FILENAME_CHARS - len(suffix)].rstrip(". ") or "file") + suffix


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback `filename` and the exact UTF-8 name in `filename*` (RFC 6266, 5987)."""
    name = safe_filename(filename)
    stem, extension = os.path.splitext(name)
    ascii_stem = " ".join(unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode().split())
    ascii_extension = extension.encode("ascii", "ignore").decode()
    fallback = (ascii_stem.strip(". ") or "file") + ascii_extension
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{urllib.parse.quote(name, safe='')}"


ZIP_LOCAL_HEADER = b"PK\x03\x04"


def check_zip(data: bytes, *, filename: str, max_entries: int, max_unpacked_bytes: int, field: str,
              name_field: str = "filename") -> None:
    """A real zip named `.zip` whose central directory is safe to unpack, or a 422 naming `field` (or
    `name_field`): the file starts with its first entry's local header and every entry's header is where
    the directory says (a zip reader finds an archive appended to anything, an executable's MZ header
    included: that file is not a zip), every entry a relative path without `..`, no links, at most
    `max_entries` entries and `max_unpacked_bytes` declared unpacked bytes together (a zip bomb declares its
    size here; Python refuses to unpack more than an entry declares)."""
    def refuse(code: str, message: str) -> Unprocessable:
        return Unprocessable(code, message, field=field)

    if not filename.strip().lower().endswith(".zip"):
        raise Unprocessable("not_a_zip", "The deliverable's name must end in .zip", field=name_field)
    if not data.startswith(ZIP_LOCAL_HEADER) or not zipfile.is_zipfile(io.BytesIO(data)):
        raise refuse("not_a_zip", "The deliverable must be a zip archive")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError):
        raise refuse("not_a_zip", "The zip archive's directory cannot be read") from None
    # zipfile shifts every offset by whatever precedes the archive: a first entry not at 0 means bytes before it
    if (not entries or min(entry.header_offset for entry in entries) != 0
            or any(data[entry.header_offset:entry.header_offset + 4] != ZIP_LOCAL_HEADER for entry in entries)):
        raise refuse("not_a_zip", "The zip archive must start with its first entry, with nothing before it")
    if len(entries) > max_entries:
        raise refuse("zip_too_many_entries", f"A zip may hold at most {max_entries} entries")
    if sum(entry.file_size for entry in entries) > max_unpacked_bytes:
        raise refuse("zip_too_large_unpacked", f"A zip may unpack to at most {max_unpacked_bytes} bytes")
    for entry in entries:
        name = entry.filename
        parts = re.split(r"[\\/]", name)
        if (name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or ".." in parts or "\0" in name):
            raise refuse("zip_unsafe_path", f"The zip entry {name[:100]!r} points outside the archive's folder")
        if stat.S_ISLNK(entry.external_attr >> 16):
            raise refuse("zip_unsafe_path", f"The zip entry {name[:100]!r} is a symbolic link")


class LocalFiles:
    def _path(self, key: str) -> Path:
        return Path(settings.files_dir) / key

    def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    def link(self, key: str, filename: str, content_type: str = ZIP) -> str:
        import jwt

        expires = int(clock.now().timestamp()) + settings.download_link_seconds
        kid, signing = secret_store.signing_key()
        token = jwt.encode({"key": key, "name": filename, "type": content_type, "until": expires, "use": "download"},
                           signing, algorithm="HS256", headers={"kid": kid})
        return f"/v1/files/{token}"

    def get(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def presigned_post(self, key: str, content_type: str, max_bytes: int) -> dict:
        """The same form as S3's presigned POST, for `POST /v1/files` of this stage: the signed `policy` names
        the key, the content type and the largest size, and expires by the application clock."""
        import jwt

        until = int(clock.now().timestamp()) + settings.upload_post_seconds
        policy = jwt.encode({"key": key, "type": content_type, "max": max_bytes, "until": until, "use": "upload"},
                            settings.jwt_secret, algorithm="HS256")
        return {"url": f"{settings.app_url.rstrip('/')}/v1/files",
                "fields": {"key": key, "Content-Type": content_type, "policy": policy}}

    def receive(self, fields: dict[str, str], data: bytes) -> None:
        """Store a file posted with a form from `presigned_post`, as S3 would: a forged or expired policy is a
        403, a key or type other than the policy's a 403, a file larger than it allows a 422."""
        import jwt

        try:
            claims = jwt.decode(fields.get("policy", ""), settings.jwt_secret, algorithms=["HS256"])
        except jwt.PyJWTError:
            raise Forbidden("invalid_policy", "This upload form is not valid") from None
        if claims.get("use") != "upload" or int(claims["until"]) < clock.now().timestamp():
            raise Forbidden("expired_policy", "This upload form has expired; ask for a new one")
        if fields.get("key") != claims["key"] or fields.get("Content-Type") != claims["type"]:
            raise Forbidden("invalid_policy", "The form's key and Content-Type must be the policy's")
        if not 1 <= len(data) <= int(claims["max"]):
            raise Unprocessable("file_too_large", f"The file must be 1 to {claims['max']} bytes", field="file")
        self.put(claims["key"], data, claims["type"])
        self._path(claims["key"] + ".type").write_text(claims["type"], encoding="utf-8")

    def head(self, key: str) -> tuple[int, str] | None:
        path = self._path(key)
        if not path.is_file():
            return None
        kind = self._path(key + ".type")
        return path.stat().st_size, kind.read_text(encoding="utf-8") if kind.is_file() else ANY_FILE

    def mark(self, key: str, *, claimed: bool) -> None:
        """Nothing to mark locally: the runner asks the uploads' items which files are claimed."""

    def delete(self, key: str) -> None:
        for path in (self._path(key), self._path(key + ".type")):
            path.unlink(missing_ok=True)

    def read(self, token: str) -> tuple[bytes, str, str]:
        """The file behind a local download link, its name and type; a forged or expired link is a 403."""
        import jwt

        try:
            verifying = secret_store.verifying_key(jwt.get_unverified_header(token).get("kid"))
            if verifying is None:
                raise Forbidden("invalid_link", "This download link is not valid")
            claims = jwt.decode(token, verifying, algorithms=["HS256"])
        except jwt.PyJWTError:
            raise Forbidden("invalid_link", "This download link is not valid") from None
        if claims.get("use") != "download" or int(claims["until"]) < clock.now().timestamp():
            raise Forbidden("expired_link", "This download link has expired; ask for a new one")
        return self._path(claims["key"]).read_bytes(), claims["name"], claims.get("type", ZIP)


class S3Files:
    def __init__(self) -> None:
        self._s3 = boto3.client("s3", region_name=settings.region)

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self._s3.put_object(Bucket=settings.files_bucket, Key=key, Body=data, ContentType=content_type)

    def get(self, key: str) -> bytes:
        return bytes(self._s3.get_object(Bucket=settings.files_bucket, Key=key)["Body"].read())

    def presigned_post(self, key: str, content_type: str, max_bytes: int) -> dict:
        """S3's presigned POST: only this key, this content type, 1 to `max_bytes` bytes, tagged unclaimed."""
        post = self._s3.generate_presigned_post(
            settings.files_bucket, key, ExpiresIn=settings.upload_post_seconds,
            Fields={"Content-Type": content_type, "tagging": _UNCLAIMED_TAGGING},
            Conditions=[{"Content-Type": content_type}, {"tagging": _UNCLAIMED_TAGGING},
                        ["content-length-range", 1, max_bytes]])
        return {"url": post["url"], "fields": dict(post["fields"])}

    def head(self, key: str) -> tuple[int, str] | None:
        try:
            found = self._s3.head_object(Bucket=settings.files_bucket, Key=key)
        except self._s3.exceptions.ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return int(found["ContentLength"]), str(found.get("ContentType") or ANY_FILE)

    def mark(self, key: str, *, claimed: bool) -> None:
        """Tag the object claimed (the lifecycle rule leaves it) or unclaimed (it removes it a day later)."""
        value = "claimed" if claimed else UNCLAIMED_TAG[1]
        self._s3.put_object_tagging(Bucket=settings.files_bucket, Key=key,
                                    Tagging={"TagSet": [{"Key": UNCLAIMED_TAG[0], "Value": value}]})

    def delete(self, key: str) -> None:
        self._s3.delete_object(Bucket=settings.files_bucket, Key=key)

    def link(self, key: str, filename: str, content_type: str = ZIP) -> str:
        return self._s3.generate_presigned_url(
            "get_object", ExpiresIn=settings.download_link_seconds,
            Params={"Bucket": settings.files_bucket, "Key": key, "ResponseContentType": content_type,
                    "ResponseContentDisposition": content_disposition(filename)})


def get_files() -> Files:
    return S3Files() if settings.files_bucket else LocalFiles()

"""Deliverable files (a project's zip, the files delivered with a gig order): kept in an S3 bucket on
AWS (`FILES_BUCKET`) and in a local folder otherwise (`FILES_DIR`), handed out only through
short-lived download links — an S3 presigned URL, or locally a signed token for
`GET /v1/files/{token}` that expires by the application clock."""
from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import Protocol

import boto3

from chalicelib import clock
from chalicelib.config import settings
from chalicelib.errors import Forbidden, Unprocessable

ZIP, ANY_FILE = "application/zip", "application/octet-stream"


class Files(Protocol):
    def put(self, key: str, data: bytes, content_type: str) -> None: ...

    def link(self, key: str, filename: str, content_type: str = ZIP) -> str: ...


def decode_upload(content_base64: str, *, max_bytes: int, field: str) -> bytes:
    """An uploaded file's bytes, or a 422 naming `field` when it is not base64 or too large."""
    try:
        data = base64.b64decode(content_base64, validate=True)
    except (binascii.Error, ValueError):
        raise Unprocessable("validation_error", f"{field} is not valid base64", field=field) from None
    if len(data) > max_bytes:
        raise Unprocessable("file_too_large", f"The file may be at most {max_bytes} bytes", field=field)
    return data


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
        token = jwt.encode({"key": key, "name": filename, "type": content_type, "until": expires, "use": "download"},
                           settings.jwt_secret, algorithm="HS256")
        return f"/v1/files/{token}"

    def read(self, token: str) -> tuple[bytes, str, str]:
        """The file behind a local download link, its name and type; a forged or expired link is a 403."""
        import jwt

        try:
            claims = jwt.decode(token, settings.jwt_secret, algorithms=["HS256"])
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

    def link(self, key: str, filename: str, content_type: str = ZIP) -> str:
        return self._s3.generate_presigned_url(
            "get_object", ExpiresIn=settings.download_link_seconds,
            Params={"Bucket": settings.files_bucket, "Key": key, "ResponseContentType": content_type,
                    "ResponseContentDisposition": f'attachment; filename="{filename}"'})


def get_files() -> Files:
    return S3Files() if settings.files_bucket else LocalFiles()

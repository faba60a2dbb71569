"""Vchasno (the e-document service), behind one small interface: whether a company has a Vchasno
account (by EDRPOU or RNOKPP), and uploading a document for it to sign (the acts of the next issue).

On AWS `VCHASNO_URL` is Vchasno's API (`Authorization: <VCHASNO_TOKEN>`): the company check is
`GET <VCHASNO_URL>/api/v2/companies/<tax_id>` (200 when the company is registered, 404 when not) and an
upload is `POST <VCHASNO_URL>/api/v2/documents` (multipart, the PDF as `file`, the recipient's tax id as
`recipient_edrpou`), answered with the document's id. Locally a fake knows the tax ids listed in
`VCHASNO_LOCAL_FILE` (`python -m infra.local.vchasno add <tax_id>`) and keeps uploads beside it.
"""
from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Protocol

from chalicelib.platform import outgoing, secret_store
from chalicelib.platform.config import settings
from chalicelib.platform.errors import UpstreamUnavailable


class Vchasno(Protocol):
    def has_account(self, tax_id: str) -> bool: ...

    def upload(self, tax_id: str, filename: str, pdf: bytes) -> str: ...


class LocalVchasno:
    """Known accounts in a JSON file: `{"accounts": ["32855961", ...]}`."""

    @property
    def _path(self) -> Path:
        return Path(settings.vchasno_local_file)

    def accounts(self) -> list[str]:
        try:
            return list(json.loads(self._path.read_text(encoding="utf-8")).get("accounts", []))
        except FileNotFoundError:
            return []

    def add(self, tax_id: str) -> None:
        known = sorted({*self.accounts(), tax_id})
        self._path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self._path.with_suffix(".tmp")
        temporary.write_text(json.dumps({"accounts": known}), encoding="utf-8")
        temporary.replace(self._path)

    def has_account(self, tax_id: str) -> bool:
        return tax_id in self.accounts()

    def upload(self, tax_id: str, filename: str, pdf: bytes) -> str:
        document_id = str(uuid.uuid4())
        folder = self._path.parent / "documents" / tax_id
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{document_id}-{filename}").write_bytes(pdf)
        return document_id


class HttpVchasno:
    def _open(self, request: urllib.request.Request) -> dict | None:
        request.add_header("Authorization", secret_store.current("vchasno-token"))
        try:
            with outgoing.urlopen(request, timeout=15) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return None
            raise UpstreamUnavailable(message="Vchasno did not answer; try again later") from None
        except (urllib.error.URLError, TimeoutError, ValueError):
            raise UpstreamUnavailable(message="Vchasno did not answer; try again later") from None

    def has_account(self, tax_id: str) -> bool:
        url = f"{settings.vchasno_url.rstrip('/')}/api/v2/companies/{tax_id}"
        return self._open(urllib.request.Request(url, headers={"Accept": "application/json"})) is not None

    def upload(self, tax_id: str, filename: str, pdf: bytes) -> str:
        boundary = uuid.uuid4().hex
        field = "Content-Disposition: form-data; name="
        parts = [f"--{boundary}\r\n{field}\"recipient_edrpou\"\r\n\r\n{tax_id}\r\n".encode(),
                 f"--{boundary}\r\n{field}\"file\"; filename=\"{filename}\"\r\n"
                 "Content-Type: application/pdf\r\n\r\n".encode() + pdf + b"\r\n", f"--{boundary}--\r\n".encode()]
        request = urllib.request.Request(f"{settings.vchasno_url.rstrip('/')}/api/v2/documents", data=b"".join(parts),
                                         method="POST",
                                         headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
        answer = self._open(request) or {}
        return str(answer.get("id") or answer.get("document_id") or "")


def get_vchasno() -> Vchasno:
    """The HTTP API on every deployed stage (unset, it answers 503); the local fake on the local stage."""
    return HttpVchasno() if settings.vchasno_url or not settings.is_local else LocalVchasno()

"""Helpers shared by the test suites: signed webhooks, the books' invariants, users."""
from __future__ import annotations

import copy
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chalicelib.services import audit

if TYPE_CHECKING:
    import pytest

    from chalicelib.platform.config import Settings

BANK_SECRET = "local-bank-secret"


def bind_fresh_store(monkeypatch: pytest.MonkeyPatch, *, endpoint: str | None, prefix: str, mail_dir: str) -> Settings:
    """Point the service at new, empty tables under `prefix`, mail into `mail_dir`, the clock at real time."""
    from chalicelib.platform import clock, config
    from chalicelib.services import invoices
    from chalicelib.store import models, tables

    monkeypatch.setenv("TABLE_PREFIX", prefix)
    monkeypatch.setenv("MAIL_SINK_DIR", mail_dir)
    monkeypatch.setenv("ACQUIRER_LOCAL_DIR", str(Path(mail_dir).parent / "acquirer"))  # the fake acquirer's files
    settings = config.reload()
    models.bind(settings)
    if endpoint is None:
        _restore_moto_tables(settings.region, settings.table_prefix)
    else:
        tables.create_tables(endpoint_url=endpoint, region=settings.region, prefix=settings.table_prefix)
    clock.reset()
    monkeypatch.setattr(invoices, "_blocks", invoices._Blocks())  # new tables: a new environment's numbers
    return settings


# moto's empty tables, made once per test process and copied into each test's fresh moto: creating 25 tables
# through botocore and moto took most of a small test's time.
_MOTO_TABLES: dict[tuple[str, str], Any] = {}


def _restore_moto_tables(region: str, prefix: str) -> None:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    from chalicelib.store import tables

    backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][region]
    made = _MOTO_TABLES.get((region, prefix))
    if made is None:
        tables.create_tables(endpoint_url=None, region=region, prefix=prefix)
        _MOTO_TABLES[region, prefix] = copy.deepcopy(backend.tables)
    else:
        backend.tables = copy.deepcopy(made)


def sign(body: bytes, *, secret: str = BANK_SECRET, at: int | None = None) -> str:
    timestamp = str(int(time.time()) if at is None else at)
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def transfer_event(event_id: str, amount: int, currency: str, purpose: str) -> bytes:
    return json.dumps({
        "event_id": event_id, "type": "transfer.incoming", "amount": amount, "currency": currency,
        "purpose": purpose, "payer": {"name": "ACME GmbH", "iban": "DE89370400440532013000"},
        "received_at": "2026-11-22T10:00:00Z",
    }).encode()


def assert_sums_zero() -> None:
    """Every currency sums to zero and no user balance is negative."""
    violations = audit.sums_violations()
    assert violations == [], "books do not balance:\n" + "\n".join(violations)


def assert_books_balance(*, holds_are_escrow: bool = True) -> None:
    """The sums hold, every account's balance equals the sum of its journal lines, and (unless the
    test makes holds of its own) what each user holds is exactly the escrow of their open deals and
    pending payouts (`chalicelib.services.audit`)."""
    violations = audit.books_violations(holds_are_escrow=holds_are_escrow)
    assert violations == [], "books do not balance:\n" + "\n".join(violations)


def confirmation_token(user_id: str) -> str:
    """The token of the latest confirmation link e-mailed to the account (before its e-mail is sent)."""
    from chalicelib.notify import links
    from chalicelib.store.models import NotificationModel

    seeds = [record.params[links.SEED] for record in NotificationModel.query(user_id, scan_index_forward=False)
             if record.kind == "email_confirmation" and links.SEED in record.params]
    return links.one_time_token(seeds[0])


def stream_insert(record: Any) -> dict:
    """A notification's INSERT as the notifications table's stream hands it to Lambda (keys and new image)."""
    return {"eventID": record.id, "eventName": "INSERT", "eventSource": "aws:dynamodb", "awsRegion": "eu-central-1",
            "eventSourceARN": "arn:aws:dynamodb:eu-central-1:000000000000:table/notifications/stream/1",
            "dynamodb": {"Keys": {"user_id": {"S": record.user_id}, "id": {"S": record.id}},
                         "NewImage": record.serialize(), "ApproximateCreationDateTime": time.time(),
                         "SequenceNumber": "1", "SizeBytes": 100, "StreamViewType": "NEW_IMAGE"}}


_HANDED: set[tuple[str, str]] = set()  # what `play_stream` handed over: a notification written `not_emailed` stays so


def play_stream() -> dict[str, int]:
    """Play the notifications table's stream as Lambda does after each write: hand the stream function, in
    batches of 50, the INSERT of every notification no batch has taken yet (`pending` and in no retry queue, or
    written `not_emailed` and not handed over yet), again until the broadcasts' copies are handed over too.
    Returns its outcomes summed."""
    import app as app_module
    from chalicelib.notify.outbox import NOT_EMAILED, PENDING
    from chalicelib.store.models import NotificationModel
    from infra.local.events import LambdaContext

    outcome: dict[str, int] = {}
    for _ in range(10):  # the broadcasts' copies are a second round; a third would be a handler that settles nothing
        new = [record for record in NotificationModel.scan(consistent_read=True)
               if (record.email_state == PENDING and record.email_queue is None)
               or (record.email_state == NOT_EMAILED and (record.user_id, record.id) not in _HANDED)]
        _HANDED.update((record.user_id, record.id) for record in new)
        if not new:
            return outcome
        for start in range(0, len(new), 50):
            done = app_module.on_notification_record({"Records": [stream_insert(r) for r in new[start:start + 50]]},
                                                     LambdaContext("on_notification_record", "eu-central-1"))
            for result, count in done.items():
                outcome[result] = outcome.get(result, 0) + count
    raise AssertionError(f"the stream handler left notifications unsettled: {outcome}")


def sent_links(kind: str) -> list[str]:
    """Play the stream (every pending e-mail sent), then the one-time links of every e-mail of `kind` in the
    mail sink: the links exist only there, never in a stored notification."""
    import email
    import re
    from email import policy
    from pathlib import Path

    from chalicelib.notify import links
    from chalicelib.platform import config
    from chalicelib.store.models import NotificationModel

    play_stream()
    ids = {record.id for record in NotificationModel.scan() if record.kind == kind}
    prefix = re.escape(config.settings.app_url + links.ONE_TIME_PATHS[kind].split("{")[0])
    found = []
    for path in sorted(Path(config.settings.mail_sink_dir).glob("*.eml")):
        if any(path.stem.endswith(notification_id) for notification_id in ids):
            message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
            found += re.findall(rf'href="({prefix}[\w-]+)"', message.get_body(("html",)).get_content())
    return found


class Api:
    """A thin JSON client over chalice.test.Client for readable tests."""

    def __init__(self, client) -> None:
        self.client = client

    def request(self, method: str, path: str, body=None, *, token: str | None = None, headers=None,
                raw: bytes | None = None):
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        payload = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
        return getattr(self.client.http, method.lower())(path, headers=all_headers, body=payload)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body, **kw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def signup(self, email: str, *, locale: str = "en", name: str = "Test User", confirmed: bool = True) -> str:
        """A new account's token; its address confirmed by the e-mailed link unless `confirmed=False`."""
        response = self.post("/v1/auth/signup", {"email": email, "password": "correct horse", "name": name,
                                                  "locale": locale})
        assert response.status_code == 201, response.body
        if confirmed:
            self.confirm_email(response.json_body["user"]["id"])
        return response.json_body["token"]

    def confirm_email(self, user_id: str) -> None:
        """Use the confirmation link e-mailed to the account (made from its notification's seed, as the e-mail is)."""
        response = self.post("/v1/auth/email-confirmation/confirm", {"token": confirmation_token(user_id)})
        assert response.status_code == 200, response.body

    def invoice(self, token: str, amount: int = 150000, currency: str = "USD") -> dict:
        response = self.post("/v1/invoices", {"amount": amount, "currency": currency}, token=token)
        assert response.status_code == 201, response.body
        return response.json_body

    def webhook(self, body: bytes, *, signature: str | None = None):
        return self.post("/v1/webhooks/bank", raw=body, headers={"X-Bank-Signature": signature or sign(body)})

    def balance(self, token: str, currency: str = "USD") -> tuple[int, int]:
        items = self.get("/v1/balances", token=token).json_body["items"]
        line = next(item for item in items if item["currency"] == currency)
        return line["available"], line["held"]


def place_order(api: Api, deal: dict) -> dict:
    response = api.post("/v1/orders", {"gig_id": deal["gig"]["id"]}, token=deal["client"])
    assert response.status_code == 201, response.body
    return response.json_body


def act(api: Api, token: str, order: dict, action: str, body=None):
    return api.post(f"/v1/orders/{order['id']}/{action}", body, token=token)


def run_jobs(api: Api) -> dict:
    return api.post("/dev/jobs/run").json_body["jobs"]


def multipart(fields: dict[str, str], data: bytes, filename: str = "file") -> tuple[bytes, str]:
    """A multipart/form-data body as a browser posts a presigned upload form: the fields, then `file`."""
    boundary = "escrowdesk-test-boundary"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
             for name, value in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                 f"Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def declare_upload(api: Api, token: str, filename: str, size: int, content_type: str):
    return api.post("/v1/uploads", {"filename": filename, "size": size, "content_type": content_type}, token=token)


def post_upload_form(api: Api, declared: dict, data: bytes):
    """Post the file to the form `POST /v1/uploads` answered (the local stage's own `POST /v1/files`)."""
    from urllib.parse import urlsplit

    body, content_type = multipart(declared["upload"]["fields"], data)
    return api.post(urlsplit(declared["upload"]["url"]).path, raw=body, headers={"Content-Type": content_type})


def upload(api: Api, token: str, filename: str, data: bytes, content_type: str = "text/plain") -> str:
    """An uploaded file's id, ready to attach."""
    declared = declare_upload(api, token, filename, len(data), content_type)
    assert declared.status_code == 201, declared.body
    posted = post_upload_form(api, declared.json_body, data)
    assert posted.status_code == 204, posted.body
    return declared.json_body["id"]


def upload_over_http(base_url: str, headers: dict, filename: str, data: bytes, content_type: str) -> str:
    """An uploaded file's id, ready to attach, on a running stage: declared, then posted to the form it answered
    as a browser posts it."""
    import requests

    declared = requests.post(f"{base_url}/v1/uploads", json={"filename": filename, "size": len(data),
                                                             "content_type": content_type}, headers=headers, timeout=30)
    assert declared.status_code == 201, declared.text
    form = declared.json()["upload"]
    posted = requests.post(form["url"], data=form["fields"], files={"file": (filename, data)}, timeout=30)
    assert posted.status_code == 204, posted.text
    return declared.json()["id"]


def png(width: int = 40, height: int = 30) -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 40, 40)).save(out, "PNG")
    return out.getvalue()

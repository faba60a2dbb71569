"""Helpers shared by the test suites: signed webhooks, the books' invariants, users."""
from __future__ import annotations

import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

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
    tables.create_tables(endpoint_url=endpoint, region=settings.region, prefix=settings.table_prefix)
    clock.reset()
    monkeypatch.setattr(invoices, "_blocks", invoices._Blocks())  # new tables: a new environment's numbers
    return settings


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

    def signup(self, email: str, *, locale: str = "en", name: str = "Test User") -> str:
        response = self.post("/v1/auth/signup", {"email": email, "password": "correct horse", "name": name,
                                                  "locale": locale})
        assert response.status_code == 201, response.body
        return response.json_body["token"]

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

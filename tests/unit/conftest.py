"""Unit tests run the service layer on moto's in-memory DynamoDB: fresh tables per test."""
from __future__ import annotations

import boto3
import pynamodb.connection.base
import pytest
from moto import mock_aws

from chalicelib.platform import clock
from tests.support import bind_fresh_store

_SESSION: list[boto3.session.Session] = []


def _shared_session() -> boto3.session.Session:
    """One boto3 session for the whole process. moto gives every test a new default session, and PynamoDB a
    new botocore session to every connection: each loaded the services' models from disk again."""
    if not _SESSION:
        _SESSION.append(boto3.session.Session())
    return _SESSION[0]


@pytest.fixture(autouse=True)
def store(monkeypatch, tmp_path):
    monkeypatch.delenv("DYNAMODB_HOST", raising=False)
    monkeypatch.delenv("CLOCK_FILE", raising=False)
    monkeypatch.setenv("MAIL_TRANSPORT", "sink")
    monkeypatch.setenv("BANK_OUTBOX_DIR", str(tmp_path / "bank"))
    monkeypatch.setenv("FILES_DIR", str(tmp_path / "files"))
    monkeypatch.setenv("DOMAINS_LOCAL_FILE", str(tmp_path / "domains" / "published.json"))
    monkeypatch.setenv("TIMER_WORKERS", "1")  # moto's in-memory tables are not thread-safe; DynamoDB Local's are
    monkeypatch.setenv("CATALOG_QUERY_THREADS", "1")
    with mock_aws():
        session = _shared_session()
        monkeypatch.setattr(boto3, "DEFAULT_SESSION", session)
        monkeypatch.setattr(pynamodb.connection.base, "get_session", lambda: session._session)
        yield bind_fresh_store(monkeypatch, endpoint=None, prefix="unit-", mail_dir=str(tmp_path / "mail"))
    clock.reset()


@pytest.fixture
def operator_token(api):
    from chalicelib.services import accounts

    accounts.create_operator("ops@escrowdesk.local", "operator-pass")
    response = api.post("/v1/auth/login", {"email": "ops@escrowdesk.local", "password": "operator-pass"})
    return response.json_body["token"]


@pytest.fixture
def deal(api):
    """Given a contractor's 100.00 USD gig (3 days) and a client with 250.00 USD."""
    from tests.support import transfer_event

    contractor = api.signup("seller@example.com", name="Seller")
    client = api.signup("buyer@example.com", name="Buyer")
    gig = api.post("/v1/gigs", {"title": "Logo", "description": "A logo", "amount": 10000, "currency": "USD",
                                "delivery_days": 3}, token=contractor)
    assert gig.status_code == 201, gig.body
    invoice = api.invoice(client, 25000, "USD")
    api.webhook(transfer_event("evt-fund", 25000, "USD", invoice["payment_details"]))
    client_id = api.get("/v1/me", token=client).json_body["id"]
    return {"contractor": contractor, "client": client, "gig": gig.json_body, "client_id": client_id,
            "contractor_id": gig.json_body["contractor_id"]}


@pytest.fixture
def still_clock(monkeypatch):
    """The application clock moves only when the test moves it (`clock.advance`), not with the wall clock, so
    exact times (a payment link's 30 minutes) hold on a busy machine. Webhook freshness keeps the real clock."""
    from datetime import timedelta

    from chalicelib.platform import clock

    started = clock.wall()
    monkeypatch.setattr(clock, "now", lambda: started + timedelta(seconds=clock.offset()))

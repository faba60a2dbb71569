"""Unit tests run the service layer on moto's in-memory DynamoDB: fresh tables per test."""
from __future__ import annotations

import pytest
from moto import mock_aws

from chalicelib import clock
from tests.support import bind_fresh_store


@pytest.fixture(autouse=True)
def store(monkeypatch, tmp_path):
    monkeypatch.delenv("DYNAMODB_HOST", raising=False)
    monkeypatch.delenv("CLOCK_FILE", raising=False)
    monkeypatch.setenv("MAIL_TRANSPORT", "sink")
    with mock_aws():
        yield bind_fresh_store(monkeypatch, endpoint=None, prefix="unit-", mail_dir=str(tmp_path / "mail"))
    clock.reset()


@pytest.fixture
def operator_token(api):
    from chalicelib.services import accounts

    accounts.create_operator("ops@escrowdesk.local", "operator-pass")
    response = api.post("/v1/auth/login", {"email": "ops@escrowdesk.local", "password": "operator-pass"})
    return response.json_body["token"]

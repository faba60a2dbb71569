"""schemathesis against the served GET /openapi.json of the local stage: every operation, every
schema, as a signed-in user and (for the operator's routes) as an operator. No answer may be a 5xx,
every status must be documented, and every body — errors included — must match its schema (errors
are the API.md shape, `{"error": {"code", "message", "field"?}}`)."""
from __future__ import annotations

import subprocess
import sys
import uuid

import requests

CHECKS = "not_a_server_error,status_code_conformance,response_schema_conformance,content_type_conformance"


def _token(url: str, email: str | None = None, password: str = "correct horse") -> str:
    if email is None:
        answer = requests.post(f"{url}/v1/auth/signup", json={"email": f"st-{uuid.uuid4().hex[:8]}@example.com",
                                                                "password": password, "name": "Schemathesis"})
        return answer.json()["token"]
    return requests.post(f"{url}/v1/auth/login", json={"email": email, "password": password}).json()["token"]


def _schemathesis(url: str, token: str, *extra: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "schemathesis.cli", "run", f"{url}/openapi.json", "--checks", CHECKS,
               "-H", f"Authorization: Bearer {token}", "--max-examples", "10", "--seed", "20261123",
               "--workers", "2", "--no-color", *extra]
    return subprocess.run(command, capture_output=True, text=True, timeout=900)


def test_every_operation_as_a_user(local_stack):
    run = _schemathesis(local_stack.url, _token(local_stack.url))
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-5000:]
    assert "Selected: " in run.stdout and " passed" in run.stdout


def test_the_operators_routes_as_an_operator(local_stack):
    token = _token(local_stack.url, "operator@escrowdesk.local", "local-operator-pass")
    run = _schemathesis(local_stack.url, token, "--include-path-regex", "^/v1/operator/")
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-5000:]

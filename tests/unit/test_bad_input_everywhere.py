"""Every documented write endpoint, fed malformed or meaningless input by a signed-in user and by an
operator, never answers a 5xx and moves no money: a malformed body, or an unknown id in the path,
is a clear 4xx in the API's error shape. (`{}` may be valid where every field is optional.)"""
from __future__ import annotations

import json

import pytest

import app  # noqa: F401  (registers every route, so OPERATIONS is complete at collection)
from chalicelib.entrypoints.api.http import OPERATIONS
from tests.support import assert_books_balance, transfer_event

MALFORMED = [b"not json", b"[]"]
BODIES = [*MALFORMED, b"{}", json.dumps({"amount": "1", "currency": 5, "rating": None}).encode()]
WRITES = [op for op in OPERATIONS if op.method in ("POST", "PATCH", "PUT", "DELETE")]


def _path(template: str) -> str:
    path = template
    while "{" in path:
        start, end = path.index("{"), path.index("}")
        path = path[:start] + "zz_unknown" + path[end + 1:]
    return path


@pytest.mark.parametrize("operation", WRITES, ids=lambda op: f"{op.method} {op.path}")
def test_bad_input_is_a_clear_4xx_and_moves_nothing(api, operator_token, operation):
    user = api.signup("someone@example.com")
    api.webhook(transfer_event("evt-fund", 10000, "USD", api.invoice(user, 10000, "USD")["payment_details"]))
    for token in (user, operator_token):
        for body in BODIES:
            response = api.request(operation.method, _path(operation.path), token=token, raw=body)
            assert response.status_code < 500, (body, response.status_code, response.body)
            if "{" in operation.path or (operation.request is not None and body in MALFORMED):
                assert 400 <= response.status_code < 500, (body, response.status_code, response.body)
            if response.status_code >= 400 and operation.produces == "text/html":  # a page says it in HTML
                assert response.headers["Content-Type"].startswith("text/html"), response.headers
            elif response.status_code >= 400:
                assert set(response.json_body["error"]) >= {"code", "message"}, response.body
    again = api.post("/v1/auth/login", {"email": "someone@example.com", "password": "correct horse"})  # log-out
    assert api.balance(again.json_body["token"]) == (10000, 0)
    assert_books_balance()

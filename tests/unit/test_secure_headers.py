"""Answers that carry a token, key, link or secret are never cached (a shared proxy or the browser's cache would
hand them to the next reader); on a deployed stage every answer, JSON, page or error, tells the browser to use
HTTPS only (HSTS), so a first plain-HTTP visit cannot be downgraded and read."""
from __future__ import annotations

import pytest

from chalicelib.entrypoints.api.http import secure_headers
from chalicelib.platform import config
from tests.billing_support import add_tariffs, new_site


def _signed_up(api) -> tuple[str, object]:
    answer = api.post("/v1/auth/signup", {"email": "ann@example.com", "password": "correct horse", "name": "Ann",
                                          "locale": "en"})
    assert answer.status_code == 201
    return answer.json_body["token"], answer


def test_a_cache_between_us_and_the_caller_never_keeps_a_token_or_a_site_key(api, operator_token):
    token, signup = _signed_up(api)
    assert signup.headers["Cache-Control"] == "no-store"
    login = api.post("/v1/auth/login", {"email": "ann@example.com", "password": "correct horse"})
    assert login.status_code == 200 and login.headers["Cache-Control"] == "no-store"

    add_tariffs(api, operator_token)
    site = new_site(api, token)
    issued = api.post(f"/v1/sites/{site['id']}/keys", token=token)
    assert issued.status_code == 201 and issued.json_body["key"]
    assert issued.headers["Cache-Control"] == "no-store"


def test_an_answer_without_secrets_stays_cacheable_by_its_own_rules(api):
    token, _ = _signed_up(api)
    me = api.get("/v1/me", token=token)
    assert me.status_code == 200 and "Cache-Control" not in me.headers
    missing = api.get("/v1/orders/ord_none", token=token)
    assert missing.status_code == 404 and "Cache-Control" not in missing.headers


@pytest.mark.parametrize(("body", "kept"), [
    ({"token": "t"}, False), ({"user": {"id": "u"}, "reset_link": "https://x/r/abc"}, False),
    ({"items": [{"id": "f", "download_url": "https://s3/f?sig"}]}, False), ({"client_secret": "s"}, False),
    ({"id": "u", "name": "Ann"}, True), ({"token": None}, True), ("<html>", True)])
def test_the_secret_check_reads_every_level_of_the_answer(body, kept):
    from chalice import Response

    headers = secure_headers(Response(body=body, status_code=200, headers={})).headers
    assert ("Cache-Control" not in headers) is kept


def test_every_answer_of_a_deployed_stage_tells_the_browser_to_use_https_only(api, monkeypatch):
    monkeypatch.setenv("STAGE", "prod")
    config.reload()
    answers = {
        "signup": api.post("/v1/auth/signup", {"email": "bob@example.com", "password": "correct horse",
                                               "name": "Bob", "locale": "en"}),
        "error": api.get("/v1/me"),
        "unknown method": api.request("DELETE", "/v1/auth/login"),
        "openapi": api.get("/openapi.json"),
        "page": api.get("/web/invitations/not-a-token"),
    }
    for name, answer in answers.items():
        assert answer.headers.get("Strict-Transport-Security") == "max-age=63072000; includeSubDomains", name


def test_the_local_stage_on_plain_http_sends_no_hsts(api):
    assert "Strict-Transport-Security" not in api.get("/v1/me").headers

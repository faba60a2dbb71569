"""Accounts, tokens and the error conventions of API.md."""
from __future__ import annotations

from zoneinfo import ZoneInfo

import jwt
import pytest

from chalicelib.platform import clock, i18n
from chalicelib.services import accounts


def test_signup_returns_user_and_token_and_me_shows_the_user(api):
    response = api.post("/v1/auth/signup", {"email": "Ann@Example.com", "password": "correct horse",
                                            "name": "Ann", "locale": "ru"})
    assert response.status_code == 201
    user = response.json_body["user"]
    assert user["id"].startswith("usr_") and user["email"] == "ann@example.com" and user["locale"] == "ru"
    me = api.get("/v1/me", token=response.json_body["token"])
    assert me.status_code == 200 and me.json_body["id"] == user["id"]
    assert "operator" not in me.json_body["roles"]


def test_duplicate_email_is_409(api):
    api.signup("dup@example.com")
    response = api.post("/v1/auth/signup", {"email": "DUP@example.com", "password": "correct horse", "name": "X"})
    assert response.status_code == 409 and response.json_body["error"]["code"] == "email_taken"


def test_login_gives_a_working_token_and_wrong_password_is_401(api):
    api.signup("l@example.com")
    ok = api.post("/v1/auth/login", {"email": "l@example.com", "password": "correct horse"})
    assert ok.status_code == 200 and api.get("/v1/me", token=ok.json_body["token"]).status_code == 200
    bad = api.post("/v1/auth/login", {"email": "l@example.com", "password": "wrong horse"})
    assert bad.status_code == 401 and bad.json_body["error"]["code"] == "invalid_credentials"
    unknown = api.post("/v1/auth/login", {"email": "nobody@example.com", "password": "whatever"})
    assert unknown.status_code == 401


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer nonsense", "Basic abc"])
def test_missing_or_bad_token_is_401(api, header):
    response = api.get("/v1/me", headers={"Authorization": header} if header else {})
    assert response.status_code == 401 and "error" in response.json_body


def test_token_signed_with_another_secret_is_401(api):
    guess = "a-guessed-secret-of-thirty-two-bytes!"
    forged = jwt.encode({"sub": "usr_x", "roles": ["operator"], "exp": 9999999999}, guess, algorithm="HS256")
    assert api.get("/v1/operator/trial-balance", token=forged).status_code == 401


def test_operator_comes_from_the_cli_not_from_signup(api, operator_token):
    me = api.get("/v1/me", token=operator_token).json_body
    assert me["roles"] == ["operator"]
    response = api.post("/v1/auth/signup", {"email": "x@example.com", "password": "correct horse", "name": "X",
                                            "roles": ["operator"]})
    assert "operator" not in response.json_body["user"]["roles"]


@pytest.mark.parametrize("raw, status, code", [
    (b"{not json", 400, "malformed_json"),
    (b"[1, 2]", 400, "malformed_json"),
    (b'{"email": "bad", "password": "correct horse", "name": "X"}', 422, "validation_error"),
    (b'{"email": "a@example.com", "password": "short", "name": "X"}', 422, "validation_error"),
    (b'{"email": "a@example.com", "password": "correct horse", "name": "X", "locale": "de"}', 422,
     "validation_error"),
])
def test_bad_signup_input_is_a_clear_4xx_and_creates_nothing(api, raw, status, code):
    response = api.post("/v1/auth/signup", raw=raw)
    assert response.status_code == status
    assert response.json_body["error"]["code"] == code
    assert accounts.find_by_email("a@example.com") is None


def test_validation_error_names_the_field(api):
    response = api.post("/v1/auth/signup", {"email": "a@example.com", "password": "short", "name": "X"})
    assert response.json_body["error"]["field"] == "password"


def test_cli_creates_an_operator_once(api, capsys):
    from chalicelib.entrypoints import cli

    assert cli.main(["create-operator", "--email", "boss@example.com", "--password", "operator-pass"]) == 0
    assert "operator usr_" in capsys.readouterr().out
    assert cli.main(["create-operator", "--email", "boss@example.com", "--password", "operator-pass"]) == 0
    assert "email_taken" in capsys.readouterr().err
    token = api.post("/v1/auth/login", {"email": "boss@example.com", "password": "operator-pass"}).json_body["token"]
    assert api.get("/v1/operator/trial-balance", token=token).status_code == 200


# --- language and time zone ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("locale", "zone"), [("en", "UTC"), ("ru", "Europe/Moscow"), ("uk", "Europe/Kyiv"),
                                              ("fa", "Asia/Tehran")])
def test_a_new_user_lives_in_his_locales_marketplace_zone_unless_he_names_one(api, locale, zone):
    token = api.signup(f"{locale}@example.com", locale=locale)
    assert api.get("/v1/me", token=token).json_body["timezone"] == zone

    named = api.post("/v1/auth/signup", {"email": f"tokyo-{locale}@example.com", "password": "correct horse",
                                         "name": "T", "locale": locale, "timezone": "Asia/Tokyo"})
    assert named.status_code == 201 and named.json_body["user"]["timezone"] == "Asia/Tokyo"


def test_a_user_changes_his_time_zone_and_language(api):
    token = api.signup("mover@example.com", locale="ru")

    moved = api.request("PATCH", "/v1/me", {"timezone": "America/New_York"}, token=token)
    assert moved.status_code == 200
    assert (moved.json_body["timezone"], moved.json_body["locale"]) == ("America/New_York", "ru")
    relabelled = api.request("PATCH", "/v1/me", {"locale": "uk"}, token=token)
    assert (relabelled.json_body["timezone"], relabelled.json_body["locale"]) == ("America/New_York", "uk")
    assert api.get("/v1/me", token=token).json_body == relabelled.json_body


@pytest.mark.parametrize("body", [{"timezone": "Mars/Olympus_Mons"}, {"timezone": ""}, {"timezone": "../etc/passwd"},
                                  {"timezone": 3}, {"locale": "de"}])
def test_an_unknown_time_zone_or_language_is_422_and_changes_nothing(api, body):
    token = api.signup("stays@example.com", locale="uk")

    response = api.request("PATCH", "/v1/me", body, token=token)

    assert response.status_code == 422 and response.json_body["error"]["field"] in ("timezone", "locale")
    me = api.get("/v1/me", token=token).json_body
    assert (me["timezone"], me["locale"]) == ("Europe/Kyiv", "uk")
    signup = api.post("/v1/auth/signup", {"email": "z@example.com", "password": "correct horse", "name": "Z", **body})
    assert signup.status_code == 422


def test_the_feed_reads_in_the_readers_language_and_zone_and_leads_where_the_email_does(api, deal):
    api.request("PATCH", "/v1/me", {"locale": "ru", "timezone": "Asia/Tokyo"}, token=deal["contractor"])
    order = api.post("/v1/orders", {"gig_id": deal["gig"]["id"]}, token=deal["client"]).json_body
    started = api.post(f"/v1/orders/{order['id']}/start", token=deal["contractor"]).json_body

    item = api.get("/v1/notifications", token=deal["contractor"]).json_body["items"][0]

    deadline = i18n.format_datetime(clock.parse_iso(started["deadline_at"]), "ru", ZoneInfo("Asia/Tokyo"))
    assert item["kind"] == "order_started" and item["title"].startswith("Вы взяли в работу")
    assert deadline.endswith("(Токио, UTC+9)") and deadline in item["body"]
    assert item["link"] == f"http://127.0.0.1:3000/orders/{order['id']}" and item["link"] in item["body"]

"""Accounts, tokens and the error conventions of API.md."""
from __future__ import annotations

import jwt
import pytest

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
    from chalicelib import cli

    assert cli.main(["create-operator", "--email", "boss@example.com", "--password", "operator-pass"]) == 0
    assert "operator usr_" in capsys.readouterr().out
    assert cli.main(["create-operator", "--email", "boss@example.com", "--password", "operator-pass"]) == 0
    assert "email_taken" in capsys.readouterr().err
    token = api.post("/v1/auth/login", {"email": "boss@example.com", "password": "operator-pass"}).json_body["token"]
    assert api.get("/v1/operator/trial-balance", token=token).status_code == 200

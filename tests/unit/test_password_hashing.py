"""Passwords are hashed with today's argon2id parameters: a hash left by weaker ones (an account from before the
parameters were raised) is replaced at the owner's next successful log-in, and never on a failed one. The suite
hashes cheaply (tests/conftest.py); "stronger" here is a step up from that."""
from __future__ import annotations

from chalicelib.platform import config
from chalicelib.store.models import UserModel

PASSWORD = "correct horse"


def _stored_hash(address: str) -> str:
    return next(iter(UserModel.scan(UserModel.email == address))).password_hash


def _raise_the_parameters(monkeypatch) -> None:
    monkeypatch.setenv("PASSWORD_TIME_COST", "2")
    monkeypatch.setenv("PASSWORD_MEMORY_KIB", "128")
    monkeypatch.setenv("PASSWORD_PARALLELISM", "2")
    config.reload()


def test_a_hash_made_with_weaker_parameters_is_rehashed_at_the_next_successful_log_in(api, monkeypatch):
    session = api.signup("ann@example.com")
    weak = _stored_hash("ann@example.com")
    assert weak.startswith("$argon2id$v=19$m=64,t=1,p=1$")
    _raise_the_parameters(monkeypatch)

    answer = api.post("/v1/auth/login", {"email": "ann@example.com", "password": PASSWORD})
    assert answer.status_code == 200
    stronger = _stored_hash("ann@example.com")
    assert stronger.startswith("$argon2id$v=19$m=128,t=2,p=2$")
    assert api.get("/v1/me", token=session).status_code == 200  # nothing about the password changed: sessions stay
    assert api.post("/v1/auth/login", {"email": "ann@example.com", "password": PASSWORD}).status_code == 200
    assert _stored_hash("ann@example.com") == stronger  # a current hash is left alone


def test_a_failed_log_in_does_not_touch_a_weak_hash(api, monkeypatch):
    api.signup("ann@example.com")
    weak = _stored_hash("ann@example.com")
    _raise_the_parameters(monkeypatch)
    assert api.post("/v1/auth/login", {"email": "ann@example.com", "password": "wrong"}).status_code == 401
    assert _stored_hash("ann@example.com") == weak


def test_new_passwords_are_hashed_with_argon2id_at_the_configured_parameters(api, monkeypatch):
    _raise_the_parameters(monkeypatch)
    api.signup("bob@example.com")
    assert _stored_hash("bob@example.com").startswith("$argon2id$v=19$m=128,t=2,p=2$")

"""Accounts people can recover, and limits that hold: log-in attempts limited per e-mail and
per source address with the same work whether or not the account exists; password reset by a one-time
e-mailed link; password change; log-out; tokens revoked by the user record's epoch and sessions, roles
read from the record; idempotency records without bearer tokens; invitations limited per company and
day and per address."""
from __future__ import annotations

import email
import functools
import re
import statistics
import time
from email import policy
from pathlib import Path

import botocore.session
import pytest

from chalicelib.platform import clock, config
from chalicelib.store.models import IdempotencyModel, UserModel
from tests.support import assert_books_balance, play_stream

PASSWORD = "correct horse"


def _login(api, address: str, password: str = PASSWORD):
    return api.post("/v1/auth/login", {"email": address, "password": password})


def _mail_to(address: str) -> list:
    play_stream()
    folder = Path(config.settings.mail_sink_dir)
    found = [email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in sorted(folder.glob("*.eml"))]
    return [m for m in found if m["To"] == address]


def _reset_token(address: str) -> str:
    """The newest reset link e-mailed to `address` (a welcome sent in the same run may sort after it)."""
    links = [found.group(1) for message in _mail_to(address)
             if (found := re.search(r'href="[^"]*/web/password-reset/([\w-]+)"',
                                    message.get_body(("html",)).get_content()))]
    return links[-1]


# Log-in ---------------------------------------------------------------------------------------


def test_five_failed_log_ins_lock_the_address_out_whatever_the_password_until_the_window_passes(api):
    api.signup("ann@example.com")
    for _ in range(5):
        assert _login(api, "ann@example.com", "wrong password").status_code == 401
    locked = _login(api, "ann@example.com")  # the right password too
    assert locked.status_code == 429 and locked.json_body["error"]["code"] == "too_many_attempts"
    assert 0 < int(locked.headers["Retry-After"]) <= 900
    assert _login(api, "ANN@example.com ").status_code == 429  # the same address however it is written
    assert _login(api, "bob@example.com", "anything").status_code == 401  # others are not affected
    clock.advance(901)
    assert _login(api, "ann@example.com").status_code == 200


def test_an_unknown_address_is_limited_the_same_way(api):
    for _ in range(5):
        assert _login(api, "nobody@example.com", "guess").status_code == 401
    assert _login(api, "nobody@example.com", "guess").status_code == 429


def test_failures_from_one_source_address_are_limited_at_a_higher_threshold(api, monkeypatch):
    monkeypatch.setenv("LOGIN_MAX_FAILURES_PER_IP", "7")
    config.reload()
    api.signup("ann@example.com")
    for n in range(7):  # seven different e-mails, all from the test client's one address
        assert _login(api, f"guess{n}@example.com", "guess").status_code == 401
    refused = _login(api, "ann@example.com")
    assert refused.status_code == 429 and "your address" in refused.json_body["error"]["message"]


def test_a_log_in_does_the_same_work_whether_or_not_the_account_exists(api, monkeypatch):
    """Same DynamoDB requests, and one argon2 verification either way (a decoy hash without an account):
    at production cost the two answers take as long."""
    api.signup("ann@example.com")
    requests: list[tuple[str, str]] = []
    original = botocore.session.Session.create_client

    @functools.wraps(original)
    def create_client(session, service_name, *args, **kwargs):
        client = original(session, service_name, *args, **kwargs)
        client.meta.events.register("before-parameter-build.dynamodb",
                                    lambda params, model, **_: requests.append((model.name, params.get("TableName"))))
        return client

    monkeypatch.setattr(botocore.session.Session, "create_client", create_client)
    from chalicelib.store import models
    from chalicelib.store.uow import reset_connections

    reset_connections()
    for model in models.ALL_MODELS:
        model._connection = None
    seen = {}
    for address in ("ann@example.com", "nobody@example.com"):
        _login(api, address, "wrong password")  # each address's window is open: compare like with like
    for address in ("ann@example.com", "nobody@example.com"):
        requests.clear()
        assert _login(api, address, "wrong password").status_code == 401
        seen[address] = list(requests)
    assert seen["ann@example.com"] == seen["nobody@example.com"]

    monkeypatch.setenv("PASSWORD_TIME_COST", "2")
    monkeypatch.setenv("PASSWORD_MEMORY_KIB", "19456")
    config.reload()
    from chalicelib.access import auth

    stored = auth.hash_password(PASSWORD)
    timings: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(12):
        for exists in (True, False):
            started = time.perf_counter()
            auth.verify_password(stored if exists else None, "wrong password")
            timings[exists].append(time.perf_counter() - started)
    known, unknown = statistics.median(timings[True]), statistics.median(timings[False])
    assert 0.67 < known / unknown < 1.5, (known, unknown)


# Password reset, change, log-out ------------------------------------------------------------


def test_a_password_reset_link_sets_a_new_password_once_and_ends_every_session(api):
    old_session = api.signup("ann@example.com", name="Ann")
    answer = api.post("/v1/auth/password-reset", {"email": "ann@example.com"})
    unknown = api.post("/v1/auth/password-reset", {"email": "nobody@example.com"})
    assert answer.status_code == unknown.status_code == 202 and answer.json_body == unknown.json_body
    token = _reset_token("ann@example.com")
    assert _mail_to("nobody@example.com") == []
    assert "password_reset" not in {n["kind"] for n in api.get("/v1/notifications", token=old_session)
                                    .json_body["items"]}  # only the mailbox gets the link

    done = api.post("/v1/auth/password-reset/confirm", {"token": token, "password": "a brand new one"})

    assert done.status_code == 200
    revoked = api.get("/v1/me", token=old_session)
    assert revoked.status_code == 401 and revoked.json_body["error"]["code"] == "token_revoked"
    assert _login(api, "ann@example.com").status_code == 401
    assert _login(api, "ann@example.com", "a brand new one").status_code == 200
    again = api.post("/v1/auth/password-reset/confirm", {"token": token, "password": "evil takeover"})
    assert again.status_code == 409 and again.json_body["error"]["code"] == "reset_link_used"
    forged = api.post("/v1/auth/password-reset/confirm", {"token": "forged", "password": "evil takeover"})
    assert forged.status_code == 404


def test_a_reset_link_expires_and_requests_are_limited_per_address(api):
    api.signup("ann@example.com")
    api.post("/v1/auth/password-reset", {"email": "ann@example.com"})
    token = _reset_token("ann@example.com")
    clock.advance(3601)
    late = api.post("/v1/auth/password-reset/confirm", {"token": token, "password": "a brand new one"})
    assert late.status_code == 409 and late.json_body["error"]["code"] == "reset_link_expired"
    for address in ("ann@example.com", "nobody@example.com"):  # the limit says nothing about who has an account
        statuses = [api.post("/v1/auth/password-reset", {"email": address}).status_code for _ in range(4)]
        assert statuses[-1] == 429, (address, statuses)


def test_a_reset_forgets_the_addresss_failed_log_ins(api):
    api.signup("ann@example.com")
    for _ in range(5):
        _login(api, "ann@example.com", "forgotten")
    assert _login(api, "ann@example.com").status_code == 429
    api.post("/v1/auth/password-reset", {"email": "ann@example.com"})
    api.post("/v1/auth/password-reset/confirm", {"token": _reset_token("ann@example.com"), "password": "remembered"})
    assert _login(api, "ann@example.com", "remembered").status_code == 200


def test_changing_the_password_needs_the_old_one_and_ends_every_other_session(api):
    first = api.signup("ann@example.com")
    second = _login(api, "ann@example.com").json_body["token"]
    wrong = api.post("/v1/me/password", {"current_password": "not it", "new_password": "a brand new one"},
                     token=first)
    assert wrong.status_code == 403 and wrong.json_body["error"]["field"] == "current_password"
    changed = api.post("/v1/me/password", {"current_password": PASSWORD, "new_password": "a brand new one"},
                       token=first)
    assert changed.status_code == 200
    assert api.get("/v1/me", token=changed.json_body["token"]).status_code == 200
    for old in (first, second):
        assert api.get("/v1/me", token=old).status_code == 401
    assert _login(api, "ann@example.com", "a brand new one").status_code == 200


def test_log_out_ends_only_that_session(api):
    laptop = api.signup("ann@example.com")
    phone = _login(api, "ann@example.com").json_body["token"]
    assert api.post("/v1/auth/logout", token=laptop).status_code == 200
    refused = api.get("/v1/me", token=laptop)
    assert refused.status_code == 401 and refused.json_body["error"]["code"] == "token_revoked"
    assert api.get("/v1/me", token=phone).status_code == 200


def test_roles_come_from_the_user_record_so_a_demoted_operator_loses_access_at_once(api, operator_token):
    assert api.get("/v1/operator/trial-balance", token=operator_token).status_code == 200
    [operator] = [u for u in UserModel.scan() if "operator" in u.roles]
    operator.update(actions=[UserModel.roles.set(["client"])])
    refused = api.get("/v1/operator/trial-balance", token=operator_token)
    assert refused.status_code == 403


# Idempotency ----------------------------------------------------------------------------------


def test_idempotency_records_keep_no_bearer_token_and_a_replayed_sign_up_starts_no_session(api):
    body = {"email": "ann@example.com", "password": PASSWORD, "name": "Ann"}
    first = api.post("/v1/auth/signup", body, headers={"Idempotency-Key": "k1"})
    replay = api.post("/v1/auth/signup", body, headers={"Idempotency-Key": "k1"})
    assert first.status_code == replay.status_code == 201
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.json_body["user"] == first.json_body["user"]
    assert "token" not in replay.json_body
    api.post("/v1/me/password", {"current_password": PASSWORD, "new_password": "a brand new one"},
             token=first.json_body["token"], headers={"Idempotency-Key": "k2"})
    for record in IdempotencyModel.scan():
        answer = record.answer()
        assert "token" not in answer and "eyJ" not in str(answer), answer


def test_anonymous_keys_are_scoped_so_one_visitors_key_never_meets_anothers_request(api):
    ann = api.post("/v1/auth/signup", {"email": "ann@example.com", "password": PASSWORD, "name": "Ann"},
                   headers={"Idempotency-Key": "same"})
    bob = api.post("/v1/auth/signup", {"email": "bob@example.com", "password": PASSWORD, "name": "Bob"},
                   headers={"Idempotency-Key": "same"})
    assert ann.status_code == bob.status_code == 201
    assert bob.json_body["user"]["email"] == "bob@example.com"


# Invitations ----------------------------------------------------------------------------------


@pytest.fixture
def company(api):
    token = api.signup("boss@acme.example", name="ACME")
    return {"token": token, "id": api.get("/v1/me", token=token).json_body["id"]}


def test_a_company_invites_at_most_its_daily_number_of_addresses(api, company, monkeypatch):
    monkeypatch.setenv("INVITATIONS_PER_COMPANY_PER_DAY", "2")
    config.reload()
    answer = api.post("/v1/team/invitations", {"emails": "a@example.com, b@example.com, c@example.com"},
                      token=company["token"])
    assert [r["status"] for r in answer.json_body["results"]] == ["invited", "invited", "daily_limit_reached"]
    refused = api.post("/v1/team/invitations", {"emails": "d@example.com"}, token=company["token"])
    assert refused.status_code == 429 and refused.json_body["error"]["code"] == "too_many_invitations"
    assert int(refused.headers["Retry-After"]) <= 86400
    assert {m["email"] for m in api.get("/v1/team", token=company["token"]).json_body["items"]} == {
        "a@example.com", "b@example.com"}
    clock.advance(86400)
    assert api.post("/v1/team/invitations", {"emails": "d@example.com"},
                    token=company["token"]).json_body["results"][0]["status"] == "invited"


def test_another_companys_invitation_the_same_day_is_not_silenced_by_the_first(api, company):
    other = api.signup("boss@other.example", name="Other")
    assert api.post("/v1/team/invitations", {"emails": "x@example.com"},
                    token=company["token"]).json_body["results"][0]["status"] == "invited"
    assert api.post("/v1/team/invitations", {"emails": "x@example.com"},
                    token=other).json_body["results"][0]["status"] == "invited"
    assert len(_mail_to("x@example.com")) == 2  # the person hears of both companies


def test_a_company_cannot_flood_one_person_and_is_told_its_second_invitation_was_not_sent(api, company):
    assert api.post("/v1/team/invitations", {"emails": "x@example.com"},
                    token=company["token"]).json_body["results"][0]["status"] == "invited"
    again = api.post("/v1/team/invitations", {"emails": "x@example.com, y@example.com"}, token=company["token"])
    assert again.json_body["results"] == [{"email": "x@example.com", "status": "not_sent_today"},
                                          {"email": "y@example.com", "status": "invited"}]
    assert len(_mail_to("x@example.com")) == 1
    clock.advance(86400)
    assert api.post("/v1/team/invitations", {"emails": "x@example.com"},
                    token=company["token"]).json_body["results"][0]["status"] == "invited"


def test_many_companies_inviting_one_person_hit_a_higher_cap_and_each_refused_inviter_is_told(api, monkeypatch):
    monkeypatch.setenv("INVITATION_EMAILS_PER_ADDRESS_PER_DAY", "2")
    config.reload()
    companies = [api.signup(f"boss{n}@company{n}.example", name=f"Company {n}") for n in range(3)]
    statuses = [api.post("/v1/team/invitations", {"emails": "x@example.com"}, token=token).json_body["results"][0]
                ["status"] for token in companies]
    assert statuses == ["invited", "invited", "not_sent_today"]
    assert len(_mail_to("x@example.com")) == 2
    refused_team = api.get("/v1/team", token=companies[2]).json_body["items"]
    assert refused_team == []  # nothing half-done: the inviter may send it again tomorrow
    clock.advance(86400)
    assert api.post("/v1/team/invitations", {"emails": "x@example.com"},
                    token=companies[2]).json_body["results"][0]["status"] == "invited"


def test_the_greeting_is_plain_text_within_bounds_and_quoted_as_the_companys_words(api, company):
    for greeting in ("\u202eevil", "x" * 1001, "bell\x07"):
        refused = api.post("/v1/team/invitations", {"emails": "x@example.com", "greeting": greeting},
                           token=company["token"])
        assert refused.status_code == 422, greeting
    api.post("/v1/team/invitations", {"emails": "x@example.com", "greeting": "Join us <b>now</b>\nor later"},
             token=company["token"])
    html = _mail_to("x@example.com")[0].get_body(("html",)).get_content()
    assert "<b>now</b>" not in html and "&lt;b&gt;now&lt;/b&gt;" in html
    assert_books_balance()

"""Attacks on accounts, log-in and the secrets the service keeps, each shown failing: locking a user out from
elsewhere, taking a team membership with an address one does not own, telling who has an account, living
on a spare one-time link, getting a session from a replayed answer, and finding a working link or key in
the tables. The burst of concurrent log-ins runs against DynamoDB Local (tests/integration/test_account_burst.py)."""
from __future__ import annotations

import json
import re

import pytest

from chalicelib.platform import config
from chalicelib.services import accounts
from chalicelib.store.models import ALL_MODELS, IdempotencyModel, NotificationModel
from tests.billing_support import add_tariffs, new_site
from tests.support import confirmation_token, sent_links

PASSWORD = "correct horse"
ATTACKER, OWNER_ADDRESS, OFFICE = "203.0.113.66", "198.51.100.7", "198.51.100.8"


def _login(email: str, password: str, source_ip: str) -> int:
    try:
        accounts.login(email, password, source_ip)
    except Exception as error:  # the API maps the domain errors; their status is what a caller sees
        return int(getattr(error, "status", 500))
    return 200


def _token_of(path: str, link: str) -> str:
    return link.rsplit(path, 1)[1]


# Log-in: nobody locks a user out from elsewhere ------------------------------------------------------


def test_an_attacker_failing_from_his_address_does_not_lock_the_owner_out(api):
    api.signup("ann@example.com")
    for _ in range(5):
        assert _login("ann@example.com", "guess", ATTACKER) == 401
    assert _login("ann@example.com", PASSWORD, ATTACKER) == 429  # the attacker's own (account, address) pair
    assert _login("ann@example.com", PASSWORD, OWNER_ADDRESS) == 200  # the owner elsewhere: not locked out


def test_a_spread_attack_slows_the_account_but_not_an_address_that_logged_in_before(api, monkeypatch):
    monkeypatch.setenv("LOGIN_MAX_ATTEMPTS_PER_ACCOUNT", "6")
    config.reload()
    api.signup("ann@example.com")
    assert _login("ann@example.com", PASSWORD, OWNER_ADDRESS) == 200  # the owner's usual address
    for n in range(6):  # a botnet: one try from each of many addresses
        assert _login("ann@example.com", "guess", f"192.0.2.{n}") == 401
    assert _login("ann@example.com", PASSWORD, "192.0.2.200") == 429  # any new address: the account is slowed
    assert _login("ann@example.com", PASSWORD, OFFICE) == 429
    assert _login("ann@example.com", PASSWORD, OWNER_ADDRESS) == 200  # where he logged in before: still works


def test_failed_log_ins_do_not_block_the_owners_password_change_and_his_wrong_passwords_do_not_block_log_in(api):
    token = api.signup("ann@example.com")
    for _ in range(5):
        _login("ann@example.com", "guess", "127.0.0.1")  # the test client's own address, locked for log-in
    assert _login("ann@example.com", PASSWORD, "127.0.0.1") == 429
    changed = api.post("/v1/me/password", {"current_password": PASSWORD, "new_password": "a new password"},
                       token=token)
    assert changed.status_code == 200, changed.body
    session = changed.json_body["token"]
    for _ in range(5):
        wrong = api.post("/v1/me/password", {"current_password": "guess", "new_password": "x" * 10}, token=session)
        assert wrong.status_code == 403
    refused = api.post("/v1/me/password", {"current_password": "a new password", "new_password": "y" * 10},
                       token=session)
    assert refused.status_code == 429 and refused.json_body["error"]["code"] == "too_many_attempts"
    assert _login("ann@example.com", "a new password", OFFICE) == 200


# Addresses are proven before they are trusted ---------------------------------------------------------


def test_someone_who_signed_up_with_an_unproven_address_cannot_take_its_team_membership(api):
    squatter = api.signup("victim@corp.example", confirmed=False)
    company = api.signup("boss@corp.example", name="Corp")
    company_id = api.get("/v1/me", token=company).json_body["id"]
    invited = api.post("/v1/team/invitations", {"emails": "victim@corp.example"}, token=company)
    assert invited.json_body["results"] == [{"email": "victim@corp.example", "status": "invited"}]
    refused = api.post(f"/v1/team/requests/{company_id}/accept", token=squatter)
    assert refused.status_code == 403 and refused.json_body["error"]["code"] == "email_not_confirmed"
    team = api.get("/v1/team", token=company).json_body["items"]
    assert [member["state"] for member in team] == ["requested"]
    [link] = sent_links("team_join_request")  # the request's own link, from the mailbox: refused the same way
    opened = api.get(link.removeprefix(config.settings.app_url))
    cookie = opened.headers["Set-Cookie"].split(";")[0]
    page = api.get("/web/invitation", headers={"Cookie": cookie})
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.body.decode()).group(1)
    answered = api.request("POST", "/web/invitation", raw=f"csrf={csrf}&action=accept".encode(),
                           headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
    assert answered.status_code == 403
    assert [member["state"] for member in api.get("/v1/team", token=company).json_body["items"]] == ["requested"]


def test_an_unconfirmed_account_cannot_withdraw_money_until_it_confirms(api):
    token = api.signup("ann@example.com", confirmed=False)
    payout = {"amount": 2_000, "currency": "USD", "destination": {"type": "card", "number": "4111 1111 1111 1111"}}
    refused = api.post("/v1/payouts", payout, token=token)
    assert refused.status_code == 403 and refused.json_body["error"]["code"] == "email_not_confirmed"
    me = api.get("/v1/me", token=token).json_body
    api.confirm_email(me["id"])
    assert api.post("/v1/payouts", payout, token=token).json_body["error"]["code"] != "email_not_confirmed"


def test_me_says_the_address_is_unconfirmed_and_how_to_resend_and_resending_is_limited(api):
    token = api.signup("ann@example.com", confirmed=False)
    me = api.get("/v1/me", token=token).json_body
    assert me["email_confirmed"] is False and me["email_confirmation"]["resend"] == "POST /v1/me/email-confirmation"
    feed = api.get("/v1/notifications", token=token).json_body["items"]
    assert "email_confirmation" in [item["kind"] for item in feed]
    for _ in range(config.settings.password_resets_per_email):
        assert api.post("/v1/me/email-confirmation", token=token).status_code == 202
    limited = api.post("/v1/me/email-confirmation", token=token)
    assert limited.status_code == 429 and limited.json_body["error"]["code"] == "too_many_requests"
    api.confirm_email(me["id"])
    me = api.get("/v1/me", token=token).json_body
    assert me["email_confirmed"] is True and me["email_confirmation"] is None
    assert api.post("/v1/me/email-confirmation", token=token).json_body["error"]["code"] == "email_already_confirmed"


def test_a_confirmation_link_is_stored_as_a_hash_works_once_and_expires(api):
    from chalicelib.platform import clock

    token = api.signup("ann@example.com", confirmed=False)
    user_id = api.get("/v1/me", token=token).json_body["id"]
    link_token = confirmation_token(user_id)
    clock.advance(config.settings.email_confirmation_ttl_hours * 3600 + 1)
    expired = api.post("/v1/auth/email-confirmation/confirm", {"token": link_token})
    assert expired.status_code == 409 and expired.json_body["error"]["code"] == "confirmation_link_expired"
    api.post("/v1/me/email-confirmation", token=token)
    fresh = confirmation_token(user_id)
    assert api.post("/v1/auth/email-confirmation/confirm", {"token": fresh}).status_code == 200
    again = api.post("/v1/auth/email-confirmation/confirm", {"token": fresh})
    assert again.status_code == 409 and again.json_body["error"]["code"] == "confirmation_link_used"


def test_an_account_made_by_an_invitation_link_is_confirmed_by_it(api):
    company = api.signup("boss@corp.example", name="Corp")
    api.post("/v1/team/invitations", {"emails": "new@corp.example"}, token=company)
    [link] = sent_links("team_invitation")
    joined = api.post(f"/v1/invitations/{_token_of('/web/invitations/', link)}/accept",
                      {"password": PASSWORD, "name": "New", "locale": "en"})
    assert joined.status_code == 201, joined.body
    assert joined.json_body["user"]["email_confirmed"] is True


# Answers tell as little as they can about who has an account --------------------------------------------


def test_sign_ups_from_one_address_are_limited_where_the_setting_is_on(api, monkeypatch):
    monkeypatch.setenv("SIGNUPS_PER_IP_PER_HOUR", "2")
    config.reload()
    for n in range(2):
        assert api.post("/v1/auth/signup", {"email": f"a{n}@example.com", "password": PASSWORD,
                                            "name": "A"}).status_code == 201
    taken = api.post("/v1/auth/signup", {"email": "a0@example.com", "password": PASSWORD, "name": "A"})
    assert taken.status_code == 429 and taken.json_body["error"]["code"] == "too_many_signups"


def test_the_sign_up_limit_is_on_by_default_on_deployed_stages_and_off_locally(monkeypatch):
    monkeypatch.delenv("SIGNUPS_PER_IP_PER_HOUR", raising=False)
    monkeypatch.setenv("STAGE", "prod")
    assert config.Settings().signups_per_ip_per_hour == 50
    monkeypatch.setenv("STAGE", "local")
    assert config.Settings().signups_per_ip_per_hour == 0


def test_a_taken_address_still_answers_409_email_taken(api):
    api.signup("ann@example.com")
    taken = api.post("/v1/auth/signup", {"email": "ann@example.com", "password": PASSWORD, "name": "A"})
    assert taken.status_code == 409 and taken.json_body["error"]["code"] == "email_taken"


def test_an_inviter_cannot_tell_which_addresses_already_have_accounts(api):
    api.signup("has@example.com")
    company = api.signup("boss@corp.example", name="Corp")
    answer = api.post("/v1/team/invitations", {"emails": "has@example.com, new@example.com"}, token=company)
    assert [result["status"] for result in answer.json_body["results"]] == ["invited", "invited"]


def test_a_reset_request_does_the_same_writes_and_answers_the_same_whether_or_not_the_account_exists(api, monkeypatch):
    from chalicelib.store import uow as uow_module

    api.signup("ann@example.com")
    written: list[int] = []
    commit = uow_module.UnitOfWork.commit

    def counting(self):
        written.append(len(self.puts) + len(self.updates) + len(self.deletes) + len(self.checks))
        return commit(self)

    monkeypatch.setattr(uow_module.UnitOfWork, "commit", counting)
    known = api.post("/v1/auth/password-reset", {"email": "ann@example.com"})
    unknown = api.post("/v1/auth/password-reset", {"email": "nobody@example.com"})
    assert (known.status_code, known.json_body) == (unknown.status_code, unknown.json_body)
    assert written == [2, 2]


# Spare one-time links die together ------------------------------------------------------------------------


def _reset_tokens() -> list[str]:
    return [_token_of("/web/password-reset/", link) for link in sent_links("password_reset")]


def test_using_a_reset_link_kills_every_other_reset_link(api):
    api.signup("ann@example.com")
    for _ in range(2):
        api.post("/v1/auth/password-reset", {"email": "ann@example.com"})
    first, second = _reset_tokens()
    assert api.post("/v1/auth/password-reset/confirm", {"token": first, "password": "new one!"}).status_code == 200
    spare = api.post("/v1/auth/password-reset/confirm", {"token": second, "password": "attacker's"})
    assert spare.status_code == 409 and spare.json_body["error"]["code"] == "reset_link_used"
    assert _login("ann@example.com", "new one!", OFFICE) == 200


def test_changing_the_password_kills_outstanding_reset_links(api):
    token = api.signup("ann@example.com")
    api.post("/v1/auth/password-reset", {"email": "ann@example.com"})
    [spare] = _reset_tokens()
    api.post("/v1/me/password", {"current_password": PASSWORD, "new_password": "changed it"}, token=token)
    refused = api.post("/v1/auth/password-reset/confirm", {"token": spare, "password": "attacker's"})
    assert refused.status_code == 409
    assert _login("ann@example.com", "changed it", OFFICE) == 200


def test_confirming_the_address_kills_the_other_confirmation_links(api):
    token = api.signup("ann@example.com", confirmed=False)
    user_id = api.get("/v1/me", token=token).json_body["id"]
    first = confirmation_token(user_id)
    api.post("/v1/me/email-confirmation", token=token)
    second = confirmation_token(user_id)
    assert first != second
    assert api.post("/v1/auth/email-confirmation/confirm", {"token": second}).status_code == 200
    spare = api.post("/v1/auth/email-confirmation/confirm", {"token": first})
    assert spare.status_code == 409 and spare.json_body["error"]["code"] == "confirmation_link_used"


# A stored answer never re-issues a session ---------------------------------------------------------------


def test_replaying_a_sign_up_after_a_password_change_hands_out_no_session(api):
    body = {"email": "ann@example.com", "password": PASSWORD, "name": "Ann"}
    first = api.post("/v1/auth/signup", body, headers={"Idempotency-Key": "k1"})
    api.post("/v1/me/password", {"current_password": PASSWORD, "new_password": "the owner's now"},
             token=first.json_body["token"])
    replay = api.post("/v1/auth/signup", body, headers={"Idempotency-Key": "k1"})
    assert replay.status_code == 201 and replay.headers.get("Idempotent-Replayed") == "true"
    assert "token" not in replay.json_body


def test_replaying_an_invitation_accept_hands_out_no_session(api):
    company = api.signup("boss@corp.example", name="Corp")
    api.post("/v1/team/invitations", {"emails": "new@corp.example"}, token=company)
    [link] = sent_links("team_invitation")
    path = f"/v1/invitations/{_token_of('/web/invitations/', link)}/accept"
    body = {"password": PASSWORD, "name": "New", "locale": "en"}
    first = api.post(path, body, headers={"Idempotency-Key": "join"})
    assert first.status_code == 201 and first.json_body["token"]
    replay = api.post(path, body, headers={"Idempotency-Key": "join"})
    assert replay.headers.get("Idempotent-Replayed") == "true" and "token" not in replay.json_body


# No working key or link sits in plain text ---------------------------------------------------------------


def test_replaying_a_site_key_issue_is_refused_and_its_record_keeps_no_key(api, operator_token):
    add_tariffs(api, operator_token)
    owner = api.signup("owner@shop.example")
    site = new_site(api, owner)
    issued = api.post(f"/v1/sites/{site['id']}/keys", token=owner, headers={"Idempotency-Key": "key-1"})
    assert issued.status_code == 201
    replay = api.post(f"/v1/sites/{site['id']}/keys", token=owner, headers={"Idempotency-Key": "key-1"})
    assert replay.status_code == 409 and replay.json_body["error"]["code"] == "key_already_issued"
    records = [record.answer() for record in IdempotencyModel.scan()]
    assert records and all(issued.json_body["key"] not in json.dumps(body) for body in records)


def test_no_working_token_link_or_key_is_stored_in_any_table(api, operator_token):
    add_tariffs(api, operator_token)
    secrets: list[str] = [operator_token]
    company = api.signup("boss@corp.example", name="Corp", confirmed=False)
    member = api.signup("member@corp.example", confirmed=False)
    secrets += [company, member]
    for user in ("boss@corp.example", "member@corp.example"):
        api.post("/v1/auth/password-reset", {"email": user}, headers={"Idempotency-Key": f"reset-{user}"})
    answer = api.post("/v1/team/invitations", {"emails": "new@corp.example, member@corp.example"}, token=company,
                      headers={"Idempotency-Key": "invite"})
    assert [result["status"] for result in answer.json_body["results"]] == ["invited", "invited"]
    site = new_site(api, company)
    key = api.post(f"/v1/sites/{site['id']}/keys", token=company, headers={"Idempotency-Key": "key"})
    secrets.append(key.json_body["key"])
    login = api.post("/v1/auth/login", {"email": "member@corp.example", "password": PASSWORD})
    secrets.append(login.json_body["token"])
    links = {kind: sent_links(kind) for kind in ("email_confirmation", "password_reset", "team_invitation",
                                                 "team_join_request")}
    assert {kind: len(found) for kind, found in links.items()} == {
        "email_confirmation": 2, "password_reset": 2, "team_invitation": 1, "team_join_request": 1}
    secrets += [link.rsplit("/", 1)[1] for found in links.values() for link in found]
    [invitation] = links["team_invitation"]
    joined = api.post(f"/v1/invitations/{invitation.rsplit('/', 1)[1]}/accept",
                      {"password": PASSWORD, "name": "New", "locale": "en"}, headers={"Idempotency-Key": "join"})
    assert joined.status_code == 201, joined.body
    secrets.append(joined.json_body["token"])

    stored = [json.dumps(item.serialize(), default=str) for model in ALL_MODELS for item in model.scan()]
    stored += [json.dumps(record.answer()) for record in IdempotencyModel.scan()]  # kept compressed
    assert all(record.answer_z for record in IdempotencyModel.scan())
    assert stored
    found = [secret[:12] for secret in secrets for text in stored if secret in text]
    assert found == []
    assert all("link" not in record.params for record in NotificationModel.scan())


def test_the_usage_route_checks_the_key_before_it_replays(api, operator_token):
    add_tariffs(api, operator_token)
    owner = api.signup("owner@shop.example")
    site = new_site(api, owner)
    key = api.post(f"/v1/sites/{site['id']}/keys", token=owner).json_body["key"]
    body = {"event_id": "e1", "products": 3}
    first = api.post(f"/v1/sites/{site['id']}/usage", body, headers={"X-Site-Key": key, "Idempotency-Key": "u1"})
    assert first.status_code == 200, first.body
    for wrong in ("not-the-key", key + "x"):
        replay = api.post(f"/v1/sites/{site['id']}/usage", body, headers={"X-Site-Key": wrong,
                                                                          "Idempotency-Key": "u1"})
        assert replay.status_code == 401 and replay.json_body["error"]["code"] == "invalid_site_key"
        assert "Idempotent-Replayed" not in replay.headers and "event_id" not in replay.body.decode()


@pytest.mark.parametrize("kind", ["password_reset", "team_invitation", "email_confirmation"])
def test_the_feed_shows_one_time_notifications_without_their_link(kind):
    from chalicelib.notify.links import link_for

    assert link_for(kind, {"expires_at": "2025-03-04T10:00:00Z"}).url == config.settings.web_app_url + \
        config.settings.web_paths["home"]

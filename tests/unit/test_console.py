"""The operator console (chalicelib/entrypoints/web/console.py): an operator enrols a TOTP authenticator at his first
log-in and logs in with e-mail, password and a code from then on; the session is a Strict, HttpOnly cookie that a
log-out, a password change or a role change ends; log-in is throttled like the API's; every refusal is a page in the
reader's language that changes nothing; and with OPERATOR_TOTP_REQUIRED an operator without TOTP gets no
/v1/operator/* route. The same flow runs in a real browser in tests/e2e/test_console_in_browser.py."""
from __future__ import annotations

import re
import urllib.parse

import pyotp
import pytest

from chalicelib.access import totp
from chalicelib.platform import config
from chalicelib.store.models import AuditLogModel, UserModel

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
EMAIL, PASSWORD = "ops@escrowdesk.local", "operator-pass"


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def _cookies(response) -> list[str]:
    value = response.headers.get("Set-Cookie", "")
    return value if isinstance(value, list) else [part for part in value.split(", ") if "=" in part.split(";")[0]]


def _cookie(response, name: str) -> str:
    [found] = [c for c in _cookies(response) if c.startswith(name + "=")]
    return found


def _post(api, path: str, cookie: str, fields: dict, origin: str | None = None):
    headers = {**FORM, "Cookie": cookie, **({"Origin": origin} if origin else {})}
    return api.request("POST", path, raw=urllib.parse.urlencode(fields).encode(), headers=headers)


def _login_form(api, lang: str = "en") -> tuple[str, str]:
    page = api.get(f"/console/login?lang={lang}")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    return _cookie(page, "escrowdesk_console_form").split(";")[0], _csrf(page.body.decode())


def _now_code(secret: str) -> str:
    return pyotp.TOTP(secret).now()


def _enrol(api) -> tuple[str, str]:
    """Log in for the first time and enrol: the session cookie and the TOTP secret."""
    cookie, csrf = _login_form(api)
    first = _post(api, "/console/login", cookie, {"csrf": csrf, "email": EMAIL, "password": PASSWORD, "code": ""})
    assert first.status_code == 303 and "/console/enrol" in first.headers["Location"], first.body
    enrol_cookie = _cookie(first, "escrowdesk_console_form").split(";")[0]
    page = api.get("/console/enrol", headers={"Cookie": enrol_cookie})
    html = page.body.decode()
    assert page.status_code == 200 and "<svg" in html
    secret = re.search(r'id="secret">([A-Z2-7 ]+)<', html).group(1).replace(" ", "")
    done = _post(api, "/console/enrol", enrol_cookie, {"csrf": _csrf(html), "code": _now_code(secret)})
    assert done.status_code == 303 and done.headers["Location"].endswith("/console?lang=en"), done.body
    return _cookie(done, "escrowdesk_console").split(";")[0], secret


def _allow_another_code(email: str = EMAIL) -> None:
    """Forget the last accepted step, as if the next 30-second code had come."""
    from chalicelib.services import accounts

    user = accounts.find_by_email(email)
    user.update(actions=[UserModel.totp_last_step.set(totp.current_step() - 5)])


@pytest.fixture
def operator(api):
    from chalicelib.services import accounts

    return accounts.create_operator(EMAIL, PASSWORD)


def test_an_operator_enrols_at_his_first_log_in_then_logs_in_with_a_code_and_reads_the_audit_log(api, operator):
    session, secret = _enrol(api)
    assert "HttpOnly" in _login_cookie_flags(api) and "SameSite=Strict" in _login_cookie_flags(api)
    user = UserModel.get(operator["user"]["id"])
    assert user.totp_enrolled_at and user.totp_pending is None
    assert secret not in user.totp_secret and totp.decrypt(user.totp_secret) == secret
    home = api.get("/console", headers={"Cookie": session})
    assert home.status_code == 200 and "Audit log" in home.body.decode()

    _allow_another_code()
    cookie, csrf = _login_form(api)
    again = _post(api, "/console/login", cookie, {"csrf": csrf, "email": EMAIL, "password": PASSWORD,
                                                  "code": _now_code(secret)})
    assert again.status_code == 303 and again.headers["Location"].endswith("/console?lang=en")
    session_cookie = _cookie(again, "escrowdesk_console")
    assert all(flag in session_cookie for flag in ("HttpOnly", "SameSite=Strict", "Max-Age=28800", "Path=/console"))

    audit = api.get("/console/audit", headers={"Cookie": session})
    html = audit.body.decode()
    assert audit.status_code == 200 and "enrol_totp" in html and "console_login" in html and EMAIL in html
    mine = api.get(f"/console/audit?operator={EMAIL}&object=user%23{operator['user']['id']}",
                   headers={"Cookie": session}).body.decode()
    assert "enrol_totp" in mine
    nobody = api.get("/console/audit?operator=someone-else%40example.com", headers={"Cookie": session}).body.decode()
    assert "enrol_totp" not in nobody


def _login_cookie_flags(api) -> str:
    return _cookie(api.get("/console/login"), "escrowdesk_console_form")


def test_a_wrong_or_reused_code_is_refused_on_the_log_in_page_and_starts_no_session(api, operator):
    _, secret = _enrol(api)
    records = len(list(AuditLogModel.scan()))
    cookie, csrf = _login_form(api, "ru")
    reused = _post(api, "/console/login?lang=ru", cookie, {"csrf": csrf, "email": EMAIL, "password": PASSWORD,
                                                           "code": _now_code(secret)})
    assert reused.status_code == 401 and "escrowdesk_console=" not in str(reused.headers.get("Set-Cookie", ""))
    wrong_code = str((int(_now_code(secret)) + 1) % 1_000_000).zfill(6)
    _allow_another_code()
    wrong = _post(api, "/console/login?lang=ru", cookie, {"csrf": csrf, "email": EMAIL, "password": PASSWORD,
                                                          "code": wrong_code})
    assert wrong.status_code == 401 and 'lang="ru"' in wrong.body.decode() and "role=\"alert\"" in wrong.body.decode()
    bad_password = _post(api, "/console/login", cookie, {"csrf": csrf, "email": EMAIL, "password": "nope",
                                                         "code": _now_code(secret)})
    assert bad_password.status_code == 401
    assert len(list(AuditLogModel.scan())) == records


def test_enrolment_refuses_a_wrong_code_and_keeps_offering_the_same_secret(api, operator):
    cookie, csrf = _login_form(api)
    first = _post(api, "/console/login", cookie, {"csrf": csrf, "email": EMAIL, "password": PASSWORD, "code": ""})
    enrol_cookie = _cookie(first, "escrowdesk_console_form").split(";")[0]
    html = api.get("/console/enrol", headers={"Cookie": enrol_cookie}).body.decode()
    secret = re.search(r'id="secret">([A-Z2-7 ]+)<', html).group(1).replace(" ", "")
    wrong = _post(api, "/console/enrol", enrol_cookie, {"csrf": _csrf(html), "code": "000000"
                                                        if _now_code(secret) != "000000" else "111111"})
    assert wrong.status_code == 422 and secret in wrong.body.decode().replace(" ", "")
    assert UserModel.get(operator["user"]["id"]).totp_enrolled_at is None
    forged = _post(api, "/console/enrol", enrol_cookie, {"csrf": "forged", "code": _now_code(secret)})
    assert forged.status_code == 403 and UserModel.get(operator["user"]["id"]).totp_enrolled_at is None


def test_console_forms_without_their_csrf_token_or_from_another_origin_are_refused(api, operator):
    cookie, csrf = _login_form(api, "uk")
    fields = {"csrf": csrf, "email": EMAIL, "password": PASSWORD, "code": ""}
    forged = _post(api, "/console/login?lang=uk", cookie, {**fields, "csrf": "forged"})
    assert forged.status_code == 403 and 'lang="uk"' in forged.body.decode()
    assert _post(api, "/console/login", cookie, fields, origin="https://evil.example").status_code == 403
    assert _post(api, "/console/login", "", fields).status_code == 403
    assert _post(api, "/console/login", cookie, {"csrf": csrf}).status_code == 400
    assert UserModel.get(operator["user"]["id"]).totp_pending is None
    session, _ = _enrol(api)
    assert _post(api, "/console/logout", session, {"csrf": "forged"}).status_code == 403
    assert api.get("/console", headers={"Cookie": session}).status_code == 200


def test_log_out_a_password_change_and_a_role_change_each_end_the_console_session(api, operator):
    from chalicelib.services import accounts

    session, _ = _enrol(api)
    html = api.get("/console", headers={"Cookie": session}).body.decode()
    out = _post(api, "/console/logout", session, {"csrf": _csrf(html)})
    assert out.status_code == 303 and "Max-Age=0" in _cookie(out, "escrowdesk_console")
    ended = api.get("/console", headers={"Cookie": session})
    assert ended.status_code == 401 and "/console/login" in ended.body.decode()

    _allow_another_code()
    session = _log_in(api)
    token = api.post("/v1/auth/login", {"email": EMAIL, "password": PASSWORD}).json_body["token"]
    assert api.post("/v1/me/password", {"current_password": PASSWORD, "new_password": "operator-pass-2"},
                    token=token).status_code == 200
    assert api.get("/console", headers={"Cookie": session}).status_code == 401

    _allow_another_code()
    session = _log_in(api, "operator-pass-2")
    user = accounts.find_by_email(EMAIL)
    user.update(actions=[UserModel.roles.set(["operator", "client"])])
    assert api.get("/console/audit", headers={"Cookie": session}).status_code == 401


def _log_in(api, password: str = PASSWORD) -> str:
    user = UserModel.get(_user_id())
    secret = totp.decrypt(user.totp_secret)
    cookie, csrf = _login_form(api)
    response = _post(api, "/console/login", cookie, {"csrf": csrf, "email": EMAIL, "password": password,
                                                     "code": _now_code(secret)})
    assert response.status_code == 303, response.body
    return _cookie(response, "escrowdesk_console").split(";")[0]


def _user_id() -> str:
    from chalicelib.services import accounts

    return accounts.find_by_email(EMAIL).id


def test_console_log_in_is_throttled_like_the_apis(api, operator):
    cookie, csrf = _login_form(api)
    for _ in range(config.settings.login_max_failures_per_email):
        assert _post(api, "/console/login", cookie, {"csrf": csrf, "email": EMAIL, "password": "wrong",
                                                     "code": ""}).status_code == 401
    throttled = _post(api, "/console/login", cookie, {"csrf": csrf, "email": EMAIL, "password": PASSWORD, "code": ""})
    assert throttled.status_code == 429 and "escrowdesk_console_form=" not in str(throttled.headers.get("Set-Cookie"))
    assert UserModel.get(operator["user"]["id"]).totp_pending is None
    assert api.post("/v1/auth/login", {"email": EMAIL, "password": PASSWORD}).status_code == 429


def test_pages_of_the_console_without_a_session_say_so_in_the_readers_language(api):
    for path in ("/console", "/console/audit"):
        response = api.get(path + "?lang=fa", headers={"Cookie": "escrowdesk_console=forged.x"})
        html = response.body.decode()
        assert response.status_code == 401 and 'dir="rtl"' in html and 'lang="fa"' in html
    assert api.get("/console/enrol").status_code == 403


def test_with_totp_required_an_operator_without_totp_gets_no_operator_route(api, operator, monkeypatch):
    token = api.post("/v1/auth/login", {"email": EMAIL, "password": PASSWORD}).json_body["token"]
    assert api.get("/v1/operator/trial-balance", token=token).status_code == 200
    monkeypatch.setenv("OPERATOR_TOTP_REQUIRED", "true")
    config.reload()
    refused = api.get("/v1/operator/trial-balance", token=token)
    assert refused.status_code == 403 and refused.json_body["error"]["code"] == "totp_enrolment_required"
    try:
        _enrol(api)
        assert api.get("/v1/operator/trial-balance", token=token).status_code == 200
    finally:
        monkeypatch.delenv("OPERATOR_TOTP_REQUIRED")
        config.reload()


def test_a_console_session_ends_after_eight_hours(api, operator, monkeypatch):
    from datetime import timedelta

    from chalicelib.platform import clock

    session, _ = _enrol(api)
    assert api.get("/console", headers={"Cookie": session}).status_code == 200
    real = clock.wall
    monkeypatch.setattr(clock, "wall", lambda: real() + timedelta(hours=8, seconds=1))
    ended = api.get("/console/audit?lang=uk", headers={"Cookie": session})
    assert ended.status_code == 401 and 'lang="uk"' in ended.body.decode()


def test_the_stored_totp_secret_opens_only_with_its_key_and_untouched(monkeypatch):
    sealed = totp.encrypt("JBSWY3DPEHPK3PXP")
    assert "JBSWY3DPEHPK3PXP" not in sealed and totp.decrypt(sealed) == "JBSWY3DPEHPK3PXP"
    assert totp.encrypt("JBSWY3DPEHPK3PXP") != sealed  # a fresh nonce each time
    tampered = sealed[:-6] + ("A" if sealed[-6] != "A" else "B") + sealed[-5:]
    assert totp.decrypt(tampered) is None and totp.decrypt("v1.!!") is None and totp.decrypt("v2." + sealed[3:]) is None
    monkeypatch.setenv("TOTP_ENCRYPTION_KEY", "another key")
    config.reload()
    try:
        assert totp.decrypt(sealed) is None
    finally:
        monkeypatch.delenv("TOTP_ENCRYPTION_KEY")
        config.reload()

"""The site owner's billing section (chalicelib/entrypoints/web/billing.py): he logs in at /web/login with his
account, sees his sites at /billing and each site's section at /billing/{site_id}, in Ukrainian unless he asks for
another language; the session is an HttpOnly cookie that a log-out or a password change ends; another owner's site,
a form without its CSRF token and a wrong password each get a page that says what is wrong and changes nothing."""
from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.platform import clock
from tests.billing_support import add_tariffs, billing_login, csrf_of, new_site, post_page


@pytest.fixture
def owner(api, operator_token):
    add_tariffs(api, operator_token)
    token = api.signup("olena@example.ua", name="Olena")
    return token, new_site(api, token)


def test_an_owner_logs_in_and_sees_his_sites_and_a_sites_section_in_ukrainian_first(api, owner):
    _, site = owner
    session = billing_login(api, "olena@example.ua")
    listed = api.get("/billing", headers={"Cookie": session})
    html = listed.body.decode()
    assert listed.status_code == 200 and f"/billing/{site['id']}?lang=uk" in html and 'lang="uk"' in html
    section = api.get(f"/billing/{site['id']}", headers={"Cookie": session})
    html = section.body.decode()
    assert section.status_code == 200 and site["service_code"] in html and "shop.example.ua" in html
    assert "Білінг" in html or "Біллінг" in html
    english = api.get(f"/billing/{site['id']}?lang=en", headers={"Cookie": session}).body.decode()
    assert 'lang="en"' in english and "Service code" in english
    persian = api.get(f"/billing/{site['id']}?lang=fa", headers={"Cookie": session}).body.decode()
    assert 'dir="rtl"' in persian


def test_the_session_cookie_is_http_only_and_lax_and_a_log_out_ends_it(api, owner):
    form = api.get("/web/login")
    link = form.headers["Set-Cookie"].split(";")[0]
    done = post_page(api, "/web/login", link, {"csrf": csrf_of(form.body.decode()), "email": "olena@example.ua",
                                                "password": "correct horse"})
    cookies = done.headers["Set-Cookie"]
    [flags] = [c for c in (cookies if isinstance(cookies, list) else cookies.split(", "))
               if c.startswith("escrowdesk_web=")]
    assert "HttpOnly" in flags and "SameSite=Lax" in flags and "Max-Age=43200" in flags
    session = flags.split(";")[0]
    page = api.get("/billing", headers={"Cookie": session})
    assert post_page(api, "/web/logout", session, {"csrf": "forged"}).status_code == 403
    assert api.get("/billing", headers={"Cookie": session}).status_code == 200
    out = post_page(api, "/web/logout", session, {"csrf": csrf_of(page.body.decode())})
    assert out.status_code == 303 and "Max-Age=0" in out.headers["Set-Cookie"]
    ended = api.get("/billing?lang=en", headers={"Cookie": session})
    assert ended.status_code == 401 and "Log in again" in ended.body.decode()


def test_a_wrong_password_a_foreign_form_and_a_stale_form_start_no_session(api, owner):
    form = api.get("/web/login?lang=en")
    link, csrf = form.headers["Set-Cookie"].split(";")[0], csrf_of(form.body.decode())
    wrong = post_page(api, "/web/login?lang=en", link, {"csrf": csrf, "email": "olena@example.ua",
                                                         "password": "wrong password"})
    assert wrong.status_code == 401 and "The e-mail or the password is wrong." in wrong.body.decode()
    assert "escrowdesk_web=" not in str(wrong.headers.get("Set-Cookie", ""))
    fields = {"csrf": csrf, "email": "olena@example.ua", "password": "correct horse"}
    assert post_page(api, "/web/login", link, {**fields, "csrf": "forged"}).status_code == 403
    assert post_page(api, "/web/login", link, fields, origin="https://evil.example").status_code == 403
    assert post_page(api, "/web/login", "", fields).status_code == 403
    assert post_page(api, "/web/login", link, {"csrf": csrf}).status_code == 400


def test_another_owners_site_is_not_found_and_an_old_session_ends_with_a_password_change(api, owner):
    _, site = owner
    api.signup("other@example.ua", name="Other")
    other = billing_login(api, "other@example.ua")
    refused = api.get(f"/billing/{site['id']}?lang=en", headers={"Cookie": other})
    assert refused.status_code == 404 and "There is no such site among yours." in refused.body.decode()
    assert site["service_code"] not in refused.body.decode()
    assert api.get("/billing/x%00y", headers={"Cookie": other}).status_code in (400, 404)
    token, _ = owner
    session = billing_login(api, "olena@example.ua")
    assert api.post("/v1/me/password", {"current_password": "correct horse", "new_password": "correct horse 2"},
                    token=token).status_code in (200, 204)
    assert api.get(f"/billing/{site['id']}", headers={"Cookie": session}).status_code == 401


def test_a_session_lasts_twelve_hours(api, owner, monkeypatch):
    session = billing_login(api, "olena@example.ua")
    real = clock.wall
    monkeypatch.setattr(clock, "wall", lambda: real() + timedelta(hours=12, seconds=-60))
    assert api.get("/billing", headers={"Cookie": session}).status_code == 200
    monkeypatch.setattr(clock, "wall", lambda: real() + timedelta(hours=12, seconds=1))
    assert api.get("/billing", headers={"Cookie": session}).status_code == 401

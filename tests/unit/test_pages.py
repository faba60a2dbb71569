"""The pages people open from e-mails (chalicelib/entrypoints/web), through the app: a link's token is swapped for a
cookie at once, the forms need the cookie's CSRF token and this origin, unknown, used and expired links
get pages that say so, and the pages speak the reader's language (Persian right to left). The same
flows run in a real browser in tests/e2e/test_pages_in_browser.py."""
from __future__ import annotations

import re
import urllib.parse

import pytest

from chalicelib.platform import clock, config
from tests.support import assert_books_balance, sent_links

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _links(kind: str) -> list[str]:
    return sent_links(kind)


def _path(link: str) -> str:
    return urllib.parse.urlsplit(link).path


def _open(api, link: str):
    """Open an e-mail's link: a redirect to a page without the token, and the cookie that carries it."""
    opened = api.get(_path(link))
    assert opened.status_code == 303, opened.body
    location = opened.headers["Location"]
    assert location.startswith(config.settings.app_url) and _path(link).rsplit("/", 1)[1] not in location
    cookie = opened.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/web" in cookie
    return _path(location), cookie.split(";")[0]


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def _post(api, path: str, cookie: str, fields: dict, origin: str | None = None):
    headers = {**FORM, "Cookie": cookie, **({"Origin": origin} if origin else {})}
    return api.request("POST", path, raw=urllib.parse.urlencode(fields).encode(), headers=headers)


@pytest.fixture
def company(api):
    return api.signup("boss@acme.example", name="ACME")


def test_an_invitee_joins_from_the_invitation_page_once(api, company):
    api.post("/v1/team/invitations", {"emails": "new@example.com", "greeting": "Welcome <b>aboard</b>"},
             token=company)
    [link] = _links("team_invitation")
    assert link.startswith(config.settings.app_url + "/web/invitations/")
    page, cookie = _open(api, link)
    form = api.get(page, headers={"Cookie": cookie})
    html = form.body.decode()
    assert form.status_code == 200 and form.headers["Content-Type"].startswith("text/html")
    assert "ACME" in html and "new@example.com" in html and "&lt;b&gt;aboard&lt;/b&gt;" in html
    assert "frame-ancestors 'none'" in form.headers["Content-Security-Policy"]
    fields = {"csrf": _csrf(html), "action": "accept", "name": "Newbie", "password": "correct horse", "locale": "en"}

    assert _post(api, page, cookie, {**fields, "csrf": "forged"}).status_code == 403
    assert _post(api, page, cookie, fields, origin="https://evil.example").status_code == 403
    assert _post(api, page, "escrowdesk_link=forged.x", fields).status_code == 400
    short = _post(api, page, cookie, {**fields, "password": "short"})
    assert short.status_code == 422 and "8" in short.body.decode()
    done = _post(api, page, cookie, fields)
    assert done.status_code == 303 and "Max-Age=0" in done.headers["Set-Cookie"]
    assert api.post("/v1/auth/login", {"email": "new@example.com", "password": "correct horse"}).status_code == 200
    assert api.get(_path(done.headers["Location"])).status_code == 200
    used = api.get(_path(link))
    assert used.status_code == 409 and "already been answered" in used.body.decode()
    assert _post(api, page, cookie, fields).status_code == 409
    assert_books_balance()


def test_an_existing_account_accepts_or_declines_a_request_to_join_on_its_page(api, company):
    member = api.signup("old@example.com", name="Old Hand")
    api.post("/v1/team/invitations", {"emails": "old@example.com"}, token=company)
    [link] = _links("team_join_request")
    page, cookie = _open(api, link)
    html = api.get(page, headers={"Cookie": cookie}).body.decode()
    assert 'name="password"' not in html  # he has an account: only accept or decline
    declined = _post(api, page, cookie, {"csrf": _csrf(html), "action": "decline"})
    assert declined.status_code == 303 and "declined" in declined.headers["Location"]
    team = api.get("/v1/team", token=company).json_body["items"]
    assert [m["state"] for m in team] == ["declined"]
    assert api.get("/v1/me", token=member).status_code == 200


def test_unknown_and_expired_links_and_a_page_without_its_link_say_so(api, company):
    assert api.get("/web/invitations/forged").status_code == 404
    assert api.get("/web/password-reset/forged").status_code == 404
    assert api.get("/web/invitation").status_code == 400
    assert api.get("/web/password").status_code == 400
    api.post("/v1/team/invitations", {"emails": "late@example.com"}, token=company)
    [link] = _links("team_invitation")
    clock.advance(4 * 86400)
    expired = api.get(_path(link))
    assert expired.status_code == 410 and "expired" in expired.body.decode()


def test_a_password_is_reset_on_its_page_in_the_readers_language_right_to_left_in_persian(api):
    session = api.signup("ann@example.com", locale="fa", name="Ann")
    api.post("/v1/auth/password-reset", {"email": "ann@example.com"})
    [link] = _links("password_reset")
    page, cookie = _open(api, link)
    html = api.get(page, headers={"Cookie": cookie}).body.decode()
    assert 'lang="fa" dir="rtl"' in html
    mismatch = _post(api, page, cookie, {"csrf": _csrf(html), "password": "a brand new one", "password_again": "x"})
    assert mismatch.status_code == 422
    done = _post(api, page, cookie, {"csrf": _csrf(html), "password": "a brand new one",
                                     "password_again": "a brand new one"})
    assert done.status_code == 303
    assert api.get("/v1/me", token=session).status_code == 401
    assert api.post("/v1/auth/login", {"email": "ann@example.com", "password": "a brand new one"}).status_code == 200
    assert api.get(_path(link)).status_code == 409
    russian = api.get("/web/password-reset/forged?lang=ru").body.decode()
    assert 'lang="ru"' in russian and "Ссылка не работает" in russian
    ukrainian = api.get("/web/password-reset/forged", headers={"Accept-Language": "uk-UA,uk;q=0.9,en;q=0.8"})
    assert 'lang="uk"' in ukrainian.body.decode() and ukrainian.status_code == 404


def _invitation_html(locale: str, company_name: str) -> str:
    from chalicelib.entrypoints.web.render import page

    return page("invitation.html.j2", locale, company_name=company_name, existing=True, greeting="", error="",
                action="/web/invitation", csrf="token", email="new@example.com", name="", switch_language=True)


def test_a_persian_page_keeps_a_latin_company_name_in_its_own_direction():
    html = _invitation_html("fa", "ACME <Ltd>")

    assert '<h1><bdi dir="ltr">ACME &lt;Ltd&gt;</bdi>' in html
    title = html[html.index("<title>"):html.index("</title>")]
    assert "<bdi" not in title and "\u2066ACME &lt;Ltd&gt;\u2069" in title  # a <title> holds text: isolates
    assert 'lang="uk" dir="auto">Українська</a>' in html


def test_an_english_page_leaves_a_latin_company_name_bare():
    html = _invitation_html("en", "ACME <Ltd>")

    assert "<h1>ACME &lt;Ltd&gt; invites you" in html and "<bdi" not in html


def test_every_page_takes_its_style_from_one_hashed_stylesheet_and_runs_no_inline_code(api, company):
    api.post("/v1/team/invitations", {"emails": "new@example.com"}, token=company)
    page, cookie = _open(api, _links("team_invitation")[0])
    form = api.get(page, headers={"Cookie": cookie})
    html, policy = form.body.decode(), form.headers["Content-Security-Policy"]
    assert "<style" not in html and "<script" not in html and " style=" not in html
    assert "unsafe-inline" not in policy and "style-src 'self'" in policy and "default-src 'none'" in policy
    [href] = re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)
    assert re.fullmatch(re.escape(config.settings.app_url) + r"/static/site\.[0-9a-f]{12}\.css", href)
    sheet = api.get(_path(href))
    assert sheet.status_code == 200 and sheet.headers["Content-Type"].startswith("text/css")
    assert "immutable" in sheet.headers["Cache-Control"] and b"body{" in sheet.body
    for stale in ("/static/site.000000000000.css", "/static/other.css"):
        assert api.get(stale).status_code == 404
    console = api.get("/console/login")
    assert href in console.body.decode() and console.headers["Content-Security-Policy"] == policy

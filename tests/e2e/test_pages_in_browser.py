"""Every link the service e-mails opens a page that works, in a real browser: headless Chromium (Debian's
`chromium`, driven by Playwright's Python package, no browser downloaded) against the local stage
(`make run`'s runner). Each test opens the e-mail in the local mail sink, clicks its link, fills the form,
submits it, and then logs in over the API with what it set. An expired link and the Persian pages (right
to left) are covered too, and so is a site's payment link from a declined charge's e-mail, paid on the local
acquirer's checkout page. Every page met on the way, and the page an optional e-mail's "turn off" link opens, is
checked in English and in Persian by `check_page` (tests/e2e/conftest.py: no serious or critical axe-core violation,
no sideways scrolling, screenshots at 360 px and 1280 px in build/screenshots/). `make e2e` installs chromium when
it is missing (`make browser`)."""
from __future__ import annotations

import email
import email.policy
import hashlib
import time
import urllib.parse
import uuid
from pathlib import Path

import pytest
import requests

from tests.e2e.browser_support import until

DECLINED_CARD = "4000000000000002"  # the stage's fake acquirer declines saved-card charges of this card


@pytest.fixture(scope="module")
def local_stack(start_local_stack):
    token = "tok_" + hashlib.sha256(DECLINED_CARD.encode()).hexdigest()[:24]
    return start_local_stack(extra_env={"ACQUIRER_DECLINE_TOKENS": token})


@pytest.fixture
def page(browser):
    opened = browser.new_page()
    yield opened
    opened.close()
    browser.clear_cookies()


def _signup(url: str, who: str, locale: str = "en") -> tuple[str, str]:
    address = f"{who}-{uuid.uuid4().hex[:8]}@example.com"
    answer = requests.post(f"{url}/v1/auth/signup", json={"email": address, "password": "correct horse",
                                                          "name": who.title(), "locale": locale}, timeout=30)
    assert answer.status_code == 201, answer.text
    return address, answer.json()["token"]


def _mail(mail_dir: Path, to: str, timeout: float = 30, below: str = "/web/") -> Path:
    """The HTML copy (what a person opens in the sink) of the newest e-mail to `to` that links to one of the
    service's pages below `below` (not the welcome e-mail), once the stream has sent it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for eml in sorted(mail_dir.glob("*.eml"), reverse=True):
            message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
            if message["To"] == to and below in eml.with_suffix(".html").read_text(encoding="utf-8"):
                return eml.with_suffix(".html")
        time.sleep(0.2)
    raise AssertionError(f"no e-mail to {to} in {mail_dir}")


def _login(url: str, address: str, password: str) -> int:
    return requests.post(f"{url}/v1/auth/login", json={"email": address, "password": password},
                         timeout=30).status_code


def _open_link_from_the_sink(page, message: Path) -> None:
    page.goto(message.as_uri())
    page.click("a.button")
    page.wait_for_load_state()
    assert not any(path in page.url for path in ("/web/invitations/", "/web/password-reset/",
                                                 "/web/email-confirmations/")), page.url  # token gone


def _with_lang(address: str, locale: str) -> str:
    parts = urllib.parse.urlsplit(address)
    query = [(key, value) for key, value in urllib.parse.parse_qsl(parts.query) if key != "lang"] + [("lang", locale)]
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def _in_both_languages(page, check_page, name: str) -> None:
    """`check_page` on the page as it is, then on the same address in the other of English and Persian (its `lang`);
    the page is left as it was opened, in its first language (a form's state lives in its cookie)."""
    first = page.get_attribute("html", "lang")
    other = "en" if first == "fa" else "fa"
    address = page.url
    check_page(page, f"{name}-{first}")
    page.goto(_with_lang(address, other))
    assert page.get_attribute("html", "lang") == other
    assert page.get_attribute("html", "dir") == ("rtl" if other == "fa" else "ltr")
    check_page(page, f"{name}-{other}")
    page.goto(_with_lang(address, first))


def _confirm_address(page, mail_dir: Path, address: str) -> None:
    """Open the confirmation e-mail's link and confirm the address on its page."""
    _open_link_from_the_sink(page, _mail(mail_dir, address, below="/web/email-confirmations/"))
    page.click("button[type=submit]")
    page.wait_for_url("**/web/email-confirmation/done**")


def test_an_invitee_opens_the_invitation_from_the_mail_sink_joins_and_logs_in(local_stack, page, check_page) -> None:
    url = local_stack.url
    _, company = _signup(url, "acme")
    invitee = f"new-{uuid.uuid4().hex[:8]}@example.com"
    invited = requests.post(f"{url}/v1/team/invitations", json={"emails": invitee, "greeting": "Welcome aboard!"},
                            headers={"Authorization": f"Bearer {company}"}, timeout=30)
    assert invited.json()["results"][0]["status"] == "invited", invited.text

    message = _mail(local_stack.mail_dir, invitee)
    _open_link_from_the_sink(page, message)

    assert page.url.endswith("/web/invitation")
    assert "Acme" in page.inner_text("h1") and "Welcome aboard!" in page.inner_text("blockquote")
    _in_both_languages(page, check_page, "invitation-new-account")
    page.fill("#name", "Newbie")
    page.fill("#password", "short")
    page.evaluate("document.querySelector('#password').removeAttribute('minlength')")  # the server checks too
    page.click("text=Create my account and join")
    assert "8 characters" in page.inner_text(".error")
    check_page(page, "invitation-refused-en")
    page.fill("#password", "a fine new password")
    page.click("text=Create my account and join")
    page.wait_for_url("**/web/invitation/done**")
    assert "joined the team" in page.inner_text("main")
    _in_both_languages(page, check_page, "invitation-done")
    assert _login(url, invitee, "a fine new password") == 200
    members = requests.get(f"{url}/v1/team", headers={"Authorization": f"Bearer {company}"}, timeout=30).json()
    assert [m["state"] for m in members["items"] if m["email"] == invitee] == ["active"]
    page.goto(f"{url}/web/invitation")  # the form again: its cookie went with the answer
    assert "Open the link from your e-mail" in page.inner_text("h1")
    _in_both_languages(page, check_page, "problem-no-link")
    page.goto(message.as_uri())  # the e-mail's link again: used
    with page.expect_navigation() as used:
        page.click("a.button")
    assert used.value.status == 409 and "already been answered" in page.inner_text("main")
    _in_both_languages(page, check_page, "problem-invitation-answered")


def test_a_password_reset_in_persian_reads_right_to_left_and_sets_the_new_password(local_stack, page,
                                                                                    check_page) -> None:
    url = local_stack.url
    address, session = _signup(url, "sara", locale="fa")
    assert requests.post(f"{url}/v1/auth/password-reset", json={"email": address}, timeout=30).status_code == 202

    _open_link_from_the_sink(page, _mail(local_stack.mail_dir, address, below="/web/password-reset/"))

    assert page.get_attribute("html", "dir") == "rtl" and page.get_attribute("html", "lang") == "fa"
    assert "رمز عبور" in page.inner_text("h1")
    _in_both_languages(page, check_page, "password")
    page.fill("#password", "رمز تازهٔ خیلی خوب")
    page.fill("#password_again", "رمز تازهٔ دیگری")
    page.click("button[type=submit]")
    assert page.get_attribute("html", "dir") == "rtl" and page.locator(".error").count() == 1
    check_page(page, "password-refused-fa")
    page.fill("#password", "رمز تازهٔ خیلی خوب")
    page.fill("#password_again", "رمز تازهٔ خیلی خوب")
    page.click("button[type=submit]")
    page.wait_for_url("**/web/password/done**")
    assert page.get_attribute("html", "dir") == "rtl"
    _in_both_languages(page, check_page, "password-done")
    assert _login(url, address, "رمز تازهٔ خیلی خوب") == 200
    assert _login(url, address, "correct horse") == 401
    me = requests.get(f"{url}/v1/me", headers={"Authorization": f"Bearer {session}"}, timeout=30)
    assert me.status_code == 401 and me.json()["error"]["code"] == "token_revoked"


def test_an_existing_account_answers_a_request_to_join_in_persian(local_stack, page, check_page) -> None:
    url = local_stack.url
    _, company = _signup(url, "dariush", locale="fa")
    member, _ = _signup(url, "mina", locale="fa")
    _confirm_address(page, local_stack.mail_dir, member)  # an existing account joins only with a proven address
    requests.post(f"{url}/v1/team/invitations", json={"emails": member},
                  headers={"Authorization": f"Bearer {company}"}, timeout=30)

    _open_link_from_the_sink(page, _mail(local_stack.mail_dir, member, below="/web/invitations/"))

    assert page.get_attribute("html", "dir") == "rtl"
    assert page.locator("#password").count() == 0  # he has an account: accept or decline, nothing to set
    _in_both_languages(page, check_page, "invitation-existing-account")
    page.click("form:first-of-type button[type=submit]")
    page.wait_for_url("**/web/invitation/done**")
    members = requests.get(f"{url}/v1/team", headers={"Authorization": f"Bearer {company}"}, timeout=30).json()
    assert [m["state"] for m in members["items"] if m["email"] == member] == ["active"]


def test_a_new_account_confirms_its_address_from_the_e_mail_in_persian_and_the_link_then_is_spent(
        local_stack, page, check_page) -> None:
    url = local_stack.url
    address, session = _signup(url, "parisa", locale="fa")
    me = requests.get(f"{url}/v1/me", headers={"Authorization": f"Bearer {session}"}, timeout=30).json()
    assert me["email_confirmed"] is False and me["email_confirmation"]["resend"] == "POST /v1/me/email-confirmation"
    message = _mail(local_stack.mail_dir, address, below="/web/email-confirmations/")

    _open_link_from_the_sink(page, message)

    assert page.url.endswith("/web/email-confirmation")
    assert page.get_attribute("html", "dir") == "rtl" and page.get_attribute("html", "lang") == "fa"
    assert address in page.inner_text("main") and "تأیید" in page.inner_text("h1")
    _in_both_languages(page, check_page, "confirmation")
    page.click("button[type=submit]")
    page.wait_for_url("**/web/email-confirmation/done**")
    assert page.get_attribute("html", "dir") == "rtl" and "تأیید شد" in page.inner_text("main")
    _in_both_languages(page, check_page, "confirmation-done")
    me = requests.get(f"{url}/v1/me", headers={"Authorization": f"Bearer {session}"}, timeout=30).json()
    assert me["email_confirmed"] is True and me["email_confirmation"] is None
    page.goto(message.as_uri())  # the e-mail's link again: spent
    with page.expect_navigation() as used:
        page.click("a.button")
    assert used.value.status == 409 and page.locator("form").count() == 0
    _in_both_languages(page, check_page, "problem-confirmation-spent")


def test_an_expired_invitation_link_opens_a_page_that_says_so(local_stack, page, check_page) -> None:
    url = local_stack.url
    _, company = _signup(url, "late")
    invitee = f"late-{uuid.uuid4().hex[:8]}@example.com"
    requests.post(f"{url}/v1/team/invitations", json={"emails": invitee},
                  headers={"Authorization": f"Bearer {company}"}, timeout=30)
    message = _mail(local_stack.mail_dir, invitee)
    requests.post(f"{url}/dev/clock", json={"advance_seconds": 4 * 86400}, timeout=30)  # past the 72 hours

    page.goto(message.as_uri())
    with page.expect_navigation() as opened:
        page.click("a.button")
    assert opened.value.status == 410
    assert "expired" in page.inner_text("main") and page.locator("form").count() == 0
    _in_both_languages(page, check_page, "problem-invitation-expired")


def test_a_declined_charges_e_mail_opens_a_payment_link_paid_on_the_checkout_page(local_stack, page,
                                                                                   check_page) -> None:
    url = local_stack.url
    operator = requests.post(f"{url}/v1/auth/login", json={"email": "operator@escrowdesk.local",
                                                           "password": "local-operator-pass"}, timeout=30).json()
    tariff = {"code": f"start{uuid.uuid4().hex[:4]}", "name": "Start", "price": {"amount": 31000, "currency": "UAH"},
              "limits": {"products": 100, "orders_per_month": 50}, "features": []}
    assert requests.post(f"{url}/v1/operator/tariffs", json=tariff, timeout=30,
                         headers={"Authorization": f"Bearer {operator['token']}"}).status_code == 201
    address, token = _signup(url, "olena")
    auth = {"Authorization": f"Bearer {token}"}
    site = requests.post(f"{url}/v1/sites", json={"name": "Shop", "domains": [f"{uuid.uuid4().hex[:8]}.example.ua"],
                                                  "owner": {"name": "Olena", "email": address,
                                                            "phone": "+380501234567"},
                                                  "tariff": tariff["code"]}, headers=auth, timeout=30).json()

    def invoices() -> list[dict]:
        return requests.get(f"{url}/v1/sites/{site['id']}/invoices", headers=auth, timeout=30).json()["items"]

    started = requests.post(f"{url}/v1/sites/{site['id']}/payment-method", headers=auth, timeout=30).json()
    page.goto(started["url"])  # saving the card pays the first invoice
    page.fill("#card_number", "4000 0000 0000 0002")
    page.fill("#holder", "Olena Petrenko")
    page.click("button[value=pay]")
    page.wait_for_url("**/done**")
    until(lambda: invoices()[0]["status"] == "paid")

    requests.post(f"{url}/dev/clock", json={"advance_seconds": 32 * 86_400}, timeout=30)
    requests.post(f"{url}/dev/jobs/run", timeout=60)  # the next month's invoice, charged at once: declined
    declined = until(lambda: next((m for m in sorted(local_stack.mail_dir.glob("*.html"))
                                    if "/web/checkout/" in m.read_text(encoding="utf-8")), None))

    page.goto(declined.as_uri())
    page.click("a[href*='/web/checkout/']")
    page.wait_for_load_state()
    assert "Pay by card" in page.inner_text("h1") and "HOR-" in page.inner_text("blockquote")
    _in_both_languages(page, check_page, "checkout")
    page.fill("#card_number", "4111 1111 1111 1112")
    page.fill("#holder", "Olena Petrenko")
    page.click("button[value=pay]")
    assert "not a valid card number" in page.inner_text(".error")
    check_page(page, "checkout-refused-en")
    page.fill("#card_number", "4111 1111 1111 1111")
    page.click("button[value=pay]")
    page.wait_for_url("**/done?result=pay**")
    _in_both_languages(page, check_page, "checkout-done")
    paid = until(lambda: next((i for i in invoices() if i["status"] == "paid" and i["paid_by"] == "link"), None))
    assert paid["number"].endswith("-002")


def test_a_client_with_an_empty_balance_pays_an_orders_402_on_the_checkout_page_and_the_order_is_placed_and_held(
        local_stack, page) -> None:
    url = local_stack.url
    _, seller = _signup(url, "seller")
    gig = requests.post(f"{url}/v1/gigs", json={"title": "Logo", "description": "A logo", "amount": 4500,
                                                 "currency": "USD", "delivery_days": 3},
                        headers={"Authorization": f"Bearer {seller}"}, timeout=30)
    assert gig.status_code == 201, gig.text
    _, buyer = _signup(url, "buyer")
    auth = {"Authorization": f"Bearer {buyer}"}

    refused = requests.post(f"{url}/v1/orders", json={"gig_id": gig.json()["id"]}, headers=auth, timeout=30)
    assert refused.status_code == 402, refused.text
    error = refused.json()["error"]
    assert error["code"] == "insufficient_funds" and error["missing"] == {"amount": 4500, "currency": "USD"}

    page.goto(error["topup"]["payment_url"])
    assert "Pay by card" in page.inner_text("h1")
    page.fill("#card_number", "4111 1111 1111 1111")
    page.fill("#holder", "Ivan Petrenko")
    page.click("button[value=pay]")
    page.wait_for_url("**/done?result=pay**")

    order = until(lambda: next(iter(requests.get(f"{url}/v1/orders", headers=auth, timeout=30).json()["items"]),
                                None))
    assert order["status"] == "not_started" and order["amount"] == 4500 and order["gig_id"] == gig.json()["id"]
    balances = requests.get(f"{url}/v1/balances", headers=auth, timeout=30).json()["items"]
    assert next((b["available"], b["held"]) for b in balances if b["currency"] == "USD") == (0, 4500)
    topup = requests.get(f"{url}/v1/topups/{error['topup']['id']}", headers=auth, timeout=30).json()
    assert topup["status"] == "paid" and topup["action_result"] == {"status": "completed", "order_id": order["id"]}


def test_an_optional_e_mails_link_turns_that_kind_off_in_english_and_in_persian(local_stack, page, check_page) -> None:
    url = local_stack.url
    for locale in ("en", "fa"):
        address, token = _signup(url, f"reader-{locale}", locale=locale)

        page.goto(_mail(local_stack.mail_dir, address, below="/web/unsubscribe/").as_uri())  # the welcome e-mail
        page.click("a[href*='/web/unsubscribe/']")
        page.wait_for_load_state()
        assert page.get_attribute("html", "lang") == locale and page.locator("form").count() == 1
        check_page(page, f"unsubscribe-{locale}")
        page.click("button[type=submit]")
        page.wait_for_load_state()
        assert page.get_attribute("html", "lang") == locale and page.locator("form").count() == 0
        check_page(page, f"unsubscribe-done-{locale}")
        settings = requests.get(f"{url}/v1/me/notification-settings", headers={"Authorization": f"Bearer {token}"},
                                timeout=30).json()
        assert [item["email"] for item in settings["items"] if item["kind"] == "welcome"] == [False]

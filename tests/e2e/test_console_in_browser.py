"""The operator console in a real browser: headless Chromium (Debian's `chromium`, driven by Playwright's Python
package) against the local stage. The local operator enrols an authenticator at his first log-in (the test reads
the key off the page and computes the codes with pyotp, as the app would), logs out, logs in again with the next
code and opens the audit log, which lists his enrolment and his log-in with a code. Every page is checked with axe-core
(npm `axe-core`, evaluated in the page) for serious or critical violations, in English and in Persian, and drawn at
360 px and 1280 px into build/screenshots/ for a person to look at."""
from __future__ import annotations

import re
import time
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import expect

from tests.e2e.browser_support import OPERATOR_EMAIL, OPERATOR_PASSWORD

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def local_stack(start_local_stack):
    return start_local_stack()


def _wait_for_a_new_code(totp: pyotp.TOTP, used: str) -> str:
    """A code is good once: the next log-in waits for the app's next code, as the operator would."""
    while (code := totp.now()) == used:
        time.sleep(1)
    return code


def test_an_operator_enrols_logs_in_and_reads_the_audit_log_in_english_and_persian(local_stack, browser, check_page):
    url = local_stack.url
    page = browser.new_page()

    page.goto(f"{url}/console/login?lang=en")
    check_page(page, "console-login-en")
    page.fill("#email", OPERATOR_EMAIL)
    page.fill("#password", "not the password")
    page.click("button[type=submit]")
    expect(page.locator(".error")).to_contain_text("wrong")
    page.fill("#email", OPERATOR_EMAIL)
    page.fill("#password", OPERATOR_PASSWORD)
    page.click("button[type=submit]")

    page.wait_for_url("**/console/enrol**")
    expect(page.locator(".qr svg")).to_be_visible()  # waits for the page that draws it, however loaded the machine
    check_page(page, "console-enrol-en")
    totp = pyotp.TOTP(page.locator("#secret").inner_text().replace(" ", ""))
    page.fill("#code", "000000" if totp.now() != "000000" else "111111")
    page.click("button[type=submit]")
    expect(page.locator(".error")).to_be_visible()
    first = totp.now()
    page.fill("#code", first)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/console\?lang=en$"))
    check_page(page, "console-home-en")

    page.click("header button[type=submit]")  # log out
    page.wait_for_url("**/console/login**")
    page.goto(f"{url}/console")
    assert "Log in to the console" in page.content()

    page.goto(f"{url}/console/login?lang=fa")
    assert page.locator("html").get_attribute("dir") == "rtl"
    check_page(page, "console-login-fa")
    page.fill("#email", OPERATOR_EMAIL)
    page.fill("#password", OPERATOR_PASSWORD)
    page.fill("#code", _wait_for_a_new_code(totp, first))
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/console\?lang=fa$"))
    check_page(page, "console-home-fa")

    page.goto(f"{url}/console/audit?lang=fa")
    rows = page.locator("tbody tr")
    actions = [rows.nth(i).locator("td").nth(3).inner_text() for i in range(rows.count())]
    assert actions.count("console_login") == 1 and actions.count("enrol_totp") == 1, actions
    assert OPERATOR_EMAIL in page.locator("tbody").inner_text()
    check_page(page, "console-audit-fa")
    page.goto(f"{url}/console/audit?lang=en&operator={OPERATOR_EMAIL}")
    assert page.locator("tbody tr").count() == 2
    check_page(page, "console-audit-en")
    page.goto(f"{url}/console/audit?lang=en&operator=nobody%40example.com")
    assert page.locator("tbody tr").count() == 0
    page.close()

"""The operator console in a real browser: headless Chromium (Debian's `chromium`, driven by Playwright's Python
package) against the local stage. The local operator enrols an authenticator at his first log-in (the test reads
the key off the page and computes the codes with pyotp, as the app would), logs out, logs in again with the next
code and opens the audit log, which lists his enrolment and his log-in with a code. Every page is checked with axe-core
(npm `axe-core`, evaluated in the page) for serious or critical violations, in English and in Persian, and drawn at
360 px and 1280 px into build/screenshots/ for a person to look at."""
from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pyotp
import pytest

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "build" / "screenshots"
OPERATOR_EMAIL, OPERATOR_PASSWORD = "operator@escrowdesk.local", "local-operator-pass"  # the local stage's operator
WIDTHS = (360, 1280)


def _axe_source() -> str:
    """axe-core from node_modules (`make install`), or from AXE_CORE_JS."""
    path = Path(os.environ.get("AXE_CORE_JS") or ROOT / "node_modules" / "axe-core" / "axe.min.js")
    if not path.exists():
        pytest.fail(f"axe-core is missing at {path}: run `make install` (npm ci), or set AXE_CORE_JS")
    return path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def local_stack(start_local_stack):
    return start_local_stack()


def _check(page, name: str, axe: str) -> None:
    """No serious or critical axe-core violation on the page as it is, and its screenshots at both widths."""
    page.evaluate(axe)  # through the DevTools protocol: the page's CSP allows no script of its own
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    bad = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"]
           if v["impact"] in ("serious", "critical")]
    assert bad == [], f"{name}: {bad}"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SCREENSHOTS / f"console-{name}-{width}.png"), full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{name} is wider than {width} px by {overflow} px"


def _wait_for_a_new_code(totp: pyotp.TOTP, used: str) -> str:
    """A code is good once: the next log-in waits for the app's next code, as the operator would."""
    while (code := totp.now()) == used:
        time.sleep(1)
    return code


def test_an_operator_enrols_logs_in_and_reads_the_audit_log_in_english_and_persian(local_stack, browser):
    axe, url = _axe_source(), local_stack.url
    page = browser.new_page()

    page.goto(f"{url}/console/login?lang=en")
    _check(page, "login-en", axe)
    page.fill("#email", OPERATOR_EMAIL)
    page.fill("#password", "not the password")
    page.click("button[type=submit]")
    assert page.locator(".error").is_visible() and "wrong" in page.locator(".error").inner_text()
    page.fill("#email", OPERATOR_EMAIL)
    page.fill("#password", OPERATOR_PASSWORD)
    page.click("button[type=submit]")

    assert "/console/enrol" in page.url and page.locator(".qr svg").is_visible()
    _check(page, "enrol-en", axe)
    totp = pyotp.TOTP(page.locator("#secret").inner_text().replace(" ", ""))
    page.fill("#code", "000000" if totp.now() != "000000" else "111111")
    page.click("button[type=submit]")
    assert page.locator(".error").is_visible()
    first = totp.now()
    page.fill("#code", first)
    page.click("button[type=submit]")
    assert re.search(r"/console\?lang=en$", page.url), page.url
    _check(page, "home-en", axe)

    page.click("header button[type=submit]")  # log out
    assert "/console/login" in page.url
    page.goto(f"{url}/console")
    assert "Log in to the console" in page.content()

    page.goto(f"{url}/console/login?lang=fa")
    assert page.locator("html").get_attribute("dir") == "rtl"
    _check(page, "login-fa", axe)
    page.fill("#email", OPERATOR_EMAIL)
    page.fill("#password", OPERATOR_PASSWORD)
    page.fill("#code", _wait_for_a_new_code(totp, first))
    page.click("button[type=submit]")
    assert re.search(r"/console\?lang=fa$", page.url), page.url
    _check(page, "home-fa", axe)

    page.goto(f"{url}/console/audit?lang=fa")
    rows = page.locator("tbody tr")
    actions = [rows.nth(i).locator("td").nth(3).inner_text() for i in range(rows.count())]
    assert actions.count("console_login") == 1 and actions.count("enrol_totp") == 1, actions
    assert OPERATOR_EMAIL in page.locator("tbody").inner_text()
    _check(page, "audit-fa", axe)
    page.goto(f"{url}/console/audit?lang=en&operator={OPERATOR_EMAIL}")
    assert page.locator("tbody tr").count() == 2
    _check(page, "audit-en", axe)
    page.goto(f"{url}/console/audit?lang=en&operator=nobody%40example.com")
    assert page.locator("tbody tr").count() == 0
    page.close()

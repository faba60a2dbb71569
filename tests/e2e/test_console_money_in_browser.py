"""The console's money sections in a real browser (headless Chromium through Playwright) against the local stage: the
local operator logs in (enrolling his authenticator, codes computed by pyotp), finds a stray bank transfer in the
unmatched payments' queue by its amount, applies it to the client's top-up invoice offered beside it with a reason,
and sees the result and the books balanced; the client's balance has the money. He looks at the payouts, runs the
books audit, and finds both acts in the audit log. Every page is checked with axe-core in English and in Persian and
drawn at 360 px and 1280 px into build/screenshots/."""
from __future__ import annotations

import pytest
import requests

from tests.e2e.browser_support import OPERATOR_EMAIL, bank_transfer, enrol_operator


@pytest.fixture(scope="module")
def local_stack(start_local_stack):
    return start_local_stack()


def _transfer(api: str, amount: int, currency: str, purpose: str, payer: str) -> str:
    payment = bank_transfer(api, amount, currency, purpose, payer)
    assert payment["status"] == "unmatched", payment
    return payment["id"]


def test_an_operator_applies_a_stray_transfer_and_runs_the_books_audit_in_english_and_persian(
        local_stack, browser, check_page):
    url = local_stack.url
    signup = requests.post(f"{url}/v1/auth/signup", json={
        "email": "ann@example.com", "password": "correct horse", "name": "Ann", "locale": "en"}, timeout=30)
    assert signup.status_code == 201, signup.text
    auth = {"Authorization": f"Bearer {signup.json()['token']}"}
    invoice = requests.post(f"{url}/v1/invoices", json={"amount": 150000, "currency": "USD"}, headers=auth,
                            timeout=30).json()
    stray = _transfer(url, 150000, "USD", "consulting, November", "ACME GmbH")
    other = _transfer(url, 4200, "EUR", "donation", "Zahra Ahmadi")

    page = browser.new_page()
    enrol_operator(page, url)

    page.goto(f"{url}/console/payments?lang=en")
    assert page.locator("tbody tr").count() == 2
    check_page(page, "console-payments-en")
    page.fill("#amount", "1500.00")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**amount=1500.00**")
    assert page.locator("tbody tr").count() == 1 and "ACME GmbH" in page.locator("tbody").inner_text()
    page.click(f"a[href*='/console/payments/{stray}']")
    page.wait_for_url(f"**/console/payments/{stray}?**")
    assert invoice["number"] in page.locator("table").inner_text()
    check_page(page, "console-payment-en")
    page.check(f"#invoice-{invoice['id']}")
    page.fill("#apply_reason", "the purpose named the contract, not the invoice")
    page.click("section[aria-labelledby=apply-title] button[type=submit]")
    page.locator(".notice").wait_for()
    assert "done=applied" in page.url
    assert "The books balance" in page.locator(".notice").inner_text()
    check_page(page, "console-payment-applied-en")
    balances = requests.get(f"{url}/v1/balances", headers=auth, timeout=30).json()["items"]
    assert {"currency": "USD", "available": 150000, "held": 0} in balances

    page.goto(f"{url}/console/payments?lang=fa")
    assert page.locator("html").get_attribute("dir") == "rtl" and page.locator("tbody tr").count() == 1
    check_page(page, "console-payments-fa")
    page.goto(f"{url}/console/payments/{other}?lang=fa")
    assert page.locator("#return_reason").is_visible()
    check_page(page, "console-payment-fa")

    for lang in ("en", "fa"):
        page.goto(f"{url}/console/payouts?lang={lang}")
        check_page(page, f"console-payouts-{lang}")

    page.goto(f"{url}/console/books?lang=fa")
    check_page(page, "console-books-fa")
    page.goto(f"{url}/console/books?lang=en")
    assert "The books balance" in page.content()
    page.click("section[aria-labelledby=audit-title] button[type=submit]")
    page.locator(".verdict.ok >> nth=1").wait_for()
    assert "run=aud_" in page.url and "The audit found the books balanced." in page.content()
    check_page(page, "console-books-en")

    page.goto(f"{url}/console/audit?lang=en&operator={OPERATOR_EMAIL}")
    actions = page.locator("tbody").inner_text()
    assert "apply_payment" in actions and "audit_books" in actions, actions
    page.close()

"""The platform's pages played end to end in a real browser (headless Chromium through Playwright) on the local stage,
by the people who use them, in this order. The API is used only for what has no page: sign-ups, the tariffs, the
owner's site, the bank's webhook, and the order that reaches a dispute.

1. The local operator enrols his authenticator (the test computes the codes with pyotp), finds a stray bank transfer
   in the unmatched payments by its amount and applies it to the site's open invoice; the owner, logged in to his
   billing section, sees the invoice paid.
2. The owner adds a card through the checkout page (the 1.00 UAH verification: nothing is owed) and sees its mask and
   holder.
3. He changes the tariff once the confirmation has shown the prorated amount.
4. He fills in his requisites and activates Vchasno with one press.
5. He asks to delete the site with the questionnaire; the operator reads the answers and completes the deletion.
6. The operator splits a disputed order, and both parties' balances show the split.
7. The audit log lists every act of the operator's, his enrolment and a later log-in with a code among them; the
   books audit, run from the books page, finds the books balanced.

Key pages are checked with axe-core and drawn at 360 px and 1280 px (`check_page`), in English and in Persian; the
sections' own browser tests check the rest."""
from __future__ import annotations

import json
import re
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from playwright.sync_api import expect

from tests.e2e.browser_support import (
    OPERATOR_EMAIL,
    OPERATOR_PASSWORD,
    bank_transfer,
    enrol_operator,
    owner_log_in,
    until,
)

EDRPOU, IBAN = "32855961", "UA213223130000026007233566001"
PAYMENT, TARIFF = "section[aria-labelledby=block-payment]", "section[aria-labelledby=block-tariff]"
INVOICES, DELETION = "section[aria-labelledby=block-invoices]", "section[aria-labelledby=block-deletion]"


@pytest.fixture(scope="module")
def local_stack(start_local_stack, tmp_path_factory):
    """The local stage, its Vchasno fake knowing the owner's company (he registered there beforehand)."""
    accounts: Path = tmp_path_factory.mktemp("vchasno") / "accounts.json"
    accounts.write_text(json.dumps({"accounts": [EDRPOU]}), encoding="utf-8")
    return start_local_stack(extra_env={"VCHASNO_LOCAL_FILE": str(accounts)})


def _post(api: str, path: str, headers: dict, body: dict | None = None) -> dict:
    answer = requests.post(f"{api}{path}", json=body, headers=headers, timeout=30)
    assert answer.status_code in (200, 201), (path, answer.text)
    return answer.json()


def _user(api: str, who: str, locale: str = "en") -> dict:
    email = f"{who}-{uuid.uuid4().hex[:8]}@example.com"
    signup = _post(api, "/v1/auth/signup", {}, {"email": email, "password": "correct horse", "name": who.title(),
                                                 "locale": locale})
    headers = {"Authorization": f"Bearer {signup['token']}"}
    return {"headers": headers, "email": email,
            "id": requests.get(f"{api}/v1/me", headers=headers, timeout=30).json()["id"]}


def _site_with_an_open_invoice(api: str) -> tuple[dict, str, dict, dict]:
    """Two paid tariffs, and an owner's site on the cheaper one: its first invoice (the rest of this month) is open."""
    operator = {"Authorization": "Bearer " + _post(api, "/v1/auth/login", {}, {
        "email": OPERATOR_EMAIL, "password": OPERATOR_PASSWORD})["token"]}
    tail = uuid.uuid4().hex[:4]
    start = {"code": f"start{tail}", "name": f"Start {tail}", "price": {"amount": 31000, "currency": "UAH"},
             "limits": {"products": 100, "orders_per_month": 50}, "features": ["catalog"]}
    grow = {"code": f"grow{tail}", "name": f"Grow {tail}", "price": {"amount": 62000, "currency": "UAH"},
            "limits": {"products": 1000, "orders_per_month": 500}, "features": ["catalog", "promo_codes"]}
    for tariff in (start, grow):
        _post(api, "/v1/operator/tariffs", operator, tariff)
    owner = _user(api, "olena", "uk")
    site = _post(api, "/v1/sites", owner["headers"], {
        "name": "Квіткова крамниця", "domains": [f"{uuid.uuid4().hex[:8]}.example.ua"], "tariff": start["code"],
        "owner": {"name": "Olena", "email": owner["email"], "phone": "+380501234567"}})
    (invoice,) = requests.get(f"{api}/v1/sites/{site['id']}/invoices", headers=owner["headers"],
                              timeout=30).json()["items"]
    assert invoice["status"] == "open" and 0 < invoice["amount"] <= 31000, invoice  # this month's rest, prorated
    return owner, site["id"], invoice, grow


def _disputed_order(api: str) -> tuple[dict, dict, dict]:
    """A client's $100.00 order, delivered and disputed."""
    contractor, client = _user(api, "designer"), _user(api, "client")
    topup = _post(api, "/v1/invoices", client["headers"], {"amount": 25_000, "currency": "USD"})
    assert bank_transfer(api, 25_000, "USD", topup["payment_details"], "ТОВ Квіти", IBAN)["status"] != "unmatched"
    gig = _post(api, "/v1/gigs", contractor["headers"], {"title": "A logo", "description": "Three colours, vector",
                                                         "amount": 10_000, "currency": "USD", "delivery_days": 3})
    order = _post(api, "/v1/orders", client["headers"], {"gig_id": gig["id"]})
    _post(api, f"/v1/orders/{order['id']}/start", contractor["headers"])
    _post(api, f"/v1/orders/{order['id']}/deliver", contractor["headers"], {"message": "Here is the logo"})
    _post(api, f"/v1/orders/{order['id']}/dispute", client["headers"], {"message": "Two colours, not three"})
    return order, client, contractor


def _usd(api: str, user: dict) -> tuple[int, int]:
    items = requests.get(f"{api}/v1/balances", headers=user["headers"], timeout=30).json()["items"]
    return next((line["available"], line["held"]) for line in items if line["currency"] == "USD")


def test_operators_and_an_owner_play_the_platform_pages_from_a_stray_transfer_to_a_balanced_audit_log(
        local_stack, browser, check_page):
    url = local_stack.url
    owner, site_id, first_invoice, grow = _site_with_an_open_invoice(url)
    order, client, contractor = _disputed_order(url)
    # no invoice number in its purpose: nothing matches it
    stray = bank_transfer(url, first_invoice["amount"], "UAH", "оплата за сайт, грудень", "ТОВ Квіти", IBAN)
    assert stray["status"] == "unmatched", stray

    def site() -> dict:
        return requests.get(f"{url}/v1/sites/{site_id}", headers=owner["headers"], timeout=30).json()

    console, billing = browser.new_page(), browser.new_page()

    # 1. The operator enrols, applies the stray transfer to the site's invoice; the owner sees it paid.
    totp, enrolled_with = enrol_operator(console, url)

    console.goto(f"{url}/console/payments?lang=en")
    amount = f"{first_invoice['amount'] // 100}.{first_invoice['amount'] % 100:02d}"
    console.fill("#amount", amount)
    console.click("form.filters button[type=submit]")
    console.wait_for_url(f"**amount={amount}**")
    expect(console.locator("tbody tr")).to_have_count(1)
    console.click(f"a[href*='/console/payments/{stray['id']}']")
    console.wait_for_url(f"**/console/payments/{stray['id']}?**")
    candidate = console.locator(f"tr:has(#invoice-{first_invoice['id']})")
    expect(candidate).to_contain_text(first_invoice["number"])
    expect(candidate).to_contain_text("a site's invoice")
    expect(candidate).to_contain_text("the same amount")
    check_page(console, "scenario-console-payment-en")
    console.check(f"#invoice-{first_invoice['id']}")
    console.fill("#apply_reason", "the purpose named the site, not the invoice")
    console.click("section[aria-labelledby=apply-title] button[type=submit]")
    notice = console.locator(".notice[role=status]")
    expect(notice).to_contain_text("The books balance")
    expect(notice).to_contain_text(first_invoice["number"])
    expect(notice.locator("code")).to_have_text("paid")

    owner_log_in(billing, url, owner["email"])
    billing.goto(f"{url}/billing/{site_id}?lang=en")
    paid = billing.locator(f"{INVOICES} .record", has_text=first_invoice["number"])
    expect(paid.locator(".state-paid")).to_have_text("Paid")
    expect(paid.get_by_role("button", name="Pay online")).to_have_count(0)
    check_page(billing, "scenario-billing-paid-en")

    # 2. A card through the checkout page: nothing is owed, so 1.00 UAH verifies it; the block shows mask and holder.
    expect(billing.locator(PAYMENT)).to_contain_text("No card is saved.")
    billing.click(f"{PAYMENT} button[type=submit]")
    billing.wait_for_url("**/web/checkout/**")
    expect(billing.locator("blockquote")).to_contain_text("1.00")
    billing.fill("#card_number", "4111 1111 1111 1111")
    billing.fill("#holder", "Olena Petrenko")
    billing.click("button[value=pay]")
    billing.wait_for_url("**/done?result=pay**")
    until(lambda: site()["payment_method"])
    billing.goto(f"{url}/billing/{site_id}?lang=en")
    expect(billing.locator(f"{PAYMENT} .card-mask")).to_have_text("411111******1111")
    expect(billing.locator(f"{PAYMENT} .card-holder")).to_have_text("OLENA PETRENKO")
    expect(billing.locator(f"{PAYMENT} button[type=submit]")).to_have_text("Change the card")

    # 3. The tariff: the prorated amount is shown before anything changes, then the change is confirmed.
    billing.select_option("#tariff-code", grow["code"])
    billing.click(f"{TARIFF} button[type=submit]")
    billing.wait_for_url(f"**/billing/{site_id}/tariff?**")
    expect(billing.locator(".notice")).to_contain_text("prorated")
    prorated = re.search(r"prorated: (UAH[\d,.]+) \(", billing.inner_text(".notice"))
    assert prorated, billing.inner_text(".notice")
    assert site()["tariff"]["code"] != grow["code"]
    check_page(billing, "scenario-billing-tariff-en")
    billing.click(f"form[action*='/billing/{site_id}/tariff'] button[type=submit]")
    billing.wait_for_url(f"**/billing/{site_id}?**")
    expect(billing.locator(TARIFF)).to_contain_text(grow["name"])
    assert site()["tariff"]["code"] == grow["code"]
    invoices = billing.locator(f"{INVOICES} .record")
    expect(invoices).to_have_count(2)
    expect(invoices.filter(has_not_text=first_invoice["number"])).to_contain_text(prorated[1])  # what was shown

    # 4. Requisites saved and Vchasno activated with one press; the form locks with what the registry filled in.
    expect(billing.locator("#block-vchasno + p strong")).to_have_text("Not activated")
    billing.fill("#requisites-tax-id", EDRPOU)
    billing.fill("#requisites-iban", IBAN)
    billing.get_by_role("button", name="Save and activate Vchasno").click()
    expect(billing.locator("#block-vchasno + p strong")).to_have_text("Activated")
    requisites = billing.locator("section[aria-labelledby=block-requisites]")
    expect(requisites.locator("input[name=tax_id]")).to_have_count(0)
    expect(requisites).to_contain_text(EDRPOU)
    expect(requisites).to_contain_text(f"Зразок {EDRPOU}")

    # 5. The questionnaire, in Persian; the operator reads the answers and completes the deletion.
    billing.goto(f"{url}/billing/{site_id}?lang=fa")
    expect(billing.locator("html")).to_have_attribute("dir", "rtl")
    check_page(billing, "scenario-billing-fa")
    billing.check(f"{DELETION} input[name=reason_moving_to_another_platform]")
    billing.fill("#deletion-comment", "Moving to our own shop")
    billing.click(f"{DELETION} button[type=submit]")
    billing.wait_for_url(f"**/billing/{site_id}?**")
    expect(billing.locator(DELETION)).to_contain_text("Moving to our own shop")
    assert site()["status"] == "deletion_requested"

    console.goto(f"{url}/console/sites/{site_id}?lang=fa")
    expect(console.locator("#deletion-reasons li")).to_have_count(1)
    check_page(console, "scenario-console-site-fa")
    console.goto(f"{url}/console/sites/{site_id}?lang=en")
    expect(console.locator("#deletion-reasons")).to_contain_text("moving to another platform")
    expect(console.locator("#deletion-title ~ blockquote")).to_have_text("Moving to our own shop")
    console.fill("#reason-delete", "confirmed by phone with the owner")
    console.click("form[action*='/delete?'] button[type=submit]")
    expect(console.locator(".notice[role=status]")).to_contain_text("The deletion is completed.")
    assert site()["status"] == "deleted"
    billing.goto(f"{url}/billing/{site_id}?lang=en")
    expect(billing.locator(DELETION)).to_contain_text("The site is deleted.")

    # 6. A disputed order split 60/40; both balances show it.
    assert _usd(url, client) == (15_000, 10_000)
    console.goto(f"{url}/console/disputes?lang=en")
    console.click(f"a[href*='/console/disputes/{order['id']}']")
    expect(console.locator("#held")).to_have_text("$100.00")
    check_page(console, "scenario-console-dispute-en")
    console.fill("#to_client", "60.00")
    console.fill("#to_contractor", "40.00")
    console.fill("#reason", "Two of the three colours were delivered")
    console.click(".split button[type=submit]")
    expect(console.locator(".notice[role=status]")).to_be_visible()
    expect(console.locator(".split")).to_have_count(0)
    assert _usd(url, client) == (21_000, 0)
    assert _usd(url, contractor) == (3_200, 0)  # 40.00 less the 20 % commission

    # 7. Logged out and in again with a fresh code, the operator finds every act of his in the audit log, and the
    # books audit finds the books balanced.
    console.click("header button[type=submit]")  # log out
    console.wait_for_url("**/console/login**")
    console.goto(f"{url}/console/login?lang=en")
    console.fill("#email", OPERATOR_EMAIL)
    console.fill("#password", OPERATOR_PASSWORD)
    while (code := totp.now()) == enrolled_with:  # a code is good once: the next log-in takes the app's next one
        time.sleep(1)
    console.fill("#code", code)
    console.click("button[type=submit]")
    console.wait_for_url(re.compile(r"/console\?lang=en$"))

    console.goto(f"{url}/console/audit?lang=fa&operator={quote(OPERATOR_EMAIL)}")
    rows = console.locator("tbody tr")
    expect(rows).to_have_count(7)  # newest first; the two tariffs were the setup's, over the API
    actions = [rows.nth(i).locator("td").nth(3).inner_text() for i in range(rows.count())]
    assert actions == ["console_login", "resolve_dispute", "complete_deletion", "apply_payment", "enrol_totp",
                       "create_tariff", "create_tariff"], actions
    check_page(console, "scenario-console-audit-fa")
    decided = "Two of the three colours were delivered"
    for subject, act, reason in ((site_id, "complete_deletion", "confirmed by phone with the owner"),
                                 (f"order#{order['id']}", "resolve_dispute", decided)):
        console.goto(f"{url}/console/audit?lang=en&object={quote(subject)}")
        expect(console.locator("tbody")).to_contain_text(act)
        expect(console.locator("tbody")).to_contain_text(reason)

    console.goto(f"{url}/console/books?lang=en")
    console.click("section[aria-labelledby=audit-title] button[type=submit]")
    console.wait_for_url("**run=aud_**")
    expect(console.get_by_text("The audit found the books balanced.")).to_be_visible()
    console.close()
    billing.close()

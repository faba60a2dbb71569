"""The billing section's document blocks in a real browser (headless Chromium through Playwright) on the local stage:
the owner logs in at /web/login, fills in his requisites and presses "save and activate Vchasno" — first for a company
Vchasno does not know (the page asks him to register there), then, once it does, with the "activate" button; the form
locks; he downloads the public offer and his invoice as PDFs, opens "pay online" (the acquirer's checkout page), and
once the invoice is overdue sees the banner with the sum owed and pays from it. Every page is checked with axe-core
and drawn at 360 px and 1280 px (build/screenshots/), in Ukrainian, English and Persian."""
from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
import requests

from tests.e2e.browser_support import owner_log_in

EDRPOU, IBAN = "32855961", "UA213223130000026007233566001"


@pytest.fixture(scope="module")
def vchasno_file(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("vchasno") / "accounts.json"


@pytest.fixture(scope="module")
def local_stack(start_local_stack, vchasno_file):
    return start_local_stack(extra_env={"VCHASNO_LOCAL_FILE": str(vchasno_file)})


def _owner_with_site(api: str) -> tuple[str, str, dict]:
    login = requests.post(f"{api}/v1/auth/login", json={"email": "operator@escrowdesk.local",
                                                         "password": "local-operator-pass"}, timeout=30)
    assert login.status_code == 200, login.text
    operator = {"Authorization": f"Bearer {login.json()['token']}"}
    code = f"start-{uuid.uuid4().hex[:6]}"
    created = requests.post(f"{api}/v1/operator/tariffs", json={
        "code": code, "name": "Start", "price": {"amount": 31000, "currency": "UAH"},
        "limits": {"products": 100, "orders_per_month": 50}, "features": ["catalog"]}, headers=operator, timeout=30)
    assert created.status_code == 201, created.text
    email = f"shop-{uuid.uuid4().hex[:8]}@example.ua"
    signup = requests.post(f"{api}/v1/auth/signup", json={"email": email, "password": "correct horse",
                                                           "name": "Olena", "locale": "uk"}, timeout=30)
    assert signup.status_code == 201, signup.text
    owner = {"Authorization": f"Bearer {signup.json()['token']}"}
    site = requests.post(f"{api}/v1/sites", json={
        "name": "Квіти", "domains": [f"{uuid.uuid4().hex[:8]}.example.ua"], "tariff": code,
        "owner": {"name": "Olena", "email": "olena@example.ua", "phone": "+380501234567"}}, headers=owner, timeout=30)
    assert site.status_code == 201, site.text
    return email, site.json()["id"], owner


def test_an_owner_fills_requisites_activates_vchasno_downloads_documents_and_pays_from_the_banner(
        local_stack, browser, check_page, vchasno_file):
    url = local_stack.url
    email, site_id, owner = _owner_with_site(url)
    page = browser.new_page()
    owner_log_in(page, url, email, "uk")
    page.goto(f"{url}/billing/{site_id}?lang=uk")
    assert page.locator("#block-vchasno + p strong").inner_text() == "Не активовано"
    check_page(page, "billing-documents-uk")

    page.fill("#requisites-tax-id", EDRPOU)
    page.fill("#requisites-iban", IBAN)
    page.get_by_role("button", name="Зберегти й активувати «Вчасно»").click()
    alert = page.locator("section[aria-labelledby=block-vchasno] .error")
    assert f"«Вчасно» не має облікового запису для {EDRPOU}" in alert.inner_text()
    assert alert.locator("a[href='https://vchasno.ua/']").is_visible()
    check_page(page, "billing-documents-vchasno-unknown-uk")

    # one press, one transaction: nothing was saved, and the form keeps what he typed
    assert page.input_value("#requisites-tax-id") == EDRPOU
    vchasno_file.write_text(json.dumps({"accounts": [EDRPOU]}), encoding="utf-8")  # he registered at Vchasno
    page.get_by_role("button", name="Зберегти й активувати «Вчасно»").click()
    assert page.url.endswith("#block-vchasno")
    assert page.locator("#block-vchasno + p strong").inner_text() == "Активовано"
    requisites = page.locator("section[aria-labelledby=block-requisites]")
    assert requisites.locator("input[name=tax_id]").count() == 0 and EDRPOU in requisites.inner_text()
    assert "ТОВ «Зразок 32855961»" in requisites.inner_text()  # what the registry filled in

    with page.expect_download() as offer:
        page.locator("section[aria-labelledby=block-contracts] a").first.click()
    assert Path(offer.value.path()).read_bytes().startswith(b"%PDF-")
    with page.expect_download() as invoice:
        page.locator("section[aria-labelledby=block-invoices] a.button-link").first.click()
    assert Path(invoice.value.path()).read_bytes().startswith(b"%PDF-")
    page.locator("section[aria-labelledby=block-invoices] button", has_text="Оплатити онлайн").first.click()
    assert "/web/checkout/" in page.url

    page.goto(f"{url}/billing/{site_id}?lang=en")
    check_page(page, "billing-documents-en")
    requests.post(f"{url}/dev/clock", json={"advance_seconds": 7 * 86400}, timeout=30)
    requests.post(f"{url}/dev/jobs/run", timeout=60)
    page.goto(f"{url}/billing/{site_id}?lang=fa")
    assert page.locator("html").get_attribute("dir") == "rtl"
    banner = page.locator(".banner.owed")
    (invoice,) = requests.get(f"{url}/v1/sites/{site_id}/invoices", headers=owner, timeout=30).json()["items"]
    assert banner.is_visible() and invoice["number"] in banner.inner_text()
    check_page(page, "billing-documents-banner-fa")
    banner.locator("button").click()
    assert "/web/checkout/" in page.url
    page.close()

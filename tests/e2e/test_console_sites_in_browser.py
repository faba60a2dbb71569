"""The console's sites and tariffs in a real browser (headless Chromium through Playwright) on the local stage: the
local operator enrols his authenticator, finds an owner's site by its domain, reads its deletion request's answers
and refuses it with a reason, changes the site's tariff, and gives a tariff a new price that the tariffs page shows
as scheduled from the next billing month; the audit log lists his acts. Every page is checked with axe-core and drawn
at 360 px and 1280 px (build/screenshots/), in English and in Persian."""
from __future__ import annotations

import uuid

import pytest
import requests

from tests.e2e.browser_support import OPERATOR_EMAIL, OPERATOR_PASSWORD, enrol_operator


@pytest.fixture(scope="module")
def local_stack(start_local_stack):
    return start_local_stack()


def _site_asking_for_deletion(api: str) -> tuple[str, str, str, str]:
    """Two tariffs and an owner's site whose deletion he asked for: (site id, its domain, tariff codes)."""
    login = requests.post(f"{api}/v1/auth/login", json={"email": OPERATOR_EMAIL, "password": OPERATOR_PASSWORD},
                          timeout=30)
    operator = {"Authorization": f"Bearer {login.json()['token']}"}
    codes = []
    for name, amount in (("Start", 31000), ("Business", 62000)):
        code = f"{name.lower()}-{uuid.uuid4().hex[:6]}"
        created = requests.post(f"{api}/v1/operator/tariffs", headers=operator, timeout=30, json={
            "code": code, "name": name, "price": {"amount": amount, "currency": "UAH"},
            "limits": {"products": 100, "orders_per_month": 50}, "features": ["catalog"]})
        assert created.status_code == 201, created.text
        codes.append(code)
    signup = requests.post(f"{api}/v1/auth/signup", timeout=30, json={
        "email": f"shop-{uuid.uuid4().hex[:8]}@example.ua", "password": "correct horse", "name": "Olena",
        "locale": "uk"})
    owner = {"Authorization": f"Bearer {signup.json()['token']}"}
    domain = f"{uuid.uuid4().hex[:8]}.example.ua"
    site = requests.post(f"{api}/v1/sites", headers=owner, timeout=30, json={
        "name": "Квіти", "domains": [domain], "tariff": codes[0],
        "owner": {"name": "Olena", "email": "olena@example.ua", "phone": "+380501234567"}})
    assert site.status_code == 201, site.text
    asked = requests.post(f"{api}/v1/sites/{site.json()['id']}/deletion-request", headers=owner, timeout=30,
                          json={"reasons": ["too_expensive"], "comment": "Closing for winter"})
    assert asked.status_code == 200, asked.text
    return site.json()["id"], domain, codes[0], codes[1]


def test_an_operator_finds_a_site_refuses_its_deletion_changes_its_tariff_and_reprices_a_tariff(
        local_stack, browser, check_page):
    url = local_stack.url
    site_id, domain, start, business = _site_asking_for_deletion(url)
    page = browser.new_page()
    enrol_operator(page, url)

    page.goto(f"{url}/console/sites?lang=en")
    assert page.locator(f"a[href*='/console/sites/{site_id}']").count() >= 1  # its deletion request is waiting
    page.fill("#q", domain)
    page.click("form[role=search] button[type=submit]")
    check_page(page, "console-sites-en")
    page.locator(f"tbody a[href*='/console/sites/{site_id}']").first.click()
    assert f"/console/sites/{site_id}" in page.url
    assert "too expensive" in page.locator("#deletion-reasons").inner_text()
    check_page(page, "console-site-en")

    page.fill("#reason-refuse", "the contract runs to June")
    page.click("form[action*='deletion/refuse'] button[type=submit]")
    assert "The deletion request is refused" in page.locator(".notice[role=status]").inner_text()
    assert page.locator("#deletion-title").count() == 0
    page.select_option("#tariff-code", business)
    page.fill("#reason-tariff", "asked by phone")
    page.click("form[action*='/tariff?'] button[type=submit]")
    assert "The tariff is changed." in page.locator(".notice[role=status]").inner_text()
    assert "Business" in page.locator(".facts").first.inner_text()

    page.goto(f"{url}/console/sites/{site_id}?lang=fa")
    assert page.locator("html").get_attribute("dir") == "rtl"
    check_page(page, "console-site-fa")
    page.goto(f"{url}/console/sites?lang=fa&q={domain}")
    check_page(page, "console-sites-fa")

    page.goto(f"{url}/console/tariffs/{start}?lang=en")
    check_page(page, "console-tariff-en")
    page.fill("#tariff-price", "350.00")
    page.fill("#tariff-reason", "prices rose")
    page.click("form.narrow-form button[type=submit]")
    assert "The tariff is saved." in page.locator(".notice[role=status]").inner_text()
    assert "310" in page.locator("#price-now").inner_text() and "350" in page.locator("#price-scheduled").inner_text()
    page.goto(f"{url}/console/tariffs?lang=en")
    check_page(page, "console-tariffs-en")
    page.goto(f"{url}/console/tariffs?lang=fa")
    check_page(page, "console-tariffs-fa")
    page.goto(f"{url}/console/tariffs/{start}?lang=fa")
    check_page(page, "console-tariff-fa")

    page.goto(f"{url}/console/audit?lang=en&object={site_id}")
    actions = page.locator("tbody").inner_text()
    assert "refuse_deletion" in actions and "change_tariff" in actions and "the contract runs to June" in actions
    page.goto(f"{url}/console/audit?lang=en&object=tariff%23{start}")
    assert "change_tariff_terms" in page.locator("tbody").inner_text()

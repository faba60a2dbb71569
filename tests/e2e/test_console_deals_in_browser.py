"""The console's disputes and contractors in a real browser (headless Chromium) on the local stage. A client's order
is delivered with a file and disputed over HTTP; the local operator enrols and logs in, finds the dispute, reads its
frozen terms, money held and thread, opens the delivered file, is told what is wrong with a split that does not add
up, then splits it 60/40 with a reason: both parties' balances show the split. He finds the contractor by e-mail and
sets his level with a reason, and the audit log lists both acts. Every page is checked with axe-core and drawn at
360 px and 1280 px, in English and in Persian."""
from __future__ import annotations

import uuid
from urllib.parse import quote

import requests

from tests.e2e.browser_support import OPERATOR_EMAIL, bank_transfer, enrol_operator


def _user(api: str, who: str) -> dict:
    email = f"{who}-{uuid.uuid4().hex[:8]}@example.com"
    response = requests.post(f"{api}/v1/auth/signup", json={"email": email, "password": "correct horse",
                                                           "name": who.title(), "locale": "en"}, timeout=30)
    assert response.status_code == 201, response.text
    auth = {"Authorization": f"Bearer {response.json()['token']}"}
    return {"headers": auth, "email": email, "id": requests.get(f"{api}/v1/me", headers=auth, timeout=30).json()["id"]}


def _post(api: str, path: str, user: dict, body: dict | None = None) -> dict:
    answer = requests.post(f"{api}{path}", json=body, headers=user["headers"], timeout=30)
    assert answer.status_code in (200, 201), (path, answer.text)
    return answer.json()


def _fund(api: str, user: dict, amount: int) -> None:
    invoice = _post(api, "/v1/invoices", user, {"amount": amount, "currency": "USD"})
    bank_transfer(api, amount, "USD", invoice["payment_details"])


def _balance(api: str, user: dict) -> tuple[int, int]:
    items = requests.get(f"{api}/v1/balances", headers=user["headers"], timeout=30).json()["items"]
    return next((line["available"], line["held"]) for line in items if line["currency"] == "USD")


def _disputed_order(api: str) -> tuple[dict, dict, dict]:
    contractor, client = _user(api, "designer"), _user(api, "client")
    _fund(api, client, 25_000)
    gig = _post(api, "/v1/gigs", contractor, {"title": "A logo", "description": "Three colours, vector",
                                              "amount": 10_000, "currency": "USD", "delivery_days": 3})
    order = _post(api, "/v1/orders", client, {"gig_id": gig["id"]})
    _post(api, f"/v1/orders/{order['id']}/start", contractor)
    declared = _post(api, "/v1/uploads", contractor, {"filename": "logo.txt", "size": 9, "content_type": "text/plain"})
    form = declared["upload"]
    assert requests.post(form["url"], data=form["fields"], files={"file": ("logo.txt", b"the logo!")},
                         timeout=30).status_code == 204
    _post(api, f"/v1/orders/{order['id']}/deliver", contractor, {"message": "Here is the logo",
                                                                "attachments": [{"file_id": declared["id"]}]})
    _post(api, f"/v1/orders/{order['id']}/dispute", client, {"message": "Two colours, not three"})
    return order, client, contractor


def test_an_operator_splits_a_disputed_order_and_sets_a_level_in_english_and_persian(local_stack, browser,
                                                                                     check_page):
    url = local_stack.url
    order, client, contractor = _disputed_order(url)
    page = browser.new_page()
    enrol_operator(page, url)

    page.goto(f"{url}/console/disputes?lang=fa")
    assert page.locator("html").get_attribute("dir") == "rtl" and order["id"] in page.content()
    check_page(page, "console-disputes-fa")
    page.goto(f"{url}/console/disputes?lang=en")
    check_page(page, "console-disputes-en")
    page.click(f"a[href*='/console/disputes/{order['id']}']")
    assert page.locator("#held").inner_text() == "$100.00"
    assert "Two colours, not three" in page.content() and "Three colours, vector" in page.content()
    check_page(page, "console-dispute-en")

    href = page.locator("a", has_text="logo.txt").get_attribute("href")
    opened = page.request.get(href, max_redirects=0)
    assert opened.status == 303, opened.text()
    assert requests.get(opened.headers["location"], timeout=30).content == b"the logo!"

    page.fill("#to_client", "40.00")
    page.fill("#to_contractor", "50.00")
    page.fill("#reason", "Two of the three colours")
    page.click(".split button[type=submit]")
    assert "add up to the money held, $100.00" in page.locator("#split-error").inner_text()
    check_page(page, "console-dispute-refused-en")
    assert _balance(url, client) == (15_000, 10_000)

    page.goto(f"{url}/console/disputes/{order['id']}?lang=fa")
    check_page(page, "console-dispute-fa")
    page.goto(f"{url}/console/disputes/{order['id']}?lang=en")
    page.fill("#to_client", "60.00")
    page.fill("#to_contractor", "40.00")
    page.fill("#reason", "Two of the three colours were delivered")
    page.click(".split button[type=submit]")
    page.locator(".notice").wait_for()
    assert "Decided on" in page.content() and page.locator(".split").count() == 0
    check_page(page, "console-dispute-decided-en")
    assert _balance(url, client) == (21_000, 0)
    assert _balance(url, contractor) == (3_200, 0)  # 40.00 less the 20 % commission

    page.goto(f"{url}/console/contractors?lang=en&who={quote(contractor['email'])}")
    check_page(page, "console-contractors-en")
    page.click(f"a[href*='/console/contractors/{contractor['id']}']")
    assert page.locator("#level").inner_text() == "new"
    check_page(page, "console-contractor-en")
    page.select_option("#level-choice", "pro")
    page.fill("#reason", "A known studio")
    page.click("form[action*='/level'] button[type=submit]")
    page.locator("#level", has_text="pro").wait_for()
    assert "set by an operator" in page.content()
    page.goto(f"{url}/console/contractors/{contractor['id']}?lang=fa")
    check_page(page, "console-contractor-fa")
    page.goto(f"{url}/console/contractors?lang=fa&who=designer")
    check_page(page, "console-contractors-fa")

    page.goto(f"{url}/console/audit?lang=en&operator={quote(OPERATOR_EMAIL)}")
    log = page.locator("tbody").inner_text()
    assert "resolve_dispute" in log and "Two of the three colours were delivered" in log
    assert "set_level" in log and "A known studio" in log
    page.close()

"""A client's whole path over HTTP on the local stage, as a client would walk it: he finds a gig in the public
catalog, orders it with an empty balance and gets 402 with a card top-up, pays on the local checkout page in
headless Chromium, and the order is placed and held; the contractor uploads two files to the stage's upload form
and delivers them, the client downloads them through short-lived links and accepts, and the order's thread shows
every step."""
from __future__ import annotations

import io
import uuid
from collections.abc import Iterator

import pytest
import requests
from PIL import Image

from tests.e2e.browser_support import until
from tests.support import upload_over_http


@pytest.fixture
def page(browser) -> Iterator:
    opened = browser.new_page()
    yield opened
    opened.close()


def _user(api: str, who: str) -> dict:
    response = requests.post(f"{api}/v1/auth/signup", json={
        "email": f"{who}-{uuid.uuid4().hex[:8]}@example.com", "password": "correct horse", "name": who.title(),
        "locale": "en"}, timeout=30)
    assert response.status_code == 201, response.text
    return {"headers": {"Authorization": f"Bearer {response.json()['token']}"}}


def _post(api: str, path: str, user: dict, body: dict | None = None) -> dict:
    answer = requests.post(f"{api}{path}", json=body, headers=user["headers"], timeout=30)
    assert answer.status_code in (200, 201), (path, answer.text)
    return answer.json()


def _upload(api: str, user: dict, filename: str, data: bytes, content_type: str) -> str:
    return upload_over_http(api, user["headers"], filename, data, content_type)


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (120, 80), (20, 120, 200)).save(out, "PNG")
    return out.getvalue()


def test_a_client_finds_a_gig_pays_its_402_by_card_gets_two_files_accepts_and_the_thread_shows_every_step(
        local_stack, page) -> None:
    api = local_stack.url
    contractor, client = _user(api, "designer"), _user(api, "client")
    gig = _post(api, "/v1/gigs", contractor, {"title": f"A logo {uuid.uuid4().hex[:6]}", "description": "Two files",
                                              "amount": 20_000, "currency": "USD", "delivery_days": 3,
                                              "category": "design", "tags": ["logo"]})

    # 1. a new client finds the gig in the public catalog (no token)
    listed = requests.get(f"{api}/v1/catalog/gigs?category=design&tag=logo&sort=new&limit=50", timeout=30)
    assert listed.status_code == 200, listed.text
    card = next(item for item in listed.json()["items"] if item["id"] == gig["id"])
    assert (card["amount"], card["currency"], card["delivery_days"]) == (20_000, "USD", 3)

    # 2. he orders it with an empty balance: 402 with a card top-up, paid on the checkout page
    refused = requests.post(f"{api}/v1/orders", json={"gig_id": card["id"]}, headers=client["headers"], timeout=30)
    assert refused.status_code == 402, refused.text
    error = refused.json()["error"]
    assert error["code"] == "insufficient_funds" and error["missing"] == {"amount": 20_000, "currency": "USD"}
    page.goto(error["topup"]["payment_url"])
    page.fill("#card_number", "4111 1111 1111 1111")
    page.fill("#holder", "Ivan Petrenko")
    page.click("button[value=pay]")
    page.wait_for_url("**/done?result=pay**")

    # 3. the top-up placed the order, and its price is held
    order = until(lambda: next(iter(requests.get(f"{api}/v1/orders", headers=client["headers"],
                                                  timeout=30).json()["items"]), None))
    assert order["status"] == "not_started" and order["auto_cancel_at"] and order["gig_id"] == gig["id"]
    balances = requests.get(f"{api}/v1/balances", headers=client["headers"], timeout=30).json()["items"]
    assert next((b["available"], b["held"]) for b in balances if b["currency"] == "USD") == (0, 20_000)
    _post(api, f"/v1/orders/{order['id']}/start", contractor)

    # 4. the contractor delivers two uploaded files
    files = {"logo.png": (_png(), "image/png"), "notes.txt": (b"Fonts: Vazirmatn", "text/plain")}
    ids = {name: _upload(api, contractor, name, data, kind) for name, (data, kind) in files.items()}
    delivered = _post(api, f"/v1/orders/{order['id']}/deliver", contractor, {
        "message": "Here are the logo and its notes", "attachments": [{"file_id": i} for i in ids.values()]})
    assert delivered["status"] == "on_review" and delivered["deadline_paused"] is True
    shown = {f["filename"]: f for f in delivered["deliveries"][0]["files"]}
    assert (shown["logo.png"]["width"], shown["logo.png"]["height"]) == (120, 80)

    # 5. the client downloads them and accepts
    for name, file_id in ids.items():
        seen = requests.get(f"{api}/v1/uploads/{file_id}", headers=client["headers"], timeout=30)
        assert seen.status_code == 200, seen.text
        download = requests.get(f"{api}{seen.json()['download_url']}", timeout=30)
        assert download.status_code == 200 and download.content == files[name][0], name
    outsider = _user(api, "outsider")
    assert requests.get(f"{api}/v1/uploads/{ids['notes.txt']}", headers=outsider["headers"],
                        timeout=30).status_code == 404

    assert _post(api, f"/v1/orders/{order['id']}/accept", client)["status"] == "completed"
    # 6. the thread shows every step
    thread = requests.get(f"{api}/v1/orders/{order['id']}/thread", headers=client["headers"], timeout=30).json()
    assert [(e["kind"], e["actor"], e["status"]) for e in thread["items"]] == [
        ("placed", "client", "not_started"), ("start", "contractor", "in_progress"),
        ("deliver", "contractor", "on_review"), ("accept", "client", "completed")]
    assert thread["items"][2]["message"] == "Here are the logo and its notes"
    assert [f["filename"] for f in thread["items"][2]["files"]] == ["logo.png", "notes.txt"]

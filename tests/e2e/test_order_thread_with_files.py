"""An order followed in one thread, with files that are files, over HTTP on the local stage as a client would do
it: the contractor uploads two files to the stage's upload form and delivers them, the client downloads them
through short-lived links and accepts, and the order's thread shows every step."""
from __future__ import annotations

import io
import json
import uuid
from datetime import UTC, datetime

import requests
from PIL import Image

from tests.support import sign


def _user(api: str, who: str) -> dict:
    response = requests.post(f"{api}/v1/auth/signup", json={
        "email": f"{who}-{uuid.uuid4().hex[:8]}@example.com", "password": "correct horse", "name": who.title(),
        "locale": "en"}, timeout=30)
    assert response.status_code == 201, response.text
    return {"headers": {"Authorization": f"Bearer {response.json()['token']}"}}


def _fund(api: str, user: dict, amount: int) -> None:
    invoice = requests.post(f"{api}/v1/invoices", json={"amount": amount, "currency": "USD"},
                            headers=user["headers"], timeout=30).json()
    body = json.dumps({
        "event_id": f"evt_{uuid.uuid4().hex}", "type": "transfer.incoming", "amount": amount, "currency": "USD",
        "purpose": invoice["payment_details"], "payer": {"name": "ACME", "iban": "DE89370400440532013000"},
        "received_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }).encode()
    answer = requests.post(f"{api}/v1/webhooks/bank", data=body, timeout=30,
                           headers={"Content-Type": "application/json", "X-Bank-Signature": sign(body)})
    assert answer.status_code == 200, answer.text


def _post(api: str, path: str, user: dict, body: dict | None = None) -> dict:
    answer = requests.post(f"{api}{path}", json=body, headers=user["headers"], timeout=30)
    assert answer.status_code in (200, 201), (path, answer.text)
    return answer.json()


def _upload(api: str, user: dict, filename: str, data: bytes, content_type: str) -> str:
    declared = _post(api, "/v1/uploads", user, {"filename": filename, "size": len(data), "content_type": content_type})
    form = declared["upload"]
    posted = requests.post(form["url"], data=form["fields"], files={"file": (filename, data)}, timeout=30)
    assert posted.status_code == 204, posted.text
    return declared["id"]


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (120, 80), (20, 120, 200)).save(out, "PNG")
    return out.getvalue()


def test_the_contractor_delivers_two_uploaded_files_the_client_downloads_them_accepts_and_the_thread_shows_it_all(
        local_stack) -> None:
    api = local_stack.url
    contractor, client = _user(api, "designer"), _user(api, "client")
    _fund(api, client, 50_000)
    gig = _post(api, "/v1/gigs", contractor, {"title": "A logo", "description": "Two files", "amount": 20_000,
                                              "currency": "USD", "delivery_days": 3})
    order = _post(api, "/v1/orders", client, {"gig_id": gig["id"]})
    assert order["status"] == "not_started" and order["auto_cancel_at"]
    _post(api, f"/v1/orders/{order['id']}/start", contractor)

    files = {"logo.png": (_png(), "image/png"), "notes.txt": (b"Fonts: Vazirmatn", "text/plain")}
    ids = {name: _upload(api, contractor, name, data, kind) for name, (data, kind) in files.items()}
    delivered = _post(api, f"/v1/orders/{order['id']}/deliver", contractor, {
        "message": "Here are the logo and its notes", "attachments": [{"file_id": i} for i in ids.values()]})
    assert delivered["status"] == "on_review" and delivered["deadline_paused"] is True
    shown = {f["filename"]: f for f in delivered["deliveries"][0]["files"]}
    assert (shown["logo.png"]["width"], shown["logo.png"]["height"]) == (120, 80)

    for name, file_id in ids.items():
        seen = requests.get(f"{api}/v1/uploads/{file_id}", headers=client["headers"], timeout=30)
        assert seen.status_code == 200, seen.text
        download = requests.get(f"{api}{seen.json()['download_url']}", timeout=30)
        assert download.status_code == 200 and download.content == files[name][0], name
    outsider = _user(api, "outsider")
    assert requests.get(f"{api}/v1/uploads/{ids['notes.txt']}", headers=outsider["headers"],
                        timeout=30).status_code == 404

    assert _post(api, f"/v1/orders/{order['id']}/accept", client)["status"] == "completed"
    thread = requests.get(f"{api}/v1/orders/{order['id']}/thread", headers=client["headers"], timeout=30).json()
    assert [(e["kind"], e["actor"], e["status"]) for e in thread["items"]] == [
        ("placed", "client", "not_started"), ("start", "contractor", "in_progress"),
        ("deliver", "contractor", "on_review"), ("accept", "client", "completed")]
    assert thread["items"][2]["message"] == "Here are the logo and its notes"
    assert [f["filename"] for f in thread["items"][2]["files"]] == ["logo.png", "notes.txt"]

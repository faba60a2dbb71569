"""A gig order's delivery is a message and uploaded files (Kwork's "message + files"), handed out by
short-lived links to the two parties and operators; and the state read before a transaction is re-checked
inside it: a gig paused meanwhile cannot be ordered, and a custom offer whose gig was paused cannot be
accepted."""
from __future__ import annotations

import pytest

from chalicelib.platform import clock
from chalicelib.services import gigs
from chalicelib.store.models import DealModel, UploadModel
from tests.support import act, assert_books_balance, place_order, upload


def _started(api, deal) -> dict:
    order = place_order(api, deal)
    assert act(api, deal["contractor"], order, "start").status_code == 200
    return order


def test_a_delivery_carries_files_the_parties_and_operators_download_by_short_lived_links(api, deal, operator_token):
    order = _started(api, deal)
    ids = [upload(api, deal["contractor"], "logo.txt", b"<svg/>"),
           upload(api, deal["contractor"], "logo.pdf", b"%PDF fake", "application/pdf")]
    delivery = {"message": "Logo attached", "attachments": [{"file_id": i} for i in ids]}
    delivered = act(api, deal["contractor"], order, "deliver", delivery)
    assert delivered.status_code == 200, delivered.body
    body = delivered.json_body
    assert body["status"] == "on_review" and body["last_message"] == "Logo attached"
    files = body["deliveries"][0]["files"]
    assert [(f["id"], f["filename"], f["size"]) for f in files] == [(ids[0], "logo.txt", 6), (ids[1], "logo.pdf", 9)]
    for token in (deal["client"], deal["contractor"], operator_token):
        link = api.get(f"/v1/orders/{order['id']}/files/{files[0]['id']}", token=token)
        assert link.status_code == 200 and link.json_body["filename"] == "logo.txt"
    download = api.get(link.json_body["url"], headers={"Accept": "text/plain"})
    assert download.status_code == 200 and download.body == b"<svg/>"
    assert download.headers["Content-Type"] == "text/plain"
    assert 'filename="logo.txt"' in download.headers["Content-Disposition"]
    clock.advance(link.json_body["expires_in_seconds"] + 1)
    assert api.get(link.json_body["url"]).status_code == 403
    stranger = api.signup("stranger@example.com")
    assert api.get(f"/v1/orders/{order['id']}/files/{files[0]['id']}", token=stranger).status_code == 404
    assert api.get(f"/v1/orders/{order['id']}/files/fil_nope", token=deal["client"]).status_code == 404
    assert_books_balance()


def test_revisions_keep_every_delivery_and_its_files(api, deal):
    order = _started(api, deal)
    act(api, deal["contractor"], order, "deliver", {"message": "v1", "attachments": [
        {"file_id": upload(api, deal["contractor"], "v1.txt", b"one")}]})
    act(api, deal["client"], order, "request-revision", {"message": "Bigger"})
    second = act(api, deal["contractor"], order, "deliver", {"message": "v2", "attachments": [
        {"file_id": upload(api, deal["contractor"], "v2.txt", b"two")}]}).json_body
    assert [[f["filename"] for f in d["files"]] for d in second["deliveries"]] == [["v1.txt"], ["v2.txt"]]


@pytest.mark.parametrize("attachments", [
    [{"filename": "a.txt", "content_base64": "eA=="}],  # files travel as uploads, never base64 in the body
    [{"file_id": ""}],
    [{"file_id": f"upl_{n}"} for n in range(6)],
])
def test_bad_delivery_files_are_422_and_change_nothing(api, deal, attachments):
    order = _started(api, deal)
    refused = act(api, deal["contractor"], order, "deliver", {"message": "Done", "attachments": attachments})
    assert refused.status_code == 422 and refused.json_body["error"]["code"] == "validation_error"
    assert DealModel.get(order["id"]).status == "in_progress"


def test_a_delivery_that_may_not_happen_claims_no_file(api, deal):
    order = place_order(api, deal)  # not started
    file_id = upload(api, deal["contractor"], "a.txt", b"x")
    files = [{"file_id": file_id}]
    assert act(api, deal["client"], order, "deliver", {"message": "x", "attachments": files}).status_code == 403
    refused = act(api, deal["contractor"], order, "deliver", {"message": "x", "attachments": files})
    assert refused.status_code == 409 and refused.json_body["error"]["code"] == "invalid_state"
    assert UploadModel.get(file_id).status == "pending"


def test_a_gig_paused_between_the_read_and_the_order_is_not_ordered(api, deal, monkeypatch):
    """Given the order's service read the gig while it was active, and it is paused before the
    transaction commits: the transaction's own check refuses it, and no money moves."""
    active = gigs.load(deal["gig"]["id"])
    api.post(f"/v1/gigs/{deal['gig']['id']}/pause", token=deal["contractor"])
    monkeypatch.setattr(gigs, "load", lambda gig_id: active)
    refused = api.post("/v1/orders", {"gig_id": deal["gig"]["id"]}, token=deal["client"])
    assert refused.status_code == 422 and refused.json_body["error"]["code"] == "gig_not_active"
    assert api.balance(deal["client"]) == (25000, 0)
    assert list(DealModel.scan()) == []
    assert_books_balance()


def test_an_offer_whose_gig_was_paused_cannot_be_accepted(api, deal):
    api.request("PATCH", "/v1/me/profile", {"custom_offers": True}, token=deal["contractor"])
    talk = api.post("/v1/conversations", {"user_id": deal["contractor_id"]}, token=deal["client"]).json_body
    api.post(f"/v1/conversations/{talk['id']}/messages", {"text": "Hi"}, token=deal["client"])
    offer = api.post("/v1/offers", {"client_id": deal["client_id"], "gig_id": deal["gig"]["id"],
                                    "description": "Two logos", "amount": 12000, "currency": "USD",
                                    "delivery_days": 4}, token=deal["contractor"]).json_body
    api.post(f"/v1/gigs/{deal['gig']['id']}/pause", token=deal["contractor"])
    refused = api.post(f"/v1/offers/{offer['id']}/accept", token=deal["client"])
    assert refused.status_code == 422 and refused.json_body["error"]["code"] == "gig_not_active"
    assert api.get(f"/v1/offers/{offer['id']}", token=deal["client"]).json_body["status"] == "pending"
    assert api.balance(deal["client"]) == (25000, 0)
    api.post(f"/v1/gigs/{deal['gig']['id']}/activate", token=deal["contractor"])
    assert api.post(f"/v1/offers/{offer['id']}/accept", token=deal["client"]).status_code == 201
    assert_books_balance()

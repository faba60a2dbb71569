"""The deal flows on real DynamoDB (Local): a custom offer accepted into a paid order, an extra,
a dispute split by an operator, a cancellation by agreement, a review — each one transaction,
with the books and the escrow of open orders balanced after every step."""
from __future__ import annotations

from chalicelib.services import accounts
from tests.support import act, assert_books_balance, transfer_event, upload


def test_offer_extra_dispute_cancellation_and_review_on_dynamodb_local(api):
    contractor = api.signup("seller@example.com", name="Seller")
    client = api.signup("buyer@example.com", name="Buyer")
    client_id = api.get("/v1/me", token=client).json_body["id"]
    accounts.create_operator("ops@escrowdesk.local", "operator-pass")
    operator = api.post("/v1/auth/login", {"email": "ops@escrowdesk.local", "password": "operator-pass"})
    operator = operator.json_body["token"]
    api.webhook(transfer_event("evt-1", 50000, "EUR", api.invoice(client, 50000, "EUR")["payment_details"]))
    gig = api.post("/v1/gigs", {"title": "Landing page", "amount": 20000, "currency": "EUR", "delivery_days": 4},
                   token=contractor).json_body
    api.request("PATCH", "/v1/me/profile", {"custom_offers": True}, token=contractor)
    talk = api.post("/v1/conversations", {"user_id": client_id}, token=contractor).json_body
    api.post(f"/v1/conversations/{talk['id']}/messages", {"text": "A landing page with a form?"}, token=client)

    # Given a custom offer the client accepts: the order is created and paid in one transaction
    offer = api.post("/v1/offers", {"client_id": client_id, "gig_id": gig["id"], "description": "Landing + form",
                                    "amount": 30000, "currency": "EUR", "delivery_days": 6}, token=contractor)
    assert offer.status_code == 201, offer.body
    order = api.post(f"/v1/offers/{offer.json_body['id']}/accept", token=client)
    assert order.status_code == 201, order.body
    order = order.json_body
    assert api.balance(client, "EUR") == (20000, 30000)
    assert_books_balance()

    # When the contractor starts, offers an extra the client pays, and delivers
    act(api, contractor, order, "start")
    extra = api.post(f"/v1/orders/{order['id']}/extras", {"title": "Copy", "amount": 5000, "extra_days": 1},
                     token=contractor).json_body["extras"][0]["id"]
    assert act(api, client, order, f"extras/{extra}/pay").json_body["amount"] == 35000
    act(api, contractor, order, "deliver", {"message": "Live at example.com"})
    assert_books_balance()

    # Then a dispute stops the clock and the operator's split settles the escrow
    assert act(api, client, order, "dispute", {"message": "The form does not send"}).json_body["status"] == "disputed"
    resolved = api.post(f"/v1/operator/disputes/{order['id']}/resolve",
                        {"refund": 15000, "release": 20000, "note": "Form missing; the rest as agreed"},
                        token=operator)
    assert resolved.status_code == 200, resolved.body
    assert api.balance(client, "EUR") == (30000, 0)
    assert api.balance(contractor, "EUR") == (16000, 0)
    assert_books_balance()

    # And a gig order cancelled by agreement refunds in full without touching the rating
    second = api.post("/v1/orders", {"gig_id": gig["id"]}, token=client).json_body
    act(api, contractor, second, "start")
    api.post(f"/v1/orders/{second['id']}/cancellation", {"reason": "mutual_agreement"}, token=contractor)
    assert act(api, client, second, "cancellation/accept").json_body["status"] == "cancelled"
    profile = api.get(f"/v1/contractors/{gig['contractor_id']}", token=client).json_body
    assert profile["responsibility"] == {"percent": 100, "completed": 0, "failed": 0, "cancelled_without_penalty": 1}

    # And a completed order is reviewed once, under its gig
    third = api.post("/v1/orders", {"gig_id": gig["id"]}, token=client).json_body
    act(api, contractor, third, "start")
    act(api, contractor, third, "deliver", {"message": "Done"})
    act(api, client, third, "accept")
    assert api.post(f"/v1/orders/{third['id']}/review", {"rating": 5, "text": "Fast"}, token=client).status_code == 201
    assert api.post(f"/v1/orders/{third['id']}/review", {"rating": 1}, token=client).status_code == 409
    assert api.get(f"/v1/gigs/{gig['id']}", token=client).json_body["rating"]["average"] == "5.00"
    assert_books_balance()


def test_project_contract_then_a_payout_on_dynamodb_local(api, tmp_path, monkeypatch):
    import io
    import zipfile

    from chalicelib.platform import config

    monkeypatch.setenv("FILES_DIR", str(tmp_path / "files"))
    monkeypatch.setenv("BANK_OUTBOX_DIR", str(tmp_path / "bank"))
    config.reload()
    client = api.signup("client@example.com", name="Client")
    coder = api.signup("coder@example.com", name="Coder")
    coder_id = api.get("/v1/me", token=coder).json_body["id"]
    api.webhook(transfer_event("evt-p", 40000, "USD", api.invoice(client, 40000, "USD")["payment_details"]))
    api.request("PATCH", "/v1/me/profile", {"skills": ["python"]}, token=coder)
    project = api.post("/v1/projects", {"title": "API", "description": "An API", "skills": ["Python"],
                                        "budget_min": 10000, "budget_max": 30000, "currency": "USD"},
                       token=client).json_body
    assert [p["id"] for p in api.get("/v1/projects", token=coder).json_body["items"]] == [project["id"]]
    api.post(f"/v1/projects/{project['id']}/proposals", {"price": 20000, "days": 3, "text": "Yes"}, token=coder)
    contract = api.post(f"/v1/projects/{project['id']}/proposals/{coder_id}/select", token=client)
    assert contract.status_code == 201, contract.body
    contract = contract.json_body
    assert api.balance(client) == (30000, 10000)
    assert api.post(f"/v1/contracts/{contract['id']}/accept", token=coder).status_code == 200
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("api.py", "print('ok')")
    zip_id = upload(api, coder, "api.zip", archive.getvalue(), "application/zip")
    attached = api.post(f"/v1/contracts/{contract['id']}/deliverable", {"file_id": zip_id}, token=coder)
    assert attached.status_code == 200, attached.body
    api.post(f"/v1/contracts/{contract['id']}/submit", token=coder)
    assert api.post(f"/v1/contracts/{contract['id']}/fund", token=client).status_code == 200
    assert api.post(f"/v1/contracts/{contract['id']}/approve", token=client).status_code == 200
    assert api.balance(coder) == (18000, 0)
    assert_books_balance()

    # And the contractor withdraws it to a card; the bank pays it out
    payout = api.post("/v1/payouts", {"amount": 18000, "currency": "USD",
                                      "destination": {"type": "card", "number": "4111111111111111"}}, token=coder)
    assert payout.status_code == 201, payout.body
    assert api.balance(coder) == (0, 18000)
    answer = _payout_paid(payout.json_body["id"])
    assert api.webhook(answer).status_code == 200
    assert api.webhook(answer).json_body["duplicate"] is True
    assert api.balance(coder) == (0, 0)
    assert_books_balance()


def _payout_paid(payout_id: str) -> bytes:
    import json

    return json.dumps({"event_id": f"evt-{payout_id}", "type": "payout.paid", "payout_id": payout_id}).encode()

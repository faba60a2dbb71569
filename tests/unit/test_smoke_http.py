import json

from chalice.test import Client

from tests.support import assert_books_balance, sign, transfer_event


def test_signup_invoice_webhook_balance():
    import app as app_module

    with Client(app_module.app) as client:
        r = client.http.post("/v1/auth/signup", headers={"Content-Type": "application/json"},
                             body=json.dumps({"email": "a@example.com", "password": "secret123", "name": "A"}))
        assert r.status_code == 201, r.body
        token = r.json_body["token"]
        auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        r = client.http.post("/v1/invoices", headers=auth, body=json.dumps({"amount": 150000, "currency": "USD"}))
        assert r.status_code == 201, r.body
        invoice = r.json_body
        body = transfer_event("evt-1", 150000, "USD", f"Payment {invoice['payment_details']}")
        r = client.http.post("/v1/webhooks/bank", headers={"X-Bank-Signature": sign(body)}, body=body)
        assert r.status_code == 200, r.body
        r = client.http.get("/v1/balances", headers=auth)
        assert {"currency": "USD", "available": 150000, "held": 0} in r.json_body["items"]
        assert_books_balance()

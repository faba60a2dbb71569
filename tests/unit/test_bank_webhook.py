"""The bank webhook: only a signed, fresh event moves money, only an exact match credits an
invoice, and everything else is parked for an operator — never lost, never credited twice."""
from __future__ import annotations

import time

import pytest

from chalicelib.platform import clock
from chalicelib.store.models import PaymentModel
from tests.support import assert_books_balance, sign, transfer_event


@pytest.fixture
def client_token(api):
    return api.signup("client@example.com")


def _unmatched(api, operator_token):
    return api.get("/v1/operator/payments/unmatched", token=operator_token).json_body["items"]


def test_exact_match_credits_the_invoice_and_notifies_the_client(api, client_token):
    invoice = api.invoice(client_token)
    response = api.webhook(transfer_event("evt-1", 150000, "USD", f"Pay {invoice['payment_details']}"))
    assert response.status_code == 200
    assert response.json_body["payment"]["status"] == "credited"
    assert api.balance(client_token) == (150000, 0)
    assert api.get(f"/v1/invoices/{invoice['id']}", token=client_token).json_body["status"] == "paid"
    kinds = [n["kind"] for n in api.get("/v1/notifications", token=client_token).json_body["items"]]
    assert "invoice_paid" in kinds
    assert_books_balance()


def test_bad_signature_is_401_and_stores_nothing(api, client_token):
    invoice = api.invoice(client_token)
    body = transfer_event("evt-bad", 150000, "USD", invoice["number"])
    response = api.webhook(body, signature=sign(body, secret="not-the-secret"))
    assert response.status_code == 401
    assert response.json_body["error"]["code"] == "invalid_signature"
    assert api.balance(client_token) == (0, 0)
    assert list(PaymentModel.scan()) == []


@pytest.mark.parametrize("age", [301, -301])
def test_stale_or_future_timestamp_is_401(api, client_token, age):
    invoice = api.invoice(client_token)
    body = transfer_event("evt-old", 150000, "USD", invoice["number"])
    response = api.webhook(body, signature=sign(body, at=int(time.time()) - age))
    assert response.status_code == 401
    assert response.json_body["error"]["code"] == "stale_signature"
    assert list(PaymentModel.scan()) == []


def test_missing_or_garbled_signature_is_401(api):
    body = transfer_event("evt-x", 100, "USD", "x")
    assert api.post("/v1/webhooks/bank", raw=body).status_code == 401
    assert api.webhook(body, signature="t=abc,v1=00").status_code == 401


def test_moving_the_test_clock_does_not_weaken_verification(api, client_token):
    invoice = api.invoice(client_token)
    clock.advance(3600)
    body = transfer_event("evt-clock", 150000, "USD", invoice["number"])
    assert api.webhook(body).status_code == 200
    stale = transfer_event("evt-clock-2", 150000, "USD", invoice["number"])
    at = int(clock.now().timestamp())  # the moved clock's "now" is an hour ahead of the real one
    assert api.webhook(stale, signature=sign(stale, at=at)).status_code == 401


@pytest.mark.parametrize("amount, currency, reason", [
    (149999, "USD", "amount_mismatch"),
    (150001, "USD", "amount_mismatch"),
    (150000, "EUR", "currency_mismatch"),
])
def test_mismatch_is_parked_unmatched_with_its_reason(api, client_token, operator_token, amount, currency, reason):
    invoice = api.invoice(client_token)
    response = api.webhook(transfer_event("evt-mm", amount, currency, invoice["payment_details"]))
    assert response.status_code == 200
    assert response.json_body["payment"]["status"] == "unmatched"
    assert response.json_body["payment"]["reason"] == reason
    assert api.balance(client_token, "USD") == (0, 0)
    assert api.get(f"/v1/invoices/{invoice['id']}", token=client_token).json_body["status"] == "open"
    assert [p["reason"] for p in _unmatched(api, operator_token)] == [reason]
    assert_books_balance()


@pytest.mark.parametrize("purpose, reason", [
    ("Payment for services", "no_invoice_number"),
    ("Invoice PI-2026-999999", "unknown_invoice"),
])
def test_unknown_number_is_parked(api, client_token, purpose, reason):
    response = api.webhook(transfer_event("evt-u", 150000, "USD", purpose))
    assert response.status_code == 200
    assert response.json_body["payment"]["reason"] == reason
    assert_books_balance()


def test_two_invoice_numbers_in_one_purpose_are_parked(api, client_token):
    first, second = api.invoice(client_token), api.invoice(client_token)
    purpose = f"{first['number']} and {second['number']}"
    response = api.webhook(transfer_event("evt-2n", 150000, "USD", purpose))
    assert response.json_body["payment"]["reason"] == "several_invoice_numbers"
    assert api.balance(client_token) == (0, 0)


def test_same_event_twice_changes_nothing_the_second_time(api, client_token):
    invoice = api.invoice(client_token)
    body = transfer_event("evt-dup", 150000, "USD", invoice["payment_details"])
    assert api.webhook(body).status_code == 200
    again = api.webhook(body)
    assert again.status_code == 200
    assert again.json_body["duplicate"] is True
    assert api.balance(client_token) == (150000, 0)
    assert len(list(PaymentModel.scan())) == 1
    assert_books_balance()


def test_second_payment_for_a_paid_invoice_is_parked(api, client_token, operator_token):
    invoice = api.invoice(client_token)
    api.webhook(transfer_event("evt-p1", 150000, "USD", invoice["payment_details"]))
    response = api.webhook(transfer_event("evt-p2", 150000, "USD", invoice["payment_details"]))
    assert response.json_body["payment"]["reason"] == "invoice_already_paid"
    assert api.balance(client_token) == (150000, 0)
    assert [p["event_id"] for p in _unmatched(api, operator_token)] == ["evt-p2"]
    assert_books_balance()


def test_unsupported_currency_is_parked_without_touching_the_books(api, client_token):
    response = api.webhook(transfer_event("evt-gbp", 500, "GBP", "PI-2026-000001"))
    assert response.status_code == 200
    assert response.json_body["payment"]["status"] == "unmatched"
    assert_books_balance()


def test_operator_applies_an_unmatched_payment_to_a_matching_invoice(api, client_token, operator_token):
    invoice = api.invoice(client_token)
    parked = api.webhook(transfer_event("evt-a", 150000, "USD", "no number")).json_body["payment"]
    response = api.post(f"/v1/operator/payments/{parked['id']}/apply", {"invoice_id": invoice["id"]},
                        token=operator_token)
    assert response.status_code == 200, response.body
    assert response.json_body["status"] == "applied"
    assert api.balance(client_token) == (150000, 0)
    assert api.get(f"/v1/invoices/{invoice['id']}", token=client_token).json_body["status"] == "paid"
    assert _unmatched(api, operator_token) == []
    again = api.post(f"/v1/operator/payments/{parked['id']}/apply", {"invoice_id": invoice["id"]},
                     token=operator_token)
    assert again.status_code == 409
    assert api.balance(client_token) == (150000, 0)
    assert_books_balance()


def test_operator_cannot_apply_a_payment_of_another_amount(api, client_token, operator_token):
    invoice = api.invoice(client_token, amount=100)
    parked = api.webhook(transfer_event("evt-b", 150000, "USD", "no number")).json_body["payment"]
    response = api.post(f"/v1/operator/payments/{parked['id']}/apply", {"invoice_id": invoice["id"]},
                        token=operator_token)
    assert response.status_code == 422
    assert response.json_body["error"]["code"] == "amount_mismatch"
    assert api.balance(client_token) == (0, 0)
    assert_books_balance()


def test_operator_marks_an_unmatched_payment_for_return(api, client_token, operator_token):
    parked = api.webhook(transfer_event("evt-r", 7000, "EUR", "??")).json_body["payment"]
    response = api.post(f"/v1/operator/payments/{parked['id']}/return", token=operator_token)
    assert response.status_code == 200
    assert response.json_body["status"] == "returned"
    assert _unmatched(api, operator_token) == []
    trial = api.get("/v1/operator/trial-balance", token=operator_token).json_body
    assert trial["balanced"] is True
    eur = next(line for line in trial["items"] if line["currency"] == "EUR")
    assert eur["accounts"]["sys:bank_out"] == 7000 and eur["accounts"]["sys:suspense"] == 0
    assert api.post(f"/v1/operator/payments/{parked['id']}/return", token=operator_token).status_code == 409
    assert_books_balance()


def test_clients_cannot_resolve_payments(api, client_token):
    parked = api.webhook(transfer_event("evt-c", 100, "USD", "??")).json_body["payment"]
    assert api.post(f"/v1/operator/payments/{parked['id']}/return", token=client_token).status_code == 403
    assert api.get("/v1/operator/payments/unmatched", token=client_token).status_code == 403
    assert api.get("/v1/operator/trial-balance", token=client_token).status_code == 403


def test_unknown_event_type_is_acknowledged_and_ignored(api):
    body = b'{"event_id": "evt-z", "type": "statement.ready"}'
    response = api.webhook(body)
    assert response.status_code == 200 and response.json_body["ignored"] is True


def test_signed_but_malformed_transfer_is_422(api):
    body = b'{"event_id": "evt-m", "type": "transfer.incoming", "amount": 1.5, "currency": "USD"}'
    response = api.webhook(body)
    assert response.status_code == 422
    assert list(PaymentModel.scan()) == []

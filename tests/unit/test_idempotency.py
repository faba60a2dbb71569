"""Idempotency-Key: the same key and body replay the first response and do nothing more; the
same key with another body is 409; a money-moving request writes its record in its own transaction."""
from __future__ import annotations

from chalicelib.store.models import IdempotencyModel, InvoiceModel, PaymentModel
from tests.support import assert_books_balance, transfer_event


def test_same_key_and_body_returns_the_first_response_and_creates_one_invoice(api):
    token = api.signup("c@example.com")
    first = api.post("/v1/invoices", {"amount": 500, "currency": "EUR"}, token=token, headers={"Idempotency-Key": "k1"})
    again = api.post("/v1/invoices", {"amount": 500, "currency": "EUR"}, token=token, headers={"Idempotency-Key": "k1"})
    assert first.status_code == again.status_code == 201
    assert again.json_body == first.json_body
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert len(list(InvoiceModel.scan())) == 1


def test_same_key_with_another_body_is_409(api):
    token = api.signup("c@example.com")
    api.post("/v1/invoices", {"amount": 500, "currency": "EUR"}, token=token, headers={"Idempotency-Key": "k1"})
    other = api.post("/v1/invoices", {"amount": 600, "currency": "EUR"}, token=token, headers={"Idempotency-Key": "k1"})
    assert other.status_code == 409
    assert other.json_body["error"]["code"] == "idempotency_conflict"
    assert len(list(InvoiceModel.scan())) == 1


def test_keys_are_scoped_per_user(api):
    alice, bob = api.signup("a@example.com"), api.signup("b@example.com")
    body = {"amount": 500, "currency": "EUR"}
    a = api.post("/v1/invoices", body, token=alice, headers={"Idempotency-Key": "same"})
    b = api.post("/v1/invoices", body, token=bob, headers={"Idempotency-Key": "same"})
    assert a.status_code == b.status_code == 201
    assert a.json_body["id"] != b.json_body["id"]


def test_a_failed_request_is_not_remembered(api):
    token = api.signup("c@example.com")
    bad = api.post("/v1/invoices", {"amount": 500, "currency": "GBP"}, token=token, headers={"Idempotency-Key": "k"})
    assert bad.status_code == 422
    assert list(IdempotencyModel.scan()) == []


def test_operator_money_move_writes_a_durable_record_in_the_same_transaction(api, operator_token):
    token = api.signup("c@example.com")
    invoice = api.invoice(token)
    parked = api.webhook(transfer_event("evt-i", 150000, "USD", "nothing")).json_body["payment"]
    path = f"/v1/operator/payments/{parked['id']}/apply"
    first = api.post(path, {"invoice_id": invoice["id"]}, token=operator_token, headers={"Idempotency-Key": "ap-1"})
    again = api.post(path, {"invoice_id": invoice["id"]}, token=operator_token, headers={"Idempotency-Key": "ap-1"})
    assert first.status_code == again.status_code == 200
    assert again.json_body == first.json_body
    records = list(IdempotencyModel.scan())
    assert len(records) == 1 and records[0].expires_at is None  # kept as long as the journal
    assert api.balance(token) == (150000, 0)
    assert PaymentModel.get(parked["id"]).status == "applied"
    assert_books_balance()


def test_same_key_on_another_resource_is_a_conflict(api, operator_token):
    token = api.signup("c@example.com")
    invoice = api.invoice(token)
    one = api.webhook(transfer_event("evt-1", 150000, "USD", "?")).json_body["payment"]
    two = api.webhook(transfer_event("evt-2", 150000, "USD", "?")).json_body["payment"]
    body = {"invoice_id": invoice["id"]}
    api.post(f"/v1/operator/payments/{one['id']}/apply", body, token=operator_token, headers={"Idempotency-Key": "x"})
    other = api.post(f"/v1/operator/payments/{two['id']}/apply", body, token=operator_token,
                     headers={"Idempotency-Key": "x"})
    assert other.status_code == 409
    assert PaymentModel.get(two["id"]).status == "unmatched"
    assert_books_balance()


def test_signup_replay_returns_the_same_account(api):
    body = {"email": "n@example.com", "password": "correct horse", "name": "N"}
    first = api.post("/v1/auth/signup", body, headers={"Idempotency-Key": "su"})
    again = api.post("/v1/auth/signup", body, headers={"Idempotency-Key": "su"})
    assert first.status_code == again.status_code == 201
    assert first.json_body["user"]["id"] == again.json_body["user"]["id"]


def test_overlong_key_is_422(api):
    token = api.signup("c@example.com")
    response = api.post("/v1/invoices", {"amount": 1, "currency": "USD"}, token=token,
                        headers={"Idempotency-Key": "k" * 300})
    assert response.status_code == 422


def test_a_record_keeps_its_answer_compressed_and_one_written_before_with_a_plain_body_still_replays(api):
    token = api.signup("z@example.com")
    first = api.post("/v1/invoices", {"amount": 500, "currency": "USD"}, token=token, headers={"Idempotency-Key": "z"})
    (record,) = list(IdempotencyModel.scan())
    assert record.body is None and record.answer() == first.json_body
    IdempotencyModel(record.id, request_hash=record.request_hash, status_code=record.status_code,
                     body=first.json_body, created_at=record.created_at, expires_at=record.expires_at).save()
    replay = api.post("/v1/invoices", {"amount": 500, "currency": "USD"}, token=token, headers={"Idempotency-Key": "z"})
    assert replay.headers.get("Idempotent-Replayed") == "true" and replay.json_body == first.json_body
    assert len(list(InvoiceModel.scan())) == 1


def test_a_request_without_an_idempotency_key_leaves_no_record(api):
    token = api.signup("nokey@example.com")
    invoice = api.post("/v1/invoices", {"amount": 500, "currency": "USD"}, token=token)
    assert invoice.status_code == 201
    assert list(IdempotencyModel.scan()) == []

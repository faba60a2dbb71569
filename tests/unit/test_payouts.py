"""Payouts: a withdrawal to a card or an IBAN is held at once and settled by the bank's signed
answer — paid leaves to the outside world, failed comes back — once, whatever the retries."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from chalicelib.platform import clock, config
from tests.support import assert_books_balance, run_jobs, transfer_event

CARD = "4111 1111 1111 1111"
IBAN = "UA21 3223 1300 0002 6007 2335 6600 1"


@pytest.fixture
def funded(api):
    """Given a contractor with 500.00 USD available."""
    token = api.signup("payee@example.com", name="Payee")
    invoice = api.invoice(token, 50000, "USD")
    api.webhook(transfer_event("evt-fund", 50000, "USD", invoice["payment_details"]))
    return token


def _payout(api, token, amount=20000, currency="USD", kind="card", number=CARD, **kw):
    return api.post("/v1/payouts", {"amount": amount, "currency": currency,
                                     "destination": {"type": kind, "number": number}}, token=token, **kw)


def _answer(api, payout_id: str, outcome: str, event_id: str = "evt-answer", reason: str = ""):
    body = json.dumps({"event_id": event_id, "type": f"payout.{outcome}", "payout_id": payout_id,
                       "reason": reason}).encode()
    return api.webhook(body)


def _requests_sent() -> list[dict]:
    outbox = Path(config.settings.bank_outbox_dir) / "payout_requests.jsonl"
    return [json.loads(line) for line in outbox.read_text().splitlines()] if outbox.exists() else []


def test_payout_is_held_at_once_and_asked_of_the_bank(api, funded):
    response = _payout(api, funded)

    assert response.status_code == 201, response.body
    payout = response.json_body
    assert payout["status"] == "pending" and payout["destination"] == "•••• 1111"
    assert api.get(f"/v1/payouts/{payout['id']}", token=funded).json_body["sent_at"]
    assert api.balance(funded) == (30000, 20000)
    assert [(r["payout_id"], r["amount"], r["destination"]) for r in _requests_sent()] == [
        (payout["id"], 20000, "4111111111111111")]
    assert api.get("/v1/payouts", token=funded).json_body["items"][0]["id"] == payout["id"]
    assert_books_balance()


def test_paid_payout_leaves_to_the_outside_world_once(api, funded, operator_token):
    payout = _payout(api, funded).json_body
    assert _answer(api, payout["id"], "paid").status_code == 200
    again = _answer(api, payout["id"], "paid", event_id="evt-answer-2")
    assert again.status_code == 200 and again.json_body["duplicate"] is True
    assert api.balance(funded) == (30000, 0)
    assert api.get(f"/v1/payouts/{payout['id']}", token=funded).json_body["status"] == "paid"
    usd = next(i for i in api.get("/v1/operator/trial-balance", token=operator_token).json_body["items"]
               if i["currency"] == "USD")
    assert usd["accounts"]["sys:bank_out"] == 20000 and usd["balanced"]
    kinds = [n["kind"] for n in api.get("/v1/notifications", token=funded).json_body["items"]]
    assert kinds[:2] == ["payout_paid", "payout_requested"]
    assert_books_balance()


def test_the_same_answer_twice_at_once_is_acknowledged_as_a_duplicate_and_pays_once(api, funded, monkeypatch):
    """Found by the bank workload: the loser of two simultaneous deliveries read the payout still
    pending, and its failed transaction was answered 409 `already_applied` instead of a duplicate."""
    from chalicelib.store.models import PayoutModel

    payout = _payout(api, funded).json_body
    stale = PayoutModel.get(payout["id"], consistent_read=True)  # what the loser read: pending
    assert _answer(api, payout["id"], "paid").status_code == 200  # the winner
    real_get = PayoutModel.get
    reads = iter([stale])
    monkeypatch.setattr(PayoutModel, "get", classmethod(
        lambda cls, *key, **kw: next(reads, None) or real_get(*key, **kw)))
    again = _answer(api, payout["id"], "paid")
    assert again.status_code == 200 and again.json_body["duplicate"] is True, again.body
    assert again.json_body["payout"]["status"] == "paid"
    assert api.balance(funded) == (30000, 0)
    assert_books_balance()


def test_failed_payout_returns_the_money_to_available(api, funded):
    payout = _payout(api, funded, kind="iban", number=IBAN).json_body
    failed = _answer(api, payout["id"], "failed", reason="Account closed")
    assert failed.status_code == 200 and failed.json_body["payout"]["status"] == "failed"
    assert failed.json_body["payout"]["failure_reason"] == "Account closed"
    assert api.balance(funded) == (50000, 0)
    assert _answer(api, payout["id"], "paid", event_id="evt-late").json_body["duplicate"] is True
    assert api.balance(funded) == (50000, 0)
    assert_books_balance()


def test_one_open_payout_per_currency_then_the_next_once_settled(api, funded):
    first = _payout(api, funded, amount=10000).json_body
    second = _payout(api, funded, amount=10000)
    assert second.status_code == 409 and second.json_body["error"]["code"] == "payout_open"
    assert api.balance(funded) == (40000, 10000)
    _answer(api, first["id"], "failed")
    assert _payout(api, funded, amount=10000).status_code == 201
    assert_books_balance()


@pytest.mark.parametrize("amount, currency, kind, number, code", [
    (999, "USD", "card", CARD, "below_minimum"),
    (60000, "USD", "card", CARD, "insufficient_funds"),
    (20000, "EUR", "card", CARD, "currency_mismatch"),  # holds USD only: another currency never pays
    (20000, "USD", "card", "4111 1111 1111 1112", "invalid_card"),
    (20000, "USD", "card", "1234", "invalid_card"),
    (20000, "USD", "iban", "UA21 3223 1300 0002 6007 2335 6600 2", "invalid_iban"),
    (20000, "USD", "iban", "XX00 1234", "invalid_iban"),
    (20000, "GBP", "card", CARD, "unsupported_currency"),
    (0, "USD", "card", CARD, "validation_error"),
])
def test_bad_payouts_are_clear_4xx_and_move_nothing(api, funded, amount, currency, kind, number, code):
    response = _payout(api, funded, amount=amount, currency=currency, kind=kind, number=number)
    assert response.status_code in (409, 422) and response.json_body["error"]["code"] == code
    assert api.balance(funded) == (50000, 0)
    assert api.get("/v1/payouts", token=funded).json_body["items"] == []
    assert _requests_sent() == []
    assert_books_balance()


def test_unknown_destination_type_is_422(api, funded):
    response = _payout(api, funded, kind="paypal", number="me@example.com")
    assert response.status_code == 422 and api.balance(funded) == (50000, 0)


def test_payout_retried_with_the_same_key_is_made_once(api, funded):
    headers = {"Idempotency-Key": "withdraw-1"}
    first = _payout(api, funded, headers=headers)
    second = _payout(api, funded, headers=headers)
    assert first.status_code == second.status_code == 201 and first.json_body["id"] == second.json_body["id"]
    assert api.balance(funded) == (30000, 20000) and len(_requests_sent()) == 1
    assert_books_balance()


def test_a_request_the_bank_did_not_get_is_resent_by_the_job(api, funded, monkeypatch):
    from chalicelib.adapters import payout_bank

    bank_is_down = [True]
    original = payout_bank.LocalBank.request_payout

    def flaky(self, payout):
        if bank_is_down[0]:
            raise OSError("bank is down")
        original(self, payout)

    monkeypatch.setattr(payout_bank.LocalBank, "request_payout", flaky)
    payout = _payout(api, funded).json_body
    assert api.get(f"/v1/payouts/{payout['id']}", token=funded).json_body["sent_at"] is None
    assert api.balance(funded) == (30000, 20000)
    assert _requests_sent() == []
    bank_is_down[0] = False
    clock.advance(120)
    assert run_jobs(api)["resend_payout_requests"] == {"sent": 1, "failed": 0}
    assert [r["payout_id"] for r in _requests_sent()] == [payout["id"]]
    assert run_jobs(api)["resend_payout_requests"] == {"sent": 0, "failed": 0}
    assert api.get(f"/v1/payouts/{payout['id']}", token=funded).json_body["sent_at"]


def test_others_cannot_see_a_payout_and_unknown_answers_are_ignored(api, funded):
    payout = _payout(api, funded).json_body
    stranger = api.signup("stranger@example.com")
    assert api.get(f"/v1/payouts/{payout['id']}", token=stranger).status_code == 404
    ignored = _answer(api, "po_nope", "paid")
    assert ignored.status_code == 200 and ignored.json_body["ignored"] is True
    assert api.balance(funded) == (30000, 20000)
    assert_books_balance()

"""Paying by card in one step (seed 004's "pay online"), on moto with the local fake acquirer: a card top-up's
link, its signed success credited once with the journal, declines and expiries that change nothing, duplicates
refunded; and the four actions that answer 402 with a top-up whose payment completes them — or, when the action
can no longer happen, leaves the money on the balance and tells the client why. The books balance after each."""
from __future__ import annotations

import json
import subprocess
from datetime import timedelta

import pytest

from chalicelib.adapters import acquirer
from chalicelib.money import ledger
from chalicelib.money.amounts import Money
from chalicelib.money.ledger import System
from chalicelib.platform import clock, config
from chalicelib.services import card_payments
from chalicelib.store.models import CardPaymentModel, DealModel, InvoiceModel
from tests.billing_support import deliver
from tests.support import assert_books_balance, place_order, run_jobs

MINUTE = 60


@pytest.fixture
def fake_acquirer():
    return acquirer.LocalAcquirer()


@pytest.fixture
def broke(api):
    """A signed-up client with nothing on his balance."""
    return api.signup("broke@example.com", name="Broke")


def _available(api, token: str, currency: str = "USD") -> tuple[int, int]:
    items = api.get("/v1/balances", token=token).json_body["items"]
    line = next((item for item in items if item["currency"] == currency), {"available": 0, "held": 0})
    return line["available"], line["held"]


def _system(account: System, currency: str = "USD") -> int:
    return sum(int(a.available) for a in ledger.owned_items(account.value) if a.currency == currency)


def _payment_id(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[1]


def _pay(fake, url: str, *, paid: bool = True) -> None:
    fake.answer(_payment_id(url), paid)


def _kinds(api, token: str) -> list[str]:
    return [n["kind"] for n in api.get("/v1/notifications?limit=100", token=token).json_body["items"]]


def _topup(api, token: str, amount: int = 5000, currency: str = "USD") -> dict:
    response = api.post("/v1/topups", {"amount": amount, "currency": currency}, token=token)
    assert response.status_code == 201, response.body
    return response.json_body


def _nothing_changed(api, token: str) -> None:
    assert _available(api, token) == (0, 0)
    assert _system(System.ACQUIRER) == 0
    assert_books_balance()


# --- top-ups -------------------------------------------------------------------------------------------------------

def test_a_card_top_up_gives_a_30_minute_link_and_its_success_credits_the_balance_once_in_ledger_and_documents(
        api, broke, fake_acquirer, still_clock):
    topup = _topup(api, broke)
    assert {"id", "amount", "currency", "status", "payment_url", "expires_at"} <= set(topup)
    assert topup["id"].startswith("top_") and topup["status"] == "pending" and topup["amount"] == 5000
    assert timedelta(minutes=29) < clock.parse_iso(topup["expires_at"]) - clock.now() <= timedelta(minutes=30)
    assert topup["fee"] == {"amount": 0, "currency": "USD"} and topup["total"]["amount"] == 5000

    _pay(fake_acquirer, topup["payment_url"])
    answers = deliver(api, twice=True)

    assert [a["duplicate"] for a in answers] == [False, True] and answers[0]["outcome"] == "applied"
    assert _available(api, broke) == (5000, 0)
    assert api.get(f"/v1/topups/{topup['id']}", token=broke).json_body["status"] == "paid"
    lines = api.get("/v1/ledger", token=broke).json_body["items"]
    assert [(line["kind"], line["amount"]) for line in lines] == [("card_top_up", 5000)]
    documents = api.get("/v1/invoices", token=broke).json_body["items"]
    assert [(d["id"], d["kind"], d["status"]) for d in documents] == [(topup["id"], "card_topup", "paid")]
    assert "invoice_paid" in _kinds(api, broke)
    again = api.post(f"/v1/topups/{topup['id']}/payment-link", token=broke)
    assert again.status_code == 409 and again.json_body["error"]["code"] == "topup_paid"
    assert_books_balance()


def test_a_declined_or_expired_top_up_changes_nothing_and_its_link_is_renewed_after_30_minutes(
        api, broke, fake_acquirer, still_clock):
    topup = _topup(api, broke)
    path = f"/v1/topups/{topup['id']}/payment-link"
    _pay(fake_acquirer, topup["payment_url"], paid=False)
    assert [a["outcome"] for a in deliver(api)] == ["declined"]
    _nothing_changed(api, broke)
    same = api.post(path, token=broke).json_body
    assert same["url"] == topup["payment_url"]  # the same link while it lives

    clock.advance(31 * MINUTE)
    renewed = api.post(path, token=broke).json_body
    assert renewed["url"] != topup["payment_url"]
    assert api.get(f"/v1/topups/{topup['id']}", token=broke).json_body["payment_url"] == renewed["url"]
    _nothing_changed(api, broke)
    _pay(fake_acquirer, renewed["url"])
    assert [a["outcome"] for a in deliver(api)] == ["applied"]
    assert _available(api, broke) == (5000, 0)
    assert_books_balance()


def test_a_second_paid_page_of_a_paid_top_up_is_refunded_and_the_balance_credited_once(
        api, broke, fake_acquirer, still_clock):
    topup = _topup(api, broke)
    clock.advance(31 * MINUTE)
    renewed = api.post(f"/v1/topups/{topup['id']}/payment-link", token=broke).json_body
    _pay(fake_acquirer, topup["payment_url"])  # the expired page, confirmed late: it pays the open top-up
    _pay(fake_acquirer, renewed["url"])
    assert [a["outcome"] for a in deliver(api)] == ["applied", "duplicate"]

    assert _available(api, broke) == (5000, 0)
    assert fake_acquirer.load(renewed["payment_id"])["status"] == "refunded"
    assert _system(System.CARD_CLEARING) == 5000  # until the acquirer confirms the refund
    assert "card_payment_refunded" in _kinds(api, broke)
    assert [a["outcome"] for a in deliver(api)] == ["refunded"]
    assert _system(System.CARD_CLEARING) == 0 and _system(System.ACQUIRER) == -5000
    assert CardPaymentModel.get(renewed["payment_id"]).status == "refunded"
    assert_books_balance()


def test_a_duplicates_refund_the_acquirer_did_not_answer_is_asked_again_by_the_job_until_it_is_confirmed(
        api, broke, fake_acquirer, still_clock):
    topup = _topup(api, broke)
    clock.advance(31 * MINUTE)
    renewed = api.post(f"/v1/topups/{topup['id']}/payment-link", token=broke).json_body
    _pay(fake_acquirer, topup["payment_url"])
    _pay(fake_acquirer, renewed["url"])
    fake_acquirer.arm(renewed["payment_id"], "timeout")  # the refund asked at once is lost
    assert [a["outcome"] for a in deliver(api)] == ["applied", "duplicate"]
    assert fake_acquirer.load(renewed["payment_id"])["status"] == "succeeded"  # not refunded yet
    assert CardPaymentModel.get(renewed["payment_id"]).status == "refund_pending"
    assert _system(System.CARD_CLEARING) == 5000
    assert_books_balance()

    assert run_jobs(api)["resend_card_refunds"] == {"asked": 0, "refused": 0}  # not yet due: asked a moment ago
    clock.advance(card_payments.REFUND_RESEND.total_seconds() + 1)
    assert run_jobs(api)["resend_card_refunds"] == {"asked": 1, "refused": 0}
    assert fake_acquirer.load(renewed["payment_id"])["status"] == "refunded"
    assert [a["outcome"] for a in deliver(api)] == ["refunded"]
    confirmed = CardPaymentModel.get(renewed["payment_id"])
    assert confirmed.status == "refunded" and confirmed.refund_queue is None
    clock.advance(card_payments.REFUND_RESEND.total_seconds() + 1)
    assert run_jobs(api)["resend_card_refunds"] == {"asked": 0, "refused": 0}  # confirmed: never asked again
    assert _available(api, broke) == (5000, 0)
    assert _system(System.CARD_CLEARING) == 0 and _system(System.ACQUIRER) == -5000
    assert_books_balance()


def test_a_duplicates_refund_the_acquirer_refuses_on_the_retry_is_parked_for_an_operator_as_at_the_webhook(
        api, broke, operator_token, fake_acquirer, still_clock):
    """The job's refusal ends as the webhook's does: the money from card clearing to suspense with the payment's
    status, in one transaction, off the job's queue; the operator's return asks the acquirer again."""
    topup = _topup(api, broke)
    clock.advance(31 * MINUTE)
    renewed = api.post(f"/v1/topups/{topup['id']}/payment-link", token=broke).json_body
    _pay(fake_acquirer, topup["payment_url"])
    _pay(fake_acquirer, renewed["url"])
    fake_acquirer.arm(renewed["payment_id"], "timeout")
    assert [a["outcome"] for a in deliver(api)] == ["applied", "duplicate"]
    fake_acquirer.arm(renewed["payment_id"], "refuse")
    clock.advance(card_payments.REFUND_RESEND.total_seconds() + 1)
    assert run_jobs(api)["resend_card_refunds"] == {"asked": 1, "refused": 1}
    parked_card = CardPaymentModel.get(renewed["payment_id"])
    assert (parked_card.status, parked_card.outcome, parked_card.refund_queue) == ("succeeded", "parked", None)
    (parked,) = api.get("/v1/operator/payments/unmatched", token=operator_token).json_body["items"]
    assert (parked["reason"], parked["amount"], parked["currency"]) == ("refund_refused", 5000, "USD")
    assert _system(System.CARD_CLEARING) == 0 and _system(System.SUSPENSE) == 5000
    assert_books_balance()
    clock.advance(card_payments.REFUND_RESEND.total_seconds() + 1)
    assert run_jobs(api)["resend_card_refunds"] == {"asked": 0, "refused": 0}  # parked: the job asks no more
    assert fake_acquirer.load(renewed["payment_id"])["status"] == "succeeded"

    returned = api.post(f"/v1/operator/payments/{parked['id']}/return", token=operator_token)
    assert returned.status_code == 200 and returned.json_body["status"] == "returned"
    assert fake_acquirer.load(renewed["payment_id"])["status"] == "refunded"
    assert [a["outcome"] for a in deliver(api)] == ["ignored"]  # booked by the return already
    assert _available(api, broke) == (5000, 0)
    assert _system(System.SUSPENSE) == 0 and _system(System.ACQUIRER) == -5000
    assert_books_balance()


@pytest.mark.parametrize("body, code", [
    ({"amount": 0, "currency": "USD"}, "validation_error"),
    ({"amount": -5, "currency": "USD"}, "validation_error"),
    ({"amount": "5", "currency": "USD"}, "validation_error"),
    ({"amount": 500, "currency": "usd"}, "validation_error"),
    ({"amount": 500, "currency": "XYZ"}, "unsupported_currency"),
    ({"amount": 500}, "validation_error"),
])
def test_bad_top_ups_are_422_and_create_nothing(api, broke, body, code):
    refused = api.post("/v1/topups", body, token=broke)
    assert refused.status_code == 422 and refused.json_body["error"]["code"] == code, refused.body
    assert api.get("/v1/invoices", token=broke).json_body["items"] == []
    _nothing_changed(api, broke)


def test_a_currency_without_an_acquirer_is_422_card_payments_unavailable_and_bank_transfer_stays(
        api, broke, monkeypatch):
    monkeypatch.setenv("CARD_ACQUIRERS", "UAH:monobank")
    config.reload()
    refused = api.post("/v1/topups", {"amount": 5000, "currency": "USD"}, token=broke)
    assert refused.status_code == 422 and refused.json_body["error"]["code"] == "card_payments_unavailable"
    assert api.get("/v1/invoices", token=broke).json_body["items"] == []
    assert api.post("/v1/invoices", {"amount": 5000, "currency": "USD"}, token=broke).status_code == 201
    assert api.post("/v1/topups", {"amount": 5000, "currency": "UAH"}, token=broke).status_code == 201
    _nothing_changed(api, broke)


def test_an_unknown_acquirer_in_the_setting_is_refused_when_the_settings_load(monkeypatch):
    monkeypatch.setenv("CARD_ACQUIRERS", "UAH:nobank")
    with pytest.raises(ValueError, match="nobank"):
        config.reload()


def test_someone_elses_or_an_unknown_top_up_is_404(api, broke, fake_acquirer):
    topup = _topup(api, broke)
    stranger = api.signup("stranger@example.com")
    for path in (f"/v1/topups/{topup['id']}", "/v1/topups/top_nope"):
        assert api.get(path, token=stranger).status_code == 404
    assert api.post(f"/v1/topups/{topup['id']}/payment-link", token=stranger).status_code == 404
    proforma = api.invoice(broke, 5000, "USD")
    assert api.get(f"/v1/topups/{proforma['id']}", token=broke).status_code == 404  # a proforma is no top-up
    assert api.get(f"/v1/topups/{topup['id']}").status_code == 401
    _nothing_changed(api, broke)


def test_a_webhook_with_a_bad_signature_is_401_and_credits_nothing(api, broke, fake_acquirer):
    topup = _topup(api, broke)
    body = acquirer.event(acquirer.SUCCEEDED, _payment_id(topup["payment_url"]),
                          Money(5000, "USD"), {"mask": "411111******1111", "holder": "X"})
    raw = json.dumps(body).encode()
    for signature in ("t=1,v1=00", acquirer.sign(raw, secret="not-the-secret"), ""):
        answer = api.post("/v1/webhooks/acquirer", raw=raw, headers={"X-Acquirer-Signature": signature})
        assert answer.status_code == 401
    assert api.get(f"/v1/topups/{topup['id']}", token=broke).json_body["status"] == "pending"
    _nothing_changed(api, broke)


def test_the_fee_is_shown_before_paying_booked_to_revenue_and_printed_on_the_receipt(
        api, broke, fake_acquirer, monkeypatch):
    monkeypatch.setenv("CARD_TOPUP_FEE_BPS", "250")
    config.reload()
    topup = _topup(api, broke, amount=10000)
    assert topup["fee"] == {"amount": 250, "currency": "USD"} and topup["total"]["amount"] == 10250
    assert fake_acquirer.load(_payment_id(topup["payment_url"]))["amount"] == 10250  # the card pays both

    _pay(fake_acquirer, topup["payment_url"])
    deliver(api)

    assert _available(api, broke) == (10000, 0)
    assert _system(System.REVENUE) == 250 and _system(System.ACQUIRER) == -10250
    receipt = api.get(f"/v1/invoices/{topup['id']}/pdf", token=broke, headers={"Accept": "application/pdf"})
    words = subprocess.run(["pdftotext", "-", "-"], input=receipt.body, capture_output=True,
                           check=True).stdout.decode()
    assert "Receipt" in words and "Card payment fee" in words and "$2.50" in words and "$102.50" in words
    assert "411111******1111" in words
    assert_books_balance()


# --- one step: 402 with a top-up that completes the action ---------------------------------------------------------

def _gig(api, deal) -> str:
    return deal["gig"]["id"]


def test_an_order_with_an_empty_balance_is_402_with_a_top_up_that_places_and_holds_it_once_paid(
        api, deal, broke, fake_acquirer):
    refused = api.post("/v1/orders", {"gig_id": _gig(api, deal)}, token=broke)
    assert refused.status_code == 402, refused.body
    error = refused.json_body["error"]
    assert error["code"] == "insufficient_funds" and error["missing"] == {"amount": 10000, "currency": "USD"}
    assert {"id", "payment_url", "expires_at"} <= set(error["topup"])
    again = api.post("/v1/orders", {"gig_id": _gig(api, deal)}, token=broke).json_body["error"]
    assert again["topup"]["id"] == error["topup"]["id"]  # asked again: the same top-up
    assert api.get("/v1/orders", token=broke).json_body["items"] == []
    _nothing_changed(api, broke)

    _pay(fake_acquirer, error["topup"]["payment_url"])
    deliver(api, twice=True)

    (order,) = api.get("/v1/orders", token=broke).json_body["items"]
    assert order["status"] == "not_started" and order["amount"] == 10000
    assert _available(api, broke) == (0, 10000)
    topup = api.get(f"/v1/topups/{error['topup']['id']}", token=broke).json_body
    assert topup["action"] == {"kind": "place_order", "gig_id": _gig(api, deal)}
    assert topup["action_result"] == {"status": "completed", "order_id": order["id"]}
    assert "order_placed" in _kinds(api, deal["contractor"])
    assert_books_balance()


def test_a_402_sent_again_with_its_idempotency_key_after_the_link_expired_is_the_same_top_up_with_a_new_link(
        api, deal, broke, still_clock):
    key = {"Idempotency-Key": "order-once"}
    first = api.post("/v1/orders", {"gig_id": _gig(api, deal)}, token=broke, headers=key).json_body["error"]
    clock.advance(31 * MINUTE)
    again = api.post("/v1/orders", {"gig_id": _gig(api, deal)}, token=broke, headers=key)
    assert again.status_code == 402 and again.json_body["error"]["topup"]["id"] == first["topup"]["id"]
    assert again.json_body["error"]["topup"]["payment_url"] != first["topup"]["payment_url"]
    assert api.get("/v1/orders", token=broke).json_body["items"] == []
    _nothing_changed(api, broke)


def test_a_client_with_part_of_the_price_tops_up_only_the_rest(api, deal, fake_acquirer):
    place_order(api, deal)
    place_order(api, deal)  # 50.00 of 250.00 left
    error = api.post("/v1/orders", {"gig_id": _gig(api, deal)}, token=deal["client"]).json_body["error"]
    assert error["missing"] == {"amount": 5000, "currency": "USD"}
    _pay(fake_acquirer, error["topup"]["payment_url"])
    deliver(api)
    assert _available(api, deal["client"]) == (0, 30000)
    assert len(api.get("/v1/orders", token=deal["client"]).json_body["items"]) == 3
    assert_books_balance()


def test_a_gig_paused_before_the_top_up_is_paid_leaves_the_money_on_the_balance_and_the_client_is_told(
        api, deal, broke, fake_acquirer):
    error = api.post("/v1/orders", {"gig_id": _gig(api, deal)}, token=broke).json_body["error"]
    assert api.post(f"/v1/gigs/{_gig(api, deal)}/pause", token=deal["contractor"]).status_code == 200

    _pay(fake_acquirer, error["topup"]["payment_url"])
    assert [a["outcome"] for a in deliver(api)] == ["applied"]

    assert api.get("/v1/orders", token=broke).json_body["items"] == []
    assert _available(api, broke) == (10000, 0)
    topup = api.get(f"/v1/topups/{error['topup']['id']}", token=broke).json_body
    assert topup["status"] == "paid" and topup["action_result"] == {"status": "failed", "reason": "gig_not_active"}
    assert "topup_action_failed" in _kinds(api, broke)
    assert_books_balance()


def test_a_short_balance_in_a_currency_without_card_payments_is_402_without_a_top_up(
        api, deal, broke, monkeypatch):
    monkeypatch.setenv("CARD_ACQUIRERS", "UAH:monobank")
    config.reload()
    refused = api.post("/v1/orders", {"gig_id": _gig(api, deal)}, token=broke)
    assert refused.status_code == 402 and refused.json_body["error"]["topup"] is None
    assert "bank transfer" in refused.json_body["error"]["message"]
    assert InvoiceModel.count() == 1  # the fixture's own proforma, nothing more
    _nothing_changed(api, broke)


@pytest.fixture
def offered(api, deal):
    """Given a pending custom offer of 300.00 USD to the deal's client, who has 250.00 USD."""
    assert api.request("PATCH", "/v1/me/profile", {"custom_offers": True},
                       token=deal["contractor"]).status_code == 200
    started = api.post("/v1/conversations", {"user_id": deal["contractor_id"]}, token=deal["client"])
    api.post(f"/v1/conversations/{started.json_body['id']}/messages", {"text": "Hello"}, token=deal["client"])
    offer = api.post("/v1/offers", {"client_id": deal["client_id"], "gig_id": _gig(api, deal),
                                    "description": "Three concepts", "amount": 30000, "currency": "USD",
                                    "delivery_days": 5, "revision_limit": 1}, token=deal["contractor"])
    assert offer.status_code == 201, offer.body
    return {**deal, "offer": offer.json_body}


def test_accepting_an_offer_short_of_balance_accepts_it_once_its_top_up_is_paid(api, offered, fake_acquirer):
    path = f"/v1/offers/{offered['offer']['id']}/accept"
    error = api.post(path, token=offered["client"]).json_body["error"]
    assert error["missing"] == {"amount": 5000, "currency": "USD"}
    _pay(fake_acquirer, error["topup"]["payment_url"])
    deliver(api)
    assert api.get(f"/v1/offers/{offered['offer']['id']}", token=offered["client"]).json_body["status"] == "accepted"
    (order,) = api.get("/v1/orders", token=offered["client"]).json_body["items"]
    assert order["amount"] == 30000 and _available(api, offered["client"]) == (0, 30000)
    assert_books_balance()


def test_an_offer_that_expired_before_its_top_up_was_paid_leaves_the_money_on_the_balance(
        api, offered, fake_acquirer, still_clock):
    error = api.post(f"/v1/offers/{offered['offer']['id']}/accept", token=offered["client"]).json_body["error"]
    clock.advance(8 * 86400)  # past the offer's last date
    _pay(fake_acquirer, error["topup"]["payment_url"])
    deliver(api)
    assert api.get("/v1/orders", token=offered["client"]).json_body["items"] == []
    assert _available(api, offered["client"]) == (30000, 0)
    topup = api.get(f"/v1/topups/{error['topup']['id']}", token=offered["client"]).json_body
    assert topup["action_result"] == {"status": "failed", "reason": "offer_expired"}
    assert "topup_action_failed" in _kinds(api, offered["client"])
    assert_books_balance()


def test_paying_an_extra_short_of_balance_pays_it_once_its_top_up_is_paid(api, deal, fake_acquirer):
    order = place_order(api, deal)
    offered = api.post(f"/v1/orders/{order['id']}/extras", {"title": "Sources", "amount": 20000, "extra_days": 1},
                       token=deal["contractor"]).json_body["extras"][0]
    error = api.post(f"/v1/orders/{order['id']}/extras/{offered['id']}/pay",
                     token=deal["client"]).json_body["error"]
    assert error["missing"] == {"amount": 5000, "currency": "USD"}
    _pay(fake_acquirer, error["topup"]["payment_url"])
    deliver(api)
    after = api.get(f"/v1/orders/{order['id']}", token=deal["client"]).json_body
    assert after["extras"][0]["status"] == "paid" and after["amount"] == 30000
    assert _available(api, deal["client"]) == (0, 30000)
    assert_books_balance()


def test_funding_a_contract_short_of_balance_escrows_the_rest_once_its_top_up_is_paid(api, fake_acquirer):
    from tests.support import transfer_event

    client = api.signup("client@example.com")
    coder = api.signup("coder@example.com")
    api.webhook(transfer_event("evt-half", 20000, "USD", api.invoice(client, 20000, "USD")["payment_details"]))
    project = api.post("/v1/projects", {"title": "Page", "description": "A page", "skills": ["python"],
                                        "budget_min": 20000, "budget_max": 40000, "currency": "USD"},
                       token=client).json_body
    api.post(f"/v1/projects/{project['id']}/proposals", {"price": 40000, "days": 5, "text": "Yes"}, token=coder)
    coder_id = api.get("/v1/me", token=coder).json_body["id"]
    contract = api.post(f"/v1/projects/{project['id']}/proposals/{coder_id}/select", token=client).json_body
    assert _available(api, client) == (0, 20000)
    assert api.post(f"/v1/contracts/{contract['id']}/accept", token=coder).status_code == 200

    error = api.post(f"/v1/contracts/{contract['id']}/fund", token=client).json_body["error"]
    assert error["missing"] == {"amount": 20000, "currency": "USD"}
    _pay(fake_acquirer, error["topup"]["payment_url"])
    deliver(api)
    assert DealModel.get(contract["id"]).escrowed == 40000
    assert _available(api, client) == (0, 40000)
    assert_books_balance()


def test_choosing_a_proposal_short_of_balance_opens_the_contract_once_its_top_up_is_paid(api, fake_acquirer):
    client = api.signup("client@example.com")
    coder = api.signup("coder@example.com")
    project = api.post("/v1/projects", {"title": "Page", "description": "A page", "skills": ["python"],
                                        "budget_min": 20000, "budget_max": 40000, "currency": "USD"},
                       token=client).json_body
    api.post(f"/v1/projects/{project['id']}/proposals", {"price": 30000, "days": 5, "text": "Yes"}, token=coder)
    coder_id = api.get("/v1/me", token=coder).json_body["id"]
    path = f"/v1/projects/{project['id']}/proposals/{coder_id}/select"

    error = api.post(path, token=client).json_body["error"]
    assert error["missing"] == {"amount": 15000, "currency": "USD"}
    assert api.get(f"/v1/projects/{project['id']}", token=client).json_body["status"] == "open"
    _nothing_changed(api, client)
    _pay(fake_acquirer, error["topup"]["payment_url"])
    deliver(api)

    contract_id = api.get(f"/v1/topups/{error['topup']['id']}", token=client).json_body["action_result"]["contract_id"]
    assert DealModel.get(contract_id).escrowed == 15000
    assert api.get(f"/v1/projects/{project['id']}", token=client).json_body["status"] == "contracted"
    assert _available(api, client) == (0, 15000)
    assert_books_balance()


def test_two_transfers_over_one_account_in_a_unit_of_work_are_netted_and_its_floor_is_checked_on_the_net(api, broke):
    from chalicelib.money import ledger
    from chalicelib.platform.errors import InsufficientFunds
    from chalicelib.store.uow import UnitOfWork

    user_id = api.get("/v1/me", token=broke).json_body["id"]
    uow = UnitOfWork()
    ledger.record(uow, ledger.card_top_up("t-in", user_id, Money(3000, "USD"), 0, ref="top_x"))
    ledger.record(uow, ledger.hold("t-hold", user_id, Money(3000, "USD"), ref="ord_x"))
    uow.commit()  # one update of the client's account: +3000 available, then 3000 of it held
    assert _available(api, broke) == (0, 3000)

    short = UnitOfWork()
    ledger.record(short, ledger.card_top_up("t-in-2", user_id, Money(1000, "USD"), 0, ref="top_y"))
    ledger.record(short, ledger.hold("t-hold-2", user_id, Money(2000, "USD"), ref="ord_y"))
    with pytest.raises(InsufficientFunds):
        short.commit()
    assert _available(api, broke) == (0, 3000)
    assert_books_balance(holds_are_escrow=False)  # the test's holds belong to no deal

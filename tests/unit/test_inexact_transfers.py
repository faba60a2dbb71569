"""Transfers that are not an exact match (seed 003 sends their payers to support), on moto: an operator applies
one with a reason. Less than due pays a part and the invoice stays open for the rest, which is all that every
reader of the invoice asks for afterwards (the bank's matcher, the payment link, the card page, the saved
card's charge, the shop's status). More than due pays it and keeps the surplus as the site's credit, spent
first on the next invoice or refunded to the payer on request. The books are audited after every step that
moves money."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from pypdf import PdfReader

from chalicelib.adapters import acquirer
from chalicelib.money.ledger import System
from chalicelib.platform import config
from chalicelib.store.models import AuditLogModel, CardPaymentModel, DealModel, NotificationModel, ServiceInvoiceModel
from tests.billing_support import add_tariffs, at, deliver, invoices, key_for, new_site, run_timers, uah_available
from tests.support import assert_books_balance, transfer_event

CARD = "4111111111111111"
PAYER_IBAN = "DE89370400440532013000"  # the payer of tests.support.transfer_event


def _acts_on_sites() -> list[AuditLogModel]:
    """The operators' acts on sites in the audit log (adding the tests' tariffs is an act on tariffs)."""
    return [record for record in AuditLogModel.scan() if record.subject.startswith("site#")]


@pytest.fixture
def owner(api, operator_token):
    add_tariffs(api, operator_token)
    return api.signup("owner@example.ua", locale="uk", name="Olena")


@pytest.fixture
def fake_acquirer():
    return acquirer.LocalAcquirer()


def _user_id(api, token: str) -> str:
    return api.get("/v1/me", token=token).json_body["id"]


def _params(user_id: str, kind: str) -> list[dict]:
    return [dict(n.params) for n in NotificationModel.query(user_id) if n.kind == kind]


def _parked(api, event_id: str, amount: int, currency: str = "UAH") -> str:
    answer = api.webhook(transfer_event(event_id, amount, currency, "site fee, no number"))
    assert answer.status_code == 200 and answer.json_body["payment"]["status"] == "unmatched", answer.body
    return answer.json_body["payment"]["id"]


def _apply(api, token: str, payment_id: str, invoice_id: str, reason: str | None = None):
    body = {"invoice_id": invoice_id} if reason is None else {"invoice_id": invoice_id, "reason": reason}
    return api.post(f"/v1/operator/payments/{payment_id}/apply", body, token=token)


def _invoice(api, token: str, site_id: str, invoice_id: str) -> dict:
    response = api.get(f"/v1/sites/{site_id}/invoices/{invoice_id}", token=token)
    assert response.status_code == 200, response.body
    return response.json_body


def _credit(api, token: str, site_id: str) -> int:
    return api.get(f"/v1/sites/{site_id}", token=token).json_body["credit"]["amount"]


def _site_credit_account(site_id: str) -> int:
    return uah_available(f"credit:{site_id}")


def _payout_requests() -> list[dict]:
    outbox = Path(config.settings.bank_outbox_dir) / "payout_requests.jsonl"
    return [json.loads(line) for line in outbox.read_text().splitlines()] if outbox.exists() else []


def _audit(api, operator_token: str, site_id: str) -> list[dict]:
    response = api.get(f"/v1/operator/sites/{site_id}/audit", token=operator_token)
    assert response.status_code == 200, response.body
    return response.json_body["items"]


def _overpaid_site(api, owner, operator_token, surplus: int) -> tuple[dict, dict]:
    """Given a site created on 17 March whose first invoice an operator paid with a transfer `surplus` beyond it."""
    at(2027, 3, 17)
    site = new_site(api, owner)
    (invoice,) = invoices(api, owner, site["id"])
    payment = _parked(api, "evt-over", invoice["amount"] + surplus)
    applied = _apply(api, operator_token, payment, invoice["id"], "the payer rounded the amount up")
    assert applied.status_code == 200, applied.body
    return site, invoice


# --- less than due ----------------------------------------------------------------------------------------------------

def test_a_transfer_short_of_the_invoice_pays_a_part_and_the_invoice_stays_open_for_the_rest(
        api, owner, operator_token):
    at(2027, 3, 17)
    site = new_site(api, owner)
    (invoice,) = invoices(api, owner, site["id"])
    assert (invoice["amount_paid"], invoice["amount_due"]) == (0, invoice["amount"])
    payment = _parked(api, "evt-short", 10000)

    refused = _apply(api, operator_token, payment, invoice["id"])  # another amount needs a reason
    assert refused.status_code == 422 and refused.json_body["error"]["code"] == "amount_mismatch"
    assert uah_available(System.REVENUE.value) == 0 and _acts_on_sites() == []

    applied = _apply(api, operator_token, payment, invoice["id"], "the payer paid in two parts")
    assert applied.status_code == 200, applied.body
    assert applied.json_body["status"] == "applied" and applied.json_body["invoice_id"] == invoice["id"]
    part = _invoice(api, owner, site["id"], invoice["id"])
    assert part["status"] == "open"
    assert (part["amount_paid"], part["amount_due"]) == (10000, invoice["amount"] - 10000)
    assert uah_available(System.REVENUE.value) == 10000 and uah_available(System.SUSPENSE.value) == 0
    (record,) = _audit(api, operator_token, site["id"])
    assert record["action"] == "apply_payment" and record["reason"] == "the payer paid in two parts"
    assert record["actor_id"] == _user_id(api, operator_token)
    assert record["after"]["amount_due"] == invoice["amount"] - 10000 and record["after"]["status"] == "open"
    (notice,) = _params(_user_id(api, owner), "service_invoice_part_paid")
    assert notice["amount_due"] == {"amount": invoice["amount"] - 10000, "currency": "UAH"}
    pdf = api.get(f"/v1/sites/{site['id']}/invoices/{invoice['id']}/pdf", token=owner,
                  headers={"Accept": "application/pdf"})
    assert pdf.status_code == 200
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.body)).pages)
    assert "Уже сплачено" in text and "До сплати" in text  # the owner reads Ukrainian
    assert_books_balance()

    # the bank's matcher reads what is still due: a transfer of the rest quoting the number pays it
    whole = api.webhook(transfer_event("evt-whole", invoice["amount"], "UAH", invoice["number"]))
    assert whole.json_body["payment"]["reason"] == "amount_mismatch"
    rest = api.webhook(transfer_event("evt-rest", invoice["amount"] - 10000, "UAH", invoice["number"]))
    assert rest.json_body["payment"]["status"] == "credited", rest.body
    paid = _invoice(api, owner, site["id"], invoice["id"])
    assert (paid["status"], paid["amount_paid"], paid["amount_due"]) == ("paid", invoice["amount"], 0)
    assert uah_available(System.REVENUE.value) == invoice["amount"]
    assert _credit(api, owner, site["id"]) == 0
    assert_books_balance()


def test_an_exact_transfer_applied_with_a_reason_pays_the_invoice_and_leaves_no_credit(api, owner, operator_token):
    at(2027, 3, 17)
    site = new_site(api, owner)
    (invoice,) = invoices(api, owner, site["id"])
    payment = _parked(api, "evt-exact", invoice["amount"])
    applied = _apply(api, operator_token, payment, invoice["id"], "the purpose named the shop, not the invoice")
    assert applied.status_code == 200, applied.body
    paid = _invoice(api, owner, site["id"], invoice["id"])
    assert (paid["status"], paid["amount_paid"], paid["amount_due"]) == ("paid", invoice["amount"], 0)
    assert uah_available(System.REVENUE.value) == invoice["amount"] and _credit(api, owner, site["id"]) == 0
    assert _site_credit_account(site["id"]) == 0
    assert [r["action"] for r in _audit(api, operator_token, site["id"])] == ["apply_payment"]
    assert_books_balance()


def test_after_a_part_the_payment_link_the_card_page_and_the_shops_status_ask_only_the_rest(
        api, owner, operator_token, fake_acquirer):
    at(2027, 3, 17)
    site = new_site(api, owner)
    (invoice,) = invoices(api, owner, site["id"])
    link_path = f"/v1/sites/{site['id']}/invoices/{invoice['id']}/payment-link"
    before = api.post(link_path, token=owner).json_body
    assert CardPaymentModel.get(before["payment_id"]).amount == invoice["amount"]
    assert _apply(api, operator_token, _parked(api, "evt-part", 12000), invoice["id"], "first half").status_code == 200
    rest = invoice["amount"] - 12000

    link = api.post(link_path, token=owner).json_body  # the link that asked the whole is gone
    assert link["payment_id"] != before["payment_id"]
    assert CardPaymentModel.get(link["payment_id"]).amount == rest
    page = api.post(f"/v1/sites/{site['id']}/payment-method", token=owner).json_body
    assert page["purpose"] == "pay_invoice" and CardPaymentModel.get(page["payment_id"]).amount == rest
    key = key_for(api, owner, site["id"])
    status = api.get(f"/v1/sites/{site['id']}/status", headers={"X-Site-Key": key}).json_body
    assert status["oldest_open_invoice"]["amount"] == {"amount": rest, "currency": "UAH"}

    fake_acquirer.answer(link["payment_id"], True, CARD)
    assert [answer["outcome"] for answer in deliver(api)] == ["applied"]
    paid = _invoice(api, owner, site["id"], invoice["id"])
    assert (paid["status"], paid["amount_paid"], paid["amount_due"]) == ("paid", invoice["amount"], 0)
    assert uah_available(System.REVENUE.value) == invoice["amount"] and _site_credit_account(site["id"]) == 0
    assert_books_balance()


def test_after_a_part_the_saved_card_is_charged_only_the_rest(api, owner, operator_token, fake_acquirer):
    at(2027, 3, 17)
    site = new_site(api, owner)
    started = api.post(f"/v1/sites/{site['id']}/payment-method", token=owner).json_body
    fake_acquirer.answer(started["payment_id"], True, CARD)
    deliver(api)  # the first invoice paid with the card, which is saved for auto-pay
    token = fake_acquirer.load(started["payment_id"])["card"]["token"]
    fake_acquirer.arm(token, "refuse")  # the month's charge is declined
    at(2027, 4, 1, 0, 30)
    run_timers()
    april = invoices(api, owner, site["id"])[0]
    assert april["period"] == "2027-04" and april["status"] == "open"
    first_try = [p for p in CardPaymentModel.scan() if p.invoice_id == april["id"] and p.purpose == "autopay"]
    assert [(int(p.amount), p.status) for p in first_try] == [(april["amount"], "failed")]

    assert _apply(api, operator_token, _parked(api, "evt-april", 11000), april["id"],
                  "paid a part by transfer").status_code == 200
    rest = april["amount"] - 11000
    assert DealModel.get(site["id"]).data["unpaid"][april["id"]]["amount"] == rest
    at(2027, 4, 2, 0, 30)
    run_timers()  # the first retry
    retried = sorted((p for p in CardPaymentModel.scan() if p.invoice_id == april["id"] and p.purpose == "autopay"),
                     key=lambda p: p.created_at)
    assert [int(p.amount) for p in retried] == [april["amount"], rest]
    deliver(api)
    paid = _invoice(api, owner, site["id"], april["id"])
    assert (paid["status"], paid["amount_paid"], paid["amount_due"]) == ("paid", april["amount"], 0)
    assert uah_available(System.ACQUIRER.value) == -(invoices(api, owner, site["id"])[1]["amount"] + rest)
    assert _site_credit_account(site["id"]) == 0
    assert_books_balance()


# --- more than due ----------------------------------------------------------------------------------------------------

def test_a_transfer_beyond_the_invoice_pays_it_and_the_surplus_is_the_sites_credit_spent_first_on_the_next_invoices(
        api, owner, operator_token):
    site, first = _overpaid_site(api, owner, operator_token, surplus=40000)
    paid = _invoice(api, owner, site["id"], first["id"])
    assert (paid["status"], paid["amount_paid"], paid["amount_due"]) == ("paid", first["amount"], 0)
    assert _credit(api, owner, site["id"]) == 40000 and _site_credit_account(site["id"]) == 40000
    assert uah_available(System.REVENUE.value) == first["amount"]
    (record,) = _audit(api, operator_token, site["id"])
    assert record["after"]["credit"] == 40000 and record["after"]["status"] == "paid"
    (notice,) = _params(_user_id(api, owner), "site_credit_added")
    assert notice["amount"] == {"amount": 40000, "currency": "UAH"}
    assert_books_balance()

    at(2027, 4, 1, 0, 30)
    run_timers()  # April's invoice (310.00): the credit pays it whole, in the invoice's own transaction
    april = invoices(api, owner, site["id"])[0]
    assert april["period"] == "2027-04"
    assert (april["status"], april["paid_by"], april["credit_applied"], april["amount_due"]) == (
        "paid", "credit", april["amount"], 0)
    assert _credit(api, owner, site["id"]) == 40000 - april["amount"]
    assert _site_credit_account(site["id"]) == 40000 - april["amount"]
    issued = [p for p in _params(_user_id(api, owner), "service_invoice_issued") if p["invoice_id"] == april["id"]]
    assert issued[0]["amount_due"] == {"amount": 0, "currency": "UAH"}
    assert_books_balance()

    at(2027, 5, 1, 0, 30)
    run_timers()  # May's invoice: the rest of the credit pays a part of it
    may = invoices(api, owner, site["id"])[0]
    left = 40000 - april["amount"]
    assert may["period"] == "2027-05" and may["status"] == "open"
    assert (may["credit_applied"], may["amount_paid"], may["amount_due"]) == (left, left, may["amount"] - left)
    assert _credit(api, owner, site["id"]) == 0 and _site_credit_account(site["id"]) == 0
    assert uah_available(System.REVENUE.value) == first["amount"] + april["amount"] + left
    assert DealModel.get(site["id"]).data["unpaid"][may["id"]]["amount"] == may["amount"] - left
    assert api.get(f"/v1/sites/{site['id']}", token=owner).json_body["status"] == "active"
    assert_books_balance()


def test_the_owner_has_the_sites_credit_refunded_to_the_payer_once_instead(api, owner, operator_token):
    site, _ = _overpaid_site(api, owner, operator_token, surplus=25000)
    path = f"/v1/sites/{site['id']}/credit/refund"
    stranger = api.signup("stranger@example.ua")
    assert api.post(path, token=stranger).status_code == 404  # another owner's site is unknown
    assert api.post(path, token=operator_token).status_code == 403  # operators use their audited route
    assert _site_credit_account(site["id"]) == 25000 and _payout_requests() == []

    refunded = api.post(path, token=owner)
    assert refunded.status_code == 200, refunded.body
    assert refunded.json_body["credit"] == {"amount": 0, "currency": "UAH"}
    assert _site_credit_account(site["id"]) == 0 and uah_available(System.BANK_OUT.value) == 25000
    (payout,) = _payout_requests()
    assert (payout["amount"], payout["destination"]) == (25000, PAYER_IBAN)
    assert _params(_user_id(api, owner), "site_credit_refunded")[0]["amount"]["amount"] == 25000
    assert_books_balance()

    again = api.post(path, token=owner)
    assert again.status_code == 409 and again.json_body["error"]["code"] == "no_credit"
    assert len(_payout_requests()) == 1 and uah_available(System.BANK_OUT.value) == 25000
    at(2027, 4, 1, 0, 30)
    run_timers()
    april = invoices(api, owner, site["id"])[0]
    assert (april["credit_applied"], april["amount_due"]) == (0, april["amount"])  # nothing left to spend
    assert_books_balance()


def test_an_operator_refunds_a_sites_credit_with_a_reason_and_the_same_request_again_is_answered_the_same(
        api, owner, operator_token):
    site, _ = _overpaid_site(api, owner, operator_token, surplus=7000)
    path = f"/v1/operator/sites/{site['id']}/credit/refund"
    for body in ({}, {"reason": ""}):
        assert api.post(path, body, token=operator_token).status_code == 422
    assert api.post(path, {"reason": "owner asked by phone"}, token=owner).status_code == 403
    assert _site_credit_account(site["id"]) == 7000

    headers = {"Idempotency-Key": "refund-credit-1"}
    first = api.post(path, {"reason": "owner asked by phone"}, token=operator_token, headers=headers)
    assert first.status_code == 200, first.body
    replay = api.post(path, {"reason": "owner asked by phone"}, token=operator_token, headers=headers)
    assert (replay.status_code, replay.json_body) == (200, first.json_body)
    assert _site_credit_account(site["id"]) == 0 and uah_available(System.BANK_OUT.value) == 7000
    assert len(_payout_requests()) == 1
    refund = [r for r in _audit(api, operator_token, site["id"]) if r["action"] == "refund_credit"]
    assert len(refund) == 1 and refund[0]["reason"] == "owner asked by phone"
    assert (refund[0]["before"]["credit"], refund[0]["after"]["credit"]) == (7000, 0)
    assert api.post(path, {"reason": "twice"}, token=operator_token).status_code == 409
    assert_books_balance()


# --- bad input changes nothing ----------------------------------------------------------------------------------------

def test_an_inexact_application_that_cannot_be_is_refused_and_changes_nothing(api, owner, operator_token):
    at(2027, 3, 17)
    site = new_site(api, owner)
    (invoice,) = invoices(api, owner, site["id"])
    reason = "the payer says so"
    zero = api.webhook(transfer_event("evt-zero", 0, "UAH", invoice["number"]))
    assert zero.status_code == 422  # an amount of nothing is never a payment
    dollars = _parked(api, "evt-usd", 20000, "USD")
    wrong_currency = _apply(api, operator_token, dollars, invoice["id"], reason)
    assert wrong_currency.status_code == 422 and wrong_currency.json_body["error"]["code"] == "currency_mismatch"
    short = _parked(api, "evt-short", 5000)
    assert _apply(api, operator_token, short, "sin_nope", reason).status_code == 404
    assert _apply(api, operator_token, short, invoice["id"], "no").status_code == 422  # a reason says why
    assert _apply(api, owner, short, invoice["id"], reason).status_code == 403
    assert _acts_on_sites() == [] and uah_available(System.REVENUE.value) == 0
    assert ServiceInvoiceModel.get(invoice["id"]).amount_paid is None
    assert_books_balance()

    assert _apply(api, operator_token, short, invoice["id"], reason).status_code == 200
    twice = _apply(api, operator_token, short, invoice["id"], reason)
    assert twice.status_code == 409 and twice.json_body["error"]["code"] == "payment_not_unmatched"
    rest = _parked(api, "evt-rest", invoice["amount"] - 5000)
    assert _apply(api, operator_token, rest, invoice["id"]).status_code == 200  # exactly the rest: no reason needed
    late = _parked(api, "evt-late", 1000)
    closed = _apply(api, operator_token, late, invoice["id"], reason)
    assert closed.status_code == 409 and closed.json_body["error"]["code"] == "invoice_not_open"
    assert uah_available(System.REVENUE.value) == invoice["amount"] and _site_credit_account(site["id"]) == 0
    assert uah_available(System.SUSPENSE.value) == 1000  # the refused payments wait, untouched (and 200.00 USD)
    assert len(_audit(api, operator_token, site["id"])) == 1
    assert_books_balance()


# --- top-up invoices --------------------------------------------------------------------------------------------------

def test_a_top_up_invoice_takes_a_part_on_the_balance_and_its_matcher_then_asks_only_the_rest(
        api, operator_token):
    client_token = api.signup("client@example.com")
    invoice = api.invoice(client_token, 150000, "USD")
    payment = _parked(api, "evt-part", 50000, "USD")
    assert _apply(api, operator_token, payment, invoice["id"]).status_code == 422  # another amount needs a reason
    assert _apply(api, operator_token, payment, invoice["id"], "paid in two parts").status_code == 200
    part = api.get(f"/v1/invoices/{invoice['id']}", token=client_token).json_body
    assert (part["status"], part["amount_paid"], part["amount_due"]) == ("open", 50000, 100000)
    assert api.balance(client_token) == (50000, 0)
    assert_books_balance()

    rest = api.webhook(transfer_event("evt-rest", 100000, "USD", invoice["payment_details"]))
    assert rest.json_body["payment"]["status"] == "credited", rest.body
    paid = api.get(f"/v1/invoices/{invoice['id']}", token=client_token).json_body
    assert (paid["status"], paid["amount_paid"], paid["amount_due"]) == ("paid", 150000, 0)
    assert api.balance(client_token) == (150000, 0)
    assert_books_balance()

"""Sites paying by card (seed 003), on moto with the local fake acquirer: payment links, saving a
card with the 1.00 UAH verification, auto-charge on the invoice date with retries, dunning that blocks and
unblocks. The fake acquirer queues its webhooks; the tests deliver them through the signed route (or
deliver them twice, late, or not at all), and audit the books after every step that moves money."""
from __future__ import annotations

import json
import re
import urllib.parse

import pytest

from chalicelib.adapters import acquirer
from chalicelib.money.ledger import System
from chalicelib.platform import clock, config
from chalicelib.services import timers
from chalicelib.store.models import CardPaymentModel, DealModel
from tests.billing_support import (
    add_tariffs,
    at,
    deliver,
    invoices,
    key_for,
    new_site,
    report,
    run_timers,
    uah_available,
)
from tests.support import assert_books_balance, transfer_event

CARD = "4111111111111111"


@pytest.fixture
def fake_acquirer():
    """The local stage's acquirer (its files in the test's folder: tests/unit/conftest.py)."""
    return acquirer.LocalAcquirer()


@pytest.fixture
def owner(api, operator_token):
    add_tariffs(api, operator_token)
    return api.signup("owner@example.ua", locale="uk", name="Olena")






def _kinds(api, token: str) -> list[str]:
    return [n["kind"] for n in api.get("/v1/notifications?limit=100", token=token).json_body["items"]]


def _site(api, token: str, site_id: str) -> dict:
    response = api.get(f"/v1/sites/{site_id}", token=token)
    assert response.status_code == 200, response.body
    return response.json_body


def _save_card(api, token: str, site_id: str, fake, *, card: str = CARD, holder: str = "Olena Petrenko") -> dict:
    started = api.post(f"/v1/sites/{site_id}/payment-method", token=token)
    assert started.status_code == 200, started.body
    fake.answer(started.json_body["payment_id"], True, card, holder)
    deliver(api)  # the payment; a verification's refund is asked for at once
    deliver(api)  # the refund, if any
    return started.json_body


def _paid_site_with_card(api, owner, fake, *, card: str = CARD) -> dict:
    """Given a site created on 17 March whose first invoice was paid with a card that is now saved."""
    at(2027, 3, 17)
    site = new_site(api, owner)
    started = _save_card(api, owner, site["id"], fake, card=card)
    assert started["purpose"] == "pay_invoice"
    return site


# --- the webhook ------------------------------------------------------------------------------------------------------

def test_the_acquirer_webhook_takes_only_its_own_signature_within_the_tolerance(api):
    raw = json.dumps({"event_id": "e1", "type": "payment.failed", "payment_id": "cpy_x", "amount": 100,
                      "currency": "UAH"}).encode()
    path = "/v1/webhooks/acquirer"
    assert api.post(path, raw=raw).status_code == 401
    bank_signed = api.post(path, raw=raw, headers={"X-Acquirer-Signature": acquirer.sign(raw, "local-bank-secret")})
    assert bank_signed.status_code == 401
    stale = api.post(path, raw=raw, headers={"X-Acquirer-Signature": acquirer.sign(raw, at=int(clock.wall()
                                                                                                .timestamp()) - 400)})
    assert stale.status_code == 401 and stale.json_body["error"]["code"] == "stale_signature"
    ahead = api.post(path, raw=raw, headers={"X-Acquirer-Signature": acquirer.sign(raw, at=int(clock.wall()
                                                                                                .timestamp()) + 400)})
    assert ahead.status_code == 401
    unknown = api.post(path, raw=raw, headers={"X-Acquirer-Signature": acquirer.sign(raw)})
    assert unknown.status_code == 200 and unknown.json_body["ignored"] is True
    for body in ({"event_id": "e2", "type": "payment.succeeded", "payment_id": "cpy_x", "amount": 100,
                  "currency": "GBP", "card": {"mask": "4111", "holder": "X", "token": "t"}},
                 {"event_id": "e3", "type": "payment.succeeded", "payment_id": "cpy_never_asked", "amount": 100,
                  "currency": "UAH"},
                 {"event_id": "e4", "type": "card.updated", "payment_id": "cpy_x", "amount": 1, "currency": "UAH"}):
        signed = json.dumps(body).encode()
        answer = api.post(path, raw=signed, headers={"X-Acquirer-Signature": acquirer.sign(signed)})
        assert answer.status_code == 200, answer.body  # a valid event is always received
    assert uah_available(System.SUSPENSE.value) == 100  # the UAH nobody asked for waits for operators; GBP is a record
    assert_books_balance()


# --- payment links ----------------------------------------------------------------------------------------------------

@pytest.mark.usefixtures("still_clock")
def test_a_payment_link_is_the_same_for_30_minutes_and_then_a_new_one(api, owner):
    at(2027, 3, 17)
    site = new_site(api, owner)
    (invoice,) = invoices(api, owner, site["id"])
    path = f"/v1/sites/{site['id']}/invoices/{invoice['id']}/payment-link"
    first = api.post(path, token=owner)
    assert first.status_code == 200, first.body
    link = first.json_body
    assert link["url"].endswith(f"/web/checkout/{link['payment_id']}")
    assert link["expires_at"] == "2027-03-17T08:30:00Z"
    at(2027, 3, 17, 10, 29, 59)
    assert api.post(path, token=owner).json_body == link
    at(2027, 3, 17, 10, 30, 1)
    renewed = api.post(path, token=owner).json_body
    assert renewed["payment_id"] != link["payment_id"] and renewed["expires_at"] == "2027-03-17T09:00:01Z"
    stranger = api.signup("stranger@example.ua")
    assert api.post(path, token=stranger).status_code == 404


def test_paying_by_link_pays_the_invoice_once_however_often_the_webhook_comes(api, owner, fake_acquirer):
    at(2027, 3, 17)
    site = new_site(api, owner)
    (invoice,) = invoices(api, owner, site["id"])
    link = api.post(f"/v1/sites/{site['id']}/invoices/{invoice['id']}/payment-link", token=owner).json_body
    fake_acquirer.answer(link["payment_id"], True)
    answers = deliver(api, twice=True)
    assert [a["duplicate"] for a in answers] == [False, True] and answers[0]["outcome"] == "applied"

    paid = invoices(api, owner, site["id"])[0]
    assert paid["status"] == "paid" and paid["paid_by"] == "link"
    assert uah_available(System.REVENUE.value) == invoice["amount"]
    # "Pay online" starts the subscription: the card that paid is saved for auto-pay (the box was left ticked)
    assert _site(api, owner, site["id"])["payment_method"]["card_mask"] == "411111******1111"
    assert DealModel.get(site["id"]).data["autopay"] is True
    again = api.post(f"/v1/sites/{site['id']}/invoices/{invoice['id']}/payment-link", token=owner)
    assert again.status_code == 409 and again.json_body["error"]["code"] == "invoice_not_open"
    assert "service_invoice_paid" in _kinds(api, owner)
    assert_books_balance()


def _expired_and_renewed_link(api, owner) -> tuple[dict, dict, dict, dict]:
    """A new site's first invoice with two payment links: one asked at 10:00 and expired by 11:00, and the
    renewed one asked then."""
    at(2027, 3, 17)
    site = new_site(api, owner)
    (invoice,) = invoices(api, owner, site["id"])
    path = f"/v1/sites/{site['id']}/invoices/{invoice['id']}/payment-link"
    old = api.post(path, token=owner).json_body
    at(2027, 3, 17, 11)
    new = api.post(path, token=owner).json_body
    return site, invoice, old, new


def test_an_expired_link_confirmed_late_pays_an_open_invoice_and_once_it_is_paid_is_refunded_at_once(
        api, owner, operator_token, fake_acquirer):
    site, invoice, old, new = _expired_and_renewed_link(api, owner)
    fake_acquirer.answer(old["payment_id"], True)  # the acquirer still confirms the expired link
    assert deliver(api)[0]["outcome"] == "applied"
    assert invoices(api, owner, site["id"])[0]["status"] == "paid"
    fake_acquirer.answer(new["payment_id"], True)  # the owner paid the renewed link too
    assert deliver(api)[0]["outcome"] == "duplicate"

    assert uah_available(System.REVENUE.value) == invoice["amount"]  # never credited twice
    # back the way it came at once, naming the acquirer's own id: nothing waits for an operator
    assert fake_acquirer.load(new["payment_id"])["status"] == "refunded"
    assert uah_available(System.CARD_CLEARING.value) == invoice["amount"]  # until the acquirer confirms it
    assert api.get("/v1/operator/payments/unmatched", token=operator_token).json_body["items"] == []
    assert "card_payment_refunded" in _kinds(api, owner)
    assert deliver(api)[0]["outcome"] == "refunded"
    assert deliver(api) == []
    assert uah_available(System.CARD_CLEARING.value) == 0 and uah_available(System.SUSPENSE.value) == 0
    assert uah_available(System.ACQUIRER.value) == -invoice["amount"]  # only the payment that paid the invoice
    assert CardPaymentModel.get(new["payment_id"]).status == "refunded"
    assert_books_balance()


def test_a_duplicates_refund_the_acquirer_did_not_take_is_asked_again_until_it_is_confirmed(
        api, owner, fake_acquirer, monkeypatch):
    _, invoice, old, new = _expired_and_renewed_link(api, owner)
    fake_acquirer.answer(old["payment_id"], True)
    fake_acquirer.answer(new["payment_id"], True)
    token = fake_acquirer.load(new["payment_id"])["card"]["token"]
    fake_acquirer.arm(token, "timeout")  # the refund asked at once is lost
    assert [answer["outcome"] for answer in deliver(api)] == ["applied", "duplicate"]
    assert fake_acquirer.load(new["payment_id"])["status"] == "succeeded"  # not refunded yet
    at(2027, 3, 17, 11, 20)
    run_timers()  # the site's resend_refund asks again
    assert fake_acquirer.load(new["payment_id"])["status"] == "refunded"
    assert [answer["outcome"] for answer in deliver(api)] == ["refunded"]
    assert uah_available(System.CARD_CLEARING.value) == 0
    assert uah_available(System.ACQUIRER.value) == -invoice["amount"]
    assert_books_balance()


def test_a_refund_the_acquirer_refuses_is_parked_for_an_operator_whose_return_asks_again(
        api, owner, operator_token, fake_acquirer):
    _, invoice, old, new = _expired_and_renewed_link(api, owner)
    fake_acquirer.answer(old["payment_id"], True)
    fake_acquirer.answer(new["payment_id"], True)
    fake_acquirer.arm(fake_acquirer.load(new["payment_id"])["card"]["token"], "refuse")
    assert [answer["outcome"] for answer in deliver(api)] == ["applied", "duplicate"]
    (parked,) = api.get("/v1/operator/payments/unmatched", token=operator_token).json_body["items"]
    assert (parked["reason"], parked["amount"]) == ("refund_refused", invoice["amount"])
    assert uah_available(System.CARD_CLEARING.value) == 0 and uah_available(System.SUSPENSE.value) == invoice["amount"]
    at(2027, 3, 17, 12)
    run_timers()  # the site no longer asks by itself: a refusal would only repeat
    assert fake_acquirer.load(new["payment_id"])["status"] == "succeeded"
    returned = api.post(f"/v1/operator/payments/{parked['id']}/return", token=operator_token)
    assert returned.status_code == 200 and returned.json_body["status"] == "returned"
    assert fake_acquirer.load(new["payment_id"])["status"] == "refunded"
    assert [answer["outcome"] for answer in deliver(api)] == ["ignored"]  # booked by the return already
    assert uah_available(System.SUSPENSE.value) == 0
    assert uah_available(System.ACQUIRER.value) == -invoice["amount"]
    assert_books_balance()


# --- saving a card ------------------------------------------------------------------------------------------------

def test_saving_a_card_with_an_open_invoice_pays_it_and_shows_the_cards_mask_and_holder(api, owner, fake_acquirer):
    site = _paid_site_with_card(api, owner, fake_acquirer)
    shown = _site(api, owner, site["id"])
    assert shown["payment_method"] == {"card_mask": "411111******1111", "holder": "OLENA PETRENKO"}
    (invoice,) = invoices(api, owner, site["id"])
    assert invoice["status"] == "paid" and invoice["paid_by"] == "card"
    assert "card_saved" in _kinds(api, owner)
    assert_books_balance()


def test_saving_a_card_without_an_open_invoice_charges_1_uah_and_refunds_it_netting_to_zero(
        api, owner, fake_acquirer):
    site = _paid_site_with_card(api, owner, fake_acquirer)
    started = api.post(f"/v1/sites/{site['id']}/payment-method", token=owner).json_body
    assert started["purpose"] == "verify"
    assert CardPaymentModel.get(started["payment_id"]).amount == 100
    fake_acquirer.answer(started["payment_id"], True, "5375414100001234", "Taras Shevchenko")
    assert deliver(api)[0]["outcome"] == "verified"
    assert uah_available(System.CARD_CLEARING.value) == 100  # in flight until the refund is confirmed
    assert_books_balance()
    assert deliver(api, twice=True)[0]["outcome"] == "refunded"

    assert uah_available(System.CARD_CLEARING.value) == 0
    assert uah_available(System.ACQUIRER.value) == -invoices(api, owner, site["id"])[0]["amount"]
    assert _site(api, owner, site["id"])["payment_method"] == {"card_mask": "537541******1234",
                                                               "holder": "TARAS SHEVCHENKO"}
    payments = api.get(f"/v1/sites/{site['id']}/card-payments", token=owner).json_body["items"]
    assert [(p["purpose"], p["status"]) for p in payments] == [("verify", "refunded"), ("pay_invoice", "succeeded")]
    assert "card_verification_refunded" in _kinds(api, owner)
    assert_books_balance()


def test_a_verification_refund_the_acquirer_did_not_take_is_asked_again_until_confirmed(
        api, owner, fake_acquirer, monkeypatch):
    from chalicelib.platform.errors import UpstreamUnavailable

    site = _paid_site_with_card(api, owner, fake_acquirer)
    started = api.post(f"/v1/sites/{site['id']}/payment-method", token=owner).json_body
    fake_acquirer.answer(started["payment_id"], True)
    with monkeypatch.context() as down:
        down.setattr(acquirer.LocalAcquirer, "refund", lambda self, payment_id, amount, acquirer_id=None: (
            _ for _ in ()).throw(
            UpstreamUnavailable("acquirer_unavailable")))
        assert deliver(api)[0]["outcome"] == "verified"
    assert deliver(api) == [] and uah_available(System.CARD_CLEARING.value) == 100
    at(2027, 3, 17, 10, 14)
    run_timers()
    assert deliver(api) == []  # not yet: asked again 15 minutes after
    at(2027, 3, 17, 10, 16)
    run_timers()
    assert [a["outcome"] for a in deliver(api)] == ["refunded"]
    assert uah_available(System.CARD_CLEARING.value) == 0
    assert DealModel.get(site["id"]).data["refunding"] == {}
    at(2027, 3, 17, 11)
    assert run_timers() == 0
    assert_books_balance()


# --- auto-pay -------------------------------------------------------------------------------------------------------

def test_on_the_1st_the_saved_card_is_charged_the_same_day_once_keyed_by_the_invoices_first_attempt(
        api, owner, fake_acquirer):
    site = _paid_site_with_card(api, owner, fake_acquirer)
    at(2027, 4, 1, 0, 0, 30)
    assert timers.fire_due(clock.now())["fired"] == 1
    assert timers.fire_due(clock.now())["fired"] == 0  # a rerun of the job charges nothing more
    april = invoices(api, owner, site["id"])[0]
    (charge,) = [p for p in CardPaymentModel.scan() if p.purpose == "autopay"]
    assert charge.invoice_id == april["id"] and charge.amount == april["amount"]
    stored = acquirer.LocalAcquirer().load(charge.id)
    assert stored is not None and stored["key"] == f"{april['id']}:1"
    deliver(api, twice=True)

    paid = invoices(api, owner, site["id"])[0]
    assert paid["status"] == "paid" and paid["paid_by"] == "card"
    assert uah_available(System.REVENUE.value) == 15000 + 31000
    assert "card_charge_succeeded" in _kinds(api, owner)
    at(2027, 4, 2, 1)
    run_timers()
    assert len([p for p in CardPaymentModel.scan() if p.purpose == "autopay"]) == 1
    assert_books_balance()


def test_a_declined_charge_is_retried_on_days_1_3_5_and_the_owner_gets_a_payment_link_each_time(
        api, owner, fake_acquirer, monkeypatch):
    site = _paid_site_with_card(api, owner, fake_acquirer, card="4000000000000002")
    token = fake_acquirer.load(CardPaymentModel.scan().next().id)["card"]["token"]
    monkeypatch.setenv("ACQUIRER_DECLINE_TOKENS", token)
    config.reload()
    attempts = []
    for day in (1, 2, 4, 6, 8):
        at(2027, 4, day, 0, 5)
        run_timers()
        answers = deliver(api)
        attempts.append((day, [a["outcome"] for a in answers]))
    assert attempts == [(1, ["declined"]), (2, ["declined"]), (4, ["declined"]), (6, ["declined"]), (8, [])]
    assert _kinds(api, owner).count("card_charge_declined") == 4
    declined = next(n for n in api.get("/v1/notifications?limit=100", token=owner).json_body["items"]
                    if n["kind"] == "card_charge_declined")
    assert "/web/checkout/" in json.dumps(declined)
    assert invoices(api, owner, site["id"])[0]["status"] == "open"
    assert_books_balance()


def test_an_unpaid_invoice_makes_the_site_past_due_then_blocked_and_a_bank_transfer_unblocks_it_at_once(
        api, owner, operator_token):
    at(2027, 3, 17)
    site = new_site(api, owner)
    (first,) = invoices(api, owner, site["id"])
    at(2027, 3, 21, 0, 1)  # the day before the due date (the 22nd)
    run_timers()
    assert "service_invoice_due_soon" in _kinds(api, owner)
    at(2027, 3, 22, 23, 59)
    assert _site(api, owner, site["id"])["status"] == "active"
    at(2027, 3, 23, 0, 1)
    run_timers()
    assert _site(api, owner, site["id"])["status"] == "past_due"
    at(2027, 3, 26, 23, 59)
    assert _site(api, owner, site["id"])["status"] == "past_due"
    at(2027, 3, 27, 0, 1)  # 10 days after the issue
    run_timers()
    assert _site(api, owner, site["id"])["status"] == "blocked"
    reported = report(api, site["id"], key_for(api, owner, site["id"]), event_id="while-blocked", orders=2)
    assert reported.status_code == 200 and reported.json_body["accepted"]  # the shop keeps reporting usage
    blocked = api.get("/v1/operator/sites?status=blocked", token=operator_token).json_body["items"]
    assert [s["id"] for s in blocked] == [site["id"]]
    assert api.get("/v1/operator/sites?status=blocked", token=owner).status_code == 403

    answer = api.webhook(transfer_event("evt-unblock", first["amount"], "UAH", first["number"]))
    assert answer.json_body["payment"]["status"] == "credited"
    assert _site(api, owner, site["id"])["status"] == "active"
    assert {"service_invoice_overdue", "site_blocked", "site_unblocked"} <= set(_kinds(api, owner))
    assert api.get("/v1/operator/sites?status=blocked", token=operator_token).json_body["items"] == []
    assert_books_balance()


def test_a_site_stays_blocked_while_another_overdue_invoice_is_unpaid(api, owner):
    at(2027, 3, 17)
    site = new_site(api, owner)
    at(2027, 4, 1, 0, 1)
    run_timers()
    at(2027, 4, 12, 1)  # March's invoice is 26 days old, April's is past its due date (the 6th)
    assert _site(api, owner, site["id"])["status"] == "blocked"
    march, april = sorted(invoices(api, owner, site["id"]), key=lambda i: i["number"])
    api.webhook(transfer_event("evt-march", march["amount"], "UAH", march["number"]))
    assert _site(api, owner, site["id"])["status"] == "blocked"
    api.webhook(transfer_event("evt-april", april["amount"], "UAH", april["number"]))
    assert _site(api, owner, site["id"])["status"] == "active"
    assert DealModel.get(site["id"]).data["unpaid"] == {}
    assert_books_balance()


def test_a_site_whose_deletion_is_requested_is_never_charged(api, owner, fake_acquirer):
    site = _paid_site_with_card(api, owner, fake_acquirer)
    asked = api.post(f"/v1/sites/{site['id']}/deletion-request", {"reasons": ["closing_business"]}, token=owner)
    assert asked.status_code == 200
    at(2027, 4, 1, 1)
    run_timers()
    assert [p for p in CardPaymentModel.scan() if p.purpose == "autopay"] == []
    assert fake_acquirer.take_outbox() == []


def test_only_an_operator_stops_auto_pay_and_then_invoices_are_paid_by_bank_transfer(
        api, owner, operator_token, fake_acquirer):
    site = _paid_site_with_card(api, owner, fake_acquirer)
    path = f"/v1/operator/sites/{site['id']}/autopay/stop"
    assert api.post(path, token=owner).status_code == 403
    stopped = api.post(path, token=operator_token)
    assert stopped.status_code == 200, stopped.body
    assert stopped.json_body["payment_method"] is None
    refused = api.post(f"/v1/sites/{site['id']}/payment-method", token=owner)
    assert refused.status_code == 409 and refused.json_body["error"]["code"] == "autopay_stopped"
    at(2027, 4, 1, 1)
    run_timers()
    assert [p for p in CardPaymentModel.scan() if p.purpose == "autopay"] == []
    assert "autopay_stopped" in _kinds(api, owner)


# --- the local acquirer's checkout page -----------------------------------------------------------------------------

def _checkout_post(api, path: str, cookie: str, fields: dict):
    return api.request("POST", path, raw=urllib.parse.urlencode(fields).encode(),
                       headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})


def test_the_local_checkout_page_takes_a_luhn_checked_card_and_pays_the_invoice_by_the_webhook(api, owner,
                                                                                               monkeypatch):
    at(2027, 3, 17)
    site = new_site(api, owner)
    (invoice,) = invoices(api, owner, site["id"])
    link = api.post(f"/v1/sites/{site['id']}/invoices/{invoice['id']}/payment-link", token=owner).json_body
    path = urllib.parse.urlsplit(link["url"]).path
    opened = api.get(path, headers={"Accept-Language": "uk"})
    assert opened.status_code == 200 and opened.headers["Content-Type"].startswith("text/html")
    assert invoice["number"] in opened.body.decode() and "150,00" in opened.body.decode()
    assert re.search(r'name="save_card" value="yes" checked', opened.body.decode())  # saving is the default
    cookie = opened.headers["Set-Cookie"].split(";")[0]
    csrf = re.search(r'name="csrf" value="([^"]+)"', opened.body.decode()).group(1)
    card = {"csrf": csrf, "action": "pay", "holder": "Olena Petrenko"}
    assert _checkout_post(api, path, cookie, {**card, "card_number": "4111 1111 1111 1112"}).status_code == 422
    assert _checkout_post(api, path, cookie, {**card, "csrf": "forged", "card_number": CARD}).status_code == 403
    assert deliver(api) == []  # nothing paid yet
    paid = _checkout_post(api, path, cookie, {**card, "card_number": "4111 1111 1111 1111"})
    assert paid.status_code == 303 and "/done?result=pay" in paid.headers["Location"]
    assert deliver(api)[0]["outcome"] == "applied"
    assert invoices(api, owner, site["id"])[0]["paid_by"] == "link"
    assert _site(api, owner, site["id"])["payment_method"] is None  # "save this card" was unticked: not sent
    assert api.get(path).status_code == 409  # answered already
    assert_books_balance()

    monkeypatch.setenv("STAGE", "prod")
    config.reload()
    assert api.get(path).status_code == 404


def test_the_developer_answers_a_payment_by_hand_and_an_undelivered_webhook_waits_in_the_outbox(api, owner):
    from infra.local import acquirer as by_hand

    at(2027, 3, 17)
    site = new_site(api, owner)
    (invoice,) = invoices(api, owner, site["id"])
    link = api.post(f"/v1/sites/{site['id']}/invoices/{invoice['id']}/payment-link", token=owner).json_body
    nobody_listens = "http://127.0.0.1:9"
    assert by_hand.main(["pay", link["payment_id"], "--url", nobody_listens]) == 1
    assert [a["outcome"] for a in deliver(api)] == ["applied"]  # the webhook went back to the outbox
    assert by_hand.main(["refund", "cpy_unknown", "--url", nobody_listens]) == 1
    assert by_hand.main(["fail", "cpy_unknown", "--url", nobody_listens]) == 1
    assert invoices(api, owner, site["id"])[0]["paid_by"] == "link"

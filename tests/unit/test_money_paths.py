"""Money paths that settle without an operator, on moto with the local fake acquirer: the acquirer's
answers classified (a 4xx is a decline, only a timeout, a 5xx or a broken connection is asked again),
one idempotency key per attempt, a late success paying the invoice it was for, duplicates going back by
themselves, moves sending their charges in their own request, a card saved against an old invoice
charged once, transfers matched the way people type, the oldest open invoice never hidden by index
lag, and a refused timer re-arming its deal. The books are audited after every step that moves money."""
from __future__ import annotations

import io
import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from chalicelib.adapters import acquirer
from chalicelib.money.amounts import Money
from chalicelib.money.ledger import System
from chalicelib.platform import config, outgoing
from chalicelib.platform.errors import UpstreamRefused, UpstreamUnavailable
from chalicelib.store.models import CardPaymentModel, DealModel, ServiceInvoiceModel
from tests.billing_support import add_tariffs, at, deliver, invoices, new_site, run_timers, uah_available
from tests.support import assert_books_balance, transfer_event

CARD = "4111111111111111"


@pytest.fixture
def fake():
    return acquirer.LocalAcquirer()


@pytest.fixture
def owner(api, operator_token):
    add_tariffs(api, operator_token)
    return api.signup("owner@example.ua", locale="uk", name="Olena")






def _kinds(api, token: str) -> list[str]:
    return [n["kind"] for n in api.get("/v1/notifications?limit=100", token=token).json_body["items"]]


def _status(api, token: str, site_id: str) -> str:
    return api.get(f"/v1/sites/{site_id}", token=token).json_body["status"]


def _save_card(api, token: str, site_id: str, fake, card: str = CARD) -> dict:
    started = api.post(f"/v1/sites/{site_id}/payment-method", token=token)
    assert started.status_code == 200, started.body
    fake.answer(started.json_body["payment_id"], True, card, "Olena Petrenko")
    deliver(api)
    deliver(api)
    return started.json_body


def _paid_site_with_card(api, owner, fake) -> dict:
    """A site created on 17 March whose first invoice was paid with a card now saved for auto-pay."""
    at(2027, 3, 17)
    site = new_site(api, owner)
    assert _save_card(api, owner, site["id"], fake)["purpose"] == "pay_invoice"
    return site


def _token(fake, site_id: str) -> str:
    return str(DealModel.get(site_id).data["card_token"])


def _charges(invoice_id: str) -> list[CardPaymentModel]:
    return sorted((p for p in CardPaymentModel.scan(consistent_read=True)
                   if p.purpose == "autopay" and p.invoice_id == invoice_id), key=lambda p: p.created_at)


# --- the acquirer's answers, classified ---------------------------------------------------------------------------

class _Answer:
    def __init__(self, body: dict) -> None:
        self.body = json.dumps(body).encode()

    def read(self) -> bytes:
        return self.body

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None


def _http_error(code: int) -> urllib.error.HTTPError:
    return urllib.error.HTTPError("https://acquirer.example/api", code, "answer", {}, io.BytesIO(b"{}"))  # type: ignore[arg-type]


@pytest.mark.parametrize(("failure", "expected"), [
    (_http_error(400), UpstreamRefused), (_http_error(403), UpstreamRefused), (_http_error(404), UpstreamRefused),
    (_http_error(500), UpstreamUnavailable), (_http_error(503), UpstreamUnavailable),
    (urllib.error.URLError("connection refused"), UpstreamUnavailable), (TimeoutError(), UpstreamUnavailable),
    (ConnectionResetError(), UpstreamUnavailable),
])
def test_a_4xx_from_the_acquirer_is_a_refusal_and_only_a_timeout_a_5xx_or_a_broken_connection_is_unavailable(
        monkeypatch, failure, expected):
    monkeypatch.setenv("ACQUIRER_URL", "https://acquirer.example")
    config.reload()

    def answer(request, timeout):
        raise failure

    monkeypatch.setattr(outgoing, "urlopen", answer)
    for call in (lambda a: a.charge("cpy_1", "tok_1", Money(100, "UAH"), "HOR-10001-001", "sin_1:1"),
                 lambda a: a.refund("cpy_1", Money(100, "UAH"), "mono_1")):
        with pytest.raises(expected) as raised:
            call(acquirer.HttpAcquirer())
        assert type(raised.value) is expected  # a refusal is never taken for "try again later"
    config.reload()


def test_a_charge_is_keyed_by_its_attempt_and_a_refund_names_the_acquirers_own_payment_id(monkeypatch):
    monkeypatch.setenv("ACQUIRER_URL", "https://acquirer.example")
    config.reload()
    sent = []

    def answer(request, timeout):
        sent.append((request.full_url, dict(request.header_items()), json.loads(request.data)))
        return _Answer({"invoiceId": "2210012MPLYwJjVUTL", "pageUrl": "https://pay.example/x"})

    monkeypatch.setattr(outgoing, "urlopen", answer)
    http = acquirer.HttpAcquirer()
    assert http.charge("cpy_1", "tok_1", Money(31000, "UAH"), "HOR-10001-002", "sin_2:3") == "2210012MPLYwJjVUTL"
    http.refund("cpy_1", Money(31000, "UAH"), "2210012MPLYwJjVUTL")
    (_, charge_headers, _), (refund_url, _, refund_body) = sent
    assert charge_headers["Idempotency-key"] == "sin_2:3"
    assert refund_url.endswith("/api/merchant/invoice/cancel") and refund_body["invoiceId"] == "2210012MPLYwJjVUTL"
    config.reload()


def test_a_refused_charge_is_a_decline_and_the_owner_gets_a_payment_link_and_the_retries_go_on(api, owner, fake):
    site = _paid_site_with_card(api, owner, fake)
    fake.arm(_token(fake, site["id"]), "refuse")
    at(2027, 4, 1, 0, 5)
    run_timers()
    april = invoices(api, owner, site["id"])[0]
    (first,) = _charges(april["id"])
    assert (first.status, first.outcome) == ("failed", "declined")  # not "charging" for ever
    assert DealModel.get(site["id"]).data.get("charging") is None
    declined = next(n for n in api.get("/v1/notifications?limit=100", token=owner).json_body["items"]
                    if n["kind"] == "card_charge_declined")
    assert "/web/checkout/" in json.dumps(declined)
    at(2027, 4, 1, 1)
    run_timers()
    assert len(_charges(april["id"])) == 1  # no resend of a refusal
    at(2027, 4, 2, 0, 5)  # the day-1 retry: a new attempt under its own key
    run_timers()
    first, second = _charges(april["id"])
    assert fake.load(second.id)["key"] == f"{april['id']}:2"
    assert [a["outcome"] for a in deliver(api)] == ["applied"]
    assert invoices(api, owner, site["id"])[0]["status"] == "paid"
    assert_books_balance()


def test_a_charge_that_timed_out_is_asked_again_under_the_same_payment_id_and_key(api, owner, fake):
    site = _paid_site_with_card(api, owner, fake)
    fake.arm(_token(fake, site["id"]), "timeout")
    at(2027, 4, 1, 0, 5)
    run_timers()
    april = invoices(api, owner, site["id"])[0]
    (charge,) = _charges(april["id"])
    assert charge.status == "pending" and fake.load(charge.id) is None  # lost on the way
    at(2027, 4, 1, 0, 25)  # CHARGE_RESEND later
    run_timers()
    assert [p.id for p in _charges(april["id"])] == [charge.id]
    assert fake.load(charge.id)["key"] == f"{april['id']}:1"
    assert [a["outcome"] for a in deliver(api)] == ["applied"]
    assert_books_balance()


# --- a late success -------------------------------------------------------------------------------------------------

def test_a_success_after_a_decline_pays_the_open_invoice_and_cancels_its_pending_retries(api, owner, fake,
                                                                                        monkeypatch):
    site = _paid_site_with_card(api, owner, fake)
    monkeypatch.setenv("ACQUIRER_DECLINE_TOKENS", _token(fake, site["id"]))
    config.reload()
    at(2027, 4, 1, 0, 5)
    run_timers()
    assert [a["outcome"] for a in deliver(api)] == ["declined"]
    april = invoices(api, owner, site["id"])[0]
    (charge,) = _charges(april["id"])
    fake.answer(charge.id, True)  # the bank changes its mind: the same attempt succeeded after all
    assert [a["outcome"] for a in deliver(api)] == ["applied"]
    assert invoices(api, owner, site["id"])[0]["status"] == "paid"
    for day in (2, 4, 6):
        at(2027, 4, day, 0, 5)
        run_timers()
    assert len(_charges(april["id"])) == 1  # the retries went with the payment
    assert uah_available(System.REVENUE.value) == 15000 + 31000
    assert_books_balance()


# --- duplicates go back by themselves ------------------------------------------------------------------------------

def test_a_link_payment_crossing_the_auto_charge_is_refunded_at_once_and_the_owner_told(api, owner, fake):
    site = _paid_site_with_card(api, owner, fake)
    at(2027, 4, 1, 0, 5)
    run_timers()  # the auto-charge is at the acquirer
    april = invoices(api, owner, site["id"])[0]
    link = api.post(f"/v1/sites/{site['id']}/invoices/{april['id']}/payment-link", token=owner).json_body
    fake.answer(link["payment_id"], True)  # the owner pays the link too
    assert [a["outcome"] for a in deliver(api)] == ["applied", "duplicate"]
    assert fake.load(link["payment_id"])["status"] == "refunded"
    assert "card_payment_refunded" in _kinds(api, owner)
    assert [a["outcome"] for a in deliver(api)] == ["refunded"]
    assert uah_available(System.REVENUE.value) == 15000 + 31000
    assert uah_available(System.CARD_CLEARING.value) == 0 and uah_available(System.SUSPENSE.value) == 0
    assert_books_balance()


def test_a_bank_transfer_for_a_paid_invoice_is_parked_the_owner_told_and_its_return_goes_through_the_bank(
        api, owner, operator_token, fake):
    site = _paid_site_with_card(api, owner, fake)
    (first,) = invoices(api, owner, site["id"])
    answer = api.webhook(transfer_event("evt-twice", first["amount"], "UAH", first["number"]))
    assert (answer.json_body["payment"]["status"], answer.json_body["payment"]["reason"]) == (
        "unmatched", "invoice_already_paid")
    assert "transfer_to_be_returned" in _kinds(api, owner)
    payment_id = answer.json_body["payment"]["id"]
    returned = api.post(f"/v1/operator/payments/{payment_id}/return", token=operator_token)
    assert returned.status_code == 200 and returned.json_body["status"] == "returned"
    sent = [json.loads(line) for line in
            (Path(config.settings.bank_outbox_dir) / "payout_requests.jsonl").read_text().splitlines()]
    assert [(r["amount"], r["method"], r["destination"]) for r in sent] == [
        (first["amount"], "iban", "DE89370400440532013000")]
    assert uah_available(System.SUSPENSE.value) == 0 and uah_available(System.BANK_OUT.value) == first["amount"]
    assert_books_balance()


def test_an_unknown_success_resent_under_new_event_ids_is_parked_once(api, operator_token):
    for event_id in ("evt-a", "evt-b", "evt-c"):
        body = acquirer.event(acquirer.SUCCEEDED, "cpy_nobodyasked", Money(31000, "UAH"))
        body["event_id"] = event_id
        raw = json.dumps(body).encode()
        answer = api.post("/v1/webhooks/acquirer", raw=raw, headers={"X-Acquirer-Signature": acquirer.sign(raw)})
        assert answer.status_code == 200
    parked = api.get("/v1/operator/payments/unmatched", token=operator_token).json_body["items"]
    assert [(p["reason"], p["amount"]) for p in parked] == [("unknown_payment", 31000)]
    assert uah_available(System.SUSPENSE.value) == 31000
    assert_books_balance()


# --- moves send their charges in their own request -----------------------------------------------------------------

def test_an_upgrades_prorated_charge_is_at_the_acquirer_before_the_upgrades_answer_returns(api, owner, fake):
    site = _paid_site_with_card(api, owner, fake)
    at(2027, 3, 20)
    upgraded = api.post(f"/v1/sites/{site['id']}/tariff", {"code": "business"}, token=owner)
    assert upgraded.status_code == 200, upgraded.body
    upgrade = invoices(api, owner, site["id"])[0]
    assert upgrade["kind"] == "upgrade"
    (charge,) = _charges(upgrade["id"])
    assert fake.load(charge.id) is not None  # no timer ran: the request sent it
    assert [a["outcome"] for a in deliver(api)] == ["applied"]
    assert_books_balance()


# --- a card saved against an old unpaid invoice --------------------------------------------------------------------

def test_a_card_saved_against_an_old_unpaid_invoice_charges_it_once_now_and_its_retries_count_from_now(
        api, owner, fake, monkeypatch):
    at(2027, 3, 17)
    site = new_site(api, owner)
    at(2027, 4, 1, 0, 5)
    run_timers()  # April's invoice, no card yet
    at(2027, 4, 9)  # eight days later a card is saved: it pays the oldest open invoice (March's)
    assert _save_card(api, owner, site["id"], fake)["purpose"] == "pay_invoice"
    monkeypatch.setenv("ACQUIRER_DECLINE_TOKENS", _token(fake, site["id"]))  # its auto-charges are declined
    config.reload()
    (april,) = [i for i in invoices(api, owner, site["id"]) if i["status"] == "open"]
    for minute in range(1, 40, 3):  # the job's runs of the next minutes, each webhook delivered
        at(2027, 4, 9, 10, minute)
        run_timers()
        deliver(api)
    assert len(_charges(april["id"])) == 1  # one charge now, not the four whose days passed
    assert _kinds(api, owner).count("card_charge_declined") == 1
    at(2027, 4, 10, 10, 5)  # the first retry, a day after the card was saved
    run_timers()
    deliver(api)
    assert len(_charges(april["id"])) == 2
    assert_books_balance()


# --- transfers match the way people type --------------------------------------------------------------------------

@pytest.mark.parametrize("typed", [
    "{n}", "{l}", "Оплата за {l}", "{n}".replace("-", "\u2010"), "{n}".replace("-", "\u2013"),
    "{n}".replace("-", "\u2014"), "{n}".replace("-", "\u2212"), "{n}".replace("-", "\u00ad"),
    "{n}".replace("-", " - "), "{l}".replace("-", " \u2013 "), "рахунок №{n}".replace("-", "- "),
])
def test_a_transfer_matches_its_invoice_number_whatever_the_case_the_dash_and_the_spaces_around_it(
        api, owner, typed):
    at(2027, 3, 17)
    site = new_site(api, owner)
    (first,) = invoices(api, owner, site["id"])
    purpose = typed.format(n=first["number"], l=first["number"].lower())
    answer = api.webhook(transfer_event("evt-typed", first["amount"], "UAH", purpose))
    assert answer.json_body["payment"]["status"] == "credited", purpose
    assert invoices(api, owner, site["id"])[0]["status"] == "paid"
    assert_books_balance()


def test_a_transfer_one_kopiyka_short_never_matches_however_its_number_is_typed(api, owner):
    at(2027, 3, 17)
    site = new_site(api, owner)
    (first,) = invoices(api, owner, site["id"])
    answer = api.webhook(transfer_event("evt-short", first["amount"] - 1, "UAH", first["number"].lower()))
    assert answer.json_body["payment"]["reason"] == "amount_mismatch"
    assert_books_balance()


def test_a_top_up_invoice_matches_whatever_the_case_and_the_dash(api, owner):
    created = api.post("/v1/invoices", {"amount": 150000, "currency": "USD"}, token=owner)
    assert created.status_code == 201, created.body
    number = created.json_body["number"]
    answer = api.webhook(transfer_event("evt-topup", 150000, "USD", number.lower().replace("-", " \u2014 ")))
    assert answer.json_body["payment"]["status"] == "credited"
    assert_books_balance()


# --- the oldest open invoice ---------------------------------------------------------------------------------------

def test_a_month_invoice_stays_dunned_when_an_upgrade_issued_seconds_later_is_paid_while_the_index_lags(
        api, owner, fake, monkeypatch):
    at(2027, 3, 17)
    site = new_site(api, owner)
    (first,) = invoices(api, owner, site["id"])
    assert api.webhook(transfer_event("evt-first", first["amount"], "UAH", first["number"])).status_code == 200
    at(2027, 4, 1, 0, 0, 30)
    run_timers()  # April's invoice
    at(2027, 4, 1, 0, 0, 40)
    assert api.post(f"/v1/sites/{site['id']}/tariff", {"code": "business"}, token=owner).status_code == 200
    upgrade = next(i for i in invoices(api, owner, site["id"]) if i["kind"] == "upgrade")
    with monkeypatch.context() as lagging:  # the index lists no open invoice yet
        lagging.setattr(ServiceInvoiceModel.by_site, "query", lambda *a, **kw: iter(()))
        paid = api.webhook(transfer_event("evt-upgrade", upgrade["amount"], "UAH", upgrade["number"]))
        assert paid.json_body["payment"]["status"] == "credited"
    at(2027, 4, 7, 0, 1)
    run_timers()
    assert _status(api, owner, site["id"]) == "past_due"
    at(2027, 4, 11, 0, 1)
    run_timers()
    assert _status(api, owner, site["id"]) == "blocked"
    assert_books_balance()


# --- the local fake's outbox ---------------------------------------------------------------------------------------

def test_the_fake_acquirers_outbox_loses_no_webhook_while_writers_and_a_taker_race(fake):
    import threading

    taken: list[dict] = []
    stop = threading.Event()

    def take() -> None:
        while not stop.is_set():
            taken.extend(fake.take_outbox())

    def write(writer: int) -> None:
        for n in range(50):
            fake._emit({"event_id": f"w{writer}-{n}"})

    taker = threading.Thread(target=take)
    taker.start()
    writers = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    stop.set()
    taker.join()
    taken.extend(fake.take_outbox())
    assert sorted(e["event_id"] for e in taken) == sorted(f"w{w}-{n}" for w in range(4) for n in range(50))


def test_the_sites_card_payments_show_a_duplicate_and_its_refund(api, owner, fake):
    site = _paid_site_with_card(api, owner, fake)
    at(2027, 4, 1, 0, 5)
    run_timers()
    april = invoices(api, owner, site["id"])[0]
    link = api.post(f"/v1/sites/{site['id']}/invoices/{april['id']}/payment-link", token=owner).json_body
    fake.answer(link["payment_id"], True)
    deliver(api)
    deliver(api)
    listed = api.get(f"/v1/sites/{site['id']}/card-payments", token=owner)
    assert listed.status_code == 200, listed.body
    shown = {p["id"]: (p["status"], p["outcome"]) for p in listed.json_body["items"]}
    assert shown[link["payment_id"]] == ("refunded", "duplicate")
    assert_books_balance()

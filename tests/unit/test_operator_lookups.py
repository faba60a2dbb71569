"""The operators' look-ups read keys and indexes, never a whole table, and the keys follow every change: a site's
tax id (`by_tax_id`) moves with its requisites and its contact's e-mail (`by_contact_email`) with an owner change;
an open invoice's `open_due` (the sparse `by_open_due` index) follows what it still asks for and leaves as it is
paid or written off, in the same write as its status; a payout is on the `sent` queue until the bank answers and
on the `failed` one once it refuses. Items written before those keys existed get them from the one-off
`backfill-lookups` command, which a second run leaves alone."""
from __future__ import annotations

import contextlib
import json
from unittest import mock

import pytest

from chalicelib.entrypoints import cli
from chalicelib.platform import clock
from chalicelib.services import bank, payouts, sites
from chalicelib.store.models import (
    InvoiceModel,
    KeyModel,
    PaymentModel,
    PayoutModel,
    ServiceInvoiceModel,
    SiteModel,
)
from tests.billing_support import EDRPOU, IBAN, add_tariffs, at, invoices, new_site
from tests.support import assert_books_balance, transfer_event
from tests.unit.test_console_sites import _operator

OTHER_EDRPOU = "40498761"
CARD = "4111 1111 1111 1111"


@pytest.fixture
def owner(api, operator_token):
    add_tariffs(api, operator_token)
    return api.signup("owner@example.ua", locale="uk", name="Olena")


@contextlib.contextmanager
def _no_scan():
    """Within: reading a site, an invoice or a payout by a scan fails the test."""
    with contextlib.ExitStack() as stack:
        for model in (SiteModel, InvoiceModel, ServiceInvoiceModel, PayoutModel):
            stack.enter_context(mock.patch.object(model, "scan", side_effect=AssertionError(
                f"{model.__name__} read by a scan")))
        yield


def _found(query: str) -> list[str]:
    with _no_scan():
        return [site["id"] for site in sites.search(_operator(), query)["items"]]


def _requisites(api, token: str, site_id: str, tax_id: str) -> None:
    response = api.request("PUT", f"/v1/sites/{site_id}/requisites", {"tax_id": tax_id, "iban": IBAN}, token=token)
    assert response.status_code == 200, response.body


def _parked(api, event_id: str, amount: int, purpose: str) -> str:
    answer = api.webhook(transfer_event(event_id, amount, "UAH", purpose))
    assert answer.json_body["payment"]["status"] == "unmatched", answer.body
    return answer.json_body["payment"]["id"]


def _offered(payment_id: str) -> list[str]:
    with _no_scan():
        return [candidate["number"] for candidate in bank.candidates(_operator(), payment_id)]


def _troubled() -> dict[str, str]:
    with _no_scan():
        return {row["id"]: row["state"] for row in payouts.troubled(_operator(), clock.now())}


def _backfilled(capsys) -> list[str]:
    """What the command printed: what it wrote, by kind."""
    assert cli.main(["backfill-lookups"]) == 0
    return next(line for line in capsys.readouterr().out.splitlines() if line.startswith("sites=")).split()


def _payout(api, token: str, amount: int) -> str:
    response = api.post("/v1/payouts", {"amount": amount, "currency": "USD",
                                        "destination": {"type": "card", "number": CARD}}, token=token)
    assert response.status_code == 201, response.body
    return response.json_body["id"]


def _funded_payee(api) -> str:
    token = api.signup("payee@example.com", name="Payee")
    invoice = api.invoice(token, 50000, "USD")
    api.webhook(transfer_event("evt-fund", 50000, "USD", invoice["payment_details"]))
    return token


def test_a_sites_tax_id_and_contact_e_mail_are_found_by_index_and_follow_their_changes(
        api, owner, operator_token):
    at(2027, 3, 17)
    site = new_site(api, owner)
    assert _found(EDRPOU) == [] and _found("OLENA@example.ua") == [site["id"]]
    assert _found(site["service_code"]) == [site["id"]]
    _requisites(api, owner, site["id"], EDRPOU)
    assert _found(EDRPOU) == [site["id"]]
    _requisites(api, owner, site["id"], OTHER_EDRPOU)
    assert _found(EDRPOU) == [] and _found(OTHER_EDRPOU) == [site["id"]]

    changed = api.post(f"/v1/operator/sites/{site['id']}/owner", {
        "owner": {"name": "Taras", "email": "Taras@Example.ua", "phone": "+380671112233"},
        "reason": "a new accountant"}, token=operator_token)
    assert changed.status_code == 200, changed.body
    assert _found("olena@example.ua") == [] and _found("taras@example.ua") == [site["id"]]
    assert _found("99999") == [] and _found("x@nowhere.example") == []


def test_an_open_invoice_is_indexed_by_what_it_still_asks_until_it_is_paid_or_written_off(
        api, owner, operator_token):
    at(2027, 3, 17)
    site = new_site(api, owner)
    (sin,) = invoices(api, owner, site["id"])
    topup = api.invoice(owner, 10000, "UAH")
    first = _parked(api, "evt-1", 10000, "за послуги")
    assert topup["number"] in _offered(first)

    part = api.post(f"/v1/operator/payments/{first}/apply", {"invoice_id": topup["id"], "reason": "a part"},
                    token=operator_token, headers={"Idempotency-Key": "k-part"})
    assert part.status_code == 200, part.body
    second = _parked(api, "evt-2", 4000, "за послуги")  # the same amount again: the top-up asks nothing now
    assert topup["number"] not in _offered(second)
    assert InvoiceModel.get(topup["id"]).open_due is None and InvoiceModel.get(topup["id"]).status == "paid"

    half = sin["amount_due"] // 2
    third = _parked(api, "evt-3", half, "оплата")
    applied = api.post(f"/v1/operator/payments/{third}/apply", {"invoice_id": sin["id"], "reason": "a half"},
                       token=operator_token, headers={"Idempotency-Key": "k-half"})
    assert applied.status_code == 200, applied.body
    rest = sin["amount_due"] - half
    fourth = _parked(api, "evt-4", rest, "за сайт")
    assert _offered(fourth) == [sin["number"]]  # it asks for the rest now, and is found by it
    assert ServiceInvoiceModel.get(sin["id"]).open_due.startswith(f"UAH#{rest}#")

    off = api.post(f"/v1/operator/sites/{site['id']}/invoices/{sin['id']}/write-off", {"reason": "goodwill"},
                   token=operator_token, headers={"Idempotency-Key": "k-off"})
    assert off.status_code == 200, off.body
    assert _offered(fourth) == [] and ServiceInvoiceModel.get(sin["id"]).open_due is None
    assert_books_balance()


def test_a_number_quoted_in_the_purpose_is_looked_up_by_its_claim_and_a_sequence_typo_by_the_sites_invoices(
        api, owner):
    at(2027, 3, 17)
    site = new_site(api, owner)
    (sin,) = invoices(api, owner, site["id"])
    topup = api.invoice(owner, 77700, "UAH")
    quoted = _parked(api, "evt-q", 123, f"{topup['number']} and {sin['number']}")  # two numbers: parked
    assert set(_offered(quoted)) == {topup["number"], sin["number"]}
    typo = sin["number"][:-1] + ("9" if sin["number"][-1] != "9" else "8")
    assert _offered(_parked(api, "evt-t", 123, f"оплата {typo}")) == [sin["number"]]
    assert_books_balance()


def test_failed_payouts_and_those_the_bank_took_are_on_their_queues(api, operator_token):
    payee = _funded_payee(api)
    failed = _payout(api, payee, 12300)
    assert PayoutModel.get(failed).queue == payouts.sent_key(failed)
    answer = json.dumps({"event_id": "evt-no", "type": "payout.failed", "payout_id": failed,
                         "reason": "account closed"}).encode()
    assert api.webhook(answer).status_code == 200
    paid = _payout(api, payee, 10000)
    assert api.webhook(json.dumps({"event_id": "evt-ok", "type": "payout.paid", "payout_id": paid,
                                   "reason": ""}).encode()).status_code == 200
    stuck = _payout(api, payee, 10000)
    assert (PayoutModel.get(failed).queue, PayoutModel.get(paid).queue) == ("failed", None)
    assert _troubled() == {failed: "failed"}
    clock.advance(49 * 3600)
    assert _troubled() == {failed: "failed", stuck: "stuck"}
    assert_books_balance()


def test_the_backfill_gives_items_written_before_the_keys_existed_what_the_look_ups_read(
        api, owner, capsys):
    at(2027, 3, 17)
    site = new_site(api, owner)
    _requisites(api, owner, site["id"], EDRPOU)
    (sin,) = invoices(api, owner, site["id"])
    topup = api.invoice(owner, 55500, "UAH")
    payee = _funded_payee(api)
    failed = _payout(api, payee, 12300)
    assert api.webhook(json.dumps({"event_id": "evt-no", "type": "payout.failed", "payout_id": failed,
                                   "reason": "account closed"}).encode()).status_code == 200
    sent = _payout(api, payee, 10000)
    # as they were written before: no index keys, no service code claim, payouts off the queue once sent
    SiteModel(site["id"]).update(actions=[SiteModel.tax_id_key.remove(), SiteModel.contact_email_key.remove()])
    KeyModel(f"service-code#{site['service_code']}").delete()
    InvoiceModel(topup["id"]).update(actions=[InvoiceModel.open_due.remove()])
    ServiceInvoiceModel(sin["id"]).update(actions=[ServiceInvoiceModel.open_due.remove()])
    for payout_id in (failed, sent):
        PayoutModel(payout_id).update(actions=[PayoutModel.queue.remove()])
    clock.advance(49 * 3600)
    payment = _parked(api, "evt-b", 55500, "за послуги")
    due = _parked(api, "evt-d", sin["amount_due"], "за сайт")
    assert _found(EDRPOU) == _found(site["service_code"]) == _found("olena@example.ua") == []
    assert _offered(payment) == _offered(due) == [] and _troubled() == {}

    assert _backfilled(capsys) == ["sites=1", "service_codes=1", "invoices=1", "service_invoices=1",
                                               "payouts=2", "raced=0"]
    assert _found(EDRPOU) == _found(site["service_code"]) == _found("olena@example.ua") == [site["id"]]
    assert _offered(payment) == [topup["number"]] and _offered(due) == [sin["number"]]
    assert _troubled() == {failed: "failed", sent: "stuck"}
    assert PaymentModel.get(payment).status == "unmatched"

    assert _backfilled(capsys) == ["sites=0", "service_codes=0", "invoices=0", "service_invoices=0",
                                               "payouts=0", "raced=0"]
    assert_books_balance()

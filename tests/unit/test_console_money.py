"""The console's money sections (chalicelib/entrypoints/web/console_money.py): the unmatched payments' queue and its
search, a payment's page with the invoices a person would consider, applying it (a part, an over-payment) or returning
it with a reason through the API's use cases; the failed and stuck payouts; the trial balance and the books audit run
on demand. Every act shows up in the audit log; every refusal is a page that says what is wrong and changes nothing;
the books balance after every step. The same pages run in a real browser in
tests/e2e/test_console_money_in_browser.py."""
from __future__ import annotations

import contextlib
import json
import re
from unittest import mock

import pytest

from chalicelib.money.ledger import System
from chalicelib.platform import clock
from chalicelib.store.models import (
    AccountModel,
    AuditLogModel,
    InvoiceModel,
    PaymentModel,
    PayoutModel,
    ServiceInvoiceModel,
)
from tests.billing_support import add_tariffs, at, invoices, new_site, uah_available
from tests.support import assert_books_balance, transfer_event
from tests.unit.test_console import _csrf, _enrol, _post

CARD = "4111 1111 1111 1111"


@pytest.fixture
def console(api, operator_token) -> str:
    """Given the operator (ops@escrowdesk.local) logged in to the console with his TOTP code: the session cookie."""
    session, _ = _enrol(api)
    return session


@pytest.fixture
def owner(api, operator_token):
    add_tariffs(api, operator_token)
    return api.signup("owner@example.ua", locale="uk", name="Olena")


def _page(api, path: str, session: str, status: int = 200) -> str:
    response = api.get(path, headers={"Cookie": session})
    assert response.status_code == status, response.body
    assert response.headers["Content-Type"].startswith("text/html")
    return response.body.decode()


def _parked(api, event_id: str, amount: int, currency: str = "UAH", purpose: str = "for the shop",
            payer: str = "ACME GmbH", received_at: str = "2026-11-22T10:00:00Z") -> str:
    body = json.loads(transfer_event(event_id, amount, currency, purpose))
    body["payer"]["name"], body["received_at"] = payer, received_at
    answer = api.webhook(json.dumps(body).encode())
    assert answer.status_code == 200 and answer.json_body["payment"]["status"] == "unmatched", answer.body
    return answer.json_body["payment"]["id"]


def _act(api, session: str, path: str, fields: dict, *, csrf: str | None = None):
    token = csrf if csrf is not None else _csrf(_page(api, "/console/payments", session))
    return _post(api, path, session, {"csrf": token, **fields})


def _path(location: str) -> str:
    """A redirect's target, from /console on."""
    return "/console" + location.split("/console", 1)[1]


@contextlib.contextmanager
def _no_scan(*models):
    """Within: reading any of `models` by a scan fails the test (the pages read them by key and by index)."""
    with contextlib.ExitStack() as stack:
        for model in models:
            stack.enter_context(mock.patch.object(model, "scan", side_effect=AssertionError(
                f"{model.__name__} read by a scan")))
        yield


def _audit_records(action: str) -> list[AuditLogModel]:
    return [record for record in AuditLogModel.scan() if record.action == action]


# --- the queue ------------------------------------------------------------------------------------------------------

def test_the_queue_lists_unmatched_payments_and_finds_them_by_amount_dates_payer_and_purpose(api, console):
    first = _parked(api, "evt-a", 150000, "USD", "invoice 2026/11 for consulting", "ACME GmbH",
                    "2026-11-20T09:00:00Z")
    second = _parked(api, "evt-b", 31000, "UAH", "оплата за сайт", "ТОВ Квітка", "2026-11-22T10:00:00Z")
    third = _parked(api, "evt-c", 31000, "UAH", "services", "Petro", "2026-11-25T23:59:59Z")

    def found(query: str = "") -> list[str]:
        html = _page(api, f"/console/payments?lang=en{query}", console)
        return re.findall(r"/console/payments/(pay_[A-Za-z0-9_-]+)\?", html)

    assert found() == [first, second, third]
    assert found("&amount=310.00") == [second, third] and found("&amount=1500") == [first]
    assert found("&from=2026-11-21&to=2026-11-25") == [second, third] and found("&to=2026-11-20") == [first]
    assert found("&payer=%D0%BA%D0%B2%D1%96%D1%82%D0%BA%D0%B0") == [second]  # "квітка", in any case
    assert found("&text=CONSULTING") == [first]
    assert found("&amount=310&payer=petro") == [third] and found("&amount=7") == []
    html = _page(api, "/console/payments?lang=ru", console)
    assert 'lang="ru"' in html and "ACME GmbH" in html
    assert 'dir="rtl"' in _page(api, "/console/payments?lang=fa", console)
    assert_books_balance()


@pytest.mark.parametrize("query", ["amount=abc", "amount=-5", "from=22.11.2026", "to=2026-1-1", "text=%00"])
def test_a_malformed_search_says_what_is_wrong_in_the_readers_language(api, console, query):
    _parked(api, "evt-a", 31000)
    html = _page(api, f"/console/payments?lang=uk&{query}", console, status=400)
    assert 'lang="uk"' in html and 'role="alert"' in html and "pay_" not in html


def test_the_payments_pages_without_a_session_send_to_the_log_in(api):
    for path in ("/console/payments", "/console/payments/pay_x", "/console/payouts", "/console/books"):
        response = api.get(path + "?lang=ru")
        assert response.status_code == 401 and "/console/login" in response.body.decode()


# --- a payment: candidates, apply, return ---------------------------------------------------------------------------

def test_a_payments_page_offers_site_and_top_up_invoices_of_its_amount_or_a_similar_number(api, console, owner):
    at(2027, 3, 17)
    site = new_site(api, owner)
    (sin,) = invoices(api, owner, site["id"])
    other = new_site(api, owner, domains=("other.example.ua",))
    (other_sin,) = invoices(api, owner, other["id"])
    topup = api.invoice(owner, sin["amount"], "UAH")
    unrelated = api.invoice(owner, 99900, "UAH")
    typo = sin["number"][:-1] + ("9" if sin["number"][-1] != "9" else "8")  # one digit off: no such invoice
    payment = _parked(api, "evt-typo", sin["amount"] + 500, "UAH", f"оплата {typo}")
    same = _parked(api, "evt-same", topup["amount"], "UAH", "за послуги")

    with _no_scan(InvoiceModel, ServiceInvoiceModel):
        html = _page(api, f"/console/payments/{payment}?lang=en", console)
        offered = _page(api, f"/console/payments/{same}?lang=en", console)
    assert sin["number"] in html  # the number quoted with its sequence off: the site its service code names
    # another site's invoice (another service code) asking for another amount is not looked for
    assert other_sin["number"] not in html
    assert topup["number"] not in html and unrelated["number"] not in html
    assert "a similar number" in html and "an unknown invoice number" in html
    assert topup["number"] in offered and unrelated["number"] not in offered and "the same amount" in offered
    assert "a balance top-up" in offered and ("a site's invoice" in offered or "a site&#39;s invoice" in offered)
    assert 'name="reason"' in offered and 'name="invoice_id"' in offered
    assert 'dir="rtl"' in _page(api, f"/console/payments/{same}?lang=fa", console)
    _page(api, "/console/payments/pay_nope?lang=ru", console, status=404)
    assert_books_balance()


def test_an_operator_applies_a_short_payment_to_a_site_invoice_with_a_reason_and_the_rest_stays_due(
        api, console, owner, operator_token):
    at(2027, 3, 17)
    site = new_site(api, owner)
    (invoice,) = invoices(api, owner, site["id"])
    payment = _parked(api, "evt-short", 10000)

    done = _act(api, console, f"/console/payments/{payment}/apply",
                {"invoice_id": invoice["id"], "reason": "the payer paid in two parts"})
    assert done.status_code == 303 and done.headers["Location"].endswith(
        f"/console/payments/{payment}?lang=en&done=applied")
    html = _page(api, f"/console/payments/{payment}?lang=en&done=applied", console)
    assert "The payment was applied to the invoice." in html and "The books balance" in html
    assert invoice["number"] in html and 'name="reason"' not in html  # resolved: no more acts
    part = invoices(api, owner, site["id"])[0]
    assert (part["status"], part["amount_paid"], part["amount_due"]) == ("open", 10000, invoice["amount"] - 10000)
    assert uah_available(System.REVENUE.value) == 10000 and uah_available(System.SUSPENSE.value) == 0
    [record] = _audit_records("apply_payment")
    assert record.reason == "the payer paid in two parts" and record.subject == f"site#{site['id']}"
    assert record.before["amount_due"] == invoice["amount"] and record.after["amount_due"] == invoice["amount"] - 10000
    audit = _page(api, f"/console/audit?lang=en&object={site['id']}", console)
    assert "apply_payment" in audit and "the payer paid in two parts" in audit and "ops@escrowdesk.local" in audit
    assert PaymentModel.get(payment).status == "applied"
    assert_books_balance()


def test_an_over_payment_typed_by_its_number_pays_the_invoice_and_the_surplus_is_the_sites_credit(
        api, console, owner):
    at(2027, 3, 17)
    site = new_site(api, owner)
    (invoice,) = invoices(api, owner, site["id"])
    payment = _parked(api, "evt-over", invoice["amount"] + 5000)
    typed = invoice["number"].lower().replace("-", " – ")  # as people type it

    done = _act(api, console, f"/console/payments/{payment}/apply",
                {"invoice_number": typed, "reason": "paid with next month's change"})
    assert done.status_code == 303, done.body
    paid = invoices(api, owner, site["id"])[0]
    assert paid["status"] == "paid" and uah_available(f"credit:{site['id']}") == 5000
    assert uah_available(System.REVENUE.value) == invoice["amount"]
    [record] = _audit_records("apply_payment")
    assert record.after["credit"] == 5000 and record.after["status"] == "paid"
    assert_books_balance()


def test_an_exact_payment_applied_to_a_top_up_invoice_credits_the_clients_balance(api, console):
    client = api.signup("client@example.com")
    topup = api.invoice(client, 150000, "USD")
    payment = _parked(api, "evt-topup", 150000, "USD", "for consulting")
    done = _act(api, console, f"/console/payments/{payment}/apply",
                {"invoice_id": topup["id"], "reason": "the purpose named the contract, not the invoice"})
    assert done.status_code == 303, done.body
    assert api.balance(client) == (150000, 0)
    [record] = _audit_records("apply_payment")
    assert record.subject.startswith("user#") and record.after["status"] == "paid"
    assert_books_balance()


def test_an_operator_returns_a_payment_to_the_payer_with_a_reason(api, console):
    payment = _parked(api, "evt-back", 31000, purpose="nobody knows")
    assert uah_available(System.SUSPENSE.value) == 31000

    done = _act(api, console, f"/console/payments/{payment}/return", {"reason": "the payer asked for it back"})
    assert done.status_code == 303 and done.headers["Location"].endswith("done=returned")
    html = _page(api, f"/console/payments/{payment}?lang=uk&done=returned", console)
    assert 'lang="uk"' in html and 'class="notice"' in html and "returned" in html
    assert PaymentModel.get(payment).status == "returned"
    assert uah_available(System.SUSPENSE.value) == 0
    [record] = _audit_records("return_payment")
    assert record.subject == f"payment#{payment}" and record.reason == "the payer asked for it back"
    assert (record.before, record.after["status"]) == ({"status": "unmatched"}, "returned")
    audit = _page(api, f"/console/audit?lang=en&object=payment%23{payment}", console)
    assert "return_payment" in audit and "the payer asked for it back" in audit
    assert_books_balance()


@pytest.mark.parametrize(("fields", "status", "says"), [
    ({"invoice_id": "", "reason": "because"}, 422, "Choose one of the invoices"),
    ({"invoice_id": "{invoice}", "reason": ""}, 422, "Write the reason"),
    ({"invoice_id": "{invoice}", "reason": "  x "}, 422, "Write the reason"),
    ({"invoice_number": "HOR-99999-001", "reason": "because"}, 422, "No invoice has this id or number"),
    ({"invoice_id": "sin_nope", "reason": "because"}, 422, "No invoice has this id or number"),
    ({"invoice_id": "{dollars}", "reason": "because"}, 422, "currency differs"),
])
def test_a_refused_application_shows_the_page_again_with_what_is_wrong_and_changes_nothing(
        api, console, owner, fields, status, says):
    at(2027, 3, 17)
    site = new_site(api, owner)
    (invoice,) = invoices(api, owner, site["id"])
    dollars = api.invoice(owner, 10000, "USD")
    payment = _parked(api, "evt-r", 10000)
    posted = {name: value.format(invoice=invoice["id"], dollars=dollars["id"]) for name, value in fields.items()}

    refused = _act(api, console, f"/console/payments/{payment}/apply", posted)
    html = refused.body.decode()
    assert refused.status_code == status and says in html and 'role="alert"' in html
    assert 'name="reason"' in html  # the form again, to put it right
    assert PaymentModel.get(payment).status == "unmatched" and list(AuditLogModel.scan(
        AuditLogModel.action.is_in("apply_payment", "return_payment"))) == []
    assert invoices(api, owner, site["id"])[0]["amount_paid"] == 0 and uah_available(System.REVENUE.value) == 0
    assert_books_balance()


def test_a_payment_resolved_meanwhile_refuses_the_second_act_with_409(api, console, owner):
    at(2027, 3, 17)
    site = new_site(api, owner)
    (invoice,) = invoices(api, owner, site["id"])
    payment = _parked(api, "evt-twice", invoice["amount"])
    form = _page(api, f"/console/payments/{payment}?lang=ru", console)
    assert _act(api, console, f"/console/payments/{payment}/return", {"reason": "wrong payer"},
                csrf=_csrf(form)).status_code == 303
    again = _act(api, console, f"/console/payments/{payment}/apply?lang=ru",
                 {"invoice_id": invoice["id"], "reason": "it was ours"}, csrf=_csrf(form))
    assert again.status_code == 409 and 'lang="ru"' in again.body.decode()
    twice = _act(api, console, f"/console/payments/{payment}/return", {"reason": "wrong payer"})
    assert twice.status_code == 409
    assert invoices(api, owner, site["id"])[0]["status"] == "open" and len(_audit_records("return_payment")) == 1
    assert_books_balance()


def test_payment_acts_without_their_csrf_token_from_another_origin_or_an_ended_session_are_refused(
        api, console, owner):
    at(2027, 3, 17)
    site = new_site(api, owner)
    (invoice,) = invoices(api, owner, site["id"])
    payment = _parked(api, "evt-csrf", invoice["amount"])
    apply, give_back = f"/console/payments/{payment}/apply", f"/console/payments/{payment}/return"
    fields = {"invoice_id": invoice["id"], "reason": "ours"}

    assert _post(api, apply, console, fields).status_code == 400  # no token at all
    assert _act(api, console, apply, fields, csrf="foreign-token").status_code == 403
    assert _act(api, console, give_back, {"reason": "theirs"}, csrf="foreign-token").status_code == 403
    token = _csrf(_page(api, "/console/payments", console))
    assert _post(api, apply, console, {"csrf": token, **fields}, origin="https://evil.example").status_code == 403
    ended = _post(api, apply, "escrowdesk_console=forged.k.mac", {"csrf": token, **fields})
    assert ended.status_code == 401 and "/console/login" in ended.body.decode()
    assert _post(api, "/console/logout", console, {"csrf": token}).status_code == 303
    assert _post(api, apply, console, {"csrf": token, **fields}).status_code == 401  # logged out
    assert PaymentModel.get(payment).status == "unmatched" and invoices(api, owner, site["id"])[0]["status"] == "open"
    assert _audit_records("apply_payment") == [] and _audit_records("return_payment") == []
    assert_books_balance()


# --- payouts --------------------------------------------------------------------------------------------------------

def _funded(api, email: str) -> str:
    token = api.signup(email, name="Payee")
    invoice = api.invoice(token, 50000, "USD")
    api.webhook(transfer_event(f"evt-fund-{email}", 50000, "USD", invoice["payment_details"]))
    return token


def _payout(api, token: str, amount: int = 20000) -> dict:
    response = api.post("/v1/payouts", {"amount": amount, "currency": "USD",
                                        "destination": {"type": "card", "number": CARD}}, token=token)
    assert response.status_code == 201, response.body
    return response.json_body


def test_failed_and_stuck_payouts_are_listed_with_their_contractor_state_and_last_error(api, operator_token):
    payee, patient = _funded(api, "payee@example.com"), _funded(api, "patient@example.com")
    failed = _payout(api, payee, 12300)
    answer = json.dumps({"event_id": "evt-no", "type": "payout.failed", "payout_id": failed["id"],
                         "reason": "account closed"}).encode()
    assert api.webhook(answer).status_code == 200
    stuck = _payout(api, payee, 20000)
    paid = _payout(api, patient, 10000)
    assert api.webhook(json.dumps({"event_id": "evt-ok", "type": "payout.paid", "payout_id": paid["id"],
                                   "reason": ""}).encode()).status_code == 200
    clock.advance(49 * 3600)  # longer than PAYOUT_STUCK_AFTER_HOURS (48)
    recent = _payout(api, patient, 10000)
    session, _ = _enrol(api)

    with _no_scan(PayoutModel):
        html = _page(api, "/console/payouts?lang=en", session)
    rows = re.findall(r"<tr>\n(.*?)</tr>", html, re.S)
    assert len(rows) == 2 and failed["id"] in rows[0] and stuck["id"] in rows[1]
    assert "payee@example.com" in rows[0] and "account closed" in rows[0] and "Failed" in rows[0]
    assert "Stuck at the bank" in rows[1] and "$200.00" in rows[1]
    assert paid["id"] not in html and recent["id"] not in html
    assert "read-only" in html and "<form method=\"post\" action" not in html.split("</header>")[1]
    assert 'dir="rtl"' in _page(api, "/console/payouts?lang=fa", session)
    assert_books_balance()


# --- books ----------------------------------------------------------------------------------------------------------

def test_the_books_page_shows_the_trial_balance_and_runs_the_audit_on_demand_as_an_operators_act(api, console):
    client = api.signup("client@example.com")
    invoice = api.invoice(client, 150000, "USD")
    api.webhook(transfer_event("evt-1", 150000, "USD", invoice["payment_details"]))
    _parked(api, "evt-2", 31000)

    html = _page(api, "/console/books?lang=en", console)
    assert "The books balance" in html and "USD" in html and "UAH" in html and "suspense" in html
    ran = _post(api, "/console/books/audit", console, {"csrf": _csrf(html)})
    assert ran.status_code == 303 and "/console/books?lang=en&run=aud_" in ran.headers["Location"]
    result = _page(api, _path(ran.headers["Location"]), console)
    assert "The audit found the books balanced." in result
    [record] = _audit_records("audit_books")
    assert record.subject == "books#audit" and record.after == {"balanced": True, "discrepancies": 0, "lines": []}
    audit = _page(api, "/console/audit?lang=en&object=books%23audit", console)
    assert "audit_books" in audit and "ops@escrowdesk.local" in audit
    assert 'dir="rtl"' in _page(api, "/console/books?lang=fa", console)
    assert_books_balance()


def test_the_books_audit_lists_each_discrepancy_it_finds(api, console):
    client = api.signup("client@example.com")
    invoice = api.invoice(client, 150000, "USD")
    api.webhook(transfer_event("evt-1", 150000, "USD", invoice["payment_details"]))
    [account] = [a for a in AccountModel.scan() if not a.owner_id.startswith("sys:") and a.currency == "USD"]
    account.update(actions=[AccountModel.available.add(7)])  # a balance changed outside the ledger

    html = _page(api, "/console/books?lang=en", console)
    assert "The books do not balance!" in html
    ran = _post(api, "/console/books/audit", console, {"csrf": _csrf(html)})
    result = _page(api, _path(ran.headers["Location"]), console)
    assert "The audit found 2 discrepancies:" in result and "USD sums to 7, not 0" in result
    [record] = _audit_records("audit_books")
    assert record.after["balanced"] is False and record.after["discrepancies"] == 2

    account.update(actions=[AccountModel.available.add(-7)])
    assert_books_balance()


def test_the_books_audit_refuses_a_form_without_its_token_and_records_nothing(api, console):
    assert _post(api, "/console/books/audit", console, {}).status_code == 400
    assert _post(api, "/console/books/audit", console, {"csrf": "foreign"}).status_code == 403
    assert _post(api, "/console/books/audit", "escrowdesk_console=x.y.z", {"csrf": "x"}).status_code == 401
    assert _audit_records("audit_books") == []


@pytest.mark.parametrize("reason", ["", "  ", "no"])
def test_a_return_without_a_reason_shows_the_page_again_in_the_readers_language_and_changes_nothing(
        api, console, reason):
    payment = _parked(api, "evt-keep", 31000)
    refused = _act(api, console, f"/console/payments/{payment}/return?lang=uk", {"reason": reason})
    html = refused.body.decode()
    assert refused.status_code == 422 and 'lang="uk"' in html and 'role="alert"' in html
    assert "Вкажіть причину" in html and 'id="return_reason"' in html
    assert PaymentModel.get(payment).status == "unmatched" and _audit_records("return_payment") == []
    assert uah_available(System.SUSPENSE.value) == 31000
    assert_books_balance()

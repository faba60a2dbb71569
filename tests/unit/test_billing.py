"""Subscription billing of sites (seed 003), on moto: every rule through the API, the books
audited after every step that moves money. The clock is moved to set moments of Kyiv time (billing
months are calendar months in BILLING_TIMEZONE)."""
from __future__ import annotations

import hashlib
import io

import pytest
from pypdf import PdfReader

from chalicelib.adapters.domains import LocalVerifier
from chalicelib.money import ledger, tariffs
from chalicelib.money.ledger import System
from chalicelib.platform import clock
from chalicelib.services import timers
from chalicelib.store.models import DealModel, KeyModel, NotificationModel, SiteModel, UsageModel
from tests.billing_support import (
    BUSINESS,
    EDRPOU,
    IBAN,
    OWNER,
    add_tariffs,
    at,
    invoices,
    key_for,
    new_site,
    report,
)
from tests.support import assert_books_balance, declare_upload, run_jobs, transfer_event, upload

PDF = {"Accept": "application/pdf"}


@pytest.fixture
def owner(api, operator_token):
    add_tariffs(api, operator_token)
    return api.signup("owner@example.ua", locale="uk", name="Olena")


def _kinds(api, token: str) -> list[str]:
    return [n["kind"] for n in api.get("/v1/notifications?limit=100", token=token).json_body["items"]]


def _revenue_uah() -> int:
    return sum(int(a.available) for a in ledger.owned_items(System.REVENUE.value) if a.currency == "UAH")


def _pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


# --- sites and the first invoice -----------------------------------------------------------------------------------

def test_a_new_site_gets_a_service_code_and_its_first_invoice_for_the_rest_of_the_month_at_once(api, owner):
    at(2027, 3, 17)
    site = new_site(api, owner)

    assert site["service_code"] == "10001" and site["status"] == "active"
    assert site["tariff"] == {"code": "start", "name": "Start", "price": {"amount": 31000, "currency": "UAH"}}
    assert site["counters"] == {"products": {"value": 0, "limit": 100}, "orders": {"value": 0, "limit": 50},
                                "refreshed_at": None}
    assert site["vchasno"] == {"status": "not_activated"} and site["payment_method"] is None
    assert site["additional_features"] == [{"tariff": "business", "name": "Business",
                                            "features": ["promo_codes", "api_access"]}]
    (first,) = invoices(api, owner, site["id"])
    # 17..31 March: 15 of 31 days of 310.00 UAH
    assert first["number"] == "HOR-10001-001" and first["period"] == "2027-03" and first["amount"] == 15000
    assert first["status"] == "open" and first["currency"] == "UAH" and first["paid_by"] is None
    assert first["due_at"] == "2027-03-22T21:59:59Z"  # five days later, the end of that day in Kyiv
    assert {"site_created", "service_invoice_issued"} <= set(_kinds(api, owner))
    assert new_site(api, owner, domains=("second.example.ua",))["service_code"] == "10002"


def test_bad_site_input_is_a_422_naming_the_field_and_creates_nothing(api, owner):
    for body, field in [
        ({"domains": ["not a host"]}, "domains"),
        ({"domains": ["a.example.ua", "A.example.ua"]}, "domains"),
        ({"owner": {**OWNER, "phone": "0501234567"}}, "owner.phone"),
        ({"owner": {**OWNER, "phone": "+38050"}}, "owner.phone"),
        ({"tariff": "nope"}, "tariff"),
    ]:
        request = {"name": "S", "domains": ["shop.example.ua"], "owner": OWNER, "tariff": "start", **body}
        response = api.post("/v1/sites", request, token=owner)
        assert response.status_code == 422, (body, response.body)
        assert response.json_body["error"]["field"] == field
    assert api.get("/v1/sites", token=owner).json_body["items"] == []
    assert list(DealModel.scan()) == [] or all(d.process != "subscription" for d in DealModel.scan())


def test_domains_are_unique_across_sites_idn_included_and_the_owner_adds_and_removes_them(api, owner, operator_token):
    site = new_site(api, owner, domains=("магазин.укр",))
    assert site["domains"] == ["магазин.укр"]
    LocalVerifier().publish("xn--80aairftm.xn--j1amh")  # the owner proves it (docs/security-platform.md)
    assert api.post(f"/v1/sites/{site['id']}/domains/магазин.укр/verify", token=owner).status_code == 200
    other = api.signup("other@example.ua")
    taken = api.post("/v1/sites", {"name": "X", "domains": ["XN--80AAIRFTM.xn--j1amh"], "owner": OWNER,
                                   "tariff": "start"}, token=other)
    assert taken.status_code == 409 and taken.json_body["error"]["code"] == "domain_taken"
    added = api.post(f"/v1/sites/{site['id']}/domains", {"domain": "www.example.ua"}, token=owner)
    assert added.status_code == 201 and added.json_body["domains"] == ["магазин.укр", "www.example.ua"]
    assert api.post(f"/v1/sites/{site['id']}/domains", {"domain": "www.example.ua"},
                    token=operator_token).status_code == 403
    removed = api.request("DELETE", f"/v1/sites/{site['id']}/domains/магазин.укр", token=owner)
    assert removed.status_code == 200 and removed.json_body["domains"] == ["www.example.ua"]
    assert new_site(api, other, domains=("магазин.укр",))["domains"] == ["магазин.укр"]


def test_strangers_see_nothing_and_operators_read_but_do_not_act(api, owner, operator_token):
    site = new_site(api, owner)
    stranger = api.signup("stranger@example.ua")
    assert api.get(f"/v1/sites/{site['id']}", token=stranger).status_code == 404
    assert api.get(f"/v1/sites/{site['id']}/invoices", token=stranger).status_code == 404
    assert api.get(f"/v1/sites/{site['id']}", token=operator_token).status_code == 200
    refused = api.post(f"/v1/sites/{site['id']}/tariff", {"code": "business"}, token=operator_token)
    assert refused.status_code == 403
    assert api.get("/v1/sites", token=stranger).json_body["items"] == []


# --- monthly invoices through the timer index ---------------------------------------------------------------------

def test_on_the_1st_the_job_issues_each_sites_month_once_however_often_it_runs(api, owner):
    at(2027, 3, 17)
    site = new_site(api, owner)
    (march,) = invoices(api, owner, site["id"])
    api.webhook(transfer_event("evt-march", march["amount"], "UAH", march["number"]))  # no dunning timers
    at(2027, 3, 31, 23, 59)
    assert timers.fire_due(clock.now())["fired"] == 0
    at(2027, 4, 1, 0, 0, 30)
    assert timers.fire_due(clock.now())["fired"] == 1
    assert timers.fire_due(clock.now())["fired"] == 0
    april = invoices(api, owner, site["id"])[0]
    assert (april["number"], april["period"], april["amount"], april["kind"]) == ("HOR-10001-002", "2027-04", 31000,
                                                                                  "month")
    assert len(invoices(api, owner, site["id"])) == 2


def test_a_request_touching_the_site_issues_a_due_month_as_the_job_would(api, owner):
    at(2027, 3, 17)
    site = new_site(api, owner)
    at(2027, 6, 2)  # the job never ran: April, May and June fall due together
    shown = api.get(f"/v1/sites/{site['id']}", token=owner).json_body
    assert shown["next_invoice_at"] == "2027-06-30T21:00:00Z"
    assert [i["number"] for i in invoices(api, owner, site["id"])] == [
        "HOR-10001-004", "HOR-10001-003", "HOR-10001-002", "HOR-10001-001"]
    assert timers.fire_due(clock.now())["fired"] == 0


def test_a_late_move_after_the_1st_comes_after_the_months_invoice_as_if_the_job_had_run(api, owner):
    at(2027, 3, 17)
    upgraded, leaving = new_site(api, owner), new_site(api, owner, domains=("second.example.ua",))
    at(2027, 4, 1, 0, 30)  # the job has not run yet
    assert api.post(f"/v1/sites/{upgraded['id']}/tariff", {"code": "business"}, token=owner).status_code == 200
    april, upgrade = sorted(invoices(api, owner, upgraded["id"])[:2], key=lambda i: i["number"])
    assert (april["kind"], april["amount"], upgrade["kind"], upgrade["amount"]) == ("month", 31000, "upgrade", 31000)
    asked = api.post(f"/v1/sites/{leaving['id']}/deletion-request", {"reasons": ["other"]}, token=owner)
    assert asked.status_code == 200
    assert [i["period"] for i in invoices(api, owner, leaving["id"])] == ["2027-04", "2027-03"]
    history = [step["transition"] for step in DealModel.get(leaving["id"]).history]
    assert history[-2:] == ["issue_invoice", "request_deletion"]
    assert timers.fire_due(clock.now())["fired"] == 0


def test_a_price_change_applies_from_the_next_month(api, owner, operator_token):
    at(2027, 3, 17)
    site = new_site(api, owner)
    patched = api.request("PATCH", "/v1/operator/tariffs/start", {"price": {"amount": 40000, "currency": "UAH"}},
                          token=operator_token)
    assert patched.status_code == 200, patched.body
    assert patched.json_body["price"]["amount"] == 31000
    assert patched.json_body["price_changes"] == [{"from": "2027-04", "price": {"amount": 40000, "currency": "UAH"}}]
    tariffs.forget()
    at(2027, 4, 1, 1)
    assert invoices(api, owner, site["id"])[0]["amount"] == 40000
    assert api.get("/v1/tariffs", token=owner).json_body["items"][0]["price"]["amount"] == 40000


# --- bank transfers -------------------------------------------------------------------------------------------------

def test_a_bank_transfer_quoting_the_number_with_the_exact_amount_pays_the_invoice_into_revenue(api, owner):
    at(2027, 3, 17)
    site = new_site(api, owner)
    (invoice,) = invoices(api, owner, site["id"])
    purpose = f"Оплата за рахунком № {invoice['number']}, без ПДВ"
    answer = api.webhook(transfer_event("evt-sin-1", invoice["amount"], "UAH", purpose))
    assert answer.status_code == 200 and answer.json_body["payment"]["status"] == "credited"

    paid = api.get(f"/v1/sites/{site['id']}/invoices/{invoice['id']}", token=owner).json_body
    assert paid["status"] == "paid" and paid["paid_by"] == "bank_transfer" and paid["paid_at"]
    assert _revenue_uah() == invoice["amount"]
    assert "service_invoice_paid" in _kinds(api, owner)
    again = api.webhook(transfer_event("evt-sin-1", invoice["amount"], "UAH", purpose))
    assert again.json_body["duplicate"] is True and _revenue_uah() == invoice["amount"]
    second = api.webhook(transfer_event("evt-sin-2", invoice["amount"], "UAH", purpose))
    assert second.json_body["payment"]["reason"] == "invoice_already_paid"
    assert_books_balance()


@pytest.mark.parametrize(("amount", "currency", "purpose", "reason"), [
    (14999, "UAH", "{number}", "amount_mismatch"),
    (15000, "USD", "{number}", "currency_mismatch"),
    (15000, "UAH", "HOR-10001-099", "unknown_invoice"),
    (15000, "UAH", "for {number} and PI-2027-000001", "several_invoice_numbers"),
    (15000, "UAH", "services of March", "no_invoice_number"),
])
def test_anything_but_an_exact_match_is_parked_for_operators(api, owner, operator_token, amount, currency, purpose,
                                                             reason):
    at(2027, 3, 17)
    site = new_site(api, owner)
    (invoice,) = invoices(api, owner, site["id"])
    answer = api.webhook(transfer_event("evt-x", amount, currency, purpose.format(number=invoice["number"])))
    assert answer.status_code == 200
    assert answer.json_body["payment"]["status"] == "unmatched" and answer.json_body["payment"]["reason"] == reason
    assert invoices(api, owner, site["id"])[0]["status"] == "open" and _revenue_uah() == 0
    queue = api.get("/v1/operator/payments/unmatched", token=operator_token).json_body["items"]
    assert [p["reason"] for p in queue] == [reason]
    assert_books_balance()


def test_an_operator_applies_a_parked_transfer_to_a_service_invoice_or_returns_it(api, owner, operator_token):
    at(2027, 3, 17)
    site = new_site(api, owner)
    (invoice,) = invoices(api, owner, site["id"])
    parked = api.webhook(transfer_event("evt-p", invoice["amount"], "UAH", "site fee")).json_body["payment"]["id"]
    wrong = api.webhook(transfer_event("evt-q", 1, "UAH", "site fee")).json_body["payment"]["id"]
    short = api.post(f"/v1/operator/payments/{wrong}/apply", {"invoice_id": invoice["id"]}, token=operator_token)
    assert short.status_code == 422 and short.json_body["error"]["code"] == "amount_mismatch"
    applied = api.post(f"/v1/operator/payments/{parked}/apply", {"invoice_id": invoice["id"]}, token=operator_token)
    assert applied.status_code == 200, applied.body
    assert invoices(api, owner, site["id"])[0]["status"] == "paid" and _revenue_uah() == invoice["amount"]
    assert api.post(f"/v1/operator/payments/{wrong}/return", token=operator_token).status_code == 200
    assert_books_balance()


# --- tariff changes -------------------------------------------------------------------------------------------------

def test_an_upgrade_applies_at_once_with_a_prorated_invoice_for_the_difference(api, owner):
    at(2027, 3, 17)
    site = new_site(api, owner)
    at(2027, 3, 22)
    changed = api.post(f"/v1/sites/{site['id']}/tariff", {"code": "business"}, token=owner)
    assert changed.status_code == 200, changed.body
    assert changed.json_body["tariff"]["code"] == "business" and changed.json_body["next_tariff"] is None
    upgrade = invoices(api, owner, site["id"])[0]
    # 22..31 March: 10 of 31 days of the difference, 310.00 UAH
    assert (upgrade["number"], upgrade["kind"], upgrade["amount"]) == ("HOR-10001-002", "upgrade", 10000)
    at(2027, 4, 1, 1)
    assert invoices(api, owner, site["id"])[0]["amount"] == 62000


def test_a_downgrade_applies_from_the_next_month_and_is_refused_over_a_limit(api, owner):
    at(2027, 3, 17)
    site = new_site(api, owner, tariff="business")
    key = key_for(api, owner, site["id"])
    assert report(api, site["id"], key, event_id="p1", products=150).status_code == 200
    at(2027, 3, 18, 1)
    api.get(f"/v1/sites/{site['id']}", token=owner)  # the refresh falls due: the counters show 150 products
    refused = api.post(f"/v1/sites/{site['id']}/tariff", {"code": "start"}, token=owner)
    assert refused.status_code == 409 and refused.json_body["error"]["code"] == "over_limit"
    assert report(api, site["id"], key, event_id="p2", products=90).status_code == 200
    at(2027, 3, 19, 1)
    changed = api.post(f"/v1/sites/{site['id']}/tariff", {"code": "start"}, token=owner)
    assert changed.status_code == 200, changed.body
    body = changed.json_body
    assert body["tariff"]["code"] == "business" and body["next_tariff"] == {"code": "start", "name": "Start",
                                                                           "from": "2027-04"}
    assert len(invoices(api, owner, site["id"])) == 1
    same = api.post(f"/v1/sites/{site['id']}/tariff", {"code": "business"}, token=owner)
    assert same.status_code == 200 and same.json_body["next_tariff"] is None  # cancels the pending downgrade
    assert api.post(f"/v1/sites/{site['id']}/tariff", {"code": "start"}, token=owner).status_code == 200
    at(2027, 4, 1, 1)
    april = api.get(f"/v1/sites/{site['id']}", token=owner).json_body
    assert april["tariff"]["code"] == "start" and invoices(api, owner, site["id"])[0]["amount"] == 31000
    unchanged = api.post(f"/v1/sites/{site['id']}/tariff", {"code": "start"}, token=owner)
    assert unchanged.status_code == 409 and unchanged.json_body["error"]["code"] == "tariff_unchanged"


# --- usage and counters ---------------------------------------------------------------------------------------------

def test_usage_counts_each_event_once_and_the_counters_refresh_the_next_day(api, owner):
    at(2027, 3, 17)
    site = new_site(api, owner)
    key = key_for(api, owner, site["id"])
    for event, body in (("o1", {"orders": 3}), ("o1", {"orders": 3}), ("o2", {"orders": 2}), ("p1", {"products": 7}),
                        ("p2", {"products": 9})):
        answer = report(api, site["id"], key, event_id=event, **body)
        assert answer.status_code == 200, answer.body
    assert report(api, site["id"], key, event_id="o1", orders=3).json_body["duplicate"] is True
    shown = api.get(f"/v1/sites/{site['id']}", token=owner).json_body["counters"]
    assert shown["orders"]["value"] == 0 and shown["refreshed_at"] is None  # refreshed daily, not at once
    at(2027, 3, 18, 0, 10)
    assert timers.fire_due(clock.now())["fired"] == 1
    shown = api.get(f"/v1/sites/{site['id']}", token=owner).json_body["counters"]
    assert shown["orders"] == {"value": 5, "limit": 50} and shown["products"] == {"value": 9, "limit": 100}
    assert shown["refreshed_at"].startswith("2027-03-17T22:10")
    at(2027, 4, 1, 12)
    shown = api.get(f"/v1/sites/{site['id']}", token=owner).json_body["counters"]
    assert shown["orders"]["value"] == 0 and shown["products"]["value"] == 9  # orders count the month


def test_the_daily_refresh_reads_only_the_sites_that_reported(api, owner):
    at(2027, 3, 17)
    quiet, busy = new_site(api, owner), new_site(api, owner, domains=("busy.example.ua",))
    key = key_for(api, owner, busy["id"])
    report(api, busy["id"], key, event_id="o1", orders=1)
    at(2027, 3, 18, 0, 10)
    assert timers.fire_due(clock.now()) == {"due": 1, "fired": 1, "skipped": 0}
    assert DealModel.get(quiet["id"]).timer_transition == "remind_due"  # the day before its invoice's due date
    assert DealModel.get(quiet["id"]).timer_due_at == "2027-03-20T22:00:00Z"


def test_crossing_a_limit_tells_the_owner_once_a_month_per_counter(api, owner):
    at(2027, 3, 17)
    site = new_site(api, owner)
    key = key_for(api, owner, site["id"])
    for day, orders in ((17, 30), (18, 30), (19, 5), (20, 1)):
        at(2027, 3, day, 12)
        report(api, site["id"], key, event_id=f"o{day}", orders=orders)
        report(api, site["id"], key, event_id=f"p{day}", products=100)
    at(2027, 3, 21, 1)
    run_jobs(api)
    assert _kinds(api, owner).count("counter_limit_reached") == 2  # products on the 18th, orders on the 19th
    at(2027, 4, 2, 12)
    report(api, site["id"], key, event_id="p-apr", products=101)
    at(2027, 4, 3, 1)
    run_jobs(api)
    assert _kinds(api, owner).count("counter_limit_reached") == 3


def test_the_usage_route_takes_only_the_sites_key_kept_as_a_hash_and_a_new_key_replaces_the_old(api, owner):
    site = new_site(api, owner)
    other = new_site(api, owner, domains=("other.example.ua",))
    old = key_for(api, owner, site["id"])
    stored = SiteModel.get(site["id"])
    assert stored.key_hash == hashlib.sha256(old.encode()).hexdigest() and old not in str(stored.serialize())
    assert report(api, site["id"], old, event_id="e1", orders=1).status_code == 200
    assert report(api, other["id"], old, event_id="e1", orders=1).status_code == 401
    bearer = api.post(f"/v1/sites/{site['id']}/usage", {"event_id": "e2", "orders": 1}, token=owner)
    assert bearer.status_code == 401
    new = key_for(api, owner, site["id"])
    assert report(api, site["id"], old, event_id="e3", orders=1).status_code == 401
    assert report(api, site["id"], new, event_id="e3", orders=1).status_code == 200
    both = report(api, site["id"], new, event_id="e4", orders=1, products=2)
    assert both.status_code == 422


# --- requisites and Vchasno ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("body", "field"), [
    ({"tax_id": "32855962", "iban": IBAN}, "tax_id"),
    ({"tax_id": "1759013777", "iban": IBAN}, "tax_id"),
    ({"tax_id": "123", "iban": IBAN}, "tax_id"),
    ({"tax_id": EDRPOU, "iban": "UA213223130000026007233566002"}, "iban"),
    ({"tax_id": EDRPOU, "iban": "DE89370400440532013000"}, "iban"),
])
def test_requisites_failing_a_checksum_are_a_422_naming_the_field(api, owner, body, field):
    site = new_site(api, owner)
    response = api.request("PUT", f"/v1/sites/{site['id']}/requisites", body, token=owner)
    assert response.status_code == 422 and response.json_body["error"]["field"] == field
    assert api.get(f"/v1/sites/{site['id']}/requisites", token=owner).json_body["tax_id"] is None


def test_requisites_come_from_the_registry_and_are_locked_while_vchasno_is_active(api, owner, tmp_path, monkeypatch):
    from chalicelib.adapters.vchasno import LocalVchasno
    from chalicelib.platform import config

    monkeypatch.setenv("VCHASNO_LOCAL_FILE", str(tmp_path / "vchasno.json"))
    config.reload()
    site = new_site(api, owner)
    path = f"/v1/sites/{site['id']}"
    missing = api.post(f"{path}/vchasno/activate", token=owner)
    assert missing.status_code == 409 and missing.json_body["error"]["code"] == "requisites_missing"
    saved = api.request("PUT", f"{path}/requisites", {"tax_id": f" {EDRPOU} ", "iban": "ua21 3223 1300 0002 6007 "
                                                      "2335 6600 1"}, token=owner)
    assert saved.status_code == 200, saved.body
    assert saved.json_body["iban"] == IBAN and saved.json_body["kind"] == "company"
    assert saved.json_body["company_name"] and saved.json_body["address"] and saved.json_body["director"]
    unknown = api.post(f"{path}/vchasno/activate", token=owner)
    assert unknown.status_code == 422 and unknown.json_body["error"]["code"] == "vchasno_account_not_found"
    assert "Register" in unknown.json_body["error"]["message"]
    LocalVchasno().add(EDRPOU)
    assert api.post(f"{path}/vchasno/activate", token=owner).json_body == {"status": "activated"}
    assert api.get(path, token=owner).json_body["vchasno"] == {"status": "activated"}
    locked = api.request("PUT", f"{path}/requisites", {"tax_id": "1759013776", "iban": IBAN}, token=owner)
    assert locked.status_code == 409 and locked.json_body["error"]["code"] == "vchasno_active"
    assert api.post(f"{path}/vchasno/deactivate", token=owner).json_body == {"status": "not_activated"}
    sole = api.request("PUT", f"{path}/requisites", {"tax_id": "1759013776", "iban": IBAN}, token=owner)
    assert sole.status_code == 200 and sole.json_body["kind"] == "sole_proprietor"
    kinds = _kinds(api, owner)
    assert kinds.count("requisites_changed") == 2 and {"vchasno_activated", "vchasno_deactivated"} <= set(kinds)


# --- documents ------------------------------------------------------------------------------------------------------

def test_the_service_invoice_pdf_is_a_ukrainian_rahunok_with_both_parties_and_without_vat(api, owner):
    at(2027, 3, 17)
    site = new_site(api, owner)
    api.request("PUT", f"/v1/sites/{site['id']}/requisites", {"tax_id": EDRPOU, "iban": IBAN}, token=owner)
    (invoice,) = invoices(api, owner, site["id"])
    response = api.get(f"/v1/sites/{site['id']}/invoices/{invoice['id']}/pdf", token=owner, headers=PDF)
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/pdf"
    text = _pdf_text(response.body)
    assert "Рахунок на оплату № HOR-10001-001" in text and "Без ПДВ" in text
    assert EDRPOU in text and IBAN in text and "32855961" in text and "Постачальник" in text
    assert "150,00" in text and "сто п" in text.lower()  # сто п'ятдесят гривень


def test_the_public_offer_is_rendered_in_the_owners_language_and_personal_contracts_are_listed(api, owner,
                                                                                               operator_token):
    site = new_site(api, owner)
    path = f"/v1/sites/{site['id']}"
    offer = api.get(f"{path}/offer", token=owner, headers=PDF)
    assert offer.status_code == 200 and "Публічна оферта" in _pdf_text(offer.body)
    contracts = f"/v1/operator{path[3:]}/contracts"
    not_pdf = api.post(contracts, {"file_id": upload(api, operator_token, "c.pdf", b"hello", "application/pdf")},
                       token=operator_token)
    assert not_pdf.status_code == 422 and not_pdf.json_body["error"]["code"] == "not_a_pdf"
    text = api.post(contracts, {"file_id": upload(api, operator_token, "c.txt", b"%PDF-1.4 text")},
                    token=operator_token)
    assert text.status_code == 422 and text.json_body["error"]["code"] == "not_a_pdf"
    pdf = upload(api, operator_token, "contract.pdf", b"%PDF-1.4 signed contract", "application/pdf")
    assert api.post(contracts, {"file_id": pdf}, token=owner).status_code == 403
    uploaded = api.post(contracts, {"file_id": pdf}, token=operator_token)
    assert uploaded.status_code == 201, uploaded.body
    assert uploaded.json_body["filename"] == "contract.pdf"
    listed = api.get(f"{path}/contracts", token=owner).json_body["items"]
    assert [c["kind"] for c in listed] == ["public_offer", "personal"]
    link = api.get(f"{path}/contracts/{uploaded.json_body['id']}", token=owner).json_body["url"]
    assert api.get(link, headers=PDF).body == b"%PDF-1.4 signed contract"
    again = api.post(contracts, {"file_id": pdf}, token=operator_token)
    assert again.status_code == 409 and again.json_body["error"]["code"] == "upload_claimed"
    assert_books_balance()


def test_a_personal_contract_is_the_operators_own_upload_no_larger_than_declared_or_allowed(api, owner,
                                                                                            operator_token,
                                                                                            monkeypatch):
    from chalicelib.adapters.files import get_files
    from chalicelib.platform import config
    from chalicelib.store.models import UploadModel

    site = new_site(api, owner)
    contracts = f"/v1/operator/sites/{site['id']}/contracts"
    owners = upload(api, owner, "mine.pdf", b"%PDF-1.4 the owner's", "application/pdf")
    someone_elses = api.post(contracts, {"file_id": owners}, token=operator_token)
    assert someone_elses.status_code == 403 and someone_elses.json_body["error"]["code"] == "not_your_upload"
    declared = declare_upload(api, operator_token, "contract.pdf", 8, "application/pdf").json_body
    get_files().put(declared["upload"]["fields"]["key"], b"%PDF-1.4 more than eight bytes", "application/pdf")
    bigger = api.post(contracts, {"file_id": declared["id"]}, token=operator_token)
    assert bigger.status_code == 422 and bigger.json_body["error"]["code"] == "upload_too_large"
    monkeypatch.setenv("CONTRACT_MAX_BYTES", "10")
    config.reload()
    too_large = api.post(contracts, {"file_id": upload(api, operator_token, "long.pdf", b"%PDF-1.4 eleven+",
                                                        "application/pdf")}, token=operator_token)
    assert too_large.status_code == 422 and too_large.json_body["error"]["code"] == "file_too_large"
    assert {UploadModel.get(file_id).status for file_id in (owners, declared["id"])} == {"pending"}
    assert [c["kind"] for c in api.get(f"/v1/sites/{site['id']}/contracts", token=owner).json_body["items"]] == [
        "public_offer"]
    assert_books_balance()


# --- deletion and the owner ----------------------------------------------------------------------------------------

def test_a_deletion_request_stops_invoices_until_withdrawn_and_a_new_month_is_then_billed_by_days(api, owner,
                                                                                                 operator_token):
    at(2027, 3, 17)
    site = new_site(api, owner)
    path = f"/v1/sites/{site['id']}"
    bad = api.post(f"{path}/deletion-request", {"reasons": ["bored"]}, token=owner)
    assert bad.status_code == 422
    asked = api.post(f"{path}/deletion-request", {"reasons": ["too_expensive", "other"], "comment": "Закриваємось"},
                     token=owner)
    assert asked.status_code == 200 and asked.json_body["status"] == "deletion_requested"
    assert [n.kind for n in NotificationModel.query("role:operator")] == ["deletion_requested"]
    at(2027, 4, 1, 1)
    run_jobs(api)
    assert len(invoices(api, owner, site["id"])) == 1
    at(2027, 4, 21)
    back = api.post(f"{path}/deletion-request/withdraw", token=owner)
    assert back.status_code == 200 and back.json_body["status"] == "active"
    resumed = invoices(api, owner, site["id"])[0]
    assert (resumed["kind"], resumed["period"], resumed["amount"]) == ("resumed", "2027-04", 10333)  # 10 of 30 days


def test_completing_a_deletion_keeps_invoices_and_ledger_open_ones_owed_and_frees_key_and_domains(
        api, owner, operator_token):
    at(2027, 3, 17)
    site = new_site(api, owner)
    path = f"/v1/sites/{site['id']}"
    key = key_for(api, owner, site["id"])
    assert api.post(f"/v1/operator{path[3:]}/delete", token=operator_token).status_code == 409  # not requested
    api.post(f"{path}/deletion-request", {"reasons": ["closing_business"]}, token=owner)
    assert api.post(f"/v1/operator{path[3:]}/delete", token=owner).status_code == 403
    done = api.post(f"/v1/operator{path[3:]}/delete", token=operator_token)
    assert done.status_code == 200 and done.json_body["status"] == "deleted" and done.json_body["domains"] == []
    (invoice,) = invoices(api, owner, site["id"])
    assert invoice["status"] == "open"  # still owed: only an operator writes it off, with a reason
    assert report(api, site["id"], key, event_id="late", orders=1).status_code == 401
    assert new_site(api, api.signup("next@example.ua"), domains=("shop.example.ua",))
    late = api.webhook(transfer_event("evt-late", invoice["amount"], "UAH", invoice["number"]))
    assert late.json_body["payment"]["status"] == "credited" and _revenue_uah() == invoice["amount"]
    assert "deletion_completed" in _kinds(api, owner)
    assert api.post(f"{path}/deletion-request/withdraw", token=owner).status_code == 409
    assert_books_balance()


def test_only_an_operator_changes_the_owner_contact_and_the_owner(api, owner, operator_token):
    site = new_site(api, owner)
    path = f"/v1/sites/{site['id']}/owner"
    contact = {"name": "Taras", "email": "taras@example.ua", "phone": "+380671112233"}
    assert api.post(f"/v1/operator{path[3:]}", {"owner": contact}, token=owner).status_code == 403
    heir = api.signup("heir@example.ua")
    heir_id = api.get("/v1/me", token=heir).json_body["id"]
    moved = api.post(f"/v1/operator{path[3:]}", {"owner": contact, "user_id": heir_id}, token=operator_token)
    assert moved.status_code == 200, moved.body
    assert moved.json_body["owner"] == contact and moved.json_body["owner_id"] == heir_id
    assert api.get(f"/v1/sites/{site['id']}", token=owner).status_code == 404
    assert [s["id"] for s in api.get("/v1/sites", token=heir).json_body["items"]] == [site["id"]]
    assert "owner_changed" in _kinds(api, owner) and "owner_changed" in _kinds(api, heir)


def test_the_tariff_catalog_is_managed_by_operators_only(api, owner, operator_token):
    listed = api.get("/v1/tariffs", token=owner).json_body["items"]
    assert [t["code"] for t in listed] == ["start", "business"]
    assert listed[1]["limits"] == BUSINESS["limits"] and listed[1]["active"] is True
    assert api.post("/v1/operator/tariffs", {**BUSINESS, "code": "x"}, token=owner).status_code == 403
    again = api.post("/v1/operator/tariffs", BUSINESS, token=operator_token)
    assert again.status_code == 409 and again.json_body["error"]["code"] == "tariff_exists"
    dollars = api.post("/v1/operator/tariffs", {**BUSINESS, "code": "usd", "price": {"amount": 1, "currency": "USD"}},
                       token=operator_token)
    assert dollars.status_code == 422
    hidden = api.request("PATCH", "/v1/operator/tariffs/business", {"active": False}, token=operator_token)
    assert hidden.json_body["active"] is False
    refused = api.post("/v1/sites", {"name": "S", "domains": ["a.example.ua"], "owner": OWNER, "tariff": "business"},
                       token=owner)
    assert refused.status_code == 422 and refused.json_body["error"]["code"] == "tariff_inactive"


def test_claims_and_usage_items_are_what_the_tables_hold(api, owner):
    site = new_site(api, owner)
    key = key_for(api, owner, site["id"])
    report(api, site["id"], key, event_id="o1", orders=2)
    assert KeyModel.get("domain-claims#shop.example.ua").members == [site["id"]]
    LocalVerifier().publish("shop.example.ua")
    assert api.post(f"/v1/sites/{site['id']}/domains/shop.example.ua/verify", token=owner).status_code == 200
    assert KeyModel.get("domain#shop.example.ua").target_id == site["id"]
    assert KeyModel.get("invoice#HOR-10001-001").target_id.startswith("sin_")
    items = {item.sk for item in UsageModel.query(site["id"])}
    assert "event#o1" in items and any(sk.startswith("day#") for sk in items)

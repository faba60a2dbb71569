"""The console's sites and tariffs (chalicelib/entrypoints/web/console_sites.py), through the app on moto: an operator
finds a site by its service code, a domain, its owner's e-mail or its tax id; its page shows what his acts need; every
act goes through the use case of its /v1/operator/... route and is in the audit log with who, before → after and
why; a refused act shows the page again with what is wrong and changes nothing; money acts leave the books balanced.
Tariffs are listed with their current and scheduled prices and edited, a new price from the next billing month.
The same pages run in a real browser in tests/e2e/test_console_sites_in_browser.py."""
from __future__ import annotations

import re
import urllib.parse
from datetime import timedelta
from unittest import mock

import pytest

from chalicelib.platform import clock
from chalicelib.services import sites
from chalicelib.store.models import AuditLogModel, DealModel, NotificationModel, SiteModel, TariffModel
from tests.billing_support import EDRPOU, IBAN, add_tariffs, at, invoices, new_site
from tests.support import assert_books_balance, transfer_event
from tests.unit.test_console import _csrf, _enrol

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def owner(api, operator_token):
    add_tariffs(api, operator_token)
    return api.signup("owner@example.ua", locale="uk", name="Olena")


@pytest.fixture
def session(api, operator_token) -> str:
    """The operator's console session cookie (he enrolled TOTP at his first log-in)."""
    return _enrol(api)[0]


def _page(api, session: str, path: str, status: int = 200) -> str:
    response = api.get(path, headers={"Cookie": session})
    assert response.status_code == status, response.body[:2000]
    return response.body.decode()


def _act(api, session: str, path: str, fields: dict, *, csrf: str | None = None, page: str | None = None):
    """POST a console form; its CSRF token is read off `page` (the site's page) unless given."""
    if csrf is None:
        csrf = _csrf(_page(api, session, page or path.rsplit("/", 1)[0]))
    body = urllib.parse.urlencode({"csrf": csrf, **fields}).encode()
    return api.request("POST", path, raw=body, headers={**FORM, "Cookie": session})


def _user_id(api, token: str) -> str:
    return api.get("/v1/me", token=token).json_body["id"]


def _audit(site_id: str) -> list[AuditLogModel]:
    return list(AuditLogModel.query(f"site#{site_id}"))


def _state(site_id: str) -> tuple:
    """Everything an act on the site could change: its deal, its item, its audit trail."""
    deal, site = DealModel.get(site_id), SiteModel.get(site_id)
    return (deal.status, deal.client_id, deal.version, dict(deal.data or {}), site.contact, site.deletion,
            len(_audit(site_id)))


def _site_with_requisites(api, owner) -> dict:
    at(2027, 3, 17)
    site = new_site(api, owner)
    response = api.request("PUT", f"/v1/sites/{site['id']}/requisites", {"tax_id": EDRPOU, "iban": IBAN},
                           token=owner)
    assert response.status_code == 200, response.body
    return site


# --- finding a site ----------------------------------------------------------------------------------------------

def test_an_operator_finds_a_site_by_its_service_code_domain_owner_email_or_tax_id(api, owner, session):
    site = _site_with_requisites(api, owner)
    other = new_site(api, api.signup("someone@example.ua"), domains=("other.example.ua",), name="Other")
    link = f"/console/sites/{site['id']}"
    never_scanned = mock.patch.object(SiteModel, "scan", side_effect=AssertionError("the sites read by a scan"))
    with never_scanned:
        for query, how in ((site["service_code"], "code_or_tax_id"), ("SHOP.example.ua", "domain"),
                           ("owner@example.ua", "email"), (EDRPOU, "code_or_tax_id"), (site["id"], "site_id")):
            html = _page(api, session, f"/console/sites?q={urllib.parse.quote(query)}")
            assert link in html and f"/console/sites/{other['id']}" not in html, query
            assert sites.search(_operator(), query)["how"] == how
        contact = _page(api, session, "/console/sites?q=OLENA%40example.ua")  # the owner contact's, in any case
    assert link in contact and f"/console/sites/{other['id']}" in contact  # both sites have that contact
    nothing = _page(api, session, "/console/sites?q=nobody.example.ua")
    assert link not in nothing and "No site matches." in nothing
    assert "Deletion requests waiting" in _page(api, session, "/console/sites")
    assert "Нет сайта" in _page(api, session, "/console/sites?lang=ru&q=nobody.example.ua")
    _page(api, session, "/console/sites?q=%01", status=400)


def test_the_operators_api_finds_the_same_sites_with_q(api, owner, operator_token):
    site = _site_with_requisites(api, owner)
    for query in (EDRPOU, "shop.example.ua", "owner@example.ua"):
        found = api.get(f"/v1/operator/sites?q={urllib.parse.quote(query)}", token=operator_token)
        assert found.status_code == 200 and [item["id"] for item in found.json_body["items"]] == [site["id"]], query
    assert api.get(f"/v1/operator/sites?q={EDRPOU}", token=owner).status_code == 403
    assert api.get("/v1/operator/sites?q=nobody.example.ua", token=operator_token).json_body["items"] == []


def _operator():
    from chalicelib.access.auth import Principal
    from chalicelib.services import accounts

    user = accounts.find_by_email("ops@escrowdesk.local")
    return Principal(user.id, tuple(user.roles), user=user)


def test_without_a_session_the_sites_pages_ask_to_log_in(api, owner):
    site = new_site(api, owner)
    for path in ("/console/sites", f"/console/sites/{site['id']}", "/console/tariffs", "/console/tariffs/start"):
        response = api.get(path)
        assert response.status_code == 401 and "/console/login" in response.body.decode(), path


# --- the site's page ---------------------------------------------------------------------------------------------

def test_the_site_page_shows_the_owner_tariff_auto_pay_open_invoices_credit_and_the_owners_view(
        api, owner, session):
    site = _site_with_requisites(api, owner)
    (invoice,) = invoices(api, owner, site["id"])
    html = _page(api, session, f"/console/sites/{site['id']}")
    for fact in (site["service_code"], "shop.example.ua", "Олена Петренко", "olena@example.ua", "owner@example.ua",
                 "Start", invoice["number"], 'id="autopay-state"', 'id="credit"', 'class="owner-view"'):
        assert fact in html, fact
    assert "No operator has acted on this site yet." in html
    # the owner's billing section, every block as he sees it, without his forms or his downloads
    view = html[html.index('class="owner-view"'):]
    for block in ("identity", "requisites", "vchasno", "contracts", "tariff", "payment", "invoices", "acts",
                  "deletion"):
        assert f'id="block-{block}"' in view, block
    assert "32855961" in view and "<form" not in view and "/billing/" not in view
    fa = _page(api, session, f"/console/sites/{site['id']}?lang=fa")
    assert 'dir="rtl"' in fa and invoice["number"] in fa
    missing = api.get("/console/sites/site_nope", headers={"Cookie": session})
    assert missing.status_code == 404 and "No such site" in missing.body.decode()


# --- owner and tariff --------------------------------------------------------------------------------------------

def test_an_operator_changes_the_owner_to_an_account_by_its_e_mail_with_a_reason_and_the_audit_log_shows_it(
        api, owner, session):
    site = new_site(api, owner)
    heir = api.signup("heir@example.ua", name="Taras")
    done = _act(api, session, f"/console/sites/{site['id']}/owner",
                {"email": "heir@example.ua", "name": "", "phone": "+380671112233", "reason": "sold the shop"},
                page=f"/console/sites/{site['id']}")
    assert done.status_code == 303 and done.headers["Location"].endswith(f"/console/sites/{site['id']}?lang=en&done"
                                                                          "=owner")
    assert DealModel.get(site["id"]).client_id == _user_id(api, heir)
    assert SiteModel.get(site["id"]).contact == {"name": "Taras", "email": "heir@example.ua",
                                                 "phone": "+380671112233"}
    (record,) = _audit(site["id"])
    assert (record.action, record.reason) == ("change_owner", "sold the shop")
    assert (record.before["client_id"], record.after["client_id"]) == (_user_id(api, owner), _user_id(api, heir))
    page = _page(api, session, f"/console/sites/{site['id']}?lang=en&done=owner")
    assert "The owner is changed." in page and "sold the shop" in page and "ops@escrowdesk.local" in page
    audit = _page(api, session, f"/console/audit?object={site['id']}")
    assert "change_owner" in audit and "sold the shop" in audit


@pytest.mark.parametrize("fields, message", [
    ({"email": "nobody@example.ua", "phone": "+380671112233", "reason": "sold"}, "No account has this e-mail."),
    ({"email": "", "phone": "+380671112233", "reason": "sold the shop"}, "No account has this e-mail."),
    ({"email": "heir@example.ua", "phone": "+380671112233", "reason": ""}, "Write the reason"),
    ({"email": "heir@example.ua", "phone": "+380671112233", "reason": "  x "}, "Write the reason"),
    ({"email": "heir@example.ua", "phone": "12", "reason": "sold the shop"}, "international number"),
])
def test_a_refused_owner_change_shows_the_form_again_with_what_is_wrong_and_changes_nothing(
        api, owner, session, fields, message):
    site = new_site(api, owner)
    api.signup("heir@example.ua", name="Taras")
    before = _state(site["id"])
    refused = _act(api, session, f"/console/sites/{site['id']}/owner", fields, page=f"/console/sites/{site['id']}")
    html = refused.body.decode()
    assert refused.status_code == 422 and message in html and 'id="error-owner"' in html
    assert f'value="{fields["phone"]}"' in html  # what he wrote stays in the form
    assert _state(site["id"]) == before


def test_an_operator_changes_the_tariff_by_the_owners_rules_and_an_unknown_tariff_changes_nothing(
        api, owner, session):
    site = new_site(api, owner)
    path = f"/console/sites/{site['id']}/tariff"
    before = _state(site["id"])
    for fields, status, message in (({"code": "platinum", "reason": "asked by phone"}, 422, "There is no such tariff."),
                                    ({"code": "", "reason": "asked by phone"}, 422, "There is no such tariff."),
                                    ({"code": "business", "reason": ""}, 422, "Write the reason"),
                                    ({"code": "start", "reason": "asked by phone"}, 409, "already on this tariff")):
        refused = _act(api, session, path, fields, page=f"/console/sites/{site['id']}")
        assert refused.status_code == status and message in refused.body.decode(), fields
        assert _state(site["id"]) == before
    done = _act(api, session, path, {"code": "business", "reason": "asked by phone"},
                page=f"/console/sites/{site['id']}")
    assert done.status_code == 303
    assert DealModel.get(site["id"]).data["tariff"] == "business"  # an upgrade: at once
    (record,) = _audit(site["id"])
    assert (record.action, record.reason, record.before["tariff"], record.after["tariff"]) == (
        "change_tariff", "asked by phone", "start", "business")


def test_a_form_without_its_csrf_token_or_with_a_foreign_one_or_after_the_session_ended_changes_nothing(
        api, owner, session, monkeypatch):
    site = new_site(api, owner)
    path = f"/console/sites/{site['id']}/tariff"
    before = _state(site["id"])
    for csrf in ("", "forged-token"):
        refused = _act(api, session, path, {"code": "business", "reason": "asked by phone"}, csrf=csrf)
        assert refused.status_code == 403 and "This form is out of date" in refused.body.decode()
    foreign = api.request("POST", path, raw=b"csrf=x&code=business&reason=asked+by+phone",
                          headers={**FORM, "Cookie": session, "Origin": "https://evil.example"})
    assert foreign.status_code == 403
    csrf = _csrf(_page(api, session, f"/console/sites/{site['id']}"))
    wall = clock.wall()
    monkeypatch.setattr(clock, "wall", lambda: wall + timedelta(hours=8, seconds=1))
    expired = _act(api, session, path, {"code": "business", "reason": "asked by phone"}, csrf=csrf)
    assert expired.status_code == 401 and "/console/login" in expired.body.decode()
    assert _state(site["id"]) == before


def test_every_form_refuses_a_foreign_csrf_token_and_an_ended_session_and_changes_nothing(api, owner, session,
                                                                                         monkeypatch):
    site = _deletion_requested(api, owner)
    (invoice,) = invoices(api, owner, site["id"])
    page = f"/console/sites/{site['id']}"
    forms = [f"{page}/{act}" for act in ("owner", "tariff", "autopay/stop", "autopay/resume", "delete",
                                         "deletion/refuse", "credit/refund", f"invoices/{invoice['id']}/write-off")]
    fields = {"email": "owner@example.ua", "phone": "+380671112233", "code": "business", "name": "Start",
              "price": "1", "products": "1", "orders_per_month": "1", "reason": "a good reason"}
    before, tariff = _state(site["id"]), TariffModel.get("start").attribute_values
    for path in [*forms, "/console/tariffs", "/console/tariffs/start"]:
        forged = _act(api, session, path, {**fields, "code": "newcode" if path == "/console/tariffs" else "business"},
                      csrf="forged")
        assert forged.status_code == 403 and "out of date" in forged.body.decode(), path
    csrf = _csrf(_page(api, session, page))
    wall = clock.wall()
    monkeypatch.setattr(clock, "wall", lambda: wall + timedelta(hours=8, seconds=1))
    for path in [*forms, "/console/tariffs", "/console/tariffs/start"]:
        ended = _act(api, session, path, fields, csrf=csrf)
        assert ended.status_code == 401 and "/console/login" in ended.body.decode(), path
    assert _state(site["id"]) == before and TariffModel.get("start").attribute_values == tariff
    assert TariffModel.count() == 2
    assert_books_balance()


# --- auto-pay ----------------------------------------------------------------------------------------------------

def test_an_operator_stops_auto_pay_and_allows_it_again_each_with_a_reason_in_the_audit_log(api, owner, session):
    site = new_site(api, owner)
    page = f"/console/sites/{site['id']}"
    assert "Stop auto-pay" in _page(api, session, page)
    refused = _act(api, session, f"{page}/autopay/stop", {"reason": ""}, page=page)
    assert refused.status_code == 422 and 'id="error-autopay-stop"' in refused.body.decode()
    assert _audit(site["id"]) == []
    assert _act(api, session, f"{page}/autopay/stop", {"reason": "card disputes"}, page=page).status_code == 303
    assert DealModel.get(site["id"]).data["autopay_stopped"] is True
    html = _page(api, session, page)
    assert "stopped by an operator" in html and "Allow card payments again" in html
    assert _act(api, session, f"{page}/autopay/resume", {"reason": "owner called"}, page=page).status_code == 303
    assert not DealModel.get(site["id"]).data.get("autopay_stopped")
    records = sorted(_audit(site["id"]), key=lambda record: record.sk)
    assert [(r.action, r.reason, r.before["autopay_stopped"], r.after["autopay_stopped"]) for r in records] == [
        ("stop_autopay", "card disputes", False, True), ("resume_autopay", "owner called", True, False)]


# --- deletion ----------------------------------------------------------------------------------------------------

def _deletion_requested(api, owner, **kw) -> dict:
    site = new_site(api, owner, **kw)
    asked = api.post(f"/v1/sites/{site['id']}/deletion-request",
                     {"reasons": ["too_expensive", "closing_business"], "comment": "Closing for winter"}, token=owner)
    assert asked.status_code == 200, asked.body
    return site


def test_the_deletion_request_shows_its_answers_and_the_operator_completes_it_with_a_reason(api, owner, session):
    site = _deletion_requested(api, owner)
    page = f"/console/sites/{site['id']}"
    html = _page(api, session, page)
    assert "too expensive" in html and "closing the business" in html and "Closing for winter" in html
    assert f"/console/sites/{site['id']}" in _page(api, session, "/console/sites")  # waiting
    uk = _page(api, session, f"{page}?lang=uk")
    assert "занадто дорого" in uk
    before = _state(site["id"])
    assert _act(api, session, f"{page}/delete", {"reason": "no"}, page=page).status_code == 422
    assert _state(site["id"]) == before
    assert _act(api, session, f"{page}/delete", {"reason": "owner confirmed by phone"}, page=page).status_code == 303
    assert DealModel.get(site["id"]).status == "deleted" and SiteModel.get(site["id"]).domains == []
    (record,) = _audit(site["id"])
    assert (record.action, record.reason, record.before["status"], record.after["status"]) == (
        "complete_deletion", "owner confirmed by phone", "deletion_requested", "deleted")
    again = _act(api, session, f"{page}/delete", {"reason": "owner confirmed by phone"}, page=page)
    assert again.status_code == 409 and "not possible" in again.body.decode()


def test_the_operator_refuses_a_deletion_request_the_owner_is_told_why_and_billing_resumes(api, owner, session):
    site = _deletion_requested(api, owner)
    page = f"/console/sites/{site['id']}"
    before = _state(site["id"])
    assert _act(api, session, f"{page}/deletion/refuse", {"reason": ""}, page=page).status_code == 422
    assert _state(site["id"]) == before
    done = _act(api, session, f"{page}/deletion/refuse", {"reason": "the contract runs to June"}, page=page)
    assert done.status_code == 303 and done.headers["Location"].endswith("done=refuse")
    deal, item = DealModel.get(site["id"]), SiteModel.get(site["id"])
    assert deal.status == "active" and deal.data["deletion"] is None and item.deletion is None
    (record,) = _audit(site["id"])
    assert (record.action, record.reason, record.before["status"], record.after["status"]) == (
        "refuse_deletion", "the contract runs to June", "deletion_requested", "active")
    told = [n for n in NotificationModel.query(_user_id(api, owner)) if n.kind == "deletion_refused"]
    assert len(told) == 1 and told[0].params["reason"] == "the contract runs to June"
    refused_again = _act(api, session, f"{page}/deletion/refuse", {"reason": "the contract runs to June"}, page=page)
    assert refused_again.status_code == 409


def test_the_operators_api_refuses_a_deletion_request_by_the_same_use_case(api, owner, operator_token):
    site = _deletion_requested(api, owner)
    path = f"/v1/operator/sites/{site['id']}/deletion-request/refuse"
    before = _state(site["id"])
    assert api.post(path, {"reason": "the contract runs to June"}, token=owner).status_code == 403
    assert api.post(path, {}, token=operator_token).status_code == 422
    assert _state(site["id"]) == before
    refused = api.post(path, {"reason": "the contract runs to June"}, token=operator_token)
    assert refused.status_code == 200 and refused.json_body["status"] == "active", refused.body
    assert refused.json_body["deletion"] is None
    (record,) = _audit(site["id"])
    assert (record.action, record.reason) == ("refuse_deletion", "the contract runs to June")
    again = api.post(path, {"reason": "the contract runs to June"}, token=operator_token)
    assert again.status_code == 409 and again.json_body["error"]["code"] == "invalid_state"


# --- money -------------------------------------------------------------------------------------------------------

def test_an_operator_writes_an_open_invoice_off_with_a_reason_and_the_books_balance(api, owner, session):
    at(2027, 3, 17)
    site = new_site(api, owner)
    (invoice,) = invoices(api, owner, site["id"])
    page = f"/console/sites/{site['id']}"
    path = f"{page}/invoices/{invoice['id']}/write-off"
    before = _state(site["id"])
    assert _act(api, session, path, {"reason": ""}, page=page).status_code == 422
    unknown = _act(api, session, f"{page}/invoices/sin_nope/write-off", {"reason": "goodwill"}, page=page)
    assert unknown.status_code == 404 and "Not found" in unknown.body.decode()
    assert _state(site["id"]) == before
    assert_books_balance()
    assert _act(api, session, path, {"reason": "the shop was down a week"}, page=page).status_code == 303
    assert invoices(api, owner, site["id"])[0]["status"] == "written_off"
    (record,) = _audit(site["id"])
    assert (record.action, record.reason) == ("write_off", "the shop was down a week")
    assert invoice["number"] not in _page(api, session, page).split("Open invoices")[1].split("Credit")[0]
    again = _act(api, session, path, {"reason": "the shop was down a week"}, page=page)
    assert again.status_code == 409 and "not open any more" in again.body.decode()
    assert_books_balance()


def test_an_operator_refunds_a_sites_credit_with_a_reason_and_the_books_balance(api, owner, operator_token, session):
    at(2027, 3, 17)
    site = new_site(api, owner)
    (invoice,) = invoices(api, owner, site["id"])
    parked = api.webhook(transfer_event("evt-over", invoice["amount"] + 7000, "UAH", "site fee, no number"))
    payment_id = parked.json_body["payment"]["id"]
    applied = api.post(f"/v1/operator/payments/{payment_id}/apply",
                       {"invoice_id": invoice["id"], "reason": "the payer rounded up"}, token=operator_token)
    assert applied.status_code == 200, applied.body
    page = f"/console/sites/{site['id']}"
    assert "Refund the credit" in _page(api, session, page)
    before = _state(site["id"])
    assert _act(api, session, f"{page}/credit/refund", {"reason": ""}, page=page).status_code == 422
    assert _state(site["id"]) == before
    assert_books_balance()
    assert _act(api, session, f"{page}/credit/refund", {"reason": "owner asked by phone"}, page=page).status_code == 303
    assert DealModel.get(site["id"]).data["credit"] == 0
    refund = [r for r in _audit(site["id"]) if r.action == "refund_credit"]
    assert len(refund) == 1 and (refund[0].before["credit"], refund[0].after["credit"]) == (7000, 0)
    assert_books_balance()
    again = _act(api, session, f"{page}/credit/refund", {"reason": "owner asked by phone"}, csrf=_csrf(
        _page(api, session, page)))
    assert again.status_code == 409 and "no credit to refund" in again.body.decode()
    assert_books_balance()


# --- tariffs -----------------------------------------------------------------------------------------------------

def test_tariffs_are_listed_with_their_price_and_a_new_price_applies_from_the_next_billing_month(
        api, owner, session):
    at(2027, 3, 17)
    listed = _page(api, session, "/console/tariffs")
    assert "/console/tariffs/start" in listed and "/console/tariffs/business" in listed and "2027-04" in listed
    page = _page(api, session, "/console/tariffs/start")
    assert 'value="310.00"' in page and 'id="price-scheduled">—' in page
    fields = {"name": "Start", "price": "350", "products": "100", "orders_per_month": "50",
              "features": "catalog, checkout", "active": "on", "reason": "prices rose"}
    done = _act(api, session, "/console/tariffs/start", fields, page="/console/tariffs/start")
    assert done.status_code == 303 and done.headers["Location"].endswith("done=tariff-saved")
    tariff = TariffModel.get("start")
    assert tariff.prices[-1] == {"from": "2027-04", "amount": 35000}
    html = _page(api, session, "/console/tariffs/start")
    assert re.search(r'id="price-now">[^<]*310', html) and re.search(r'id="price-scheduled">[^<]*350', html)
    assert "2027-04" in html and "change_tariff_terms" in html and "prices rose" in html
    (record,) = [r for r in AuditLogModel.query("tariff#start") if r.action == "change_tariff_terms"]
    assert record.before["prices"][-1]["amount"] == 31000 and record.after["prices"][-1]["amount"] == 35000
    same = _act(api, session, "/console/tariffs/start", {**fields, "name": "Start+", "price": "350.00"},
                page="/console/tariffs/start")
    assert same.status_code == 303 and TariffModel.get("start").prices == tariff.prices  # no second schedule


@pytest.mark.parametrize("change, message", [
    ({"price": "0"}, "greater than zero"), ({"price": "abc"}, "greater than zero"), ({"price": "1.234"}, "310.00"),
    ({"products": "-1"}, "whole numbers"), ({"name": ""}, "Write the tariff"), ({"reason": ""}, "Write the reason"),
])
def test_a_refused_tariff_edit_shows_the_form_again_and_changes_nothing(api, owner, session, change, message):
    fields = {"name": "Start", "price": "350", "products": "100", "orders_per_month": "50",
              "features": "catalog", "active": "on", "reason": "prices rose", **change}
    before, records = TariffModel.get("start").attribute_values, len(list(AuditLogModel.query("tariff#start")))
    refused = _act(api, session, "/console/tariffs/start", fields, page="/console/tariffs/start")
    assert refused.status_code == 422 and message in refused.body.decode()
    assert TariffModel.get("start").attribute_values == before
    assert len(list(AuditLogModel.query("tariff#start"))) == records


def test_an_operator_adds_a_tariff_and_a_taken_code_or_a_stale_form_changes_nothing(api, owner, session):
    fields = {"code": "pro", "name": "Pro", "price": "990.00", "products": "5000", "orders_per_month": "2000",
              "features": "catalog, api_access", "reason": "new offer"}
    for code, status, message in (("start", 409, "exists already"), ("Pro!", 422, "lower-case letters")):
        refused = _act(api, session, "/console/tariffs", {**fields, "code": code}, page="/console/tariffs")
        assert refused.status_code == status and message in refused.body.decode()
    stale = _act(api, session, "/console/tariffs", fields, csrf="forged")
    assert stale.status_code == 403 and TariffModel.count() == 2
    done = _act(api, session, "/console/tariffs", fields, page="/console/tariffs")
    assert done.status_code == 303
    assert done.headers["Location"].endswith("/console/tariffs/pro?lang=en&done=tariff-added")
    assert TariffModel.get("pro").features == ["catalog", "api_access"]
    (record,) = list(AuditLogModel.query("tariff#pro"))
    assert (record.action, record.reason) == ("create_tariff", "new offer")
    assert "The tariff is added." in _page(api, session, "/console/tariffs/pro?lang=en&done=tariff-added")
    _page(api, session, "/console/tariffs/nope", status=404)

"""The console's disputes and contractors (chalicelib/entrypoints/web/console_deals.py): an operator reads the open
disputes of orders and contracts, one dispute's frozen terms, money held and whole thread with its files, and splits
it through the same use case as the API — a split that does not add up, a negative or malformed amount, or a missing
reason shows the form again with what is wrong and changes nothing; he finds contractors by e-mail, id or name and
overrides a level with a reason. Every act is in the audit log; every money test checks the books. The same walk
runs in a real browser in tests/e2e/test_console_deals_in_browser.py."""
from __future__ import annotations

import io
import re
import urllib.parse
import zipfile

import pytest

from chalicelib.store.models import AuditLogModel, DealModel, ProfileModel
from tests.support import act, assert_books_balance, place_order, transfer_event, upload
from tests.unit.test_b2b_tasks import _done, company  # noqa: F401  (the fixture is used by name)
from tests.unit.test_console import _csrf, _enrol, _post, operator  # noqa: F401  (the fixture is used by name)


@pytest.fixture
def session(api, operator):  # noqa: F811
    """An operator logged in to the console: his session cookie."""
    return _enrol(api)[0]


def _page(api, path: str, session: str):
    return api.get(path, headers={"Cookie": session})


def _disputed_order(api, deal) -> dict:
    """A 100.00 USD order, delivered with a file, on which the client wrote and then opened a dispute."""
    order = place_order(api, deal)
    assert act(api, deal["contractor"], order, "start").status_code == 200
    delivered = act(api, deal["contractor"], order, "deliver", {"message": "Here is the logo", "attachments": [
        {"file_id": upload(api, deal["contractor"], "logo-v1.txt", b"the first logo")}]})
    assert delivered.status_code == 200, delivered.body
    note = api.post(f"/v1/orders/{order['id']}/messages", {"text": "The colours are wrong", "attachments": [
        {"file_id": upload(api, deal["client"], "brandbook.txt", b"our colours")}]}, token=deal["client"])
    assert note.status_code == 201, note.body
    opened = act(api, deal["client"], order, "dispute", {"message": "Not what we agreed"})
    assert opened.status_code == 200 and opened.json_body["status"] == "disputed", opened.body
    return order


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("site/index.html", "<p>site</p>")
    return buffer.getvalue()


def _disputed_contract(api) -> dict:
    """A project contract of 300.00 USD, half escrowed, delivered as a zip, that the client disputes."""
    client = api.signup("pclient@example.com", name="Project Client")
    api.webhook(transfer_event("evt-project", 50000, "USD", api.invoice(client, 50000, "USD")["payment_details"]))
    coder = api.signup("coder@example.com", name="Coder")
    api.request("PATCH", "/v1/me/profile", {"skills": ["python"]}, token=coder)
    project = api.post("/v1/projects", {"title": "Landing page", "description": "A page on Lambda",
                                        "skills": ["python"], "budget_min": 20000, "budget_max": 40000,
                                        "currency": "USD"}, token=client).json_body
    api.post(f"/v1/projects/{project['id']}/proposals", {"price": 30000, "days": 5, "text": "I can do it"},
             token=coder)
    coder_id = api.get("/v1/me", token=coder).json_body["id"]
    contract = api.post(f"/v1/projects/{project['id']}/proposals/{coder_id}/select", token=client).json_body
    path = f"/v1/contracts/{contract['id']}"
    assert api.post(f"{path}/accept", token=coder).status_code == 200
    file_id = upload(api, coder, "site.zip", _zip(), "application/zip")
    assert api.post(f"{path}/deliverable", {"file_id": file_id}, token=coder).status_code == 200
    assert api.post(f"{path}/submit", token=coder).status_code == 200
    disputed = api.post(f"{path}/dispute", {"message": "The form does not work"}, token=client)
    assert disputed.status_code == 200, disputed.body
    return {"contract": contract, "client": client, "coder": coder}


def _split(api, session: str, deal_id: str, to_client: str, to_contractor: str, reason: str, *,
           lang: str = "en", csrf: str | None = None):
    page = _page(api, f"/console/disputes/{deal_id}?lang={lang}", session)
    fields = {"csrf": csrf if csrf is not None else _csrf(page.body.decode()), "to_client": to_client,
              "to_contractor": to_contractor, "reason": reason}
    return _post(api, f"/console/disputes/{deal_id}/resolve?lang={lang}", session, fields)


def _audit(subject: str) -> list[AuditLogModel]:
    return list(AuditLogModel.query(subject))


# --- disputes --------------------------------------------------------------------------------------------------

def test_the_disputes_page_lists_the_open_disputes_of_orders_and_contracts_with_the_money_each_holds(
        api, deal, session):
    order = _disputed_order(api, deal)
    contract = _disputed_contract(api)["contract"]
    listed = _page(api, "/console/disputes", session)
    html = listed.body.decode()
    assert listed.status_code == 200 and listed.headers["Content-Type"].startswith("text/html")
    assert order["id"] in html and contract["id"] in html
    assert "Order" in html and "Contract" in html and "Not what we agreed" in html
    assert "$100.00" in html and "$150.00" in html  # the order's price; the contract's escrowed half
    assert f"/console/disputes/{order['id']}?lang=en" in html
    assert "Content-Security-Policy" in listed.headers and "<script" not in html and "style=" not in html


def test_the_disputes_list_pages_with_a_link_that_serves_only_its_operator(api, deal, session, monkeypatch):
    from chalicelib.entrypoints.web import console_deals

    first, second = _disputed_order(api, deal), _disputed_order(api, deal)
    monkeypatch.setattr(console_deals, "DISPUTES_PAGE", 1)
    html = _page(api, "/console/disputes?lang=en", session).body.decode()
    assert first["id"] in html and second["id"] not in html
    more = re.search(r'href="([^"]+)">Older disputes<', html).group(1).replace("&amp;", "&")
    older = _page(api, urllib.parse.urlsplit(more).path + "?" + urllib.parse.urlsplit(more).query, session)
    assert older.status_code == 200 and second["id"] in older.body.decode() and first["id"] not in older.body.decode()
    cursor = urllib.parse.parse_qs(urllib.parse.urlsplit(more).query)["cursor"][0]
    forged = _page(api, f"/console/disputes?lang=ru&cursor={cursor[:-2]}xx", session)
    assert forged.status_code == 400 and 'lang="ru"' in forged.body.decode()


def test_a_disputes_page_shows_the_frozen_terms_the_money_held_and_the_whole_thread_whose_files_open(
        api, deal, session):
    order = _disputed_order(api, deal)
    page = _page(api, f"/console/disputes/{order['id']}", session)
    html = page.body.decode()
    assert page.status_code == 200
    for shown in ("Frozen terms", "Logo", "A logo", "3 days", "20 %", "$20.00", "Money held", "$100.00",
                  "Here is the logo", "The colours are wrong", "Not what we agreed", "open_dispute", "deliver",
                  "seller@example.com", "buyer@example.com", "logo-v1.txt", "brandbook.txt"):
        assert shown in html, shown
    links = dict((name, url.replace("&amp;", "&")) for url, name in
                 re.findall(r'<a href="([^"]+/files/[^"]+)" dir="auto">([^<]+)</a>', html))
    assert set(links) == {"logo-v1.txt", "brandbook.txt"}
    for name, content in (("logo-v1.txt", b"the first logo"), ("brandbook.txt", b"our colours")):
        opened = _page(api, urllib.parse.urlsplit(links[name]).path + "?lang=en", session)
        assert opened.status_code == 303, opened.body
        target = urllib.parse.urlsplit(opened.headers["Location"])
        assert target.path.startswith("/v1/files/")
        assert api.get(target.path, headers={"Accept": "*/*"}).body == content
    # a file of another deal, or none at all, is not opened through this dispute; nor without a session
    assert _page(api, f"/console/disputes/{order['id']}/files/upl_nothing", session).status_code == 404
    assert api.get(urllib.parse.urlsplit(links["logo-v1.txt"]).path).status_code == 401


def test_a_split_that_adds_up_goes_through_the_resolve_use_case_and_both_balances_show_it(api, deal, session):
    from chalicelib.access.auth import Principal
    from chalicelib.services import balances

    order = _disputed_order(api, deal)
    done = _split(api, session, order["id"], "60.00", "40,00", "The logo misses the brand colours (terms: logo)")
    assert done.status_code == 303 and done.headers["Location"].endswith(f"/console/disputes/{order['id']}?lang=en")
    stored = DealModel.get(order["id"])
    assert stored.status == "resolved" and stored.dispute["refund"] == 6000 and stored.dispute["release"] == 4000
    client = balances.balances(Principal(deal["client_id"], ("client",)))["items"]
    contractor = balances.balances(Principal(deal["contractor_id"], ("client",)))["items"]
    assert {"currency": "USD", "available": 25000 - 10000 + 6000, "held": 0} in client
    assert {"currency": "USD", "available": 4000 - 800, "held": 0} in contractor  # 20 % commission of the release
    assert api.balance(deal["client"]) == (21000, 0) and api.balance(deal["contractor"]) == (3200, 0)
    assert_books_balance()

    shown = _page(api, f"/console/disputes/{order['id']}", session).body.decode()
    assert "Decided on" in shown and "$60.00" in shown and "$40.00" in shown and "Split and decide" not in shown
    [record] = _audit(f"order#{order['id']}")
    assert record.action == "resolve_dispute" and record.reason.startswith("The logo misses")
    assert record.before == {"status": "disputed", "held": 10000, "currency": "USD"}
    assert record.after == {"status": "resolved", "refund": 6000, "release": 4000, "commission": 800}
    log = _page(api, f"/console/audit?object=order%23{order['id']}", session).body.decode()
    assert "resolve_dispute" in log and "ops@escrowdesk.local" in log and "The logo misses" in log
    assert order["id"] not in _page(api, "/console/disputes", session).body.decode()


def test_a_contracts_dispute_is_split_from_the_console_through_the_contracts_resolve_use_case(api, session):
    given = _disputed_contract(api)
    contract = given["contract"]
    page = _page(api, f"/console/disputes/{contract['id']}", session).body.decode()
    assert "$150.00" in page and "$300.00" in page and "I can do it" in page and "site.zip" in page
    deliverable = re.search(r'href="([^"]+/files/v1[^"]*)"', page).group(1).replace("&amp;", "&")
    assert _page(api, urllib.parse.urlsplit(deliverable).path, session).status_code == 303
    done = _split(api, session, contract["id"], "50.00", "100.00", "Half the form works")
    assert done.status_code == 303, done.body
    assert DealModel.get(contract["id"]).status == "resolved"
    assert api.balance(given["client"]) == (50000 - 15000 + 5000, 0)
    assert api.balance(given["coder"]) == (10000 - 1000, 0)
    assert_books_balance()
    [record] = _audit(f"contract#{contract['id']}")
    assert record.reason == "Half the form works" and record.after["release"] == 10000


def test_a_company_tasks_dispute_is_split_from_the_console_through_the_tasks_resolve_use_case(
        api, company, session):  # noqa: F811
    task = _done(api, company)
    assert api.post(f"/v1/tasks/{task['id']}/cancel", token=company["token"]).status_code == 200
    listed = _page(api, "/console/disputes", session).body.decode()
    assert task["id"] in listed and "Task" in listed and "$300.00" in listed
    page = _page(api, f"/console/disputes/{task['id']}", session).body.decode()
    assert "Translate the price list" in page and "EN → UK" in page and "$300.00" in page
    assert _split(api, session, task["id"], "100.00", "200.00", "A third was not translated").status_code == 303
    assert api.balance(company["token"]) == (80000, 0) and api.balance(company["worker"]) == (20000, 0)
    assert_books_balance()
    [record] = _audit(f"task#{task['id']}")
    assert record.after == {"status": "resolved", "refund": 10000, "release": 20000, "commission": 0}


def test_the_api_resolve_routes_record_the_decision_in_the_audit_log_too(api, deal, operator_token):
    order = _disputed_order(api, deal)
    resolved = api.post(f"/v1/operator/disputes/{order['id']}/resolve",
                        {"refund": 10000, "release": 0, "note": "Nothing usable was delivered"}, token=operator_token)
    assert resolved.status_code == 200, resolved.body
    [record] = _audit(f"order#{order['id']}")
    assert record.reason == "Nothing usable was delivered" and record.after["refund"] == 10000
    assert_books_balance()


@pytest.mark.parametrize(("to_client", "to_contractor", "reason", "lang", "wrong"), [
    ("", "100.00", "r", "en", "Enter an amount."),
    ("-10.00", "110.00", "r", "en", "An amount cannot be negative."),
    ("ten", "90", "r", "en", "Write the amount in digits, with at most 2 digits after the point, e.g. 60.00."),
    ("50.001", "49.999", "r", "en", "at most 2 digits after the point"),
    ("99999999999999999999", "0", "r", "en", "larger than any deal can hold"),
    ("40.00", "50.00", "r", "en", "must add up to the money held, $100.00; these add up to $90.00"),
    ("60.00", "40.00", "   ", "en", "Give the reason for the decision."),
    ("40.00", "50.00", "r", "ru", "должны в сумме"),
])
def test_a_wrong_split_shows_the_form_again_with_what_is_wrong_and_changes_nothing(
        api, deal, session, to_client, to_contractor, reason, lang, wrong):
    order = _disputed_order(api, deal)
    before = api.balance(deal["client"]), api.balance(deal["contractor"])
    answer = _split(api, session, order["id"], to_client, to_contractor, reason, lang=lang)
    html = answer.body.decode()
    assert answer.status_code == 422 and wrong in html, html
    assert f'lang="{lang}"' in html and ('aria-invalid="true"' in html or 'role="alert"' in html)
    assert f'value="{to_client}"' in html  # what he typed is kept
    assert DealModel.get(order["id"]).status == "disputed"
    assert (api.balance(deal["client"]), api.balance(deal["contractor"])) == before
    assert _audit(f"order#{order['id']}") == []
    assert_books_balance()


def test_the_split_form_refuses_a_missing_or_foreign_csrf_token_another_origin_and_an_ended_session(
        api, deal, session):
    order = _disputed_order(api, deal)
    fields = {"to_client": "100.00", "to_contractor": "0.00", "reason": "r"}
    path = f"/console/disputes/{order['id']}/resolve"
    csrf = _csrf(_page(api, f"/console/disputes/{order['id']}", session).body.decode())
    assert _post(api, path + "?lang=uk", session, {**fields, "csrf": "forged"}).status_code == 403
    assert _post(api, path, session, fields).status_code == 400
    assert _post(api, path, session, {**fields, "csrf": csrf}, origin="https://evil.example").status_code == 403
    ended = _post(api, path + "?lang=fa", "escrowdesk_console=forged.x", {**fields, "csrf": csrf})
    assert ended.status_code == 401 and 'dir="rtl"' in ended.body.decode()
    assert DealModel.get(order["id"]).status == "disputed" and _audit(f"order#{order['id']}") == []
    assert_books_balance()


def test_a_decided_dispute_is_not_split_again_and_says_so(api, deal, session):
    order = _disputed_order(api, deal)
    assert _split(api, session, order["id"], "100.00", "0.00", "Refund").status_code == 303
    page = _page(api, f"/console/disputes/{order['id']}", session).body.decode()
    again = _post(api, f"/console/disputes/{order['id']}/resolve", session,
                  {"csrf": _csrf(page), "to_client": "0.00", "to_contractor": "100.00", "reason": "Changed my mind"})
    assert again.status_code == 409 and "no longer open" in again.body.decode()
    assert api.balance(deal["client"]) == (25000, 0) and len(_audit(f"order#{order['id']}")) == 1
    assert_books_balance()


def test_an_unknown_dispute_or_contractor_is_a_page_saying_so(api, deal, session):
    order = place_order(api, deal)  # an order that is not disputed is no dispute either
    for path in ("/console/disputes/ord_nothing", f"/console/disputes/{order['id']}", "/console/disputes/%3Cx%3E",
                 "/console/contractors/usr_nobody", "/console/contractors/" + "x" * 300):
        answer = _page(api, path + "?lang=ru", session)
        assert answer.status_code == 404 and 'lang="ru"' in answer.body.decode(), path


def test_the_disputes_pages_need_a_session(api):
    for path in ("/console/disputes", "/console/disputes/ord_x", "/console/contractors", "/console/contractors/u"):
        answer = api.get(path + "?lang=uk", headers={"Cookie": "escrowdesk_console=forged.x"})
        assert answer.status_code == 401 and 'lang="uk"' in answer.body.decode(), path


# --- contractors -----------------------------------------------------------------------------------------------

def test_operators_find_contractors_by_email_id_or_a_part_of_the_name(api, deal, session):
    by_email = _page(api, "/console/contractors?who=SELLER%40example.com", session).body.decode()
    assert deal["contractor_id"] in by_email and "Buyer" not in by_email
    by_id = _page(api, f"/console/contractors?who={deal['contractor_id']}", session).body.decode()
    assert "seller@example.com" in by_id
    by_name = _page(api, "/console/contractors?who=sell", session).body.decode()
    assert "seller@example.com" in by_name and "buyer@example.com" not in by_name
    assert f"/console/contractors/{deal['contractor_id']}?lang=en" in by_name
    nobody = _page(api, "/console/contractors?who=nobody%40example.com", session).body.decode()
    assert "Nobody matches." in nobody
    assert "Nobody matches." not in _page(api, "/console/contractors", session).body.decode()


def test_a_name_search_reads_a_bounded_part_of_the_users_and_says_when_it_did_not_read_them_all(
        api, deal, monkeypatch):
    from chalicelib.services import accounts, profiles

    operator_user = accounts.create_operator("ops2@escrowdesk.local", "operator-pass")["user"]
    from chalicelib.access.auth import Principal

    principal = Principal(operator_user["id"], ("operator",))
    assert profiles.search(principal, "seller")["complete"] is True
    monkeypatch.setattr(profiles, "NAME_SCAN_ITEMS", 1)
    bounded = profiles.search(principal, "zzz-nobody")
    assert bounded == {"items": [], "complete": False}
    assert profiles.search(principal, "seller@example.com")["items"][0]["id"] == deal["contractor_id"]
    with pytest.raises(Exception) as refused:
        profiles.search(Principal(deal["client_id"], ("client",)), "seller")
    assert getattr(refused.value, "code", "") == "operator_only"


def test_a_level_override_with_a_reason_sets_the_level_through_the_use_case_and_is_audited(api, deal, session):
    path = f"/console/contractors/{deal['contractor_id']}"
    page = _page(api, path, session).body.decode()
    assert page.count('<code id="level">new</code>') == 1 and "earned by his record" in page
    done = _post(api, f"{path}/level", session, {"csrf": _csrf(page), "level": "pro",
                                                 "reason": "Verified agency, long record elsewhere"})
    assert done.status_code == 303 and done.headers["Location"].endswith(f"{path}?lang=en")
    profile = ProfileModel.get(deal["contractor_id"])
    assert profile.level == "pro" and profile.level_set_by
    shown = _page(api, path, session).body.decode()
    assert '<code id="level">pro</code>' in shown and "set by an operator" in shown
    assert api.get(f"/v1/contractors/{deal['contractor_id']}", token=deal["client"]).json_body["level"] == "pro"
    [record] = _audit(f"user#{deal['contractor_id']}")
    assert record.action == "set_level" and record.reason == "Verified agency, long record elsewhere"
    assert record.before == {"level": "new", "set_by_operator": False}
    assert record.after == {"level": "pro", "set_by_operator": True}
    log = _page(api, f"/console/audit?object=user%23{deal['contractor_id']}", session).body.decode()
    assert "set_level" in log and "Verified agency" in log


@pytest.mark.parametrize(("fields", "lang", "wrong"), [
    ({"level": "pro", "reason": ""}, "en", "Give the reason for the change."),
    ({"level": "grandmaster", "reason": "why not"}, "en", "Choose one of the levels."),
    ({"reason": "no level at all"}, "en", "Choose one of the levels."),
    ({"level": "pro", "reason": " "}, "uk", "Вкажіть причину"),
])
def test_a_level_override_without_a_reason_or_a_known_level_shows_the_form_again_and_changes_nothing(
        api, deal, session, fields, lang, wrong):
    path = f"/console/contractors/{deal['contractor_id']}"
    csrf = _csrf(_page(api, path, session).body.decode())
    answer = _post(api, f"{path}/level?lang={lang}", session, {"csrf": csrf, **fields})
    assert answer.status_code == 422 and wrong in answer.body.decode(), answer.body.decode()
    assert _override(deal["contractor_id"]) is None
    assert _audit(f"user#{deal['contractor_id']}") == []


def _override(user_id: str) -> str | None:
    try:
        return ProfileModel.get(user_id).level
    except ProfileModel.DoesNotExist:
        return None


def test_the_level_form_refuses_a_missing_or_foreign_csrf_token_and_an_ended_session(api, deal, session):
    path = f"/console/contractors/{deal['contractor_id']}/level"
    fields = {"level": "pro", "reason": "r"}
    assert _post(api, path, session, {**fields, "csrf": "forged"}).status_code == 403
    assert _post(api, path, session, fields).status_code == 400
    assert _post(api, path, "escrowdesk_console=forged.x", {**fields, "csrf": "x"}).status_code == 401
    assert _audit(f"user#{deal['contractor_id']}") == []


def test_the_api_level_route_takes_an_optional_reason_and_is_audited(api, deal, operator_token):
    answer = api.post(f"/v1/operator/contractors/{deal['contractor_id']}/level", {"level": "advanced",
                                                                                  "reason": "Spot check"},
                      token=operator_token)
    assert answer.status_code == 200 and answer.json_body["level"] == "advanced"
    [record] = _audit(f"user#{deal['contractor_id']}")
    assert record.reason == "Spot check" and record.after["level"] == "advanced"

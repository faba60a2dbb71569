"""The billing section's plan blocks (chalicelib/entrypoints/web/billing_plan.py), through the app on moto: the
tariff with its counters and the other tariffs' features; a tariff change that shows its prorated amount before the
owner confirms it, and changes the tariff as the API does; the card saved through the acquirer's checkout page; the
deletion questionnaire, the request's status and its withdrawal. Every refused form shows the section again with
what is wrong in the reader's language and changes nothing; money tests check the books."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from chalicelib.adapters import acquirer
from chalicelib.platform import clock
from tests.billing_support import (
    add_tariffs,
    at,
    billing_login,
    csrf_of,
    deliver,
    invoices,
    key_for,
    new_site,
    post_page,
    report,
)
from tests.support import assert_books_balance

FREE = {"code": "free", "name": "Free", "price": {"amount": 0, "currency": "UAH"},
        "limits": {"products": 10, "orders_per_month": 5}, "features": ["catalog"]}


@pytest.fixture
def owner(api, operator_token):
    """Given Olena's site on the tariff Start, created on 17 March (its first invoice issued at once)."""
    add_tariffs(api, operator_token, FREE)
    at(2027, 3, 17)
    token = api.signup("olena@example.ua", locale="uk", name="Olena")
    return token, new_site(api, token)


def _section(api, session: str, site_id: str, lang: str = "uk"):
    response = api.get(f"/billing/{site_id}?lang={lang}", headers={"Cookie": session})
    assert response.status_code == 200, response.body
    return response.body.decode()


def _site(api, token: str, site_id: str) -> dict:
    return api.get(f"/v1/sites/{site_id}", token=token).json_body


def _block(html: str, name: str) -> str:
    return re.search(rf'<section aria-labelledby="block-{name}">(.*?)</section>', html, re.S).group(1)


# --- Тариф -----------------------------------------------------------------------------------------------------------

def test_the_tariff_block_shows_the_price_the_counters_against_the_limits_and_the_other_tariffs_features(api, owner):
    token, site = owner
    key = key_for(api, token, site["id"])
    assert report(api, site["id"], key, event_id="o1", orders=7).status_code == 200
    assert report(api, site["id"], key, event_id="p1", products=42).status_code == 200
    at(2027, 3, 18, 1)
    session = billing_login(api, "olena@example.ua")
    html = _block(_section(api, session, site["id"], "en"), "tariff")
    assert "Start" in html and "UAH" in html and "310" in html
    assert 'id="counter-products" min="0" max="100" value="42"' in html and "42 of 100" in html
    assert 'id="counter-orders" min="0" max="50" value="7"' in html and "7 of 50" in html
    assert "updated daily" in html and "2027" in html
    assert "Additional features" in html and "promo_codes" in html and "api_access" in html
    ukrainian = _block(_section(api, session, site["id"]), "tariff")
    assert "Тариф" in ukrainian and "42 з 100" in ukrainian and "Додаткові функції" in ukrainian
    assert "310,00" in ukrainian  # money in the locale's format
    assert 'dir="rtl"' in _section(api, session, site["id"], "fa")


def test_an_upgrade_shows_its_prorated_amount_before_it_is_confirmed_and_then_changes_the_tariff(api, owner):
    token, site = owner
    at(2027, 3, 22)
    session = billing_login(api, "olena@example.ua")
    before = len(invoices(api, token, site["id"]))
    preview = api.get(f"/billing/{site['id']}/tariff?lang=en&tariff=business", headers={"Cookie": session})
    page = preview.body.decode()
    # 22..31 March: 10 of 31 days of the 310.00 UAH difference, as the upgrade's invoice will say
    assert preview.status_code == 200 and "100.00" in page and "10 of 31 days" in page and "Business" in page
    assert _site(api, token, site["id"])["tariff"]["code"] == "start"  # the preview changed nothing
    assert len(invoices(api, token, site["id"])) == before
    done = post_page(api, f"/billing/{site['id']}/tariff?lang=en", session, {"csrf": csrf_of(page),
                                                                             "code": "business"})
    assert done.status_code == 303 and done.headers["Location"].endswith("#block-tariff")
    assert _site(api, token, site["id"])["tariff"]["code"] == "business"
    upgrade = invoices(api, token, site["id"])[0]
    assert (upgrade["kind"], upgrade["amount"]) == ("upgrade", 10000)
    assert "Business" in _block(_section(api, session, site["id"], "en"), "tariff")
    assert_books_balance()


def test_a_downgrade_is_shown_as_pending_from_the_next_month(api, owner):
    token, site = owner
    session = billing_login(api, "olena@example.ua")
    preview = api.get(f"/billing/{site['id']}/tariff?lang=en&tariff=free", headers={"Cookie": session}).body.decode()
    assert "applies from" in preview and "April 2027" in preview and "nothing is invoiced now" in preview
    done = post_page(api, f"/billing/{site['id']}/tariff", session, {"csrf": csrf_of(preview), "code": "free"})
    assert done.status_code == 303
    shown = _block(_section(api, session, site["id"], "en"), "tariff")
    assert "From April 2027 the site moves to the tariff" in shown and "Free" in shown
    assert _site(api, token, site["id"])["tariff"]["code"] == "start"
    cancel = api.get(f"/billing/{site['id']}/tariff?lang=en&tariff=start", headers={"Cookie": session}).body.decode()
    assert "is cancelled" in cancel


@pytest.mark.parametrize(("code", "status", "says"), [
    ("platinum", 422, "There is no such tariff"),
    ("start", 409, "The site is already on this tariff."),
    ("", 422, "Choose a tariff."),
])
def test_a_wrong_tariff_shows_the_section_again_with_what_is_wrong_and_changes_nothing(api, owner, code, status,
                                                                                       says):
    token, site = owner
    session = billing_login(api, "olena@example.ua")
    csrf = csrf_of(_section(api, session, site["id"]))
    seen = api.get(f"/billing/{site['id']}/tariff?lang=en&tariff={code}", headers={"Cookie": session})
    assert seen.status_code == status and says in _block(seen.body.decode(), "tariff")
    posted = post_page(api, f"/billing/{site['id']}/tariff?lang=en", session, {"csrf": csrf, "code": code})
    assert posted.status_code == status and says in _block(posted.body.decode(), "tariff")
    ukrainian = post_page(api, f"/billing/{site['id']}/tariff", session, {"csrf": csrf, "code": code}).body.decode()
    assert 'class="error"' in _block(ukrainian, "tariff") and says not in ukrainian
    assert _site(api, token, site["id"])["tariff"]["code"] == "start" and len(invoices(api, token, site["id"])) == 1


def test_a_tariff_change_that_loses_a_race_to_another_change_of_the_site_says_so_and_changes_nothing(api, owner,
                                                                                                    monkeypatch):
    """A card event written between the change's read and its write (the card's verification refund): the block
    says the site changed meanwhile, not that its state forbids a change."""
    from chalicelib.services import sites
    from chalicelib.store.models import DealModel

    token, site = owner
    session = billing_login(api, "olena@example.ua")
    csrf = csrf_of(_section(api, session, site["id"]))
    terms = sites._tariff_terms

    def raced(tariff, deal):  # type: ignore[no-untyped-def]
        DealModel(deal.id).update(actions=[DealModel.version.add(1)])  # the other change lands meanwhile
        return terms(tariff, deal)

    monkeypatch.setattr(sites, "_tariff_terms", raced)
    posted = post_page(api, f"/billing/{site['id']}/tariff?lang=en", session, {"csrf": csrf, "code": "business"})
    assert posted.status_code == 409
    assert "This changed meanwhile. Look at it again and repeat." in _block(posted.body.decode(), "tariff")
    assert _site(api, token, site["id"])["tariff"]["code"] == "start" and len(invoices(api, token, site["id"])) == 1


def test_a_downgrade_over_the_new_limits_is_refused_in_the_block(api, owner):
    token, site = owner
    key = key_for(api, token, site["id"])
    assert report(api, site["id"], key, event_id="p1", products=50).status_code == 200
    at(2027, 3, 18, 1)
    session = billing_login(api, "olena@example.ua")
    seen = api.get(f"/billing/{site['id']}/tariff?lang=en&tariff=free", headers={"Cookie": session})
    assert seen.status_code == 409 and "exceed this tariff&#39;s limits" in seen.body.decode()
    assert _site(api, token, site["id"])["next_tariff"] is None


def test_the_tariff_forms_refuse_a_stale_form_an_ended_session_and_another_owners_site(api, owner, monkeypatch):
    token, site = owner
    session = billing_login(api, "olena@example.ua")
    csrf = csrf_of(_section(api, session, site["id"]))
    path = f"/billing/{site['id']}/tariff?lang=en"
    forged = post_page(api, path, session, {"csrf": "forged", "code": "business"})
    assert forged.status_code == 403 and "This form is out of date" in forged.body.decode()
    foreign = post_page(api, path, session, {"csrf": csrf, "code": "business"}, origin="https://evil.example")
    assert foreign.status_code == 403
    ended = post_page(api, path, "escrowdesk_web=expired", {"csrf": csrf, "code": "business"})
    assert ended.status_code == 401 and "Log in again" in ended.body.decode()
    api.signup("other@example.ua", name="Other")
    other = billing_login(api, "other@example.ua")
    other_csrf = csrf_of(api.get("/billing", headers={"Cookie": other}).body.decode())
    stolen = post_page(api, path, other, {"csrf": other_csrf, "code": "business"})
    assert stolen.status_code == 404 and "There is no such site among yours." in stolen.body.decode()
    peek = api.get(f"{path}&tariff=business", headers={"Cookie": other})
    assert peek.status_code == 404 and "100.00" not in peek.body.decode()
    real = clock.wall
    monkeypatch.setattr(clock, "wall", lambda: real() + timedelta(hours=12, seconds=1))
    expired = post_page(api, path, session, {"csrf": csrf, "code": "business"})
    assert expired.status_code == 401
    assert _site(api, token, site["id"])["tariff"]["code"] == "start"


# --- Способ оплаты ---------------------------------------------------------------------------------------------------

def test_adding_a_card_goes_to_the_checkout_and_the_saved_cards_mask_and_holder_are_shown(api, owner):
    token, site = owner
    fake = acquirer.LocalAcquirer()
    session = billing_login(api, "olena@example.ua")
    html = _section(api, session, site["id"], "en")
    payment = _block(html, "payment")
    assert "Add a bank card" in payment and "No card is saved." in payment and "1.00 UAH" in payment
    started = post_page(api, f"/billing/{site['id']}/payment-method?lang=en", session, {"csrf": csrf_of(html)})
    assert started.status_code == 303 and "/web/checkout/cpy" in started.headers["Location"]
    payment_id = started.headers["Location"].rsplit("/", 1)[1]
    fake.answer(payment_id, True, "4111111111111111", "Olena Petrenko")
    deliver(api)
    deliver(api)
    assert invoices(api, token, site["id"])[0]["status"] == "paid"  # the open invoice was paid with the card
    shown = _block(_section(api, session, site["id"], "en"), "payment")
    assert "411111******1111" in shown and "OLENA PETRENKO" in shown and "Change the card" in shown
    changed = post_page(api, f"/billing/{site['id']}/payment-method", session, {"csrf": csrf_of(html)})
    verification = changed.headers["Location"].rsplit("/", 1)[1]
    assert fake.load(verification)["amount"] == 100  # changing the card is the 1.00 UAH verification
    fake.answer(verification, True, "5555555555554444", "Olena Petrenko")
    deliver(api)
    deliver(api)
    assert "555555******4444" in _block(_section(api, session, site["id"], "en"), "payment")
    assert_books_balance()


def test_a_card_form_without_its_token_from_another_owner_or_after_auto_pay_stopped_changes_nothing(
        api, owner, operator_token):
    token, site = owner
    session = billing_login(api, "olena@example.ua")
    html = _section(api, session, site["id"], "en")
    assert post_page(api, f"/billing/{site['id']}/payment-method", session, {"csrf": "x"}).status_code == 403
    stopped = api.post(f"/v1/operator/sites/{site['id']}/autopay/stop", token=operator_token)
    assert stopped.status_code == 200, stopped.body
    refused = post_page(api, f"/billing/{site['id']}/payment-method?lang=en", session, {"csrf": csrf_of(html)})
    assert refused.status_code == 409
    assert "Card payments were stopped by support" in _block(refused.body.decode(), "payment")
    api.signup("other@example.ua", name="Other")
    other = billing_login(api, "other@example.ua")
    other_csrf = csrf_of(api.get("/billing", headers={"Cookie": other}).body.decode())
    stolen = post_page(api, f"/billing/{site['id']}/payment-method?lang=en", other, {"csrf": other_csrf})
    assert stolen.status_code == 404 and "There is no such site among yours." in stolen.body.decode()
    assert acquirer.LocalAcquirer().take_outbox() == [] and _site(api, token, site["id"])["payment_method"] is None
    assert_books_balance()


# --- Удалить проект ---------------------------------------------------------------------------------------------------

def test_the_questionnaire_requests_the_deletion_its_status_is_shown_and_it_is_withdrawn(api, owner):
    token, site = owner
    session = billing_login(api, "olena@example.ua")
    html = _section(api, session, site["id"], "en")
    assert "Why are you leaving?" in _block(html, "deletion")
    asked = post_page(api, f"/billing/{site['id']}/deletion-request?lang=en", session, {
        "csrf": csrf_of(html), "reason_too_expensive": "yes", "reason_other": "yes", "comment": "Closing for winter"})
    assert asked.status_code == 303 and asked.headers["Location"].endswith("#block-deletion")
    view = _site(api, token, site["id"])
    assert view["status"] == "deletion_requested" and view["deletion"]["reasons"] == ["other", "too_expensive"]
    assert view["deletion"]["comment"] == "Closing for winter"
    shown = _block(_section(api, session, site["id"], "en"), "deletion")
    assert "The deletion was requested on" in shown and "It is too expensive" in shown
    assert "Closing for winter" in shown and "Withdraw the request" in shown
    ukrainian = _section(api, session, site["id"])
    assert "Відкликати запит" in _block(ukrainian, "deletion")
    tariff_now = api.get(f"/billing/{site['id']}/tariff?lang=en&tariff=business", headers={"Cookie": session})
    assert tariff_now.status_code == 409 and "cannot be changed while" in tariff_now.body.decode()
    withdrawn = post_page(api, f"/billing/{site['id']}/deletion-request/withdraw", session,
                          {"csrf": csrf_of(html)})
    assert withdrawn.status_code == 303
    assert _site(api, token, site["id"])["status"] == "active"
    assert "Why are you leaving?" in _block(_section(api, session, site["id"], "en"), "deletion")
    again = post_page(api, f"/billing/{site['id']}/deletion-request/withdraw?lang=en", session,
                      {"csrf": csrf_of(html)})
    assert again.status_code == 409 and 'class="error"' in _block(again.body.decode(), "deletion")


def test_a_questionnaire_without_a_reason_or_its_token_or_from_another_owner_changes_nothing(api, owner):
    token, site = owner
    session = billing_login(api, "olena@example.ua")
    csrf = csrf_of(_section(api, session, site["id"]))
    path = f"/billing/{site['id']}/deletion-request"
    empty = post_page(api, f"{path}?lang=en", session, {"csrf": csrf, "comment": "bye"})
    assert empty.status_code == 422 and "Choose at least one reason." in _block(empty.body.decode(), "deletion")
    persian = post_page(api, f"{path}?lang=fa", session, {"csrf": csrf}).body.decode()
    assert 'dir="rtl"' in persian and 'class="error"' in _block(persian, "deletion")
    assert "Choose at least one reason." not in persian
    assert post_page(api, path, session, {"csrf": "forged", "reason_other": "yes"}).status_code == 403
    api.signup("other@example.ua", name="Other")
    other = billing_login(api, "other@example.ua")
    other_csrf = csrf_of(api.get("/billing", headers={"Cookie": other}).body.decode())
    assert post_page(api, path, other, {"csrf": other_csrf, "reason_other": "yes"}).status_code == 404
    assert post_page(api, f"{path}/withdraw", other, {"csrf": other_csrf}).status_code == 404
    assert _site(api, token, site["id"])["status"] == "active"

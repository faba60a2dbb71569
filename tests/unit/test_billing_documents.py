"""The billing section's document blocks (chalicelib/entrypoints/web/billing_documents.py), seed 003: the owner fills
in his requisites (the registry completes them) and saves them, or saves them and activates Vchasno in one press;
they are locked while Vchasno is active; an account Vchasno does not know gets the "register at Vchasno" message;
the public offer and a personal contract download; the invoices show their status, amount and dates in his language,
"pay online" takes him to the invoice's 30-minute link (renewed once expired) and "invoice" downloads its PDF; the
acts list with their PDFs and are asked for by month; a past-due or blocked site shows a banner with the sum owed.
Every form goes through the same use case as its API route; a refused one says what is wrong inside its block, in
the reader's language, and changes nothing."""
from __future__ import annotations

import re

import pytest

from chalicelib.adapters import acquirer
from chalicelib.adapters.vchasno import LocalVchasno
from chalicelib.money.amounts import format_amount
from chalicelib.platform import config
from tests.billing_support import (
    EDRPOU,
    IBAN,
    add_tariffs,
    at,
    billing_login,
    csrf_of,
    deliver,
    invoices,
    new_site,
    post_page,
    run_timers,
)
from tests.support import assert_books_balance, transfer_event, upload

PDF = {"Accept": "application/pdf"}
BROWSER = "text/html,application/xhtml+xml,*/*;q=0.8"  # what a browser asks for when a link is followed
BAD_EDRPOU = "32855962"  # the check digit is wrong


@pytest.fixture
def owner(api, operator_token, monkeypatch, tmp_path):
    """An owner (Ukrainian) with one site made on 17 March 2027, logged in to the billing section."""
    monkeypatch.setenv("VCHASNO_LOCAL_FILE", str(tmp_path / "vchasno" / "accounts.json"))
    config.reload()
    add_tariffs(api, operator_token)
    token = api.signup("olena@example.ua", locale="uk", name="Olena")
    at(2027, 3, 17)
    site = new_site(api, token)
    return {"token": token, "site": site, "id": site["id"], "session": billing_login(api, "olena@example.ua")}


def _page(api, owner, lang: str = "uk") -> str:
    response = api.get(f"/billing/{owner['id']}?lang={lang}", headers={"Cookie": owner["session"]})
    assert response.status_code == 200, response.body
    return response.body.decode()


def _post(api, owner, tail: str, fields: dict | None = None, *, lang: str = "uk", **options):
    csrf = csrf_of(_page(api, owner, lang))
    return post_page(api, f"/billing/{owner['id']}{tail}?lang={lang}", options.pop("cookie", owner["session"]),
                     {"csrf": csrf, **(fields or {})}, **options)


def _requisites(api, owner) -> dict:
    return api.get(f"/v1/sites/{owner['id']}/requisites", token=owner["token"]).json_body


def _block(html: str, name: str) -> str:
    """The <section> of block `name` in a page."""
    return re.search(rf'<section aria-labelledby="block-{name}">.*?</section>', html, re.S).group(0)


# --- Реквізити and Вчасно --------------------------------------------------------------------------------------------

def test_the_requisites_form_saves_through_the_registry_shows_what_it_filled_in_and_prefills_another_site(api, owner):
    block = _block(_page(api, owner), "requisites")
    assert '<label for="requisites-tax-id">ЄДРПОУ/РНОКПП</label>' in block and 'name="iban"' in block
    assert ">Зберегти</button>" in block and ">Зберегти й активувати «Вчасно»</button>" in block
    assert "Не активовано" in _block(_page(api, owner), "vchasno")

    saved = _post(api, owner, "/requisites", {"tax_id": EDRPOU, "iban": IBAN, "activate": "0"})
    assert saved.status_code == 303 and saved.headers["Location"].endswith(f"/billing/{owner['id']}?lang=uk"
                                                                           "#block-requisites")
    stored = _requisites(api, owner)
    assert stored["tax_id"] == EDRPOU and stored["iban"] == IBAN and stored["kind"] == "company"
    assert stored["vchasno"]["status"] == "not_activated"
    block = _block(_page(api, owner), "requisites")
    assert "Заповнено з державного реєстру" in block and stored["company_name"] in block
    assert f'value="{EDRPOU}"' in block  # the form shows what is saved

    corrected = _post(api, owner, "/requisites", {"tax_id": EDRPOU, "iban": IBAN, "director": "Петренко Олена"})
    assert corrected.status_code == 303
    stored = _requisites(api, owner)
    assert stored["director"] == "Петренко Олена" and stored["registry"]["director"] != "Петренко Олена"
    assert stored["registry"]["director"] in _block(_page(api, owner), "requisites")

    second = new_site(api, owner["token"], name="Друга крамниця", domains=("second.example.ua",))
    html = api.get(f"/billing/{second['id']}", headers={"Cookie": owner["session"]}).body.decode()
    assert f'value="{EDRPOU}"' in _block(html, "requisites") and f'value="{IBAN}"' in _block(html, "requisites")


def test_save_and_activate_is_one_press_and_locks_the_requisites_until_vchasno_is_deactivated(api, owner):
    LocalVchasno().add(EDRPOU)
    done = _post(api, owner, "/requisites", {"tax_id": EDRPOU, "iban": IBAN, "activate": "1"})
    assert done.status_code == 303 and done.headers["Location"].endswith("#block-vchasno")
    assert _requisites(api, owner)["vchasno"]["status"] == "activated"
    html = _page(api, owner)
    assert "<strong class=\"state state-on\">Активовано</strong>" in _block(html, "vchasno")
    locked = _block(html, "requisites")
    assert 'name="tax_id"' not in locked and "<button" not in locked and EDRPOU in locked
    assert "спочатку вимкніть інтеграцію з «Вчасно»" in locked

    before = _requisites(api, owner)
    refused = _post(api, owner, "/requisites", {"tax_id": "3285596", "iban": IBAN})  # a forged form
    assert refused.status_code == 422 and _requisites(api, owner) == before
    refused = _post(api, owner, "/requisites", {"tax_id": EDRPOU, "iban": IBAN, "director": "Інший"})
    assert refused.status_code == 409 and "спочатку вимкніть" in _block(refused.body.decode(), "requisites")
    assert _requisites(api, owner) == before

    off = _post(api, owner, "/vchasno/deactivate")
    assert off.status_code == 303 and _requisites(api, owner)["vchasno"]["status"] == "not_activated"
    assert 'name="tax_id"' in _block(_page(api, owner), "requisites")
    on = _post(api, owner, "/vchasno/activate")
    assert on.status_code == 303 and _requisites(api, owner)["vchasno"]["status"] == "activated"
    assert {"vchasno_activated", "vchasno_deactivated"} <= {
        n["kind"] for n in api.get("/v1/notifications?limit=100", token=owner["token"]).json_body["items"]}


def test_an_account_vchasno_does_not_know_gets_the_register_at_vchasno_message(api, owner):
    refused = _post(api, owner, "/requisites", {"tax_id": EDRPOU, "iban": IBAN, "activate": "1"})
    assert refused.status_code == 422
    vchasno = _block(refused.body.decode(), "vchasno")
    assert f"«Вчасно» не має облікового запису для {EDRPOU}" in vchasno and "vchasno.ua" in vchasno
    assert 'role="alert"' in vchasno
    assert _requisites(api, owner)["vchasno"]["status"] == "not_activated"
    assert _requisites(api, owner).get("tax_id") is None  # one press, one transaction: nothing saved either
    assert f'value="{EDRPOU}"' in _block(refused.body.decode(), "requisites")  # what he typed is kept in the form
    assert _post(api, owner, "/requisites", {"tax_id": EDRPOU, "iban": IBAN}).status_code == 303
    again = _post(api, owner, "/vchasno/activate", lang="en")
    assert again.status_code == 422
    assert f"Vchasno has no account for {EDRPOU}" in _block(again.body.decode(), "vchasno")


def test_bad_requisites_and_bad_forms_say_what_is_wrong_and_change_nothing(api, owner):
    empty = _requisites(api, owner)
    wrong = _post(api, owner, "/requisites", {"tax_id": BAD_EDRPOU, "iban": IBAN}, lang="en")
    assert wrong.status_code == 422
    block = _block(wrong.body.decode(), "requisites")
    assert "The EDRPOU or RNOKPP is wrong" in block and f'value="{BAD_EDRPOU}"' in block  # what he typed, kept
    missing = _post(api, owner, "/requisites", {"tax_id": EDRPOU, "iban": ""})
    assert missing.status_code == 422 and "Спочатку заповніть реквізити" in _block(missing.body.decode(),
                                                                                  "requisites")
    bad_iban = _post(api, owner, "/requisites", {"tax_id": EDRPOU, "iban": "DE89370400440532013000"}, lang="ru")
    assert bad_iban.status_code == 422 and "IBAN" in _block(bad_iban.body.decode(), "requisites")
    too_long = _post(api, owner, "/requisites", {"tax_id": EDRPOU, "iban": IBAN, "address": "x" * 600})
    assert too_long.status_code == 422
    fields = {"tax_id": EDRPOU, "iban": IBAN}
    path = f"/billing/{owner['id']}/requisites?lang=en"
    assert post_page(api, path, owner["session"], fields).status_code == 400  # no CSRF token: an incomplete form
    forged = post_page(api, path, owner["session"], {**fields, "csrf": "forged"})
    assert forged.status_code == 403 and "This form is out of date" in forged.body.decode()
    assert _post(api, owner, "/requisites", fields, origin="https://evil.example").status_code == 403
    ended = post_page(api, path, "", {**fields, "csrf": "x"})
    assert ended.status_code == 401 and "Log in again" in ended.body.decode()
    api.signup("other@example.ua", locale="uk", name="Other")
    other = billing_login(api, "other@example.ua")
    other_csrf = csrf_of(api.get("/billing", headers={"Cookie": other}).body.decode())
    foreign = post_page(api, path, other, {**fields, "csrf": other_csrf})
    assert foreign.status_code == 404 and "There is no such site among yours." in foreign.body.decode()
    assert post_page(api, path, owner["session"], {**fields, "csrf": other_csrf}).status_code == 403
    assert _requisites(api, owner) == empty


# --- Договори --------------------------------------------------------------------------------------------------------

def test_the_public_offer_and_a_personal_contract_download_as_the_api_serves_them(api, owner, operator_token):
    pdf = b"%PDF-1.4 personal contract"
    file_id = upload(api, operator_token, "договір-10001.pdf", pdf, "application/pdf")
    uploaded = api.post(f"/v1/operator/sites/{owner['id']}/contracts", {"file_id": file_id}, token=operator_token)
    assert uploaded.status_code == 201, uploaded.body
    block = _block(_page(api, owner), "contracts")
    assert "Публічний договір (оферта)" in block and "договір-10001.pdf" in block
    assert f"/billing/{owner['id']}/offer?lang=uk" in block

    offer = api.get(f"/billing/{owner['id']}/offer", headers={"Cookie": owner["session"], "Accept": BROWSER})
    from_api = api.get(f"/v1/sites/{owner['id']}/offer", token=owner["token"], headers=PDF)
    assert offer.status_code == 200 and offer.headers["Content-Type"] == "application/pdf"
    assert offer.body == from_api.body and offer.headers["Content-Disposition"] == from_api.headers[
        "Content-Disposition"]

    contract_id = uploaded.json_body["id"]
    to_link = api.get(f"/billing/{owner['id']}/contracts/{contract_id}", headers={"Cookie": owner["session"]})
    assert to_link.status_code == 303
    link = to_link.headers["Location"]
    downloaded = api.get(link[link.index("/v1/files/"):], headers=PDF)
    assert downloaded.status_code == 200 and downloaded.body == pdf

    assert api.get(f"/billing/{owner['id']}/contracts/sct_nope", headers={"Cookie": owner["session"]}
                   ).status_code == 404
    assert api.get(f"/billing/{owner['id']}/offer").status_code == 401
    api.signup("other@example.ua", locale="uk", name="Other")
    other = billing_login(api, "other@example.ua")
    assert api.get(f"/billing/{owner['id']}/offer", headers={"Cookie": other}).status_code == 404
    assert api.get(f"/billing/{owner['id']}/contracts/{contract_id}", headers={"Cookie": other}).status_code == 404


# --- Рахунки -------------------------------------------------------------------------------------------------------

def test_invoices_show_their_status_amount_and_dates_in_the_readers_language_and_the_pdf_is_the_apis(api, owner):
    (invoice,) = invoices(api, owner["token"], owner["id"])
    block = _block(_page(api, owner), "invoices")
    assert invoice["number"] in block and "Не оплачено" in block
    assert format_amount(invoice["amount"], "UAH", "uk") in block
    assert "17 березня 2027" in block and "22 березня 2027" in block  # issued, due: Kyiv days
    assert "березень 2027" in block and "Оплатити онлайн" in block and "30 хвилин" in block
    english = _block(_page(api, owner, "en"), "invoices")
    assert "Unpaid" in english and "March 22, 2027" in english and format_amount(invoice["amount"], "UAH", "en") \
        in english
    assert "Pay online" in english
    persian = _block(_page(api, owner, "fa"), "invoices")
    assert "پرداخت" in persian
    # due at the end of 22 March in Kyiv: already the 23rd for an owner who reads in Tehran's time
    assert api.request("PATCH", "/v1/me", {"timezone": "Asia/Tehran"}, token=owner["token"]).status_code == 200
    assert "March 23, 2027" in _block(_page(api, owner, "en"), "invoices")

    pdf = api.get(f"/billing/{owner['id']}/invoices/{invoice['id']}/pdf",
                  headers={"Cookie": owner["session"], "Accept": BROWSER})
    from_api = api.get(f"/v1/sites/{owner['id']}/invoices/{invoice['id']}/pdf", token=owner["token"], headers=PDF)
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf" and pdf.body == from_api.body
    assert api.get(f"/billing/{owner['id']}/invoices/nope/pdf", headers={"Cookie": owner["session"]}
                   ).status_code == 404


def test_pay_online_goes_to_the_invoices_30_minute_link_renewed_once_expired_and_a_paid_invoice_says_so(api, owner):
    (invoice,) = invoices(api, owner["token"], owner["id"])
    tail = f"/invoices/{invoice['id']}/pay"
    first = _post(api, owner, tail)
    assert first.status_code == 303
    link = api.post(f"/v1/sites/{owner['id']}/invoices/{invoice['id']}/payment-link", token=owner["token"]).json_body
    assert first.headers["Location"] == link["url"]  # the same link the API gives
    at(2027, 3, 17, 10, 29)
    assert _post(api, owner, tail).headers["Location"] == link["url"]
    at(2027, 3, 17, 10, 31)
    renewed = _post(api, owner, tail).headers["Location"]
    assert renewed != link["url"] and renewed.endswith("/web/checkout/" + renewed.rsplit("/", 1)[1])

    acquirer.LocalAcquirer().answer(renewed.rsplit("/", 1)[1], True)
    deliver(api)
    block = _block(_page(api, owner), "invoices")
    assert "Оплачено" in block and ">Оплатити онлайн</button>" not in block
    again = _post(api, owner, tail, lang="en")
    assert again.status_code == 409
    assert "not waiting for a payment any more" in _block(again.body.decode(), "invoices")
    unknown = _post(api, owner, "/invoices/sinv_nope/pay", lang="en")
    assert unknown.status_code == 404 and "no such invoice" in _block(unknown.body.decode(), "invoices")
    assert post_page(api, f"/billing/{owner['id']}{tail}", owner["session"], {"csrf": "forged"}).status_code == 403
    assert post_page(api, f"/billing/{owner['id']}{tail}", "", {"csrf": "x"}).status_code == 401
    api.signup("other@example.ua", locale="uk", name="Other")
    other = billing_login(api, "other@example.ua")
    other_csrf = csrf_of(api.get("/billing", headers={"Cookie": other}).body.decode())
    assert post_page(api, f"/billing/{owner['id']}{tail}", other, {"csrf": other_csrf}).status_code == 404
    assert_books_balance()


def test_a_past_due_and_then_blocked_site_shows_a_banner_with_the_sum_owed_and_a_pay_button(api, owner):
    (invoice,) = invoices(api, owner["token"], owner["id"])
    assert 'class="banner owed"' not in _page(api, owner)
    at(2027, 3, 23, 0, 1)
    run_timers()
    html = _page(api, owner)
    banner = re.search(r'<div class="banner owed".*?</div>', html, re.S).group(0)
    assert html.index("</h1>") < html.index('class="banner owed"') < html.index('aria-labelledby="block-identity"')
    assert "Рахунок прострочено" in banner and format_amount(invoice["amount"], "UAH", "uk") in banner
    assert f'/billing/{owner["id"]}/invoices/{invoice["id"]}/pay?lang=uk">' in banner
    assert "Просрочен" in _block(_page(api, owner, "ru"), "invoices")
    at(2027, 3, 27, 0, 1)
    run_timers()
    assert api.get(f"/v1/sites/{owner['id']}", token=owner["token"]).json_body["status"] == "blocked"
    banner = re.search(r'<div class="banner owed".*?</div>', _page(api, owner, "en"), re.S).group(0)
    assert "The site is blocked" in banner and format_amount(invoice["amount"], "UAH", "en") in banner
    paid = _post(api, owner, f"/invoices/{invoice['id']}/pay")
    assert paid.status_code == 303 and "/web/checkout/" in paid.headers["Location"]

    api.webhook(transfer_event("evt-banner", invoice["amount"], "UAH", invoice["number"]))
    assert 'class="banner owed"' not in _page(api, owner)
    assert_books_balance()


# --- Акти ----------------------------------------------------------------------------------------------------------

def test_acts_are_asked_for_a_closed_paid_month_listed_with_the_pdf_that_went_to_vchasno(api, owner):
    (march,) = invoices(api, owner["token"], owner["id"])
    block = _block(_page(api, owner), "acts")
    assert "лише за активного підключення" in block and "Активуйте «Вчасно»" in block
    assert 'name="period"' not in block
    not_yet = _post(api, owner, "/acts", {"period": "2027-03"}, lang="en")
    assert not_yet.status_code == 409 and "Activate Vchasno first" in _block(not_yet.body.decode(), "acts")

    LocalVchasno().add(EDRPOU)
    assert _post(api, owner, "/requisites", {"tax_id": EDRPOU, "iban": IBAN, "activate": "1"}).status_code == 303
    early = _post(api, owner, "/acts", {"period": "2027-03"}, lang="en")
    assert early.status_code == 409 and "not over yet" in _block(early.body.decode(), "acts")
    at(2027, 4, 1, 12)
    assert '<option value="2027-03">березень 2027</option>' in _block(_page(api, owner), "acts")
    unpaid = _post(api, owner, "/acts", {"period": "2027-03"})
    assert unpaid.status_code == 409 and "не всі оплачені" in _block(unpaid.body.decode(), "acts")
    bad = _post(api, owner, "/acts", {"period": "2027-13"})
    assert bad.status_code == 422 and "Оберіть місяць" in _block(bad.body.decode(), "acts")
    assert api.get(f"/v1/sites/{owner['id']}/acts", token=owner["token"]).json_body["items"] == []

    api.webhook(transfer_event("evt-march", march["amount"], "UAH", march["number"]))
    sent = _post(api, owner, "/acts", {"period": "2027-03"})
    assert sent.status_code == 303 and sent.headers["Location"].endswith("#block-acts")
    (act,) = api.get(f"/v1/sites/{owner['id']}/acts", token=owner["token"]).json_body["items"]
    block = _block(_page(api, owner), "acts")
    assert "Акт за березень 2027" in block and act["vchasno_document_id"] in block
    assert '<option value="2027-03">' not in block
    pdf = api.get(f"/billing/{owner['id']}/acts/{act['id']}/pdf",
                  headers={"Cookie": owner["session"], "Accept": BROWSER})
    from_api = api.get(f"/v1/sites/{owner['id']}/acts/{act['id']}/pdf", token=owner["token"], headers=PDF)
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf" and pdf.body == from_api.body
    assert_books_balance()


def test_the_blocks_read_in_persian_right_to_left(api, owner):
    html = _page(api, owner, "fa")
    assert 'dir="rtl"' in html
    for name in ("requisites", "vchasno", "contracts", "invoices", "acts"):
        assert _block(html, name)

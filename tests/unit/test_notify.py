"""Notifications: every kind renders in every language, and both senders deliver what was rendered.

conftest's autouse `aws` fixture provides moto, a fresh clock and a temporary mail sink for every test.
"""
from __future__ import annotations

import email
from email import policy
from pathlib import Path

import boto3
import pytest
from jinja2 import UndefinedError

from chalicelib.adapters.mail import SesSender, SinkSender, get_sender
from chalicelib.money.amounts import Money, format_money
from chalicelib.notify.htmltext import html_to_text
from chalicelib.notify.links import link_for
from chalicelib.notify.render import KINDS, RenderedMessage, render
from chalicelib.platform import clock, config
from tests.notification_samples import CANCELLATION_REASONS, EXTRA, SAMPLES

LOCALES = tuple(config.LOCALES)
AMOUNT = {"amount": 150000, "currency": "USD"}
PARAMS = {
    "welcome": {"name": "Olena"},
    "invoice_created": {"name": "Olena", "invoice_id": "inv_1", "number": "PI-2025-000123", "amount": AMOUNT,
                        "payment_details": "Invoice № PI-2025-000123 dated 17/02/2025"},
    "invoice_paid": {"name": "Olena", "invoice_id": "inv_1", "number": "PI-2025-000123", "amount": AMOUNT,
                     "paid_at": "2025-02-17T10:30:00Z"},
    "payment_unmatched": {"name": "Operator", "payment_id": "pay_7", "amount": AMOUNT,
                          "purpose": "top up <PI-2025-999999>", "reason": "invoice_not_found"},
}
MESSAGE = RenderedMessage(subject="Счёт PI-2025-000123 оплачен", text="Деньги зачислены.\n",
                          html="<p>Деньги <b>зачислены</b>.</p>")


@pytest.fixture
def mail_env():
    """The temporary sink directory that conftest's `aws` fixture points MAIL_SINK_DIR at."""
    assert config.settings.mail_transport == "sink"
    return Path(config.settings.mail_sink_dir)


def _parse(path):
    return email.message_from_bytes(path.read_bytes(), policy=policy.default)


# --- rendering ---------------------------------------------------------------------------------------------------

def test_every_kind_from_the_mission_has_templates():
    assert {"welcome", "invoice_created", "invoice_paid", "payment_unmatched"} <= KINDS
    assert set(PARAMS) | set(SAMPLES) == KINDS


CASES = [(kind, {"name": "Olena", **params}) for kind, params in PARAMS.items()] + [
    (kind, {"name": "Olena", **params}) for kind, samples in SAMPLES.items() for params in samples]


def _case_id(case) -> str:
    kind, params = case
    return f"{kind}-{params.get('role', '')}"


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_every_kind_renders_in_every_locale_without_leftover_markup(case, locale):
    kind, params = case
    message = render(kind, locale, params)

    for part in (message.subject, message.text, message.html):
        assert part.strip()
        assert "{{" not in part and "{%" not in part and "}}" not in part and "None" not in part
    assert "\n" not in message.subject
    assert f'lang="{locale}"' in message.html


@pytest.mark.parametrize("locale", [locale for locale in LOCALES if locale != config.DEFAULT_LOCALE])
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_translations_are_not_english_copies(case, locale):
    kind, params = case
    assert render(kind, locale, params).text != render(kind, "en", params).text


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("kind", sorted(k for k, samples in SAMPLES.items() if len(samples) > 1))
def test_each_party_reads_its_own_message(kind, locale):
    texts = {render(kind, locale, {"name": "Olena", **params}).text for params in SAMPLES[kind]}
    assert len(texts) == len(SAMPLES[kind]), "each role should get a message written for it"


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("code", sorted({c for codes in CANCELLATION_REASONS.values() for c in codes}))
def test_every_cancellation_reason_is_shown_in_words(code, locale):
    params = {"name": "Olena", **SAMPLES["cancellation_requested"][0],
              "cancellation": {"by": "contractor", "reason": code, "message": ""}}
    assert code not in render("cancellation_requested", locale, params).text


def test_contractor_is_told_the_net_payout_on_auto_accept():
    client, contractor = (render("order_auto_accepted", "en", {"name": "N", **p}).text
                          for p in SAMPLES["order_auto_accepted"])
    assert "$1,200.00" in contractor and "$1,500.00" in client


def test_money_is_formatted_in_english():
    message = render("invoice_created", "en", PARAMS["invoice_created"])

    assert "$1,500.00" in message.subject
    assert "$1,500.00" in message.text
    assert "$1,500.00" in message.html


@pytest.mark.parametrize("locale", LOCALES)
def test_money_is_formatted_in_the_recipients_locale(locale):
    params = {**PARAMS["invoice_paid"], "amount": {"amount": 150000, "currency": "UAH"}}

    message = render("invoice_paid", locale, params)

    assert format_money(Money(150000, "UAH"), locale) in message.text


def test_iso_timestamp_is_shown_as_a_readable_date():
    assert "February 17, 2025" in render("invoice_paid", "en", PARAMS["invoice_paid"]).text
    assert "17 февраля 2025" in render("invoice_paid", "ru", PARAMS["invoice_paid"]).text


def test_persian_html_is_right_to_left_and_others_left_to_right():
    assert 'dir="rtl"' in render("welcome", "fa", PARAMS["welcome"]).html
    for locale in ("en", "ru", "uk"):
        assert 'dir="ltr"' in render("welcome", locale, PARAMS["welcome"]).html


def test_unknown_locale_falls_back_to_english():
    assert render("invoice_paid", "de", PARAMS["invoice_paid"]) == render("invoice_paid", "en", PARAMS["invoice_paid"])


def test_regional_locale_uses_its_language():
    assert render("welcome", "uk_UA", PARAMS["welcome"]) == render("welcome", "uk", PARAMS["welcome"])
    assert render("welcome", "fa-IR", PARAMS["welcome"]) == render("welcome", "fa", PARAMS["welcome"])


def test_params_are_escaped_in_html_but_not_in_text():
    message = render("payment_unmatched", "en", PARAMS["payment_unmatched"])

    assert "top up &lt;PI-2025-999999&gt;" in message.html
    assert "top up <PI-2025-999999>" in message.text


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="no_such_kind"):
        render("no_such_kind", "en", {"name": "Olena"})


def test_missing_param_is_an_error_not_a_blank():
    with pytest.raises(UndefinedError):
        render("invoice_paid", "en", {"name": "Olena"})


@pytest.mark.parametrize(("locale", "days", "expected"), [
    ("en", 1, "(+1 day)"), ("en", 2, "(+2 days)"),
    ("ru", 1, "(+1 день)"), ("ru", 2, "(+2 дня)"), ("ru", 5, "(+5 дней)"), ("ru", 21, "(+21 день)"),
    ("uk", 1, "(+1 день)"), ("uk", 2, "(+2 дні)"), ("uk", 5, "(+5 днів)"), ("fa", 5, "(+5 روز)"),
])
def test_days_take_the_plural_form_of_the_language(locale, days, expected):
    params = {"name": "Olena", **SAMPLES["extra_offered"][0], "extra": {**EXTRA, "extra_days": days}}

    text = render("extra_offered", locale, params).text

    assert expected in text and "дн." not in text


@pytest.mark.parametrize(("locale", "files"),
                         [("en", "2 files"), ("ru", "2 файла"), ("uk", "2 файли"), ("fa", "2 فایل")])
def test_attachments_are_counted_in_words(locale, files):
    assert files in render("message_received", locale, {"name": "Olena", **SAMPLES["message_received"][1]}).text


def test_persian_dates_are_solar_hijri_with_persian_digits():
    # the deadline 2025-02-20T10:30Z is 2 Esfand 1403, 14:00 in Tehran
    message = render("order_started", "fa", {"name": "Olena", **SAMPLES["order_started"][1]})

    assert "۲ اسفند ۱۴۰۳، ساعت ۱۴:۰۰ (تهران، UTC+۳:۳۰)" in message.text
    assert "۲ اسفند ۱۴۰۳" in message.html and "2025" not in message.text


@pytest.mark.parametrize(("locale", "timezone", "deadline"), [
    ("en", None, "February 20, 2025, 10:30\u202fAM (UTC)"),  # CLDR puts a narrow no-break space there
    ("ru", None, "20 февраля 2025\u202fг., 13:30 (Москва, UTC+3)"),
    ("uk", None, "20 лютого 2025\u202fр., 12:30 (Київ, UTC+2)"),
    ("en", "Asia/Tokyo", "February 20, 2025, 7:30\u202fPM (Tokyo, UTC+9)"),
    ("en", "America/New_York", "February 20, 2025, 5:30\u202fAM (New York, UTC-5)"),
    ("ru", "Asia/Kolkata", "20 февраля 2025\u202fг., 16:00 (Калькутта, UTC+5:30)"),
    ("uk", "Etc/GMT+5", "20 лютого 2025\u202fр., 05:30 (UTC-5)"),
])
def test_deadlines_show_the_time_in_the_readers_zone_and_name_it(locale, timezone, deadline):
    params = {"name": "Olena", **SAMPLES["order_started"][1]}  # deadline_at 2025-02-20T10:30:00Z

    assert deadline in render("order_started", locale, params, timezone=timezone).text


def test_a_day_is_the_day_in_the_readers_zone():
    paid_late_in_utc = {**PARAMS["invoice_paid"], "paid_at": "2025-02-17T22:30:00Z"}

    assert "February 17, 2025" in render("invoice_paid", "en", paid_late_in_utc).text
    assert "February 18, 2025" in render("invoice_paid", "en", paid_late_in_utc, timezone="Asia/Tokyo").text
    assert "February 18, 2025" in render("invoice_paid", "en", {**paid_late_in_utc, "timezone": "Asia/Tokyo"}).text


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_every_email_leads_to_the_page_where_its_reader_acts(case):
    kind, params = case
    link = link_for(kind, params)

    message = render(kind, "en", params)

    assert link.url.startswith((config.settings.web_app_url, config.settings.app_url))
    assert f'href="{link.url}"' in message.html and f"{link.label}: {link.url}" in message.text


@pytest.mark.parametrize(("kind", "params", "path"), [
    ("order_started", SAMPLES["order_started"][0], "/deals/ord_01J"),
    ("contract_funded", SAMPLES["contract_funded"][0], "/contracts/ctr_01J"),
    ("offer_received", SAMPLES["offer_received"][0], "/offers/ofr_01J"),
    ("offer_accepted", SAMPLES["offer_accepted"][0], "/deals/ord_01K"),
    ("task_sent", SAMPLES["task_sent"][0], "/tasks/tsk_01J"),
    ("invoice_paid", PARAMS["invoice_paid"], "/invoices/inv_1"),
    ("payout_paid", SAMPLES["payout_paid"][0], "/payouts/po_01J"),
    ("message_received", SAMPLES["message_received"][0], "/conversations/cnv_01J"),
    ("welcome", PARAMS["welcome"], "/"),
])
def test_links_are_the_web_apps_address_and_the_path_of_the_object(monkeypatch, kind, params, path):
    monkeypatch.setenv("WEB_APP_URL", "https://app.example.com/")
    monkeypatch.setenv("WEB_PATHS", '{"order": "/deals/{id}"}')
    config.reload()

    assert link_for(kind, params).url == f"https://app.example.com{path}"


def test_an_invitation_leads_to_the_services_own_page():
    [params] = SAMPLES["team_invitation"]
    assert link_for("team_invitation", params).url == params["link"]


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_the_text_is_the_html_body_read_as_text(case, locale):
    kind, params = case
    message = render(kind, locale, params)

    assert html_to_text(message.html) == "escrowdesk\n\n" + message.text


def test_html_reads_as_text_paragraph_by_paragraph():
    html = (
        "<head><title>Skipped</title></head><p>Hi  <strong>Olena</strong>,\n</p>"
        "<p>Price: $1&nbsp;500<br>\n  Delivery: 5 days</p>"
        '<blockquote style="white-space:pre-wrap;">Line one\n  indented &lt;b&gt;\n\nafter a gap</blockquote>'
        '<p><a class="button" href="https://app.example.com/orders/ord_1">Open the order</a></p>'
        '<p><a href="https://x.example">https://x.example</a></p>'
    )

    assert html_to_text(html) == (
        "Hi Olena,\n\nPrice: $1\xa0500\nDelivery: 5 days\n\n"
        "    Line one\n      indented <b>\n\n    after a gap\n\n"
        "Open the order: https://app.example.com/orders/ord_1\n\nhttps://x.example\n"
    )


# --- local sink --------------------------------------------------------------------------------------------------

def test_sink_writes_a_parseable_multipart_eml_with_a_utf8_subject(mail_env):
    get_sender().send(to="olena@example.com", message=MESSAGE, message_id="01JMSG0001")

    [eml_path] = mail_env.glob("*.eml")
    assert eml_path.name.endswith("-01JMSG0001.eml")
    parsed = _parse(eml_path)
    assert parsed["Subject"] == "Счёт PI-2025-000123 оплачен"
    assert parsed["To"] == "olena@example.com"
    assert parsed["From"] == config.settings.mail_from
    assert parsed["Message-ID"].startswith("<01JMSG0001@")
    assert parsed["Date"].datetime is not None
    assert parsed.get_content_type() == "multipart/alternative"
    assert parsed.get_body(("plain",)).get_content() == "Деньги зачислены.\n"
    assert "<b>зачислены</b>" in parsed.get_body(("html",)).get_content()


def test_sink_keeps_a_browser_copy_and_an_index(mail_env):
    get_sender().send(to="olena@example.com", message=MESSAGE, message_id="01JMSG0001")

    [eml_path] = mail_env.glob("*.eml")
    html_copy = eml_path.with_suffix(".html")
    assert html_copy.read_text(encoding="utf-8") == MESSAGE.html
    index = (mail_env / "index.html").read_text(encoding="utf-8")
    assert MESSAGE.subject in index
    assert f'href="{eml_path.name}"' in index and f'href="{html_copy.name}"' in index


def test_sending_the_same_message_id_twice_writes_one_file(mail_env):
    sender = get_sender()

    sender.send(to="olena@example.com", message=MESSAGE, message_id="01JMSG0001")
    sender.send(to="olena@example.com", message=MESSAGE, message_id="01JMSG0001")

    assert len(list(mail_env.glob("*.eml"))) == 1
    assert not list(mail_env.glob(".*.tmp"))


def test_index_lists_newest_first(mail_env):
    sender = get_sender()
    older = RenderedMessage(subject="Older message", text="1\n", html="<p>1</p>")
    newer = RenderedMessage(subject="Newer message", text="2\n", html="<p>2</p>")

    sender.send(to="a@example.com", message=older, message_id="01JMSG0001")
    clock.advance(60)
    sender.send(to="a@example.com", message=newer, message_id="01JMSG0002")

    index = (mail_env / "index.html").read_text(encoding="utf-8")
    assert index.index("Newer message") < index.index("Older message")


def test_sink_directory_can_be_given_explicitly(mail_env, tmp_path):
    SinkSender(tmp_path / "elsewhere").send(to="a@example.com", message=MESSAGE, message_id="01JMSG0001")

    assert len(list((tmp_path / "elsewhere").glob("*.eml"))) == 1
    assert not mail_env.exists()


def test_message_id_is_made_safe_for_a_file_name(mail_env):
    get_sender().send(to="a@example.com", message=MESSAGE, message_id="../outbox/7")

    [eml_path] = mail_env.glob("*.eml")
    assert eml_path.name.endswith("-___outbox_7.eml")
    assert _parse(eml_path)["X-Escrowdesk-Message-Id"] == "../outbox/7"


# --- transport choice and SES ------------------------------------------------------------------------------------

def test_get_sender_follows_the_mail_transport_setting(mail_env, monkeypatch):
    assert isinstance(get_sender(), SinkSender)
    assert get_sender().directory == mail_env

    monkeypatch.setenv("MAIL_TRANSPORT", "ses")
    config.reload()
    assert isinstance(get_sender(), SesSender)

    monkeypatch.setenv("MAIL_TRANSPORT", "carrier-pigeon")
    config.reload()
    with pytest.raises(ValueError, match="carrier-pigeon"):
        get_sender()


@pytest.fixture
def ses(monkeypatch):
    """Given SES as the transport and, inside conftest's moto mock, a verified sender."""
    monkeypatch.setenv("MAIL_TRANSPORT", "ses")
    settings = config.reload()
    boto3.client("sesv2", region_name=settings.region).create_email_identity(EmailIdentity="no-reply@escrowdesk.local")
    return settings


def test_ses_sender_sends_the_rendered_message(ses):
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    message = render("invoice_paid", "uk", PARAMS["invoice_paid"])

    get_sender().send(to="olena@example.com", message=message, message_id="01JMSG0001")

    [sent] = ses_backends[DEFAULT_ACCOUNT_ID][ses.region].sent_messages
    assert sent.subject == message.subject
    assert sent.body == message.html
    assert sent.destinations == {"ToAddresses": ["olena@example.com"]}
    assert sent.source == config.settings.mail_from


@pytest.mark.parametrize("locale", LOCALES)
def test_every_party_reads_the_operators_decision(locale):
    for params in SAMPLES["dispute_resolved"]:
        message = render("dispute_resolved", locale, {"name": "Olena", **params})
        assert params["dispute"]["note"] in message.text and params["dispute"]["note"] in message.html


@pytest.mark.parametrize("kind", ["dispute_opened", "dispute_resolved"])
def test_a_contracts_dispute_speaks_of_the_contract_and_names_who_opened_it(kind):
    """Each party is told what he got, in the words of his deal: a project's contract is no order."""
    contract_samples = [p for p in SAMPLES[kind] if p.get("deal") == "contract"]
    assert contract_samples
    for params in contract_samples:
        text = render(kind, "en", {"name": "Olena", **params}).text
        assert "contract ctr_01J" in text and "order" not in text.lower()
    opened_by_contractor = next(p for p in SAMPLES["dispute_opened"] if p.get("deal") == "contract"
                                and p["dispute"]["by"] == "contractor" and p["role"] == "client")
    assert render("dispute_opened", "en", {"name": "Olena", **opened_by_contractor}).subject == (
        "The contractor opened a dispute: Landing page")


def test_a_contractor_who_declines_is_told_it_counts_against_his_rating():
    contractor = next(p for p in SAMPLES["order_declined"] if p["role"] == "contractor")
    assert "counts against your responsibility rating" in render("order_declined", "en",
                                                                 {"name": "O", **contractor}).text


# --- values of another direction ---------------------------------------------------------------------------------

LRI, RLI, PDI = "\u2066", "\u2067", "\u2069"


def _site_created(locale: str, site_name: str):
    return render("site_created", locale, {"name": "Олена", **SAMPLES["site_created"][0], "site_name": site_name})


def test_a_persian_email_keeps_cyrillic_and_latin_values_in_their_own_direction():
    message = _site_created("fa", "ТОВ «Квітка»")

    assert '<bdi dir="ltr">ТОВ «Квітка»</bdi>' in message.html
    assert '<bdi dir="ltr"><strong>Business</strong></bdi>' in message.html
    assert f"{LRI}ТОВ «Квітка»{PDI}" in message.text and f"{LRI}ТОВ «Квітка»{PDI}" in message.subject
    assert f"{LRI}Олена{PDI}" in message.text


def test_a_persian_email_leaves_persian_values_and_plain_numbers_as_they_are():
    message = _site_created("fa", "گل‌فروشی")

    assert "«گل‌فروشی»" in message.text and "<strong>10001</strong>" in message.html
    assert '<bdi dir="rtl">' not in message.html


def test_a_left_to_right_email_isolates_only_right_to_left_values():
    assert "<bdi" not in _site_created("uk", "ТОВ «Квітка»").html
    message = _site_created("uk", "گل‌فروشی")
    assert '<bdi dir="rtl">گل‌فروشی</bdi>' in message.html and f"{RLI}گل‌فروشی{PDI}" in message.text


@pytest.mark.parametrize(("locale", "month"), [
    ("en", "November 2026"), ("uk", "листопад 2026"), ("ru", "ноябрь 2026"),
    ("fa", "نوامبر ۲۰۲۶ (۱۰ آبان – ۹ آذر ۱۴۰۵)"),
])
def test_the_act_email_names_its_month_in_words(locale, month):
    message = render("act_sent", locale, {"name": "Olena", **SAMPLES["act_sent"][0]})

    assert month in message.subject and month in message.text and "2026-11" not in message.text


@pytest.mark.parametrize(("value", "rtl", "isolated"), [
    ("01001, м. Київ", True, f"{LRI}01001, м. Київ{PDI}"),  # a postcode's comma would move to the end
    ("UA213223130000026007233566001", True, f"{LRI}UA213223130000026007233566001{PDI}"),
    ("20 %:", True, f"{RLI}20 %:{PDI}"),  # no letter: the direction of the text around it
    ("۲ اسفند ۱۴۰۳", True, "۲ اسفند ۱۴۰۳"),
    ("گل‌فروشی", True, "گل‌فروشی"),
    ("42", True, "42"),
    ("ТОВ «Квітка»", False, "ТОВ «Квітка»"),
    ("علی رضایی", False, f"{RLI}علی رضایی{PDI}"),
])
def test_a_value_is_isolated_only_where_the_text_around_it_would_reorder_it(value, rtl, isolated):
    from chalicelib.notify import bidi

    assert bidi.isolate(value, rtl) == isolated


@pytest.mark.parametrize("kind", ["order_placed", "contract_created", "offer_received", "extra_paid", "task_sent"])
def test_every_notice_that_states_an_amount_shows_the_contractor_his_net(kind):
    """The contractor reads what he will get after commission; the client reads what he pays, never the fee."""
    for params in SAMPLES[kind]:
        net = params.get("price_payout") or params["payout"]
        text = render(kind, "en", {"name": "Olena", **params}).text
        figure = format_money(Money(net["amount"], net["currency"]), "en")
        if params["role"] == "contractor":
            assert figure in text, text
        else:
            pays = params["amount"]
            assert format_money(Money(pays["amount"], pays["currency"]), "en") in text, text
            assert "commission" not in text, text
            if net != pays:  # a fee was taken: the client is not shown the contractor's net
                assert figure not in text, text

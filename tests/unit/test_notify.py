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

from chalicelib import clock, config
from chalicelib.money import Money, format_money
from chalicelib.notify import KINDS, RenderedMessage, SesSender, SinkSender, get_sender, render
from tests.notification_samples import CANCELLATION_REASONS, SAMPLES

LOCALES = ("en", "ru", "uk", "fa")
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


@pytest.mark.parametrize("locale", ("ru", "uk", "fa"))
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

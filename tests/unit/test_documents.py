"""Proforma invoices and acts as PDFs: content, languages and their titles, right-to-left Persian with Solar Hijri
dates, the reader's time zone, money in words. No AWS needed."""

from __future__ import annotations

import io
import re
import time
from datetime import UTC, datetime

import pytest
from pypdf import PdfReader

from chalicelib.documents import ProformaInvoice, render_proforma_invoice
from chalicelib.documents.act import Act, render_act
from chalicelib.documents.amount_words import amount_in_words
from chalicelib.money.amounts import SUPPORTED_CURRENCIES, Money, format_money
from chalicelib.platform import config
from chalicelib.platform.config import LOCALES

NUMBER = "PI-2026-000001"
PAYMENT_DETAILS = "Invoice № PI-2026-000001 dated 22/11/2026"
FIFTEEN_HUNDRED_DOLLARS = Money(150000, "USD")


def make_invoice(payer_name: str = "John Smith", amount: Money = FIFTEEN_HUNDRED_DOLLARS,
                 issued_at: datetime = datetime(2026, 11, 22, 9, 15, tzinfo=UTC)) -> ProformaInvoice:
    return ProformaInvoice(
        number=NUMBER,
        issued_at=issued_at,
        amount=amount,
        payment_details=PAYMENT_DETAILS,
        payer_name=payer_name,
        payer_email="payer@example.com",
    )


def read(pdf: bytes) -> PdfReader:
    return PdfReader(io.BytesIO(pdf))


def text_of(pdf: bytes) -> str:
    """Every text run on the page, one per line.

    Runs are collected as drawn because pypdf's reflowing extractor drops some runs of
    right-to-left lines; the runs themselves extract in logical order.
    """
    runs: list[str] = []
    for page in read(pdf).pages:
        page.extract_text(visitor_text=lambda text, *_: runs.append(text.strip()))
    return "\n".join(run for run in runs if run)


def as_extracted(text: str) -> str:
    """`text` as pypdf extracts it: it reads each run of Persian digits backwards (the page draws them left to
    right, as HarfBuzz shapes a run of digits; pdftoppm shows "۱۴۰۵")."""
    return re.sub("[۰-۹]+", lambda run: run.group()[::-1], text)


@pytest.fixture(scope="module")
def english_pdf() -> bytes:
    return render_proforma_invoice(make_invoice(), "en")


def test_proforma_invoice_is_a_one_page_pdf_titled_with_its_number(english_pdf):
    assert english_pdf.startswith(b"%PDF")
    reader = read(english_pdf)
    assert len(reader.pages) == 1
    assert reader.metadata.title == f"Proforma invoice No. {NUMBER}"


def test_english_invoice_shows_number_date_payer_payee_and_payment_details(english_pdf):
    text = text_of(english_pdf)
    settings = config.settings
    for expected in (
        NUMBER,
        "22/11/2026",
        "John Smith",
        "payer@example.com",
        PAYMENT_DETAILS,
        settings.payee_name,
        settings.payee_bank,
        settings.payee_iban,
        settings.payee_swift,
    ):
        assert expected in text


def test_english_invoice_shows_amount_in_figures_and_words(english_pdf):
    text = text_of(english_pdf)
    assert "$1,500.00" in text
    assert "One thousand, five hundred dollars, zero cents" in text


def test_russian_invoice_has_cyrillic_labels_and_payer_name():
    text = text_of(render_proforma_invoice(make_invoice("Иван Петров", Money(100001, "UAH")), "ru"))
    for expected in (
        "Счёт на оплату",
        NUMBER,
        "Плательщик",
        "Иван Петров",
        "Назначение платежа",
        PAYMENT_DETAILS,
        "Одна тысяча гривен, одна копейка",
    ):
        assert expected in text


def test_ukrainian_invoice_has_ukrainian_labels():
    text = text_of(render_proforma_invoice(make_invoice("Олена Коваль", Money(12345, "EUR")), "uk"))
    for expected in ("Рахунок на оплату", "Платник", "Олена Коваль", "Сума прописом", "22 листопада 2026"):
        assert expected in text
    assert "фактура" not in text  # a VAT invoice is another document


def test_persian_invoice_renders_one_page_with_persian_text_and_the_number():
    pdf = render_proforma_invoice(make_invoice("علی رضایی", Money(1500000, "IRR")), "fa")
    reader = read(pdf)
    text = text_of(pdf)
    assert len(reader.pages) == 1
    assert reader.metadata.title == f"پیش‌فاکتور شماره {NUMBER}"
    # fpdf2 maps each shaped glyph cluster back to its characters, so Persian extracts in logical order.
    for expected in (NUMBER, PAYMENT_DETAILS, "پرداخت‌کننده", "علی رضایی", "یک میلیون و پانصد هزار ریال ایران"):
        assert expected in text
    assert as_extracted("۱ آذر ۱۴۰۵") in text  # 22 November 2026 in the Solar Hijri calendar, Persian digits


def test_the_date_of_issue_is_the_day_on_the_marketplaces_calendar_like_the_invoice_number():
    """22:30 UTC on 31 December is already 1 January in Moscow (the default MARKETPLACE_TIMEZONE): the number
    says 2027 and the payment details "dated 01/01/2027", so the date of issue says so too, for every reader."""
    new_years_eve_utc = make_invoice(issued_at=datetime(2026, 12, 31, 22, 30, tzinfo=UTC))

    assert "January 1, 2027" in text_of(render_proforma_invoice(new_years_eve_utc, "en"))
    assert "January 1, 2027" in text_of(render_proforma_invoice(new_years_eve_utc, "en", "UTC"))
    assert "January 1, 2027" in text_of(render_proforma_invoice(new_years_eve_utc, "en", "America/New_York"))
    assert "1 января 2027" in text_of(render_proforma_invoice(new_years_eve_utc, "ru"))


def test_rial_amount_has_no_decimals_in_figures_or_words():
    text = text_of(render_proforma_invoice(make_invoice(amount=Money(1500000, "IRR")), "en"))
    assert "IRR1,500,000" in text
    assert "One million, five hundred thousand Iranian rials" in text


def test_unknown_locale_renders_in_english():
    text = text_of(render_proforma_invoice(make_invoice(), "de"))
    assert f"Proforma invoice No. {NUMBER}" in text
    assert "Payment details" in text


def test_same_invoice_renders_to_the_same_bytes(english_pdf):
    assert render_proforma_invoice(make_invoice(), "en") == english_pdf


def test_invoice_without_timezone_is_rejected():
    with pytest.raises(ValueError):
        ProformaInvoice(NUMBER, datetime(2026, 11, 22), Money(100, "USD"), PAYMENT_DETAILS, "John Smith", "j@x.io")


def make_act() -> Act:
    return Act(number="ACT-2026-000001", issued_at=datetime(2026, 12, 1, 10, 30, tzinfo=UTC),
               task_title="Translate the price list", task_description="", amount=Money(250000, "UAH"),
               customer_name="ACME LLC", customer_email="boss@acme.example", customer_details="",
               contractor_name="Olena", contractor_email="olena@example.com")


@pytest.mark.parametrize(("locale", "title", "date"), [
    ("en", "Act of completed work No. ACT-2026-000001", "December 1, 2026"),
    ("ru", "Акт оказанных услуг № ACT-2026-000001", "1 декабря 2026"),
    ("uk", "Акт наданих послуг № ACT-2026-000001", "1 грудня 2026"),
    ("fa", "صورت‌جلسهٔ انجام کار شمارهٔ ACT-2026-000001", "۱۰ آذر ۱۴۰۵"),
])
def test_the_act_reads_as_an_accountant_of_each_language_expects(locale, title, date):
    pdf = render_act(make_act(), locale)

    assert read(pdf).metadata.title == title
    assert title.split(" ")[-1] in text_of(pdf) and as_extracted(date) in text_of(pdf)
    assert title.removesuffix(" ACT-2026-000001") in text_of(pdf)


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("currency", SUPPORTED_CURRENCIES)
def test_every_currency_reads_in_words_in_every_locale(locale, currency):
    assert amount_in_words(Money(123456, currency), locale)


@pytest.mark.parametrize(
    ("money", "locale", "words"),
    [
        (Money(12345, "EUR"), "en", "One hundred and twenty-three euro, forty-five cents"),
        (Money(100001, "UAH"), "en", "One thousand Ukrainian hryvnias 01/100"),
        (Money(1, "IRR"), "ru", "Один иранский риал"),
        (Money(1500000, "IRR"), "fa", "یک میلیون و پانصد هزار ریال ایران"),
    ],
)
def test_amount_in_words_falls_back_to_cardinal_words_and_currency_name(money, locale, words):
    assert amount_in_words(money, locale) == words


def test_render_time_is_reported():
    invoice = make_invoice("علی رضایی", Money(1500000, "IRR"))
    started = time.perf_counter()
    render_proforma_invoice(invoice, "fa")
    print(
        f"\nproforma invoice (fa) rendered in {(time.perf_counter() - started) * 1000:.0f} ms; "
        f"amount {format_money(invoice.amount, 'fa')!r}"
    )

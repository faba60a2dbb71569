"""Proforma invoices, acts, service invoices and the offer as PDFs: content, languages and their titles,
right-to-left Persian with Solar Hijri dates, the reader's time zone, money in words; then every kind in every
locale read back as an accountant reads it (no English label, the VAT line, kopecks in digits, the month in
words, the e-signature sentence) and values of another script drawn as isolates. No AWS needed.
`make pdf-preview` draws the same samples (tests/document_samples.py) as PNG pages to look at."""

from __future__ import annotations

import dataclasses
import functools
import html
import io
import re
import subprocess
import time
from datetime import UTC, datetime

import pytest
from babel.messages.pofile import read_po
from pypdf import PdfReader

from chalicelib.documents import ProformaInvoice, render_proforma_invoice
from chalicelib.documents.act import Act, render_act
from chalicelib.documents.amount_words import amount_in_words
from chalicelib.documents.service_act import render_service_act
from chalicelib.documents.service_invoice import render_service_invoice
from chalicelib.documents.vat import vat_included
from chalicelib.money.amounts import SUPPORTED_CURRENCIES, Money, format_money
from chalicelib.notify import bidi
from chalicelib.platform import config, i18n
from chalicelib.platform.config import LOCALES
from tests import document_samples

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
        "Одна тысяча гривен 01 копейка",
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


# --- every kind in every locale, read back as an accountant reads it -------------------------------------------------

TRANSLATED = [locale for locale in LOCALES if locale != config.DEFAULT_LOCALE]
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%%")


def plain(text: str) -> str:
    """The text as read, without the invisible isolates and with its whitespace collapsed."""
    return " ".join(bidi.without_isolates(text).split())


@functools.cache
def english_labels(locale: str) -> tuple[frozenset[str], frozenset[str]]:
    """What the documents would print if a label missed its translation: the English of every documents' msgid
    that the locale's catalog translates — whole one-word labels (a run of their own) and the opening words of
    every longer phrase (anywhere in the text)."""
    with i18n.catalog_path(locale).open("rb") as po:
        catalog = read_po(po, locale=locale)
    words, phrases = set(), set()
    for message in catalog:
        if not message.id or not any(path.startswith("chalicelib/documents/") for path, _ in message.locations):
            continue
        for fragment in PLACEHOLDER.split(message.id):
            fragment = fragment.strip(" .,:;()“”—–")
            if sum(char.isalpha() for char in fragment) < 3 or fragment in message.string:
                continue  # "IBAN", "SWIFT/BIC", "EDRPOU / RNOKPP" stay as they are
            if " " in fragment:
                phrases.add(" ".join(fragment.split()[:4]))
            else:
                words.add(fragment)
    return frozenset(words), frozenset(phrases)


def runs(pdf: bytes) -> list[str]:
    return [plain(run) for run in text_of(pdf).split("\n")]


def translated(locale: str, message: str) -> str:
    return i18n.translations(locale).gettext(message)


@pytest.mark.parametrize("locale", TRANSLATED)
@pytest.mark.parametrize("kind", sorted(document_samples.KINDS))
def test_no_label_is_left_in_english_in_a_translated_document(kind, locale):
    drawn = runs(document_samples.KINDS[kind](locale, 2000))
    words, phrases = english_labels(locale)

    assert [run for run in drawn if run in words] == []
    text = " ".join(drawn)
    assert [phrase for phrase in phrases if phrase in text] == []


def test_the_english_oracle_knows_the_labels_a_document_prints():
    words, phrases = english_labels("uk")
    assert {"Total", "Period", "Site", "VAT"} <= words
    assert {"service code", "Without VAT", "Signed with the parties'"} <= phrases


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("kind", document_samples.WITH_AMOUNT)
def test_a_supplier_without_vat_says_so_on_every_invoice_and_act(kind, locale):
    text = plain(text_of(document_samples.KINDS[kind](locale, 0)))

    assert translated(locale, "Without VAT") in text
    assert {"uk": "Без ПДВ", "ru": "Без НДС", "en": "Without VAT"}.get(locale, "بدون مالیات بر ارزش افزوده") in text


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("kind", document_samples.WITH_AMOUNT)
def test_every_invoice_and_act_of_a_vat_payer_shows_the_vat_in_its_total(kind, locale):
    text = plain(text_of(document_samples.KINDS[kind](locale, 2000)))

    assert translated(locale, "Including VAT %(rate)s %%: %(vat)s").split("%(rate)s")[0].strip() in text
    assert translated(locale, "Without VAT") not in text


def test_the_act_shows_the_vat_of_the_invoices_it_covers_to_the_kopeck():
    """200.00 holds 33.33 and 300.01 holds 50.00: the act says 83.33, where 20 % of 500.01 would round to 83.34."""
    invoice = plain(text_of(render_service_invoice(document_samples.service_invoice(2000), "uk")))
    act = plain(text_of(render_service_act(document_samples.service_act(2000), "uk")))

    assert plain(f"У тому числі ПДВ 20 %: {format_money(Money(3333, 'UAH'), 'uk')}") in invoice
    assert plain(f"У тому числі ПДВ 20 %: {format_money(Money(8333, 'UAH'), 'uk')}") in act
    assert vat_included(document_samples.ACT_AMOUNT.amount_minor, 2000) == 8334


@pytest.mark.parametrize(("locale", "subunits"), [("uk", "копій"), ("ru", "копе")])
@pytest.mark.parametrize("kind", document_samples.WITH_AMOUNT)
def test_kopecks_are_written_in_two_digits_not_in_words(kind, locale, subunits):
    drawn = runs(document_samples.KINDS[kind](locale, 0))
    in_words = drawn[drawn.index(translated(locale, "Amount in words")) + 1]

    assert re.fullmatch(rf"[А-ЯҐЄІЇ][^\d,]+ \d\d {subunits}\w+", in_words), in_words
    assert "нуль" not in in_words and "ноль" not in in_words


@pytest.mark.parametrize(("money", "locale", "words"), [
    (Money(50000, "UAH"), "uk", "П'ятсот гривень 00 копійок"),
    (Money(50000, "UAH"), "ru", "Пятьсот гривен 00 копеек"),
    (Money(100001, "UAH"), "uk", "Одна тисяча гривень 01 копійка"),
    (Money(50000, "USD"), "en", "Five hundred dollars, zero cents"),
])
def test_amounts_in_words_take_the_form_customary_in_their_language(money, locale, words):
    assert amount_in_words(money, locale) == words


@pytest.mark.parametrize(("locale", "site"), [
    ("en", "Квітковий магазин (service code 10001)"),
    ("uk", "Квітковий магазин (сервіс-код 10001)"),
    ("ru", "Квітковий магазин (сервис-код 10001)"),
])
@pytest.mark.parametrize("kind", ["service_invoice", "service_act", "offer"])
def test_the_site_is_named_with_its_service_code_in_the_readers_language(kind, locale, site):
    assert site in plain(text_of(document_samples.KINDS[kind](locale, 0)))


@pytest.mark.parametrize("kind", ["service_invoice", "service_act", "offer"])
def test_a_persian_document_names_the_service_code_in_persian(kind):
    text = plain(text_of(document_samples.KINDS[kind]("fa", 0)))
    assert "کد سرویس" in text and "service code" not in text


@pytest.mark.parametrize(("locale", "month"), [
    ("en", "November 2026"), ("uk", "листопад 2026"), ("ru", "ноябрь 2026"),
    ("fa", as_extracted("نوامبر ۲۰۲۶ (۱۰ آبان – ۹ آذر ۱۴۰۵)")),
])
def test_the_acts_period_is_the_month_in_words_in_the_readers_calendar(locale, month):
    act = document_samples.service_act(0)
    drawn = runs(render_service_act(act, locale))

    assert month in drawn
    assert [run for run in drawn if act.period in run.replace(act.number, "")] == []


@pytest.mark.parametrize(("period", "locale", "month"), [
    ("2026-12", "fa", "دسامبر ۲۰۲۶ (۱۰ آذر – ۱۰ دی ۱۴۰۵)"),
    ("2027-03", "fa", "مارس ۲۰۲۷ (۱۰ اسفند ۱۴۰۵ – ۱۱ فروردین ۱۴۰۶)"),  # across the Persian new year
    ("2027-02", "uk", "лютий 2027"),
])
def test_a_month_spans_its_solar_hijri_days_in_persian(period, locale, month):
    assert i18n.format_month(period, locale) == month


@pytest.mark.parametrize("locale", LOCALES)
def test_the_service_act_says_it_is_signed_with_e_signatures_in_vchasno(locale):
    sentence = translated(locale, "Signed with the parties' qualified electronic signatures in the Vchasno service.")
    text = plain(text_of(render_service_act(document_samples.service_act(0), locale)))
    if i18n.is_rtl(locale):  # pypdf reads a Persian line with guillemets run by run
        assert all(word in text for word in sentence.replace("«", " ").replace("»", " ").split())
    else:
        assert sentence in text
    if locale == "uk":
        assert sentence == "Підписується кваліфікованими електронними підписами сторін у сервісі «Вчасно»."


@pytest.mark.parametrize("kind", ["proforma", "task_act"])
def test_top_up_proformas_and_task_acts_keep_no_vchasno_sentence(kind):
    assert "Вчасно" not in plain(text_of(document_samples.KINDS[kind]("uk", 0)))


# --- mixed directions ----------------------------------------------------------------------------------------------

@pytest.fixture
def drawn_strings(monkeypatch) -> list[str]:
    """Every string handed to fpdf2 to draw: paragraphs and table cells."""
    from fpdf import FPDF
    from fpdf.table import Row

    drawn: list[str] = []
    multi_cell, cell = FPDF.multi_cell, Row.cell

    def record_paragraph(self, w, h=None, text="", *args, **kwargs):
        drawn.append(text)
        return multi_cell(self, w, h, text, *args, **kwargs)

    def record_cell(self, text="", *args, **kwargs):
        drawn.append(text)
        return cell(self, text, *args, **kwargs)

    monkeypatch.setattr(FPDF, "multi_cell", record_paragraph)
    monkeypatch.setattr(Row, "cell", record_cell)
    return drawn


def isolated_ltr(value: str) -> str:
    return f"{bidi.LRI}{value}{bidi.PDI}"


def test_values_of_another_script_keep_their_direction_in_a_persian_document(drawn_strings):
    """Cyrillic names, Latin e-mails and IBANs, numbers with punctuation: each an isolate of its own."""
    settings = config.settings
    render_service_invoice(document_samples.service_invoice(2000), "fa")
    render_act(document_samples.task_act(0), "fa")

    for value in (settings.supplier_name,  # «…» no longer swapped
                  settings.supplier_address,  # "01001, м. Київ, …" keeps its postcode first
                  document_samples.CUSTOMER_IBAN, document_samples.CUSTOMER_NAME, "owner@kvitka.example",
                  "HOR-10001-001", "Olena Koval", "olena@example.com"):
        assert any(isolated_ltr(value) in drawn for drawn in drawn_strings), value
    site = next(drawn for drawn in drawn_strings if document_samples.SITE_NAME in drawn)
    assert isolated_ltr(document_samples.SITE_NAME) in site and "کد سرویس" in site
    amounts = [drawn for drawn in drawn_strings if "UAH" in drawn]
    assert amounts and all(drawn.startswith((bidi.LRI, bidi.RLI)) and drawn.endswith(bidi.PDI) for drawn in amounts)
    # Persian text is drawn as it is: labels and dates need no isolate.
    assert translated("fa", "Date of issue") in drawn_strings and "۲۰ آبان ۱۴۰۵" in drawn_strings


def visual_lines(pdf: bytes) -> list[str]:
    """The page as it looks: pdftotext's words (poppler-utils) line by line, left to right as drawn."""
    xml = subprocess.run(["pdftotext", "-bbox", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    lines: dict[float, list[tuple[float, str]]] = {}
    for x, y, word in re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)"[^>]*>([^<]*)</word>', xml):
        lines.setdefault(round(float(y)), []).append((float(x), html.unescape(word)))
    return [plain(" ".join(word for _, word in sorted(words))) for _, words in sorted(lines.items())]


def test_a_persian_page_shows_cyrillic_names_and_addresses_as_they_are_written():
    """Read off the page left to right: the guillemets around the supplier's name and the postcode in front of
    the address stay where their writer put them (they used to be swapped and moved to the end)."""
    page = visual_lines(render_service_invoice(document_samples.service_invoice(0), "fa"))

    for value in (config.settings.supplier_name, config.settings.supplier_address, document_samples.CUSTOMER_NAME):
        assert any(value in line for line in page), value
    assert not any("1 ,01001" in line or "»ТОВ" in line for line in page)


def test_a_left_to_right_document_isolates_only_right_to_left_values(drawn_strings):
    render_act(dataclasses.replace(document_samples.task_act(0), contractor_name="علی رضایی"), "uk")

    assert f"{bidi.RLI}علی رضایی{bidi.PDI}" in drawn_strings
    assert [drawn for drawn in drawn_strings if bidi.LRI in drawn] == []


def test_the_metadata_title_carries_no_isolates():
    assert read(render_service_invoice(document_samples.service_invoice(0), "fa")).metadata.title == (
        "صورت‌حساب خدمات شمارهٔ HOR-10001-001")

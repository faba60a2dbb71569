"""The proforma (top-up) invoice: what it holds and what it shows, in the payer's language.

The payment details text is the line the payer must quote in the bank transfer for the
payment to be matched automatically (MISSION §2), so it gets the call-out box. Like every invoice
it says how VAT stands: the payee's rate (`PAYEE_VAT_BPS`), "Без ПДВ" when it is 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from chalicelib.documents.amount_words import amount_in_words
from chalicelib.documents.layout import Column, DocumentPdf
from chalicelib.documents.vat import vat_line
from chalicelib.money.amounts import Money, format_money
from chalicelib.notify import bidi
from chalicelib.platform import config, i18n


@dataclass(frozen=True)
class ProformaInvoice:
    number: str  # "PI-2026-000001"
    issued_at: datetime  # aware, UTC
    amount: Money
    payment_details: str  # "Invoice № PI-2026-000001 dated 22/11/2026"
    payer_name: str
    payer_email: str
    vat_bps: int = 0  # the payee's VAT rate; 0 when not a VAT payer
    # A card top-up's document is its receipt: the fee charged on top, and the card and moment that paid it
    card: bool = False
    fee: Money | None = None
    card_mask: str = ""
    paid_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.issued_at.tzinfo is None:
            raise ValueError("ProformaInvoice.issued_at must be timezone-aware")


def render_proforma_invoice(invoice: ProformaInvoice, locale: str, timezone: str | None = None) -> bytes:
    """The invoice as PDF bytes in `locale` (anything unknown renders in English), dated on the marketplace's
    calendar like its number (`timezone`, the payer's own, no longer moves the date)."""
    locale = i18n.resolve_locale(locale)
    _ = i18n.translations(locale).gettext
    # Read through the module: config.reload() replaces the settings object.
    settings = config.settings
    heading = _("Receipt No. %(number)s") if invoice.card else _("Proforma invoice No. %(number)s")
    title = bidi.fill(heading, i18n.is_rtl(locale), number=invoice.number)
    doc = DocumentPdf(
        title=title, lang=locale, rtl=i18n.is_rtl(locale), author=settings.payee_name, created_at=invoice.issued_at
    )
    doc.letterhead(settings.payee_name)
    doc.title(title)
    # one date per document: the day of issue on the marketplace's calendar, as the number's year and the
    # "dated" of the payment details are (whatever the payer's own time zone)
    issued_on = i18n.format_date(invoice.issued_at, locale, i18n.zone_for(settings.marketplace_timezone, locale))
    doc.key_values([(_("Date of issue"), issued_on)])
    _parties(doc, invoice, locale, settings)
    _amount(doc, invoice, locale)
    if invoice.card:
        _card(doc, invoice, locale, settings)
        return doc.output()
    doc.callout(_("Payment details — quote exactly in the bank transfer"), invoice.payment_details)
    doc.note(_("The payment is credited automatically when its purpose quotes the invoice number exactly and its "
               "amount and currency match this invoice."))
    return doc.output()


def _parties(doc: DocumentPdf, invoice: ProformaInvoice, locale: str, settings: config.Settings) -> None:
    translations = i18n.translations(locale)
    _, pgettext = translations.gettext, translations.pgettext
    doc.section(_("Payer"))
    doc.key_values([(str(pgettext("person", "Name")), invoice.payer_name), (_("Email"), invoice.payer_email)])
    doc.section(_("Payee"))
    doc.key_values(
        [
            (str(pgettext("organisation", "Name")), settings.payee_name),
            (_("Bank"), settings.payee_bank),
            (_("IBAN"), settings.payee_iban),
            (_("SWIFT/BIC"), settings.payee_swift),
        ]
    )


def _card(doc: DocumentPdf, invoice: ProformaInvoice, locale: str, settings: config.Settings) -> None:
    _ = i18n.translations(locale).gettext
    if invoice.paid_at is None:
        doc.note(_("Not paid yet: the card payment page of this top-up pays it."))
        return
    paid_on = i18n.format_date(invoice.paid_at, locale, i18n.zone_for(settings.marketplace_timezone, locale))
    doc.key_values([(_("Paid by card"), ", ".join(part for part in (invoice.card_mask, paid_on) if part))])


def _amount(doc: DocumentPdf, invoice: ProformaInvoice, locale: str) -> None:
    _ = i18n.translations(locale).gettext
    amount = invoice.amount
    figures = format_money(amount, locale)
    rows = [[_("Top-up of the escrowdesk account balance"), figures]]
    total = amount
    if invoice.fee is not None and invoice.fee.amount_minor:
        rows.append([_("Card payment fee"), format_money(invoice.fee, locale)])
        total = Money(amount.amount_minor + invoice.fee.amount_minor, amount.currency)
    doc.table(
        [Column(_("Description"), 70), Column(_("Amount"), 30, numeric=True)],
        rows,
        total=[_("Total"), format_money(total, locale)],
    )
    vat = vat_line([amount.amount_minor], amount.currency, invoice.vat_bps, locale)
    doc.key_values([(_("VAT"), vat), (_("Amount in words"), amount_in_words(amount, locale))])

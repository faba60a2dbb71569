"""The proforma (top-up) invoice: what it holds and what it shows, in the payer's language.

The payment details text is the line the payer must quote in the bank transfer for the
payment to be matched automatically (MISSION §2), so it gets the call-out box.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from chalicelib import config
from chalicelib.documents.amount_words import amount_in_words
from chalicelib.documents.labels import PROFORMA_INVOICE, format_date, is_rtl, resolve_locale
from chalicelib.documents.layout import Column, DocumentPdf
from chalicelib.money import Money, format_money


@dataclass(frozen=True)
class ProformaInvoice:
    number: str  # "PI-2026-000001"
    issued_at: datetime  # aware, UTC
    amount: Money
    payment_details: str  # "Invoice № PI-2026-000001 dated 22/11/2026"
    payer_name: str
    payer_email: str

    def __post_init__(self) -> None:
        if self.issued_at.tzinfo is None:
            raise ValueError("ProformaInvoice.issued_at must be timezone-aware")


def render_proforma_invoice(invoice: ProformaInvoice, locale: str) -> bytes:
    """The invoice as PDF bytes in `locale` (en, ru, uk, fa; anything else renders in English)."""
    locale = resolve_locale(locale)
    labels = PROFORMA_INVOICE[locale]
    # Read through the module: config.reload() replaces the settings object.
    settings = config.settings
    title = labels["title"].format(number=invoice.number)
    doc = DocumentPdf(
        title=title, lang=locale, rtl=is_rtl(locale), author=settings.payee_name, created_at=invoice.issued_at
    )
    doc.letterhead(settings.payee_name)
    doc.title(title)
    doc.key_values([(labels["issued_on"], format_date(invoice.issued_at))])
    _parties(doc, invoice, labels, settings)
    _amount(doc, invoice.amount, labels, locale)
    doc.callout(labels["payment_details"], invoice.payment_details)
    doc.note(labels["crediting_note"])
    return doc.output()


def _parties(doc: DocumentPdf, invoice: ProformaInvoice, labels: dict[str, str], settings: config.Settings) -> None:
    doc.section(labels["payer"])
    doc.key_values([(labels["payer_name"], invoice.payer_name), (labels["email"], invoice.payer_email)])
    doc.section(labels["payee"])
    doc.key_values(
        [
            (labels["payee_name"], settings.payee_name),
            (labels["bank"], settings.payee_bank),
            (labels["iban"], settings.payee_iban),
            (labels["swift"], settings.payee_swift),
        ]
    )


def _amount(doc: DocumentPdf, amount: Money, labels: dict[str, str], locale: str) -> None:
    figures = format_money(amount, locale)
    doc.table(
        [Column(labels["description"], 70), Column(labels["amount"], 30, numeric=True)],
        [[labels["top_up"], figures]],
        total=[labels["total"], figures],
    )
    doc.key_values([(labels["amount_in_words"], amount_in_words(amount, locale))])

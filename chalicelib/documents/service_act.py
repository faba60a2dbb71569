"""The act of services rendered to a site for a closed billing month ("Акт наданих послуг"), sent to
Vchasno for signing: both parties' requisites, the period (the month in words), what was rendered by the
month's paid invoices, the amount, the VAT exactly as those invoices show it, the amount in words, and how it
is signed (qualified e-signatures in Vchasno, so it has no signature lines). Rendered in Ukrainian for
Vchasno (any locale renders)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from chalicelib.documents.amount_words import amount_in_words
from chalicelib.documents.layout import Column, DocumentPdf
from chalicelib.documents.service_invoice import describe_line, site_label
from chalicelib.documents.vat import vat_line
from chalicelib.money.amounts import Money, format_money
from chalicelib.notify import bidi
from chalicelib.platform import config, i18n


@dataclass(frozen=True)
class ServiceAct:
    number: str
    issued_at: datetime  # aware, UTC
    period: str  # "2026-11"
    lines: list[dict]  # the paid invoices' lines: [{tariff_name, start, end, days, month_days, amount}]
    amount: Money
    invoiced_minor: tuple[int, ...]  # the amounts of the paid invoices it covers: its VAT is theirs
    vat_bps: int  # the supplier's VAT rate (SERVICE_VAT_BPS), 0 when not a VAT payer
    site_name: str
    service_code: str
    customer_name: str
    customer_tax_id: str
    customer_iban: str
    customer_address: str


def render_service_act(act: ServiceAct, locale: str = "uk") -> bytes:
    locale = i18n.resolve_locale(locale)
    translations = i18n.translations(locale)
    _, pgettext = translations.gettext, translations.pgettext
    settings = config.settings
    rtl = i18n.is_rtl(locale)
    title = bidi.fill(_("Act of services rendered No. %(number)s"), rtl, number=act.number)
    doc = DocumentPdf(title=title, lang=locale, rtl=rtl, author=settings.supplier_name,
                      created_at=act.issued_at)
    doc.letterhead(settings.supplier_name)
    doc.title(title)
    doc.key_values([(_("Date of issue"), i18n.format_date(act.issued_at, locale, i18n.zone_for(None, locale))),
                    (_("Period"), i18n.format_month(act.period, locale)),
                    (_("Site"), site_label(act.site_name, act.service_code, locale))])
    name, tax, address = str(pgettext("organisation", "Name")), _("EDRPOU / RNOKPP"), _("Address")
    doc.section(_("Supplier"))
    doc.key_values([(name, settings.supplier_name), (tax, settings.supplier_tax_id),
                    (_("IBAN"), settings.supplier_iban), (_("Bank"), settings.supplier_bank),
                    (address, settings.supplier_address)])
    doc.section(_("Customer"))
    doc.key_values([(name, act.customer_name), (tax, act.customer_tax_id), (_("IBAN"), act.customer_iban),
                    (address, act.customer_address or "—")])
    rows = [[describe_line(line, locale), format_money(Money(int(line["amount"]), act.amount.currency), locale)]
            for line in act.lines]
    total = format_money(act.amount, locale)
    doc.table([Column(_("Description"), 70), Column(_("Amount"), 30, numeric=True)], rows, total=[_("Total"), total])
    vat = vat_line(act.invoiced_minor, act.amount.currency, act.vat_bps, locale)
    doc.key_values([(_("VAT"), vat), (_("Amount in words"), amount_in_words(act.amount, locale))])
    doc.note(_("The services described above were rendered in full. The customer has no claims regarding their "
               "scope, quality or timing."))
    doc.note(_("Signed with the parties' qualified electronic signatures in the Vchasno service."))
    return doc.output()

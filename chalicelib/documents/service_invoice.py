"""The service invoice for a site ("Рахунок на оплату"): the supplier's and the customer's requisites,
the billed period by its days, the total in words, "без ПДВ" or the VAT in it (`SERVICE_VAT_BPS`), and
the number to quote in the bank transfer, in the reader's language."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from chalicelib.documents.amount_words import amount_in_words
from chalicelib.documents.layout import Column, DocumentPdf
from chalicelib.documents.vat import vat_line
from chalicelib.money.amounts import Money, format_money
from chalicelib.notify import bidi
from chalicelib.platform import config, i18n


@dataclass(frozen=True)
class ServiceInvoice:
    number: str
    issued_at: datetime  # aware, UTC
    due_at: datetime
    period: str
    lines: list[dict]  # [{tariff_name, start, end, days, month_days, amount}]
    amount: Money
    vat_bps: int
    site_name: str
    service_code: str
    customer_name: str
    customer_tax_id: str
    customer_iban: str
    customer_address: str
    customer_email: str
    amount_paid: int = 0  # paid so far (parts of transfers applied, the site's credit): the due is the rest
    credit_applied: int = 0  # of amount_paid, the site's credit spent on it


def render_service_invoice(invoice: ServiceInvoice, locale: str, timezone: str | None = None) -> bytes:
    locale = i18n.resolve_locale(locale)
    translations = i18n.translations(locale)
    _, pgettext = translations.gettext, translations.pgettext
    settings = config.settings
    zone = i18n.zone_for(timezone, locale)
    rtl = i18n.is_rtl(locale)
    title = bidi.fill(_("Service invoice No. %(number)s"), rtl, number=invoice.number)
    doc = DocumentPdf(title=title, lang=locale, rtl=rtl, author=settings.supplier_name,
                      created_at=invoice.issued_at)
    doc.letterhead(settings.supplier_name)
    doc.title(title)
    doc.key_values([(_("Date of issue"), i18n.format_date(invoice.issued_at, locale, zone)),
                    (_("Pay by"), i18n.format_date(invoice.due_at, locale, zone)),
                    (_("Site"), site_label(invoice.site_name, invoice.service_code, locale))])
    name, tax, address = str(pgettext("organisation", "Name")), _("EDRPOU / RNOKPP"), _("Address")
    doc.section(_("Supplier"))
    doc.key_values([(name, settings.supplier_name), (tax, settings.supplier_tax_id),
                    (_("IBAN"), settings.supplier_iban),
                    (_("Bank"), settings.supplier_bank), (address, settings.supplier_address)])
    doc.section(_("Customer"))
    doc.key_values([(name, invoice.customer_name), (tax, invoice.customer_tax_id or "—"),
                    (_("IBAN"), invoice.customer_iban or "—"), (address, invoice.customer_address or "—"),
                    (_("Email"), invoice.customer_email)])
    currency = invoice.amount.currency
    rows = [[describe_line(line, locale), format_money(Money(int(line["amount"]), currency), locale)]
            for line in invoice.lines]
    total = format_money(invoice.amount, locale)
    doc.table([Column(_("Description"), 70), Column(_("Amount"), 30, numeric=True)], rows, total=[_("Total"), total])
    vat = vat_line([invoice.amount.amount_minor], currency, invoice.vat_bps, locale)
    doc.key_values([(_("VAT"), vat), (_("Amount in words"), amount_in_words(invoice.amount, locale))])
    if invoice.amount_paid:  # a part paid, or the site's credit spent on it: what is left to pay
        paid = [(_("Credit applied"), format_money(Money(invoice.credit_applied, currency), locale))] \
            if invoice.credit_applied else []
        doc.key_values([*paid, (_("Paid so far"), format_money(Money(invoice.amount_paid, currency), locale)),
                        (_("Amount due"), format_money(Money(int(invoice.amount.amount_minor) - invoice.amount_paid,
                                                             currency), locale))])
    doc.callout(_("Payment details — quote exactly in the bank transfer"),
                bidi.fill(_("Payment for invoice No. %(number)s"), rtl, number=invoice.number))
    doc.note(_("The payment is credited automatically when its purpose quotes the invoice number exactly and its "
               "amount and currency match this invoice."))
    return doc.output()


def site_label(site_name: str, service_code: str, locale: str) -> str:
    """The site as invoices and acts name it: "Квітковий магазин (сервіс-код 10001)"."""
    sentence = i18n.translations(locale).gettext("%(site_name)s (service code %(code)s)")
    return bidi.fill(sentence, i18n.is_rtl(locale), site_name=site_name, code=service_code)


def describe_line(line: dict, locale: str) -> str:
    _ = i18n.translations(locale).gettext
    start, end = (_day(date.fromisoformat(line[key]), locale) for key in ("start", "end"))
    values = {"tariff": line["tariff_name"], "start": start, "end": end}
    rtl = i18n.is_rtl(locale)
    if int(line["days"]) == int(line["month_days"]):
        return bidi.fill(_("Access to the platform, tariff “%(tariff)s”, %(start)s – %(end)s"), rtl, **values)
    by_days = _("Access to the platform, tariff “%(tariff)s”, %(start)s – %(end)s, by days: %(days)s of %(month_days)s")
    return bidi.fill(by_days, rtl, **values, days=line["days"], month_days=line["month_days"])


def _day(day: date, locale: str) -> str:
    return i18n.format_date(datetime.combine(day, time(12), tzinfo=UTC), locale, ZoneInfo("UTC"))

"""The act of completed work for a B2B task: both parties' requisites, the task, the amount and how VAT stands
(the contractor's rate; "Без ПДВ" at 0), in the reader's language."""
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
class Act:
    number: str
    issued_at: datetime  # aware, UTC
    task_title: str
    task_description: str
    amount: Money
    customer_name: str
    customer_email: str
    customer_details: str
    contractor_name: str
    contractor_email: str
    vat_bps: int = 0  # the contractor's VAT rate: the individuals the platform pays are not VAT payers


def render_act(act: Act, locale: str, timezone: str | None = None) -> bytes:
    """The act as PDF bytes in the reader's locale, its date in his time zone (an IANA name; by default his
    locale's marketplace's)."""
    locale = i18n.resolve_locale(locale)
    translations = i18n.translations(locale)
    _, pgettext = translations.gettext, translations.pgettext
    title = bidi.fill(_("Act of completed work No. %(number)s"), i18n.is_rtl(locale), number=act.number)
    doc = DocumentPdf(title=title, lang=locale, rtl=i18n.is_rtl(locale), author=config.settings.payee_name,
                      created_at=act.issued_at)
    doc.letterhead(config.settings.payee_name)
    doc.title(title)
    doc.key_values([(_("Date"), i18n.format_date(act.issued_at, locale, i18n.zone_for(timezone, locale)))])
    name, email = str(pgettext("organisation", "Name")), _("Email")
    doc.section(_("Customer"))
    customer = [(name, act.customer_name), (email, act.customer_email)]
    doc.key_values(customer + ([(_("Details"), act.customer_details)] if act.customer_details else []))
    doc.section(_("Contractor"))
    doc.key_values([(name, act.contractor_name), (email, act.contractor_email)])
    figures = format_money(act.amount, locale)
    rtl = i18n.is_rtl(locale)
    work = bidi.isolate(act.task_title, rtl)
    if act.task_description:
        work = f"{work} — {bidi.isolate(act.task_description, rtl)}"
    doc.table([Column(_("Work performed"), 70), Column(_("Amount"), 30, numeric=True)], [[work, figures]],
              total=[_("Total"), figures])
    vat = vat_line([act.amount.amount_minor], act.amount.currency, act.vat_bps, locale)
    doc.key_values([(_("VAT"), vat), (_("Amount in words"), amount_in_words(act.amount, locale))])
    doc.note(_("The work described above has been performed in full and on time. The customer has no claims "
               "regarding its scope, quality or timing."))
    return doc.output()

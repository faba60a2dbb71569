"""The act of completed work for a B2B task: both parties' requisites, the task and the amount, in
the reader's language."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from chalicelib import config
from chalicelib.documents.amount_words import amount_in_words
from chalicelib.documents.labels import ACT, format_date, is_rtl, resolve_locale
from chalicelib.documents.layout import Column, DocumentPdf
from chalicelib.money import Money, format_money


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


def render_act(act: Act, locale: str) -> bytes:
    locale = resolve_locale(locale)
    labels = ACT[locale]
    title = labels["title"].format(number=act.number)
    doc = DocumentPdf(title=title, lang=locale, rtl=is_rtl(locale), author=config.settings.payee_name,
                      created_at=act.issued_at)
    doc.letterhead(config.settings.payee_name)
    doc.title(title)
    doc.key_values([(labels["issued_on"], format_date(act.issued_at))])
    doc.section(labels["customer"])
    customer = [(labels["name"], act.customer_name), (labels["email"], act.customer_email)]
    doc.key_values(customer + ([(labels["details"], act.customer_details)] if act.customer_details else []))
    doc.section(labels["contractor"])
    doc.key_values([(labels["name"], act.contractor_name), (labels["email"], act.contractor_email)])
    figures = format_money(act.amount, locale)
    work = f"{act.task_title} — {act.task_description}" if act.task_description else act.task_title
    doc.table([Column(labels["description"], 70), Column(labels["amount"], 30, numeric=True)], [[work, figures]],
              total=[labels["total"], figures])
    doc.key_values([(labels["amount_in_words"], amount_in_words(act.amount, locale))])
    doc.note(labels["statement"])
    return doc.output()

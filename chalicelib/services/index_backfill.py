"""Giving items written before an index or a claim existed what the operators' look-ups read, once at deploy
(`python -m chalicelib.entrypoints.cli backfill-lookups`); running it again changes nothing.

- sites: the service code's claim (`service-code#<code>`), and the keys of the sparse `by_tax_id` and
  `by_contact_email` indexes (`tax_id_key`, `contact_email_key`);
- open proformas and open site invoices: `open_due`, their key in `by_open_due`;
- payouts the bank took and has not answered: the `sent#<n>` queue; failed ones: the `failed` queue.

Each write is conditional on what was read, so a payment or an answer that lands meanwhile wins (its own write
keeps the key right) and the item is counted as `raced`."""
from __future__ import annotations

from pynamodb.exceptions import PutError, UpdateError
from pynamodb.expressions.update import Action

from chalicelib.processes.site_deal import contact_email_key, service_code_key
from chalicelib.services import invoices, payouts, service_invoices
from chalicelib.store.models import (
    InvoiceModel,
    KeyModel,
    PayoutModel,
    ServiceInvoiceModel,
    SiteModel,
    open_due_key,
)


def run() -> dict[str, int]:
    """What it wrote, by kind; `raced`: items that changed between the read and the write."""
    done = {"sites": 0, "service_codes": 0, "invoices": 0, "service_invoices": 0, "payouts": 0, "raced": 0}
    for site in SiteModel.scan():
        _site(site, done)
    for invoice in InvoiceModel.scan(InvoiceModel.status == invoices.OPEN):
        if invoice.kind is None and invoice.open_due is None:
            _write(done, "invoices", lambda invoice=invoice: invoice.update(
                actions=[InvoiceModel.open_due.set(open_due_key(invoice.currency, invoices.due(invoice),
                                                                invoice.id))],
                condition=(InvoiceModel.status == invoices.OPEN) & _paid_unchanged(InvoiceModel, invoice)))
    for record in ServiceInvoiceModel.scan(ServiceInvoiceModel.status == service_invoices.OPEN):
        if record.open_due is None:
            _write(done, "service_invoices", lambda record=record: record.update(
                actions=[ServiceInvoiceModel.open_due.set(open_due_key(record.currency, service_invoices.due(record),
                                                                       record.id))],
                condition=(ServiceInvoiceModel.status == service_invoices.OPEN)
                & _paid_unchanged(ServiceInvoiceModel, record)))
    for payout in PayoutModel.scan(PayoutModel.queue.does_not_exist()):
        queue = payouts.FAILED if payout.status == payouts.FAILED else (
            payouts.sent_key(payout.id) if payout.status == payouts.PENDING and payout.sent_at else None)
        if queue is not None:
            _write(done, "payouts", lambda payout=payout, queue=queue: payout.update(
                actions=[PayoutModel.queue.set(queue)],
                condition=(PayoutModel.status == payout.status) & PayoutModel.queue.does_not_exist()))
    return done


def _site(site: SiteModel, done: dict[str, int]) -> None:
    _write(done, "service_codes", lambda: KeyModel(service_code_key(site.service_code), target_id=site.id).save(
        condition=KeyModel.key.does_not_exist()), quiet=True)
    tax_id = (site.requisites or {}).get("tax_id") or None
    email = contact_email_key(site.contact or {})
    if site.tax_id_key == tax_id and site.contact_email_key == email:
        return
    actions: list[Action] = [SiteModel.tax_id_key.set(tax_id) if tax_id else SiteModel.tax_id_key.remove(),
               SiteModel.contact_email_key.set(email) if email else SiteModel.contact_email_key.remove()]
    # written over the requisites and the contact as read: a change meanwhile writes its own keys
    _write(done, "sites", lambda: site.update(actions=actions, condition=(
        (SiteModel.requisites == site.requisites) if site.requisites is not None
        else SiteModel.requisites.does_not_exist()) & (SiteModel.contact == site.contact)))


def _paid_unchanged(model, invoice):  # type: ignore[no-untyped-def]
    if invoice.amount_paid is None:
        return model.amount_paid.does_not_exist()
    return model.amount_paid == int(invoice.amount_paid)


def _write(done: dict[str, int], kind: str, write, *, quiet: bool = False) -> None:  # type: ignore[no-untyped-def]
    """One conditional write; a failed condition is a race (or, `quiet`, a claim that exists already)."""
    try:
        write()
    except (PutError, UpdateError) as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise
        if not quiet:
            done["raced"] += 1
        return
    done[kind] += 1

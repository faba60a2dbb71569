"""Subscription billing of sites: sites, tariffs, service invoices, card payments and usage events."""
from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib.store.models.base import BaseMeta, JSONAttribute


class SitesByTaxId(GlobalSecondaryIndex):
    """Sparse: the sites whose requisites name a tax id, by that number (digits, as `tax_id` keeps them)."""

    class Meta:
        index_name = "by_tax_id"
        projection = KeysOnlyProjection()  # a search reads the sites it found by key

    tax_id_key = UnicodeAttribute(hash_key=True)


class SitesByContactEmail(GlobalSecondaryIndex):
    """Sparse: the sites by their owner contact's e-mail, lower-cased."""

    class Meta:
        index_name = "by_contact_email"
        projection = KeysOnlyProjection()

    contact_email_key = UnicodeAttribute(hash_key=True)


class SiteModel(Model):
    """A business account ("site", seed 003): its own details. Its billing life — status, tariff,
    counters, invoicing — is a deal of the `subscription` process with the same id; its owner is that
    deal's client. The key the shop platform reports usage with is kept only as a SHA-256 hash (the
    claim `sitekey#<hash>` in keys), its domains as claims `domain#<ascii host>`, its service code as the claim
    `service-code#<code>`. Operators find sites by tax id and by the contact's e-mail through the sparse indexes
    `by_tax_id` and `by_contact_email`, whose keys are written with `requisites` and `contact`."""

    class Meta(BaseMeta):
        logical_name = "sites"
        table_name = "sites"

    id = UnicodeAttribute(hash_key=True)
    service_code = UnicodeAttribute()
    name = UnicodeAttribute()
    domains = ListAttribute(of=UnicodeAttribute, default=list)
    contact = JSONAttribute()  # the owner contact: {name, email, phone (E.164)}
    requisites = JSONAttribute(null=True)  # {tax_id, kind, iban, company_name, address, director, updated_at}
    vchasno = UnicodeAttribute(default="not_activated")  # not_activated | activated
    payment_method = JSONAttribute(null=True)  # the saved card as shown: {card_mask, holder, saved_at}
    key_hash = UnicodeAttribute(null=True)
    contracts = JSONAttribute(default=list)  # personal contracts: [{id, filename, key, size, uploaded_at}]
    deletion = JSONAttribute(null=True)  # the questionnaire: {reasons, comment, requested_at}
    acts = JSONAttribute(null=True)  # acts sent to Vchasno: [{id, period, status, vchasno_document_id, amount, ...}]
    created_at = UnicodeAttribute()
    deleted_at = UnicodeAttribute(null=True)
    tax_id_key = UnicodeAttribute(null=True)  # requisites' tax_id, for `by_tax_id`
    contact_email_key = UnicodeAttribute(null=True)  # contact's e-mail lower-cased, for `by_contact_email`
    by_tax_id = SitesByTaxId()
    by_contact_email = SitesByContactEmail()


class TariffModel(Model):
    """A tariff operators manage. `prices` is its price schedule, `[{"from": "2026-12", "amount": N}]`:
    a change applies from a later billing month, so every month is billed at the price it began with."""

    class Meta(BaseMeta):
        logical_name = "tariffs"
        table_name = "tariffs"

    code = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    prices = JSONAttribute()
    limits = JSONAttribute()  # {products, orders_per_month}
    features = ListAttribute(of=UnicodeAttribute, default=list)
    active = BooleanAttribute(default=True)
    created_at = UnicodeAttribute()


class ServiceInvoicesBySite(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_site"
        projection = AllProjection()

    site_id = UnicodeAttribute(hash_key=True)
    seq = NumberAttribute(range_key=True)


class OpenServiceInvoices(GlobalSecondaryIndex):
    """Sparse: only open invoices carry `open_due` (`open_due_key`), so the open ones asking for an amount in a
    currency are one Query per shard."""

    class Meta:
        index_name = "by_open_due"
        projection = AllProjection()

    open_due = UnicodeAttribute(hash_key=True)
    issued_at = UnicodeAttribute(range_key=True)


class ServiceInvoiceModel(Model):
    """A site's service invoice (UAH): `<SERVICE_INVOICE_PREFIX>-<service code>-<seq>`, `seq` gap-free per
    site (the subscription deal's counter, advanced in the invoice's own transaction)."""

    class Meta(BaseMeta):
        logical_name = "service_invoices"
        table_name = "service_invoices"

    id = UnicodeAttribute(hash_key=True)
    site_id = UnicodeAttribute()
    owner_id = UnicodeAttribute()
    seq = NumberAttribute()
    number = UnicodeAttribute()
    period = UnicodeAttribute()  # the billing month, "2026-12"
    kind = UnicodeAttribute()  # month | first_month | upgrade | resumed
    lines = JSONAttribute()  # [{tariff, tariff_name, start, end, days, month_days, amount}]
    amount = NumberAttribute()
    currency = UnicodeAttribute()
    status = UnicodeAttribute()  # open | paid | void | written_off
    issued_at = UnicodeAttribute()
    due_at = UnicodeAttribute()
    paid_at = UnicodeAttribute(null=True)
    paid_by = UnicodeAttribute(null=True)  # card | link | bank_transfer | credit
    payment_id = UnicodeAttribute(null=True)
    # paid so far (parts of transfers an operator applied, the site's credit spent on it): due = amount − amount_paid
    amount_paid = NumberAttribute(null=True)
    credit_applied = NumberAttribute(null=True)  # of amount_paid, the site's credit spent on it when it was issued
    link = JSONAttribute(null=True)  # the live payment link: {payment_id, url, expires_at, seq}
    written_off = JSONAttribute(null=True)  # an operator's write-off: {at, by, reason}
    open_due = UnicodeAttribute(null=True)  # while open: `open_due_key(currency, due, id)`; removed as it closes
    by_site = ServiceInvoicesBySite()
    by_open_due = OpenServiceInvoices()


class CardPaymentsBySite(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_site"
        projection = AllProjection()

    site_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class CardRefundsAwaited(GlobalSecondaryIndex):
    """Sparse: only a client's card payment whose refund the acquirer has not confirmed yet carries
    `refund_queue` (a site's refunds are awaited by its subscription deal's timer instead)."""

    class Meta:
        index_name = "by_refund"
        projection = AllProjection()

    refund_queue = UnicodeAttribute(hash_key=True)
    refund_asked_at = UnicodeAttribute(range_key=True)


class CardPaymentModel(Model):
    """A payment we asked the card acquirer for, by our own id (the acquirer's reference): a payment link,
    the page that saves a card, a charge of the saved card, or the 1.00 UAH verification. Its outcome is
    the acquirer's webhook, applied once (`outcome`)."""

    class Meta(BaseMeta):
        logical_name = "card_payments"
        table_name = "card_payments"

    id = UnicodeAttribute(hash_key=True)
    site_id = UnicodeAttribute()  # the site paid for; for a client's card top-up, the client (his top-ups' index)
    owner_id = UnicodeAttribute()
    purpose = UnicodeAttribute()  # link | pay_invoice | verify | autopay | topup
    invoice_id = UnicodeAttribute(null=True)  # none for a verification; a card top-up's `top_` id
    amount = NumberAttribute()
    currency = UnicodeAttribute()
    status = UnicodeAttribute()  # pending | succeeded | failed | refund_pending | refunded
    outcome = UnicodeAttribute(null=True)  # applied | verified | parked | declined | duplicate (refunded)
    acquirer_id = UnicodeAttribute(null=True)  # the acquirer's own id of the payment (Monobank's invoiceId)
    save_card = BooleanAttribute(default=False)
    url = UnicodeAttribute(null=True)
    expires_at = UnicodeAttribute(null=True)
    card_mask = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    settled_at = UnicodeAttribute(null=True)
    refund_queue = UnicodeAttribute(null=True)  # while a top-up's refund is awaited (`by_refund`)
    refund_asked_at = UnicodeAttribute(null=True)  # when the refund was last asked of the acquirer
    by_site = CardPaymentsBySite()
    by_refund = CardRefundsAwaited()


class UsageModel(Model):
    """What the shop platform reported for a site: each `event#<event_id>` once (written with
    `attribute_not_exists`, kept for USAGE_EVENT_DAYS), and each billing day's sum `day#<YYYY-MM-DD>`
    (orders added, the last product count), which the daily refresh folds into the site's counters."""

    class Meta(BaseMeta):
        logical_name = "usage"
        table_name = "usage"
        ttl_attribute = "expires_at"

    site_id = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    orders = NumberAttribute(null=True)
    products = NumberAttribute(null=True)
    reported_at = UnicodeAttribute(null=True)
    expires_at = NumberAttribute(null=True)


"""Money's tables: ledger accounts and the journal, top-up invoices, incoming payments and payouts."""
from __future__ import annotations

from pynamodb.attributes import (
    NumberAttribute,
    UnicodeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.store.models.base import BaseMeta, JSONAttribute


class AccountModel(Model):
    """A ledger account: one per (owner, currency), or per (system account, currency, shard)."""

    class Meta(BaseMeta):
        logical_name = "accounts"
        table_name = "accounts"

    owner_id = UnicodeAttribute(hash_key=True)
    account_key = UnicodeAttribute(range_key=True)  # "USD" for users, "USD#07" for sharded system accounts
    currency = UnicodeAttribute()
    available = NumberAttribute(default=0)
    held = NumberAttribute(default=0)


class JournalEntryModel(Model):
    """One transfer: its postings, written once (`attribute_not_exists`), so a retry can't repeat it."""

    class Meta(BaseMeta):
        logical_name = "journal"
        table_name = "journal"

    pk = UnicodeAttribute(hash_key=True)  # entry#<transfer id>
    sk = UnicodeAttribute(range_key=True)  # "entry"
    kind = UnicodeAttribute(null=True)
    currency = UnicodeAttribute(null=True)
    postings = JSONAttribute(null=True)
    ref = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute(null=True)


class JournalLineModel(Model):
    """One posting seen from its account, for an owner's statement and reconciliation."""

    class Meta(BaseMeta):
        logical_name = "journal"
        table_name = "journal"

    pk = UnicodeAttribute(hash_key=True)  # lines#<owner id>[#<shard>]
    sk = UnicodeAttribute(range_key=True)  # <created_at>#<transfer id>#<n>
    entry_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    account_key = UnicodeAttribute()
    currency = UnicodeAttribute()
    bucket = UnicodeAttribute()
    amount = NumberAttribute()
    ref = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()


class InvoicesByOwner(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_owner"
        projection = AllProjection()

    owner_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


def open_due_key(currency: str, due: int, invoice_id: str) -> str:
    """An open invoice's key in its `by_open_due` index: what it still asks for, in its currency, on one of
    `OPEN_INVOICE_SHARDS` shards by a hash of its id, so the top-ups of one amount and a month's invoices of one
    tariff price spread over several keys."""
    import zlib

    from chalicelib.platform.config import settings

    return f"{currency}#{int(due)}#{zlib.crc32(invoice_id.encode()) % settings.open_invoice_shards}"


def open_due_keys(currency: str, due: int) -> list[str]:
    """Every shard's key of (currency, amount due): what a lookup Queries."""
    from chalicelib.platform.config import settings

    return [f"{currency}#{int(due)}#{shard}" for shard in range(settings.open_invoice_shards)]


class OpenInvoices(GlobalSecondaryIndex):
    """Sparse: only open proformas carry `open_due` (`open_due_key`)."""

    class Meta:
        index_name = "by_open_due"
        projection = AllProjection()

    open_due = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class InvoiceModel(Model):
    """A top-up of a client's balance, in his documents: a proforma paid by bank transfer (`inv_`), or a card
    top-up (`top_`, kind `card_topup`) paid on the acquirer's page, which may carry the action that asked for it
    (an order to place...) and is fired when it is paid."""

    class Meta(BaseMeta):
        logical_name = "invoices"
        table_name = "invoices"

    id = UnicodeAttribute(hash_key=True)
    owner_id = UnicodeAttribute()
    number = UnicodeAttribute()
    amount = NumberAttribute()
    currency = UnicodeAttribute()
    status = UnicodeAttribute()
    payment_details = UnicodeAttribute()
    created_at = UnicodeAttribute()
    paid_at = UnicodeAttribute(null=True)
    payment_id = UnicodeAttribute(null=True)
    kind = UnicodeAttribute(null=True)  # none for a proforma | card_topup
    fee = NumberAttribute(null=True)  # a card top-up's fee, charged on top of `amount`
    link = JSONAttribute(null=True)  # a card top-up's live payment link: {payment_id, url, expires_at, seq}
    card_mask = UnicodeAttribute(null=True)  # the card that paid a card top-up
    # the action a card top-up completes once paid ({kind, ...ids}) and what became of it ({status, id|reason})
    action = JSONAttribute(null=True)
    action_result = JSONAttribute(null=True)
    amount_paid = NumberAttribute(null=True)  # parts of transfers an operator applied: due = amount − amount_paid
    open_due = UnicodeAttribute(null=True)  # an open proforma's `open_due_key`; removed as it is paid
    by_owner = InvoicesByOwner()
    by_open_due = OpenInvoices()


class UnmatchedPayments(GlobalSecondaryIndex):
    """Sparse: only payments waiting for an operator carry `queue`."""

    class Meta:
        index_name = "by_queue"
        projection = AllProjection()

    queue = UnicodeAttribute(hash_key=True)
    received_at = UnicodeAttribute(range_key=True)


class PaymentModel(Model):
    """An incoming bank transfer, one per bank `event_id`."""

    class Meta(BaseMeta):
        logical_name = "payments"
        table_name = "payments"

    id = UnicodeAttribute(hash_key=True)
    event_id = UnicodeAttribute()
    amount = NumberAttribute()
    currency = UnicodeAttribute()
    purpose = UnicodeAttribute()
    payer = JSONAttribute()
    received_at = UnicodeAttribute()
    status = UnicodeAttribute()  # credited | unmatched | applied | returned
    reason = UnicodeAttribute(null=True)
    invoice_id = UnicodeAttribute(null=True)
    queue = UnicodeAttribute(null=True)
    resolved_by = UnicodeAttribute(null=True)
    resolved_at = UnicodeAttribute(null=True)
    # Card money parked by the acquirer's webhook: its payment at the acquirer, which a return refunds.
    acquirer_payment_id = UnicodeAttribute(null=True)
    by_queue = UnmatchedPayments()


class PayoutsByOwner(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_owner"
        projection = AllProjection()

    owner_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class UnsentPayouts(GlobalSecondaryIndex):
    """Sparse: payouts waiting for something carry `queue` — `unsent` while the request has not reached the
    bank, `sent#<n>` while the bank has not answered, `failed` once it refused (the console lists those); a paid
    payout has none."""

    class Meta:
        index_name = "by_queue"
        projection = AllProjection()

    queue = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class PayoutModel(Model):
    """A withdrawal to a card or an IBAN: held at once, then paid out or returned by the bank's answer."""

    class Meta(BaseMeta):
        logical_name = "payouts"
        table_name = "payouts"

    id = UnicodeAttribute(hash_key=True)
    owner_id = UnicodeAttribute()
    amount = NumberAttribute()
    currency = UnicodeAttribute()
    method = UnicodeAttribute()  # card | iban
    destination = UnicodeAttribute()  # the card number or IBAN, normalised
    status = UnicodeAttribute()  # pending | paid | failed
    created_at = UnicodeAttribute()
    sent_at = UnicodeAttribute(null=True)
    decided_at = UnicodeAttribute(null=True)
    failure_reason = UnicodeAttribute(null=True)
    bank_event_id = UnicodeAttribute(null=True)
    queue = UnicodeAttribute(null=True)
    by_owner = PayoutsByOwner()
    by_queue = UnsentPayouts()


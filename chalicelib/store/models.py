"""PynamoDB models: one table per aggregate, named `<TABLE_PREFIX><name>`.

The models are the schema's source of truth: `infra/dynamodb.json` (the CloudFormation
resources for AWS, also used to create DynamoDB Local's tables) is generated from them and a
test keeps the two in step. `bind()` points every model at a region, host and table prefix.
"""
from __future__ import annotations

import json
from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
)
from pynamodb.attributes import JSONAttribute as _JSONAttribute
from pynamodb.connection import Connection
from pynamodb.exceptions import TableError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib.platform.config import Settings

DEFAULT_POOL_CONNECTIONS = 10  # PynamoDB's own default


class JSONAttribute(_JSONAttribute):
    """JSON stored as UTF-8, compact: PynamoDB's own escapes every non-ASCII character as `\\uXXXX`,
    six bytes for each letter of a Russian, Ukrainian or Persian text, which would bring a deal's item
    three times closer to DynamoDB's 400 KB limit."""

    def serialize(self, value: Any) -> str | None:
        return None if value is None else json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class _Meta:
    region = "eu-central-1"
    host = None
    max_retry_attempts = 3
    max_pool_connections = DEFAULT_POOL_CONNECTIONS


class UserModel(Model):
    class Meta(_Meta):
        logical_name = "users"
        table_name = "users"

    id = UnicodeAttribute(hash_key=True)
    email = UnicodeAttribute()
    name = UnicodeAttribute()
    locale = UnicodeAttribute()
    timezone = UnicodeAttribute(null=True)  # IANA name; None on accounts made before time zones
    password_hash = UnicodeAttribute()
    roles = ListAttribute(of=UnicodeAttribute)
    created_at = UnicodeAttribute()
    # Tokens carry the epoch they were issued in; a password change or reset moves it on, which revokes
    # every earlier token. Logged-out sessions until their tokens expire: {session id: expiry (unix)}.
    token_epoch = NumberAttribute(null=True)
    revoked_sessions = JSONAttribute(null=True)


class KeyModel(Model):
    """Unique claims and counters: `email#<address>` → user, `invoice#<number>` → invoice,
    `counter#invoice#<year>` → last sequence number, `operators` → the operators' user ids."""

    class Meta(_Meta):
        logical_name = "keys"
        table_name = "keys"

    key = UnicodeAttribute(hash_key=True)
    target_id = UnicodeAttribute(null=True)
    seq = NumberAttribute(null=True)
    data = JSONAttribute(null=True)
    members = ListAttribute(of=UnicodeAttribute, null=True)


class AccountModel(Model):
    """A ledger account: one per (owner, currency), or per (system account, currency, shard)."""

    class Meta(_Meta):
        logical_name = "accounts"
        table_name = "accounts"

    owner_id = UnicodeAttribute(hash_key=True)
    account_key = UnicodeAttribute(range_key=True)  # "USD" for users, "USD#07" for sharded system accounts
    currency = UnicodeAttribute()
    available = NumberAttribute(default=0)
    held = NumberAttribute(default=0)


class JournalEntryModel(Model):
    """One transfer: its postings, written once (`attribute_not_exists`), so a retry can't repeat it."""

    class Meta(_Meta):
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

    class Meta(_Meta):
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


class InvoiceModel(Model):
    class Meta(_Meta):
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
    by_owner = InvoicesByOwner()


class UnmatchedPayments(GlobalSecondaryIndex):
    """Sparse: only payments waiting for an operator carry `queue`."""

    class Meta:
        index_name = "by_queue"
        projection = AllProjection()

    queue = UnicodeAttribute(hash_key=True)
    received_at = UnicodeAttribute(range_key=True)


class PaymentModel(Model):
    """An incoming bank transfer, one per bank `event_id`."""

    class Meta(_Meta):
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


class PendingEmails(GlobalSecondaryIndex):
    """Sparse: notifications whose e-mail has not gone out carry `email_queue`."""

    class Meta:
        index_name = "by_email_queue"
        projection = KeysOnlyProjection()

    email_queue = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class NotificationModel(Model):
    """The outbox and the in-cabinet feed at once; the table's stream drives e-mail."""

    class Meta(_Meta):
        logical_name = "notifications"
        table_name = "notifications"
        stream_view_type = "NEW_IMAGE"

    user_id = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute()
    params = JSONAttribute()
    created_at = UnicodeAttribute()
    email_state = UnicodeAttribute()  # pending | sending | sent | failed
    email_queue = UnicodeAttribute(null=True)
    read_at = UnicodeAttribute(null=True)
    by_email_queue = PendingEmails()


class IdempotencyModel(Model):
    """The first response to `(scope, Idempotency-Key)`. Records of money-moving requests are
    written in the movement's own transaction and never expire; others expire by TTL."""

    class Meta(_Meta):
        logical_name = "idempotency"
        table_name = "idempotency"
        ttl_attribute = "expires_at"

    id = UnicodeAttribute(hash_key=True)
    request_hash = UnicodeAttribute()
    status_code = NumberAttribute()
    body = JSONAttribute()
    created_at = UnicodeAttribute()
    expires_at = NumberAttribute(null=True)


class GigsByContractor(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_contractor"
        projection = AllProjection()

    contractor_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class GigModel(Model):
    """A contractor's fixed-price service."""

    class Meta(_Meta):
        logical_name = "gigs"
        table_name = "gigs"

    id = UnicodeAttribute(hash_key=True)
    contractor_id = UnicodeAttribute()
    title = UnicodeAttribute()
    description = UnicodeAttribute()
    amount = NumberAttribute()
    currency = UnicodeAttribute()
    delivery_days = NumberAttribute()
    status = UnicodeAttribute()  # active | paused
    created_at = UnicodeAttribute()
    rating_sum = NumberAttribute(null=True)  # of its reviews' 1–5 ratings
    rating_count = NumberAttribute(null=True)
    by_contractor = GigsByContractor()


class DueTimers(GlobalSecondaryIndex):
    """Sparse: only deals with a pending timer carry `timer_shard`; the job reads what is due, nothing else."""

    class Meta:
        index_name = "by_timer"
        projection = AllProjection()  # the job builds the transition from the index item: one read per due timer

    timer_shard = UnicodeAttribute(hash_key=True)
    timer_due_at = UnicodeAttribute(range_key=True)


class DealsByClient(GlobalSecondaryIndex):
    """`client_key` is `<noun>#<client id>`: a client's orders and offers are listed apart."""

    class Meta:
        index_name = "by_client"
        projection = AllProjection()

    client_key = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class DealsByContractor(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_contractor"
        projection = AllProjection()

    contractor_key = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class DealsByQueue(GlobalSecondaryIndex):
    """Sparse: only deals waiting for an operator (an open dispute) carry `queue`."""

    class Meta:
        index_name = "by_queue"
        projection = AllProjection()

    queue = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class DealModel(Model):
    """A deal run by the process engine: a gig order, a custom offer, a project contract, a B2B
    task or a site's subscription (`process`). `version` guards every
    transition; `timer_*` is the one pending timed transition, if any. `terms` are frozen when the
    deal is made and never updated; `terms_hash` is their SHA-256 over canonical JSON."""

    class Meta(_Meta):
        logical_name = "deals"
        table_name = "deals"

    id = UnicodeAttribute(hash_key=True)
    process = UnicodeAttribute()
    status = UnicodeAttribute()
    version = NumberAttribute()
    client_id = UnicodeAttribute()
    contractor_id = UnicodeAttribute()
    client_key = UnicodeAttribute()
    contractor_key = UnicodeAttribute()
    subject_id = UnicodeAttribute()  # the gig (or project) the deal is about
    related_id = UnicodeAttribute(null=True)  # the offer an order came from, the order an offer became
    title = UnicodeAttribute()
    description = UnicodeAttribute(null=True)
    amount = NumberAttribute()  # the price (plus paid extras)
    escrowed = NumberAttribute(null=True)  # held so far when it differs from `amount` (a project's halves)
    currency = UnicodeAttribute()
    commission_bps = NumberAttribute()
    delivery_days = NumberAttribute()
    created_at = UnicodeAttribute()
    deadline_at = UnicodeAttribute(null=True)
    remaining_seconds = NumberAttribute(null=True)
    review_due_at = UnicodeAttribute(null=True)
    fund_due_at = UnicodeAttribute(null=True)  # a delivered project's last moment to escrow the rest
    accept_by = UnicodeAttribute(null=True)  # an offer's last date
    last_message = UnicodeAttribute(null=True)
    closed_reason = UnicodeAttribute(null=True)
    revisions = NumberAttribute(default=0)
    extras = JSONAttribute(default=list)  # [{id, title, amount, extra_days, status, offered_at, decided_at}]
    cancellation = JSONAttribute(null=True)  # the pending request: {by, reason, message, requested_at}
    dispute = JSONAttribute(null=True)  # {reason, opened_at, refund, release, commission, note, resolved_*}
    terms = JSONAttribute(null=True)
    terms_hash = UnicodeAttribute(null=True)
    reviewed_at = UnicodeAttribute(null=True)
    data = JSONAttribute(null=True)  # what a flow keeps besides the common fields (a deliverable, an act)
    queue = UnicodeAttribute(null=True)
    timer_shard = UnicodeAttribute(null=True)
    timer_due_at = UnicodeAttribute(null=True)
    timer_transition = UnicodeAttribute(null=True)
    history = JSONAttribute(default=list)
    by_timer = DueTimers()
    by_client = DealsByClient()
    by_contractor = DealsByContractor()
    by_queue = DealsByQueue()


class ProfileModel(Model):
    """What others see of a contractor besides his gigs: his level, whether he takes custom offers,
    and the counters behind his responsibility rating (updated inside the deals' transactions)."""

    class Meta(_Meta):
        logical_name = "profiles"
        table_name = "profiles"

    user_id = UnicodeAttribute(hash_key=True)
    level = UnicodeAttribute(null=True)
    custom_offers = UnicodeAttribute(null=True)  # "enabled" when the contractor takes custom offers
    orders_completed = NumberAttribute(null=True)
    orders_failed = NumberAttribute(null=True)  # declined, auto-cancelled, or cancelled by the client once late
    orders_cancelled = NumberAttribute(null=True)  # cancelled by agreement: no rating drop
    skills = ListAttribute(of=UnicodeAttribute, null=True)
    company_name = UnicodeAttribute(null=True)  # a company's settings: its name on acts,
    company_details = UnicodeAttribute(null=True)  # its requisites as printed,
    send_tasks_immediately = BooleanAttribute(null=True)  # and whether new tasks skip the draft


class ReviewsByGig(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_gig"
        projection = AllProjection()

    gig_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class ReviewModel(Model):
    """The client's one review of a completed order, keyed by the order."""

    class Meta(_Meta):
        logical_name = "reviews"
        table_name = "reviews"

    order_id = UnicodeAttribute(hash_key=True)
    gig_id = UnicodeAttribute()
    client_id = UnicodeAttribute()
    contractor_id = UnicodeAttribute()
    rating = NumberAttribute()
    text = UnicodeAttribute()
    created_at = UnicodeAttribute()
    by_gig = ReviewsByGig()


class ConversationModel(Model):
    """One participant's side of a conversation: each of the two has an item, so each lists his
    own. A conversation between two users has one id, derived from the pair."""

    class Meta(_Meta):
        logical_name = "conversations"
        table_name = "conversations"

    owner_id = UnicodeAttribute(hash_key=True)
    conversation_id = UnicodeAttribute(range_key=True)
    peer_id = UnicodeAttribute()
    created_at = UnicodeAttribute()
    wrote_at = UnicodeAttribute(null=True)  # when the owner first wrote in it (a custom offer needs the client's)


class MessageModel(Model):
    """A message in a thread: a conversation (`cnv_…`) or an order (`ord_…`). `message_id` sorts by time."""

    class Meta(_Meta):
        logical_name = "messages"
        table_name = "messages"

    thread_id = UnicodeAttribute(hash_key=True)
    message_id = UnicodeAttribute(range_key=True)
    sender_id = UnicodeAttribute()
    text = UnicodeAttribute()
    attachments = JSONAttribute(default=list)  # [{name, size, content_type, url}]: metadata only
    created_at = UnicodeAttribute()


class PayoutsByOwner(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_owner"
        projection = AllProjection()

    owner_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class UnsentPayouts(GlobalSecondaryIndex):
    """Sparse: payouts whose request has not reached the bank yet carry `queue`."""

    class Meta:
        index_name = "by_queue"
        projection = AllProjection()

    queue = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class PayoutModel(Model):
    """A withdrawal to a card or an IBAN: held at once, then paid out or returned by the bank's answer."""

    class Meta(_Meta):
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


class ProjectsByState(GlobalSecondaryIndex):
    """Sparse: only projects still taking proposals carry `listing`."""

    class Meta:
        index_name = "by_listing"
        projection = AllProjection()

    listing = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class ProjectsByClient(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_client"
        projection = AllProjection()

    client_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class ProjectModel(Model):
    """A client's project that contractors bid on; choosing a proposal opens its contract (a deal)."""

    class Meta(_Meta):
        logical_name = "projects"
        table_name = "projects"

    id = UnicodeAttribute(hash_key=True)
    client_id = UnicodeAttribute()
    title = UnicodeAttribute()
    description = UnicodeAttribute()
    skills = ListAttribute(of=UnicodeAttribute)
    budget_min = NumberAttribute()
    budget_max = NumberAttribute()
    currency = UnicodeAttribute()
    status = UnicodeAttribute()  # open | contracted
    listing = UnicodeAttribute(null=True)
    contract_id = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    by_listing = ProjectsByState()
    by_client = ProjectsByClient()


class ProposalsByContractor(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_contractor"
        projection = AllProjection()

    contractor_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class ProposalModel(Model):
    """A contractor's one bid on a project: price, days and text, editable until one is chosen."""

    class Meta(_Meta):
        logical_name = "proposals"
        table_name = "proposals"

    project_id = UnicodeAttribute(hash_key=True)
    contractor_id = UnicodeAttribute(range_key=True)
    price = NumberAttribute()
    currency = UnicodeAttribute()
    days = NumberAttribute()
    text = UnicodeAttribute()
    status = UnicodeAttribute()  # active | withdrawn | selected
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    by_contractor = ProposalsByContractor()


class TeamMemberModel(Model):
    """A company's team: one item per contractor, keyed by e-mail; `invited` until the invitee sets a
    password, `requested` until someone who already has an account accepts (or `declined`), then `active`."""

    class Meta(_Meta):
        logical_name = "team"
        table_name = "team"

    company_id = UnicodeAttribute(hash_key=True)
    email = UnicodeAttribute(range_key=True)
    user_id = UnicodeAttribute(null=True)
    state = UnicodeAttribute()  # invited | requested | active | declined
    greeting = UnicodeAttribute(null=True)
    invited_at = UnicodeAttribute()
    joined_at = UnicodeAttribute(null=True)


class SiteModel(Model):
    """A business account ("site", seed 003): its own details. Its billing life — status, tariff,
    counters, invoicing — is a deal of the `subscription` process with the same id; its owner is that
    deal's client. The key the shop platform reports usage with is kept only as a SHA-256 hash (the
    claim `sitekey#<hash>` in keys), its domains as claims `domain#<ascii host>`."""

    class Meta(_Meta):
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


class TariffModel(Model):
    """A tariff operators manage. `prices` is its price schedule, `[{"from": "2026-12", "amount": N}]`:
    a change applies from a later billing month, so every month is billed at the price it began with."""

    class Meta(_Meta):
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


class ServiceInvoiceModel(Model):
    """A site's service invoice (UAH): `<SERVICE_INVOICE_PREFIX>-<service code>-<seq>`, `seq` gap-free per
    site (the subscription deal's counter, advanced in the invoice's own transaction)."""

    class Meta(_Meta):
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
    status = UnicodeAttribute()  # open | paid | void
    issued_at = UnicodeAttribute()
    due_at = UnicodeAttribute()
    paid_at = UnicodeAttribute(null=True)
    paid_by = UnicodeAttribute(null=True)  # card | link | bank_transfer
    payment_id = UnicodeAttribute(null=True)
    link = JSONAttribute(null=True)  # the live payment link: {payment_id, url, expires_at, seq}
    by_site = ServiceInvoicesBySite()


class CardPaymentsBySite(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_site"
        projection = AllProjection()

    site_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class CardPaymentModel(Model):
    """A payment we asked the card acquirer for, by our own id (the acquirer's reference): a payment link,
    the page that saves a card, a charge of the saved card, or the 1.00 UAH verification. Its outcome is
    the acquirer's webhook, applied once (`outcome`)."""

    class Meta(_Meta):
        logical_name = "card_payments"
        table_name = "card_payments"

    id = UnicodeAttribute(hash_key=True)
    site_id = UnicodeAttribute()
    owner_id = UnicodeAttribute()
    purpose = UnicodeAttribute()  # link | pay_invoice | verify | autopay
    invoice_id = UnicodeAttribute(null=True)  # none for a verification
    amount = NumberAttribute()
    currency = UnicodeAttribute()
    status = UnicodeAttribute()  # pending | succeeded | failed | refund_pending | refunded
    outcome = UnicodeAttribute(null=True)  # applied | verified | parked | declined
    save_card = BooleanAttribute(default=False)
    url = UnicodeAttribute(null=True)
    expires_at = UnicodeAttribute(null=True)
    card_mask = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    settled_at = UnicodeAttribute(null=True)
    by_site = CardPaymentsBySite()


class UsageModel(Model):
    """What the shop platform reported for a site: each `event#<event_id>` once (written with
    `attribute_not_exists`, kept for USAGE_EVENT_DAYS), and each billing day's sum `day#<YYYY-MM-DD>`
    (orders added, the last product count), which the daily refresh folds into the site's counters."""

    class Meta(_Meta):
        logical_name = "usage"
        table_name = "usage"
        ttl_attribute = "expires_at"

    site_id = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    orders = NumberAttribute(null=True)
    products = NumberAttribute(null=True)
    reported_at = UnicodeAttribute(null=True)
    expires_at = NumberAttribute(null=True)
class LimitModel(Model):
    """An abuse limit's counter for one key and window (failed log-ins per e-mail or address, invitations
    per company and day, e-mails per address and day, password resets): items expire by TTL."""

    class Meta(_Meta):
        logical_name = "limits"
        table_name = "limits"
        ttl_attribute = "expires_at"

    key = UnicodeAttribute(hash_key=True)
    hits = NumberAttribute(default=0)
    window_ends = NumberAttribute()  # unix seconds: the window's counting stops here
    expires_at = NumberAttribute()


ALL_MODELS: tuple[type[Model], ...] = (
    UserModel,
    KeyModel,
    AccountModel,
    JournalEntryModel,
    JournalLineModel,
    InvoiceModel,
    PaymentModel,
    NotificationModel,
    IdempotencyModel,
    GigModel,
    DealModel,
    ProfileModel,
    ReviewModel,
    ConversationModel,
    MessageModel,
    PayoutModel,
    ProjectModel,
    ProposalModel,
    TeamMemberModel,
    SiteModel,
    TariffModel,
    ServiceInvoiceModel,
    CardPaymentModel,
    UsageModel,
    LimitModel,
)


def logical_name(model: type[Model]) -> str:
    """The table's name without the stage prefix (kept on each model's Meta)."""
    return model.Meta.logical_name  # type: ignore[attr-defined]


def bind(settings: Settings) -> None:
    """Point every model at the configured region, endpoint and table prefix, all through one connection."""
    from chalicelib.store.uow import connection_for, reset_connections

    reset_connections()
    for model in ALL_MODELS:
        model.Meta.region = settings.region
        model.Meta.host = settings.dynamodb_host
        # The timer job's threads share the client: one pooled HTTP connection per thread, at least.
        model.Meta.max_pool_connections = max(DEFAULT_POOL_CONNECTIONS, settings.timer_workers)
        model.Meta.table_name = settings.table_prefix + logical_name(model)
        model._connection = None
    shared = connection_for(ALL_MODELS[0])
    for model in ALL_MODELS:
        _share(model, shared)


def _share(model: type[Model], shared: Connection) -> None:
    """Send the model's requests through `shared` (the unit of work's connection). PynamoDB gives each model a
    connection of its own — its own botocore session, client and HTTP pool — so a cold start loaded DynamoDB's
    service model (~60 ms) and opened a connection again for every model it touched (pynamodb/PynamoDB#1245)."""
    table = model._get_connection()
    meta_table = table.get_meta_table()
    table.connection = shared
    try:
        shared.get_meta_table(meta_table.table_name)
    except TableError:  # models sharing a table (the journal's) share its key schema too
        shared.add_meta_table(meta_table)

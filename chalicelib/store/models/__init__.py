"""PynamoDB models: one table per aggregate, named `<TABLE_PREFIX><name>`, split by area (accounts, payments,
deals, billing, notifications); this package names them all.

The models are the schema's source of truth: `infra/dynamodb.json` (the CloudFormation
resources for AWS, also used to create DynamoDB Local's tables) is generated from them and a
test keeps the two in step. `bind()` points every model at a region, host and table prefix.
"""
from __future__ import annotations

from pynamodb.connection import Connection
from pynamodb.exceptions import TableError
from pynamodb.models import Model

from chalicelib.platform.config import Settings
from chalicelib.store.models.accounts import (
    IdempotencyModel,
    KeyModel,
    LimitModel,
    ProfileModel,
    TeamMemberModel,
    UserModel,
)
from chalicelib.store.models.audit import AuditLogModel
from chalicelib.store.models.base import DEFAULT_POOL_CONNECTIONS, BaseMeta, JSONAttribute, logical_name
from chalicelib.store.models.billing import (
    CardPaymentModel,
    CardPaymentsBySite,
    CardRefundsAwaited,
    ServiceInvoiceModel,
    ServiceInvoicesBySite,
    SiteModel,
    TariffModel,
    UsageModel,
)
from chalicelib.store.models.catalog import (
    CatalogEntryModel,
    CategoryCountModel,
    ListingByNew,
    ListingByPrice,
    ListingByRank,
)
from chalicelib.store.models.deals import (
    ConversationModel,
    DealModel,
    DealsByClient,
    DealsByContractor,
    DealsByQueue,
    DueTimers,
    GigModel,
    GigsByContractor,
    MessageModel,
    ProjectModel,
    ProjectsByClient,
    ProjectsByState,
    ProposalModel,
    ProposalsByContractor,
    ReviewModel,
    ReviewsByContractor,
    ReviewsByGig,
    ThreadEntryModel,
)
from chalicelib.store.models.files import UploadModel
from chalicelib.store.models.notifications import NotificationModel, PendingEmails
from chalicelib.store.models.payments import (
    AccountModel,
    InvoiceModel,
    InvoicesByOwner,
    JournalEntryModel,
    JournalLineModel,
    PaymentModel,
    PayoutModel,
    PayoutsByOwner,
    UnmatchedPayments,
    UnsentPayouts,
    open_due_key,
    open_due_keys,
)

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
    AuditLogModel,
    CatalogEntryModel,
    CategoryCountModel,
    ThreadEntryModel,
    UploadModel,
)

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


__all__ = [
    "ALL_MODELS",
    "DEFAULT_POOL_CONNECTIONS",
    "AccountModel",
    "AuditLogModel",
    "BaseMeta",
    "CardPaymentModel",
    "CardPaymentsBySite",
    "CardRefundsAwaited",
    "CatalogEntryModel",
    "CategoryCountModel",
    "ConversationModel",
    "DealModel",
    "DealsByClient",
    "DealsByContractor",
    "DealsByQueue",
    "DueTimers",
    "GigModel",
    "GigsByContractor",
    "IdempotencyModel",
    "InvoiceModel",
    "InvoicesByOwner",
    "JSONAttribute",
    "JournalEntryModel",
    "JournalLineModel",
    "KeyModel",
    "LimitModel",
    "ListingByNew",
    "ListingByPrice",
    "ListingByRank",
    "MessageModel",
    "NotificationModel",
    "PaymentModel",
    "PayoutModel",
    "PayoutsByOwner",
    "PendingEmails",
    "ProfileModel",
    "ProjectModel",
    "ProjectsByClient",
    "ProjectsByState",
    "ProposalModel",
    "ProposalsByContractor",
    "ReviewModel",
    "ReviewsByContractor",
    "ReviewsByGig",
    "ServiceInvoiceModel",
    "ServiceInvoicesBySite",
    "SiteModel",
    "TariffModel",
    "TeamMemberModel",
    "ThreadEntryModel",
    "UnmatchedPayments",
    "UnsentPayouts",
    "UploadModel",
    "UsageModel",
    "UserModel",
    "bind",
    "logical_name",
    "open_due_key",
    "open_due_keys",
]

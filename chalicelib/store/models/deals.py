"""The marketplace's tables: gigs, deals (every process's one item, with its timer and list indexes), reviews,
conversations, projects and proposals."""
from __future__ import annotations

from pynamodb.attributes import (
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib.store.models.base import BaseMeta, JSONAttribute


class GigsByContractor(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_contractor"
        projection = AllProjection()

    contractor_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class GigModel(Model):
    """A contractor's fixed-price service."""

    class Meta(BaseMeta):
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
    category = UnicodeAttribute(null=True)  # one of CATALOG_CATEGORIES; none: listed only in the whole catalog
    tags = ListAttribute(of=UnicodeAttribute, null=True)  # at most five, lower case
    extras = JSONAttribute(null=True)  # options shown on its page: [{title, amount, extra_days}]
    revision = NumberAttribute(null=True)  # counts edits: an edit is written only over the revision it read
    updated_at = UnicodeAttribute(null=True)
    by_contractor = GigsByContractor()


class DueTimers(GlobalSecondaryIndex):
    """Sparse: only deals with a pending timer carry `timer_shard`; the job reads what is due, nothing else. Keys
    only: the job reads a page of due deals in one batch (`lookup.in_order`), so a transition that keeps the deal's
    timer writes nothing here, and one that moves it writes a small entry, whatever the deal's size."""

    class Meta:
        index_name = "by_due"
        projection = KeysOnlyProjection()

    timer_shard = UnicodeAttribute(hash_key=True)
    timer_due_at = UnicodeAttribute(range_key=True)


class DealsByClient(GlobalSecondaryIndex):
    """`client_key` is `<noun>#<client id>`: a client's orders and offers are listed apart. The list indexes hold
    keys only (a list reads its page's items in one batch, `lookup.in_order`): a transition that keeps the deal's
    place in the lists writes none of them."""

    class Meta:
        index_name = "by_client"
        projection = KeysOnlyProjection()

    client_key = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class DealsByContractor(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_contractor"
        projection = KeysOnlyProjection()

    contractor_key = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class DealsByQueue(GlobalSecondaryIndex):
    """Sparse: only deals waiting for an operator (an open dispute) carry `queue`."""

    class Meta:
        index_name = "by_queue"
        projection = KeysOnlyProjection()

    queue = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class DealModel(Model):
    """A deal run by the process engine: a gig order, a custom offer, a project contract, a B2B
    task or a site's subscription (`process`). `version` guards every
    transition; `timer_*` is the one pending timed transition, if any. `terms` are frozen when the
    deal is made and never updated; `terms_hash` is their SHA-256 over canonical JSON."""

    class Meta(BaseMeta):
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
    thread_count = NumberAttribute(null=True)  # entries in its thread (ThreadEntryModel), numbered from 1
    by_due = DueTimers()
    by_client = DealsByClient()
    by_contractor = DealsByContractor()
    by_queue = DealsByQueue()


class ReviewsByGig(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_gig"
        projection = AllProjection()

    gig_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class ReviewsByContractor(GlobalSecondaryIndex):
    """A seller's reviews across all his gigs."""

    class Meta:
        index_name = "by_contractor"
        projection = AllProjection()

    contractor_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class ReviewModel(Model):
    """The client's one review of a completed order, keyed by the order; or one party's review of the
    other on a completed project contract, keyed `<contract id>#<author's role>` and listed (`gig_id`,
    the `by_gig` index) under `<reviewed role>#<reviewed user's id>`: the reviews of a user as a contractor
    or as a client."""

    class Meta(BaseMeta):
        logical_name = "reviews"
        table_name = "reviews"

    order_id = UnicodeAttribute(hash_key=True)
    gig_id = UnicodeAttribute()
    client_id = UnicodeAttribute()
    contractor_id = UnicodeAttribute()
    rating = NumberAttribute()
    text = UnicodeAttribute()
    created_at = UnicodeAttribute()
    outcome = UnicodeAttribute(null=True)  # how the order ended: completed, declined_by_contractor, ...
    author = UnicodeAttribute(null=True)  # a contract's review: "client" or "contractor" (an order's: the client)
    project_id = UnicodeAttribute(null=True)  # a contract's review: its project
    by_gig = ReviewsByGig()
    by_contractor = ReviewsByContractor()


class ConversationModel(Model):
    """One participant's side of a conversation: each of the two has an item, so each lists his
    own. A conversation between two users has one id, derived from the pair."""

    class Meta(BaseMeta):
        logical_name = "conversations"
        table_name = "conversations"

    owner_id = UnicodeAttribute(hash_key=True)
    conversation_id = UnicodeAttribute(range_key=True)
    peer_id = UnicodeAttribute()
    created_at = UnicodeAttribute()
    wrote_at = UnicodeAttribute(null=True)  # when the owner first wrote in it (a custom offer needs the client's)


class MessageModel(Model):
    """A message in a thread: a conversation (`cnv_…`) or an order (`ord_…`). `message_id` sorts by time."""

    class Meta(BaseMeta):
        logical_name = "messages"
        table_name = "messages"

    thread_id = UnicodeAttribute(hash_key=True)
    message_id = UnicodeAttribute(range_key=True)
    sender_id = UnicodeAttribute()
    text = UnicodeAttribute()
    attachments = JSONAttribute(default=list)  # the uploads it claimed: [{id, key, filename, size, content_type, ...}]
    links = JSONAttribute(null=True)  # outside https: addresses, shown as links only
    created_at = UnicodeAttribute()
    offer_request_id = UnicodeAttribute(null=True)  # the entry is a client's request for a custom offer


class ThreadEntryModel(Model):
    """One step of a deal's thread, in order: its placing, each delivery with its files, each revision request,
    extra, cancellation request and answer, and each timer that fired. Written in the transition's own unit of
    work; `seq` is the deal's `thread_count` after it, so the deal's item stays bounded however long the thread."""

    class Meta(BaseMeta):
        logical_name = "threads"
        table_name = "threads"

    deal_id = UnicodeAttribute(hash_key=True)
    seq = NumberAttribute(range_key=True)
    kind = UnicodeAttribute()  # the transition's name, or "placed"
    actor = UnicodeAttribute()  # client | contractor | operator | system
    status = UnicodeAttribute()  # the deal's status after it
    at = UnicodeAttribute()
    message = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    details = JSONAttribute(null=True)  # {files: [...]}, {extra: {...}}, {cancellation: {...}}


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

    class Meta(BaseMeta):
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

    class Meta(BaseMeta):
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


"""Request and response shapes. Requests are validated with these models; responses are
documented with them in the OpenAPI document.

This module loads with the first request that has a body (routes name their models, see
`chalicelib/entrypoints/api/http.py`), and each model builds its validator when first used (`defer_build`): a
cold start pays for pydantic and the one model its request needs, not for all of them."""
from __future__ import annotations

import unicodedata
import urllib.parse
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, StrictInt, WithJsonSchema, model_validator

from chalicelib.money.amounts import MAX_ANY_AMOUNT_MINOR
from chalicelib.platform import i18n
from chalicelib.platform.config import LOCALES, settings
from chalicelib.processes.subscription import DELETION_REASONS
from chalicelib.services.sites import MAX_DOMAINS


def _known_locale(value: str) -> str:
    if value not in LOCALES:
        raise ValueError(f"unknown locale; one of {', '.join(LOCALES)}")
    return value


def _known_zone(value: str) -> str:
    if not i18n.is_zone(value):
        raise ValueError("unknown time zone; an IANA name such as Europe/Kyiv")
    return value


Locale = Annotated[str, AfterValidator(_known_locale), WithJsonSchema({"type": "string", "enum": list(LOCALES)})]
TimeZone = Annotated[str, AfterValidator(_known_zone), WithJsonSchema({
    "type": "string", "maxLength": 64, "example": "Europe/Kyiv",
    "description": "an IANA time zone name; every date and time shown to the user is in it"})]
CurrencyCode = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code: USD, EUR, UAH or IRR")
MAX_AMOUNT = MAX_ANY_AMOUNT_MINOR  # per currency in chalicelib.money.amounts.MAX_AMOUNT_MINOR; bigger is a 422


def _plain_text(value: str) -> str:
    """Words people write to each other: no control characters but line breaks and tabs, and no bidi
    embeddings, overrides or isolates that would make a text read otherwise than it is written (the
    joiners Persian needs stay)."""
    if any((unicodedata.category(ch) == "Cc" and ch not in "\n\r\t") or ch in _BIDI_CONTROLS for ch in value):
        raise ValueError("control characters and bidi overrides are not allowed")
    return value


_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


PlainText = Annotated[str, AfterValidator(_plain_text)]


class _Model(BaseModel):
    """Every model here: built when first used, not when this module loads."""

    model_config = ConfigDict(defer_build=True)


class _In(_Model):
    model_config = ConfigDict(str_strip_whitespace=True)


# Requests ------------------------------------------------------------------------------------

class SignupIn(_In):
    email: EmailStr
    password: str = Field(min_length=8, max_length=128)
    name: str = Field(min_length=1, max_length=100)
    locale: Locale = "en"
    timezone: TimeZone | None = Field(default=None, description="default: the locale's marketplace's zone")


class MeIn(_In):
    """What a user may change about himself; a field left out stays as it is."""

    locale: Locale | None = None
    timezone: TimeZone | None = None


class LoginIn(_In):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=128)


class PasswordChangeIn(_In):
    current_password: str = Field(min_length=1, max_length=128)
    new_password: str = Field(min_length=8, max_length=128)


class PasswordResetIn(_In):
    email: str = Field(min_length=3, max_length=254)


class PasswordResetConfirmIn(_In):
    token: str = Field(min_length=1, max_length=200,
                       description="from the link e-mailed by POST /v1/auth/password-reset")
    password: str = Field(min_length=8, max_length=128)


class InvoiceIn(_In):
    amount: StrictInt = Field(gt=0, le=MAX_AMOUNT, description="minor units, e.g. 150000 = 1,500.00 USD")
    currency: str = CurrencyCode


class Payer(_In):
    name: str = Field(max_length=200)
    iban: str = Field(default="", max_length=64)


class BankEventIn(_In):
    event_id: str = Field(min_length=1, max_length=200)
    type: str = Field(min_length=1, max_length=100)


class TransferIncomingIn(BankEventIn):
    type: Literal["transfer.incoming"]
    amount: StrictInt = Field(gt=0, lt=10**38, description=(
        "minor units; a transfer above the bound of its currency is parked as unmatched (amount_out_of_range)"))
    currency: str = CurrencyCode
    purpose: str = Field(max_length=2000)
    payer: Payer
    received_at: str = Field(min_length=1, max_length=64)


class ApplyPaymentIn(_In):
    invoice_id: str = Field(min_length=1, max_length=100)


class GigIn(_In):
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=5000)
    amount: StrictInt = Field(gt=0, le=MAX_AMOUNT, description="minor units")
    currency: str = CurrencyCode
    delivery_days: StrictInt = Field(ge=1, le=365)


class OrderIn(_In):
    gig_id: str = Field(min_length=1, max_length=100)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$",
                                 description="optional: refuse unless the gig is priced in this currency")


class MessageIn(_In):
    message: str = Field(min_length=1, max_length=5000)


class FileIn(_In):
    filename: str = Field(min_length=1, max_length=255, pattern=r"^[^/\\]+$")
    content_base64: str = Field(min_length=1, description="the file, base64-encoded")


class DeliveryIn(_In):
    message: str = Field(min_length=1, max_length=5000)
    attachments: list[FileIn] = Field(default_factory=list, max_length=5,
                                      description="the delivered files (DELIVERABLE_MAX_BYTES together)")


class ReasonIn(_In):
    reason: str = Field(min_length=1, max_length=1000)


class ClockIn(_In):
    advance_seconds: StrictInt = Field(ge=0, le=10 * 365 * 24 * 3600)


# Responses -----------------------------------------------------------------------------------

class ErrorBody(_Model):
    code: str
    message: str
    field: str | None = None


class ErrorOut(_Model):
    error: ErrorBody


class UserOut(_Model):
    id: str
    email: str
    name: str
    locale: Locale
    timezone: str = Field(description="IANA time zone name")
    roles: list[str]
    created_at: str


class SignupOut(_Model):
    user: UserOut
    token: str


class TokenOut(_Model):
    token: str


class StatusOut(_Model):
    status: str
    message: str | None = None


class BalanceLine(_Model):
    currency: str
    available: int
    held: int


class BalancesOut(_Model):
    items: list[BalanceLine]


class InvoiceOut(_Model):
    id: str
    number: str = Field(examples=["PI-2026-000001"])
    amount: int
    currency: str
    status: Literal["open", "paid"]
    payment_details: str
    created_at: str
    paid_at: str | None
    pdf_url: str


class InvoiceList(_Model):
    items: list[InvoiceOut]
    next_cursor: str | None


class PaymentOut(_Model):
    id: str
    event_id: str
    amount: int
    currency: str
    purpose: str
    payer: dict
    received_at: str
    status: Literal["credited", "unmatched", "applied", "returned"]
    reason: str | None
    invoice_id: str | None
    resolved_by: str | None
    resolved_at: str | None


class PaymentList(_Model):
    items: list[PaymentOut]
    next_cursor: str | None


class PayoutOut(_Model):
    id: str
    amount: int
    currency: str
    method: Literal["card", "iban"]
    destination: str = Field(description="masked: •••• 1111 for a card, DE89 •••• 3000 for an IBAN")
    status: Literal["pending", "paid", "failed"]
    created_at: str
    sent_at: str | None
    decided_at: str | None
    failure_reason: str | None


class PayoutList(_Model):
    items: list[PayoutOut]
    next_cursor: str | None


class WebhookAck(_Model):
    received: bool
    duplicate: bool = False
    ignored: bool = False
    payment: PaymentOut | None = None
    payout: PayoutOut | None = None


class StatementLine(_Model):
    entry_id: str
    kind: str
    currency: str
    bucket: Literal["available", "held"]
    amount: int
    ref: str | None
    created_at: str


class StatementList(_Model):
    items: list[StatementLine]
    next_cursor: str | None


class TrialBalanceLine(_Model):
    currency: str
    total: int
    balanced: bool
    accounts: dict[str, int]


class TrialBalanceOut(_Model):
    items: list[TrialBalanceLine]
    balanced: bool


class NotificationOut(_Model):
    id: str
    kind: str
    title: str
    body: str
    link: str = Field(description="the page where the reader acts on it (the same as the e-mail's button)")
    params: dict
    created_at: str
    read_at: str | None


class NotificationList(_Model):
    items: list[NotificationOut]
    next_cursor: str | None


class RatingOut(_Model):
    count: int
    sum: int
    average: str | None = Field(description="sum / count with two decimals, e.g. \"4.67\"; null without reviews")


class GigOut(_Model):
    id: str
    contractor_id: str
    title: str
    description: str
    amount: int
    currency: str
    delivery_days: int
    status: Literal["active", "paused"]
    rating: RatingOut
    created_at: str


class GigList(_Model):
    items: list[GigOut]
    next_cursor: str | None


class ExtraOut(_Model):
    id: str
    title: str
    amount: int
    extra_days: int
    status: Literal["offered", "paid", "rejected"]
    offered_at: str
    decided_at: str | None


class CancellationOut(_Model):
    by: Literal["client", "contractor"]
    reason: str
    message: str
    requested_at: str
    status: Literal["pending", "accepted", "refused", "lapsed"]
    answered_at: str | None


class DisputeOut(_Model):
    by: Literal["client", "contractor"] = Field(default="client", description="who opened it")
    reason: str
    opened_at: str
    refund: int | None
    release: int | None
    commission: int | None
    note: str
    resolved_at: str | None
    resolved_by: str | None
    terms_hash: str | None


class DeliveredFileOut(_Model):
    id: str
    filename: str
    size: int = Field(description="bytes")


class DeliveryOut(_Model):
    at: str
    files: list[DeliveredFileOut] = Field(description="GET /v1/orders/{order_id}/files/{id} gives a download link")


class OrderOut(_Model):
    id: str
    gig_id: str
    offer_id: str | None
    client_id: str
    contractor_id: str
    title: str
    amount: int = Field(description="in escrow while open: the price plus paid extras")
    currency: str
    commission: int
    status: Literal["not_started", "in_progress", "on_review", "disputed", "completed", "cancelled", "resolved"]
    delivery_days: int
    deadline_at: str | None
    review_due_at: str | None
    last_message: str | None
    closed_reason: str | None
    revisions: int
    extras: list[ExtraOut]
    deliveries: list[DeliveryOut] = Field(description="each delivery's files, oldest first (the latest message is "
                                                     "last_message; the conversation is the order's thread)")
    cancellation: CancellationOut | None
    dispute: DisputeOut | None
    terms: dict | None = Field(description="the terms frozen when the order was made")
    terms_hash: str | None = Field(description="SHA-256 of the terms as canonical JSON")
    terms_verified: bool
    reviewed: bool
    created_at: str
    version: int
    history: list[dict]


class OrderList(_Model):
    items: list[OrderOut]
    next_cursor: str | None


class ExtraIn(_In):
    title: str = Field(min_length=1, max_length=200)
    amount: StrictInt = Field(gt=0, le=MAX_AMOUNT, description="minor units, in the order's currency")
    extra_days: StrictInt = Field(ge=0, le=365)


class CancellationIn(_In):
    reason: str = Field(min_length=1, max_length=50, description=(
        "contractor: requirements_exceed_gig | client_unresponsive | unable_to_complete | mutual_agreement | other; "
        "client: no_longer_needed | contractor_unresponsive | mutual_agreement | other"))
    message: str = Field(default="", max_length=5000)


class DisputeIn(_In):
    message: str = Field(min_length=1, max_length=5000, description="what is wrong with the delivery")


class ResolutionIn(_In):
    refund: StrictInt = Field(ge=0, le=MAX_AMOUNT, description="minor units back to the client")
    release: StrictInt = Field(ge=0, le=MAX_AMOUNT, description="minor units to the contractor, less commission")
    note: str = Field(min_length=1, max_length=5000, description="the decision, citing the frozen terms")


class ReviewIn(_In):
    rating: StrictInt = Field(ge=1, le=5)
    text: str = Field(default="", max_length=5000)


class ReviewOut(_Model):
    order_id: str
    gig_id: str
    client_id: str
    contractor_id: str
    rating: int
    text: str
    created_at: str


class ReviewList(_Model):
    items: list[ReviewOut]
    next_cursor: str | None


def _attachment_url(value: str) -> str:
    """`https:` links, or the service's own file links (`/v1/files/…`): never `javascript:`, `data:`,
    `http:` or anything else a reader's client might run or that travels in the clear."""
    if not value or value.startswith(f"{settings.app_url.rstrip('/')}/v1/files/"):
        return value
    parts = urllib.parse.urlsplit(value)
    if any(ch.isspace() or ord(ch) < 32 for ch in value):
        raise ValueError("the URL may not contain spaces or control characters")
    if parts.scheme == "https" and parts.hostname:
        return value
    if not parts.scheme and not parts.netloc and parts.path.startswith("/v1/files/"):
        return value
    raise ValueError("an attachment URL must be an https: link or one of the service's own /v1/files/ links")


class Attachment(_In):
    name: str = Field(min_length=1, max_length=255)
    size: StrictInt = Field(ge=0, le=1024 * 1024 * 1024, description="bytes")
    content_type: str = Field(min_length=1, max_length=255)
    url: Annotated[str, AfterValidator(_attachment_url)] = Field(
        default="", max_length=2000, description="https:, or a /v1/files/ link of this service")


class ChatMessageIn(_In):
    text: str = Field(default="", max_length=10000)
    attachments: list[Attachment] = Field(default_factory=list, max_length=10)


class ChatMessageOut(_Model):
    id: str
    thread_id: str
    sender_id: str
    text: str
    attachments: list[dict]
    created_at: str


class ChatMessageList(_Model):
    items: list[ChatMessageOut]
    next_cursor: str | None


class ConversationIn(_In):
    user_id: str = Field(min_length=1, max_length=100, description="the other participant")


class ConversationOut(_Model):
    id: str
    peer_id: str
    created_at: str


class ConversationList(_Model):
    items: list[ConversationOut]
    next_cursor: str | None


class ResponsibilityOut(_Model):
    percent: int = Field(description="orders completed out of completed + failed (auto-cancelled or late)")
    completed: int
    failed: int
    cancelled_without_penalty: int


class ContractorOut(_Model):
    id: str
    name: str
    level: str
    custom_offers: bool
    skills: list[str]
    responsibility: ResponsibilityOut


Skill = Annotated[str, Field(min_length=1, max_length=50)]


class ProfileIn(_In):
    custom_offers: bool | None = None
    skills: list[Skill] | None = Field(default=None, max_length=30)


class LevelIn(_In):
    level: str = Field(min_length=1, max_length=50)


class OfferIn(_In):
    client_id: str = Field(min_length=1, max_length=100)
    gig_id: str = Field(min_length=1, max_length=100, description="the related gig: the review lands under it")
    description: str = Field(min_length=1, max_length=10000)
    amount: StrictInt = Field(gt=0, le=MAX_AMOUNT, description="minor units")
    currency: str = CurrencyCode
    delivery_days: StrictInt = Field(ge=1, le=365)
    revision_limit: StrictInt | None = Field(default=None, ge=0, le=100)
    accept_by: str | None = Field(default=None, max_length=40, description="ISO 8601; the offer expires after it")
    order_id: str | None = Field(default=None, min_length=1, max_length=100,
                                 description="made from the page of this order between the two; without it, the "
                                             "client must have written to the contractor in their conversation")


class OfferOut(_Model):
    id: str
    gig_id: str
    order_id: str | None
    client_id: str
    contractor_id: str
    title: str
    description: str
    amount: int
    currency: str
    delivery_days: int
    revision_limit: int | None
    accept_by: str | None
    status: Literal["pending", "accepted", "rejected", "withdrawn", "expired"]
    closed_reason: str | None
    terms: dict | None
    terms_hash: str | None
    created_at: str
    version: int
    history: list[dict]


class OfferList(_Model):
    items: list[OfferOut]
    next_cursor: str | None


class OptionalReasonIn(_In):
    reason: str = Field(default="", max_length=1000)


class Destination(_In):
    type: Literal["card", "iban"]
    number: str = Field(min_length=1, max_length=64, description="card number (Luhn-checked) or IBAN")


class PayoutIn(_In):
    amount: StrictInt = Field(gt=0, le=MAX_AMOUNT, description="minor units")
    currency: str = CurrencyCode
    destination: Destination


class PayoutEventIn(_In):
    event_id: str = Field(min_length=1, max_length=200)
    type: Literal["payout.paid", "payout.failed"]
    payout_id: str = Field(min_length=1, max_length=100)
    reason: str = Field(default="", max_length=1000)


class ProjectIn(_In):
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(min_length=1, max_length=10000)
    skills: list[Skill] = Field(min_length=1, max_length=20)
    budget_min: StrictInt = Field(gt=0, le=MAX_AMOUNT, description="minor units")
    budget_max: StrictInt = Field(gt=0, le=MAX_AMOUNT, description="minor units")
    currency: str = CurrencyCode


class ProjectOut(_Model):
    id: str
    client_id: str
    title: str
    description: str
    skills: list[str]
    budget_min: int
    budget_max: int
    currency: str
    status: Literal["open", "contracted"]
    contract_id: str | None
    created_at: str


class ProjectList(_Model):
    items: list[ProjectOut]
    next_cursor: str | None


class ProposalIn(_In):
    price: StrictInt = Field(gt=0, le=MAX_AMOUNT, description="minor units, in the project's currency")
    days: StrictInt = Field(ge=1, le=365)
    text: str = Field(min_length=1, max_length=5000)


class ProposalEditIn(_In):
    price: StrictInt | None = Field(default=None, gt=0, le=MAX_AMOUNT)
    days: StrictInt | None = Field(default=None, ge=1, le=365)
    text: str | None = Field(default=None, min_length=1, max_length=5000)


class ProposalOut(_Model):
    project_id: str
    contractor_id: str
    price: int
    currency: str
    days: int
    text: str
    status: Literal["active", "withdrawn", "selected"]
    created_at: str
    updated_at: str


class ProposalList(_Model):
    items: list[ProposalOut]
    next_cursor: str | None


class ContractOut(_Model):
    id: str
    project_id: str
    client_id: str
    contractor_id: str
    title: str
    price: int
    escrowed: int = Field(description="in escrow now: half the price after selection, all of it once funded")
    currency: str
    commission_bps: int
    status: Literal["awaiting_acceptance", "in_progress", "delivered", "disputed", "completed", "declined", "lapsed",
                    "cancelled", "closed_unfunded", "resolved"]
    days: int
    deadline_at: str | None = Field(description="from the contractor's acceptance plus the proposal's days; past "
                                                "it the client may cancel with a full refund of the escrow")
    release_due_at: str | None = Field(description="when the escrow is released by itself: two days after the work "
                                                   "was marked done with the whole price in escrow")
    fund_due_at: str | None = Field(description="after the work was marked done with half the price in escrow: "
                                                "unless the rest is escrowed by then, the half goes to the "
                                                "contractor and the contract closes unfunded")
    deliverable: dict | None
    dispute: DisputeOut | None
    terms: dict | None
    terms_hash: str | None
    terms_verified: bool
    created_at: str
    version: int
    history: list[dict]


class ContractList(_Model):
    items: list[ContractOut]
    next_cursor: str | None


class DisputeQueue(_Model):
    items: list[dict] = Field(description="orders and contracts in dispute, each with `process`")
    next_cursor: str | None


class DeliverableIn(_In):
    filename: str = Field(min_length=1, max_length=255, pattern=r"^[^/\\]+$")
    content_base64: str = Field(min_length=1, description="the zip archive, base64-encoded")


class DownloadOut(_Model):
    url: str
    expires_in_seconds: int
    filename: str


class ClockOut(_Model):
    now: str
    offset_seconds: float


class JobsOut(_Model):
    now: str
    jobs: dict[str, dict]



# Team and B2B tasks --------------------------------------------------------------------------

class InvitationsIn(_In):
    emails: str = Field(min_length=1, max_length=10000, description="one address, or many separated by commas")
    greeting: PlainText = Field(default="", max_length=1000, description=(
        "the company's own words to the invitees, plain text (no markup is rendered), shown as a quote"))


class InvitationResult(_Model):
    email: str
    status: Literal["invited", "requested", "already_in_team", "invalid", "duplicate", "daily_limit_reached",
                    "recently_invited"] = Field(description=(
        "invited: e-mailed a link to join; requested: the address has an account, e-mailed a request to "
        "join it must accept; daily_limit_reached: the company's invitations for today are used up; "
        "recently_invited: the address got an invitation today already"))
    reason: str | None = None


class InvitationsOut(_Model):
    results: list[InvitationResult]


class AcceptInvitationIn(_In):
    password: str = Field(min_length=8, max_length=128)
    name: str = Field(min_length=1, max_length=100)
    locale: Locale = "en"
    timezone: TimeZone | None = None


class MemberOut(_Model):
    email: str
    user_id: str | None
    state: Literal["invited", "requested", "active", "declined"]
    invited_at: str
    joined_at: str | None


class MemberList(_Model):
    items: list[MemberOut]
    next_cursor: str | None


class SettingsIn(_In):
    company_name: str | None = Field(default=None, max_length=200)
    company_details: str | None = Field(default=None, max_length=2000, description="requisites printed on acts")
    send_tasks_immediately: bool | None = None


class SettingsOut(_Model):
    company_name: str
    company_details: str
    send_tasks_immediately: bool


class TaskIn(_In):
    contractor_id: str = Field(min_length=1, max_length=100, description="an active member of your team")
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=10000)
    amount: StrictInt = Field(gt=0, le=MAX_AMOUNT, description="minor units")
    currency: str = CurrencyCode
    deadline_at: str | None = Field(default=None, max_length=40)


class TaskEditIn(_In):
    contractor_id: str | None = Field(default=None, description="refused: a task's contractor never changes")
    title: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=10000)
    amount: StrictInt | None = Field(default=None, gt=0, le=MAX_AMOUNT)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    deadline_at: str | None = Field(default=None, max_length=40)


class ActOut(_Model):
    number: str
    issued_at: str
    pdf_url: str


class TaskOut(_Model):
    id: str
    company_id: str
    contractor_id: str
    title: str
    description: str
    amount: int
    currency: str
    commission: int
    deadline_at: str | None
    status: Literal["draft", "in_work", "done", "cancelled"]
    closed_reason: str | None
    act: ActOut | None
    created_at: str
    version: int
    history: list[dict]


class TaskList(_Model):
    items: list[TaskOut]
    next_cursor: str | None


class DeletedOut(_Model):
    deleted: bool
    id: str


class DocumentOut(_Model):
    kind: Literal["act"]
    number: str
    issued_at: str
    task_id: str
    title: str
    amount: int
    currency: str
    company_id: str
    contractor_id: str
    pdf_url: str


class DocumentList(_Model):
    items: list[DocumentOut]
    next_cursor: str | None


# --- team ------------------------------------------------------------------------------------------------------------


# The pages' forms (chalicelib/entrypoints/web/pages.py), posted as application/x-www-form-urlencoded ---------------

class InvitationForm(_Model):
    csrf: str = Field(min_length=1, max_length=100)
    action: Literal["accept", "decline"]
    name: str = Field(default="", max_length=100)
    password: str = Field(default="", max_length=128)
    locale: str = Field(default="", max_length=10)


class PasswordForm(_Model):
    csrf: str = Field(min_length=1, max_length=100)
    password: str = Field(max_length=128)
    password_again: str = Field(max_length=128)


class CheckoutForm(_Model):
    csrf: str = Field(min_length=1, max_length=100)
    action: Literal["pay", "decline"]
    card_number: str = Field(default="", max_length=23)
    holder: str = Field(default="", max_length=100)


# Subscription billing of business accounts (chalicelib/entrypoints/api/sites.py) -------------------------------------

SiteStatus = Literal["active", "past_due", "blocked", "deletion_requested", "deleted"]
Reason = Literal["too_expensive", "missing_features", "moving_to_another_platform", "closing_business", "other"]
assert set(Reason.__args__) == set(DELETION_REASONS)  # type: ignore[attr-defined]


class MoneyIn(_In):
    amount: StrictInt = Field(ge=0, le=10**12, description="minor units")
    currency: str = CurrencyCode


class MoneyOut(_Model):
    amount: int
    currency: str


class Limits(_In):
    products: StrictInt = Field(ge=0, le=10**9)
    orders_per_month: StrictInt = Field(ge=0, le=10**9)


class TariffIn(_In):
    code: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")
    name: str = Field(min_length=1, max_length=100)
    price: MoneyIn
    limits: Limits
    features: list[str] = Field(default_factory=list, max_length=50)


class TariffPatchIn(_In):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    price: MoneyIn | None = Field(default=None, description="applies from the next billing month")
    limits: Limits | None = None
    features: list[str] | None = Field(default=None, max_length=50)
    active: bool | None = None


class TariffOut(_Model):
    code: str
    name: str
    price: MoneyOut
    limits: dict[str, int]
    features: list[str]
    active: bool
    price_changes: list[dict]


class TariffList(_Model):
    items: list[TariffOut]


class OwnerIn(_In):
    name: str = Field(min_length=1, max_length=200)
    email: EmailStr
    phone: str = Field(min_length=3, max_length=32, description="international (E.164), e.g. +380501234567")


class SiteIn(_In):
    name: str = Field(min_length=1, max_length=200)
    domains: list[str] = Field(min_length=1, max_length=MAX_DOMAINS, description="host names; IDN allowed")
    owner: OwnerIn
    tariff: str = Field(min_length=1, max_length=40)


class Counter(_Model):
    value: int
    limit: int | None


class CountersOut(_Model):
    products: Counter
    orders: Counter
    refreshed_at: str | None


class SiteTariff(_Model):
    code: str | None
    name: str | None
    price: MoneyOut


class NextTariff(_Model):
    code: str
    name: str
    from_: str | None = Field(alias="from")


class AdditionalFeatures(_Model):
    tariff: str
    name: str
    features: list[str]


class SiteOut(_Model):
    id: str
    service_code: str
    name: str
    domains: list[str]
    owner: dict
    owner_id: str
    status: SiteStatus
    tariff: SiteTariff
    next_tariff: NextTariff | None
    counters: CountersOut
    additional_features: list[AdditionalFeatures]
    vchasno: dict
    payment_method: dict | None
    next_invoice_at: str | None
    deletion: dict | None
    created_at: str


class SiteList(_Model):
    items: list[SiteOut]
    next_cursor: str | None


class DomainIn(_In):
    domain: str = Field(min_length=1, max_length=253)


class DomainsOut(_Model):
    domains: list[str]


class KeyOut(_Model):
    key: str = Field(description="shown once; only its hash is kept")
    created_at: str


class UsageIn(_In):
    event_id: str = Field(min_length=1, max_length=200)
    products: StrictInt | None = Field(default=None, ge=0, le=10**9, description="the current number of products")
    orders: StrictInt | None = Field(default=None, ge=0, le=10**6, description="new orders since the last report")

    @model_validator(mode="after")
    def _one_counter(self) -> UsageIn:
        if (self.products is None) == (self.orders is None):
            raise ValueError("send exactly one of products or orders")
        return self


class UsageOut(_Model):
    accepted: bool
    duplicate: bool
    event_id: str


class RequisitesIn(_In):
    tax_id: str = Field(min_length=1, max_length=20, description="EDRPOU (8 digits) or RNOKPP (10 digits)")
    iban: str = Field(min_length=1, max_length=64, description="a Ukrainian IBAN (UA…)")


class RequisitesOut(_Model):
    tax_id: str | None
    kind: Literal["company", "sole_proprietor"] | None
    iban: str | None
    company_name: str | None
    address: str | None
    director: str | None
    updated_at: str | None
    vchasno: dict


class VchasnoOut(_Model):
    status: Literal["not_activated", "activated"]


class TariffChangeIn(_In):
    code: str = Field(min_length=1, max_length=40)


class ServiceInvoiceOut(_Model):
    id: str
    site_id: str
    number: str
    period: str
    kind: str
    amount: int
    currency: str
    status: Literal["open", "paid", "void"]
    issued_at: str
    due_at: str
    paid_at: str | None
    paid_by: Literal["card", "link", "bank_transfer"] | None
    lines: list[dict]
    pdf_url: str


class ServiceInvoiceList(_Model):
    items: list[ServiceInvoiceOut]
    next_cursor: str | None


class SiteContractOut(_Model):
    id: str
    kind: Literal["public_offer", "personal"]
    title: str
    version: str | None
    effective_from: str | None
    filename: str
    size: int | None
    uploaded_at: str | None
    url: str


class SiteContractList(_Model):
    items: list[SiteContractOut]
    next_cursor: str | None


class LinkOut(_Model):
    url: str
    filename: str


class DeletionIn(_In):
    reasons: list[Reason] = Field(min_length=1, max_length=5)
    comment: str = Field(default="", max_length=2000)


class OwnerChangeIn(_In):
    owner: OwnerIn
    user_id: str | None = Field(default=None, max_length=100, description="the new owner's account, if it changes")


class ContractIn(_In):
    filename: str = Field(min_length=1, max_length=255, pattern=r"^[^/\\]+\.pdf$")
    content_base64: str = Field(min_length=1, description="the signed contract, a PDF, base64-encoded")


# Card payments of sites ----------------------------------------------------------------------

class PaymentLinkOut(_Model):
    payment_id: str
    url: str
    expires_at: str


class PaymentMethodOut(PaymentLinkOut):
    purpose: Literal["pay_invoice", "verify"]


class AcquirerCard(_In):
    mask: str = Field(min_length=1, max_length=64)
    holder: str = Field(default="", max_length=200)
    token: str = Field(min_length=1, max_length=500)


class AcquirerEventIn(_In):
    event_id: str = Field(min_length=1, max_length=200)
    type: str = Field(min_length=1, max_length=100, description=(
        "payment.succeeded | payment.failed | refund.succeeded; any other type is received and ignored"))
    payment_id: str = Field(min_length=1, max_length=200)
    amount: StrictInt = Field(gt=0, lt=10**15)
    currency: str = CurrencyCode
    card: AcquirerCard | None = None


class AcquirerAck(_Model):
    received: bool
    duplicate: bool = False
    ignored: bool = False
    outcome: str | None = None


class CardPaymentOut(_Model):
    id: str
    site_id: str
    purpose: Literal["link", "pay_invoice", "verify", "autopay"]
    invoice_id: str | None
    amount: int
    currency: str
    status: Literal["pending", "succeeded", "failed", "refund_pending", "refunded"]
    outcome: Literal["applied", "verified", "parked", "declined"] | None
    card_mask: str | None
    created_at: str
    expires_at: str | None
    settled_at: str | None


class CardPaymentList(_Model):
    items: list[CardPaymentOut]
    next_cursor: str | None


class SiteActIn(_In):
    period: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="a closed billing month, YYYY-MM")


class SiteActOut(_Model):
    id: str
    period: str
    status: Literal["sent"]
    vchasno_document_id: str


class SiteActList(_Model):
    items: list[SiteActOut]
    next_cursor: str | None

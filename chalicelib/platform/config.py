"""Configuration: every setting the service reads from its environment, in one place.

Chalice puts each stage's `environment_variables` from `.chalice/config.json` into the
environment; tests and the local runner set the same names.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field, fields

LOCAL_JWT_SECRET = "local-jwt-secret-change-me-in-prod"
LOCAL_BANK_SECRET = "local-bank-secret"
LOCAL_ACQUIRER_SECRET = "local-acquirer-secret"
LOCAL_TOTP_KEY = "local-totp-encryption-key"
# The secrets a deployed stage reads from AWS Secrets Manager (chalicelib/platform/secret_store.py): the setting of
# each one's local value; `<NAME>_ARN` names its secret. The first four have local defaults a deployed stage must
# never run on.
SECRET_SETTINGS = ("jwt_secret", "bank_webhook_secret", "acquirer_webhook_secret", "totp_encryption_key",
                   "acquirer_key", "vchasno_token", "registry_token")
REQUIRED_SECRETS = SECRET_SETTINGS[:4]


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


def _flag(name: str) -> bool:
    return _env(name, "false").strip().lower() in ("1", "true", "yes", "on")


# A contractor's level bounds the custom offers he may make: the longest delivery and the highest
# price per currency (minor units). A contractor without a level is "new".
DEFAULT_OFFER_LEVELS = {
    "new": {"max_days": 30, "max_amount": {"USD": 50_000, "EUR": 50_000, "UAH": 2_000_000, "IRR": 2_000_000_000}},
    "advanced": {"max_days": 60,
                 "max_amount": {"USD": 300_000, "EUR": 300_000, "UAH": 12_000_000, "IRR": 12_000_000_000}},
    "pro": {"max_days": 90,
            "max_amount": {"USD": 1_000_000, "EUR": 1_000_000, "UAH": 40_000_000, "IRR": 40_000_000_000}},
}


@dataclass(frozen=True)
class LocaleSettings:
    """What a language brings besides its catalog (`chalicelib/notify/locales/<code>/LC_MESSAGES/messages.po`)."""

    zone: str  # the IANA time zone of the locale's marketplace: a new user's default
    rtl: bool = False  # written right to left
    calendar: str = "gregorian"  # or "persian": dates in the Solar Hijri calendar with Persian digits


# The languages people read escrowdesk in. English is the catalogs' source language. A new locale is
# one line here plus its catalog (see docs/development.md, "Adding a language").
LOCALES: dict[str, LocaleSettings] = {
    "en": LocaleSettings(zone="UTC"),
    "ru": LocaleSettings(zone="Europe/Moscow"),
    "uk": LocaleSettings(zone="Europe/Kyiv"),
    "fa": LocaleSettings(zone="Asia/Tehran", rtl=True, calendar="persian"),
}
DEFAULT_LOCALE = "en"

# Where each kind of object lives in the marketplace's web client (below WEB_APP_URL); the links in
# e-mails and in-cabinet notifications point there.
DEFAULT_WEB_PATHS = {
    "home": "/",
    "order": "/orders/{id}",
    "offer": "/offers/{id}",
    "contract": "/contracts/{id}",
    "project": "/projects/{id}",
    "task": "/tasks/{id}",
    "invoice": "/invoices/{id}",
    "payout": "/payouts/{id}",
    "conversation": "/conversations/{id}",
    "unmatched_payment": "/operator/payments/{id}",
    "site": "/sites/{id}",
    "service_invoice": "/sites/{site_id}/invoices/{id}",
}


def _web_paths() -> dict[str, str]:
    raw = os.environ.get("WEB_PATHS")
    paths = {**DEFAULT_WEB_PATHS, **(json.loads(raw) if raw else {})}
    for name, pattern in paths.items():
        if not isinstance(pattern, str) or not pattern.startswith("/"):
            raise ValueError(f"WEB_PATHS[{name!r}] must be a path starting with /")
    return paths


DEFAULT_PAYOUT_MINIMUM = {"USD": 1_000, "EUR": 1_000, "UAH": 50_000, "IRR": 5_000_000}


CARD_ACQUIRER_NAMES = ("monobank",)


def _acquirers(value: str) -> dict[str, str]:
    """`CARD_ACQUIRERS`: "UAH:monobank,EUR:monobank" → {"UAH": "monobank", "EUR": "monobank"}."""
    mapping = {}
    for pair in filter(None, (part.strip() for part in value.split(","))):
        currency, _, name = pair.partition(":")
        if name.strip() not in CARD_ACQUIRER_NAMES:
            raise ValueError(f"CARD_ACQUIRERS: unknown acquirer {name.strip()!r} for {currency.strip()}")
        mapping[currency.strip().upper()] = name.strip()
    return mapping


def _payout_minimum() -> dict[str, int]:
    raw = os.environ.get("PAYOUT_MIN_AMOUNT")
    minimum = json.loads(raw) if raw else DEFAULT_PAYOUT_MINIMUM
    if not all(isinstance(value, int) and value > 0 for value in minimum.values()):
        raise ValueError("PAYOUT_MIN_AMOUNT must map currencies to positive integers (minor units)")
    return minimum


def _offer_levels() -> dict[str, dict]:
    raw = os.environ.get("OFFER_LEVELS")
    levels = json.loads(raw) if raw else DEFAULT_OFFER_LEVELS
    for name, limits in levels.items():
        if not isinstance(limits.get("max_days"), int) or not isinstance(limits.get("max_amount"), dict):
            raise ValueError(f"OFFER_LEVELS[{name!r}] needs an integer max_days and a max_amount per currency")
    if "new" not in levels:
        raise ValueError("OFFER_LEVELS must define the level \"new\"")
    return levels


# What a contractor needs to reach a level by himself (LEVEL_RULES, JSON): completed orders, the
# responsibility rating in percent and the account's age in days; he holds the highest level whose rule he
# meets, unless an operator set one (the override is recorded with who set it and when). After changing them, run
# `python -m chalicelib.entrypoints.cli restand-catalog` once: the catalog's rows are re-stood by the new rules.
DEFAULT_LEVEL_RULES = {
    "advanced": {"min_completed": 10, "min_responsibility": 90, "min_account_days": 30},
    "pro": {"min_completed": 50, "min_responsibility": 95, "min_account_days": 180},
}


def _level_rules() -> dict[str, dict]:
    raw = os.environ.get("LEVEL_RULES")
    rules = json.loads(raw) if raw else DEFAULT_LEVEL_RULES
    for name, rule in rules.items():
        if set(rule) != {"min_completed", "min_responsibility", "min_account_days"} or not all(
                isinstance(value, int) and value >= 0 for value in rule.values()):
            raise ValueError(f"LEVEL_RULES[{name!r}] needs integer min_completed, min_responsibility and "
                             "min_account_days")
    return rules


# The catalog's categories (CATALOG_CATEGORIES, JSON: slug → name); a gig names at most one of them.
DEFAULT_CATALOG_CATEGORIES = {
    "design": "Design", "development": "Development and IT", "writing": "Texts and translations",
    "seo": "SEO and traffic", "marketing": "Social media and marketing", "audio-video": "Audio, video and music",
    "business": "Business and assistance", "education": "Tutoring and education",
}


def _catalog_categories() -> dict[str, str]:
    raw = os.environ.get("CATALOG_CATEGORIES")
    categories = json.loads(raw) if raw else DEFAULT_CATALOG_CATEGORIES
    if not categories or not all(isinstance(name, str) and re.fullmatch(r"[a-z0-9][a-z0-9-]{0,39}", slug)
                                 for slug, name in categories.items()):
        raise ValueError("CATALOG_CATEGORIES must map slugs (a-z, 0-9, -) to names")
    return categories


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _weekend_days() -> frozenset[int]:
    """`WEEKEND_DAYS`: comma-separated English day names or abbreviations (`sat,sun`; `fri`)."""
    raw = _env("WEEKEND_DAYS", "sat,sun")
    names = [name.strip().lower()[:3] for name in raw.split(",") if name.strip()]
    if not names or any(name not in WEEKDAYS for name in names):
        raise ValueError(f"WEEKEND_DAYS must name days of the week, like 'sat,sun' or 'fri'; got {raw!r}")
    return frozenset(WEEKDAYS.index(name) for name in names)


def _days(name: str, default: str) -> tuple[int, ...]:
    """A comma-separated list of whole days, ascending (`BILLING_RETRY_DAYS=1,3,5`)."""
    raw = _env(name, default)
    try:
        days = tuple(int(part) for part in raw.split(",") if part.strip())
    except ValueError:
        raise ValueError(f"{name} must list whole days, like {default!r}; got {raw!r}") from None
    if not days or any(day <= 0 for day in days) or list(days) != sorted(set(days)):
        raise ValueError(f"{name} must list positive days in ascending order, like {default!r}; got {raw!r}")
    return days


def _timezone(name: str, default: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    value = _env(name, default)
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name} must be an IANA time zone such as {default}; got {value!r}") from None
    return value


# OWASP's Password Storage Cheat Sheet: argon2id with at least one of these (memory KiB, passes, lanes), each
# the same cost; more memory with fewer passes is equivalent. Parameters that meet none are too weak.
ARGON2_OWASP_MINIMUM = ((47104, 1, 1), (19456, 2, 1), (12288, 3, 1), (9216, 4, 1), (7168, 5, 1))


def meets_owasp_minimum(memory_kib: int, time_cost: int, parallelism: int) -> bool:
    return parallelism >= 1 and any(memory_kib >= m and time_cost >= t for m, t, _ in ARGON2_OWASP_MINIMUM)


@dataclass(frozen=True)
class Settings:
    # The stage: `local` serves /dev/* and uses the local fakes; every other stage needs real secrets.
    stage: str = field(default_factory=lambda: _env("STAGE", "local"))
    region: str = field(default_factory=lambda: _env("AWS_REGION", _env("AWS_DEFAULT_REGION", "eu-central-1")))
    # Where the tables are: the region, DynamoDB's endpoint (empty on AWS, DynamoDB Local's URL locally) and
    # the prefix of every table's name (`<prefix><name>`).
    dynamodb_host: str | None = field(default_factory=lambda: os.environ.get("DYNAMODB_HOST") or None)
    table_prefix: str = field(default_factory=lambda: _env("TABLE_PREFIX", "escrowdesk-local-"))
    # Bearer tokens, list cursors and links are signed (HS256) with this key on the local stage; a deployed
    # stage reads a keyring from the secret JWT_SECRET_ARN names instead (chalicelib/platform/secret_store.py).
    # A token lives this many seconds, which is also how soon after a rotation the key may rotate again.
    jwt_secret: str = field(default_factory=lambda: _env("JWT_SECRET", LOCAL_JWT_SECRET))
    jwt_secret_arn: str = field(default_factory=lambda: _env("JWT_SECRET_ARN", ""))
    token_ttl_seconds: int = field(default_factory=lambda: int(_env("TOKEN_TTL_SECONDS", "43200")))
    # The bank's webhooks: their HMAC key (required on every stage but local) and how far (either way, by
    # the real clock) a signature's time may be from now.
    bank_webhook_secret: str = field(default_factory=lambda: _env("BANK_WEBHOOK_SECRET", LOCAL_BANK_SECRET))
    bank_webhook_secret_arn: str = field(default_factory=lambda: _env("BANK_WEBHOOK_SECRET_ARN", ""))
    webhook_tolerance_seconds: int = field(default_factory=lambda: int(_env("WEBHOOK_TOLERANCE_SECONDS", "300")))
    # After a webhook secret (the bank's, the acquirer's) rotates, webhooks signed with its previous value are
    # still accepted for this many hours, while the other party switches over.
    webhook_secret_overlap_hours: int = field(default_factory=lambda: int(_env("WEBHOOK_SECRET_OVERLAP_HOURS", "48")))
    # How long a function keeps a secret it read from Secrets Manager before reading it again: the longest a
    # rotation takes to reach every warm function.
    secret_max_age_seconds: int = field(default_factory=lambda: int(_env("SECRET_MAX_AGE_SECONDS", "300")))
    # The key the operators' second factors (TOTP seeds) are encrypted with at rest: this local value, or a
    # keyring from the secret TOTP_ENCRYPTION_KEY_ARN names on a deployed stage (old keys are kept to decrypt).
    totp_encryption_key: str = field(default_factory=lambda: _env("TOTP_ENCRYPTION_KEY", LOCAL_TOTP_KEY))
    totp_encryption_key_arn: str = field(default_factory=lambda: _env("TOTP_ENCRYPTION_KEY_ARN", ""))
    # Hot system accounts (bank clearing, revenue, suspense) are split over this many items.
    system_account_shards: int = field(default_factory=lambda: int(_env("SYSTEM_ACCOUNT_SHARDS", "16")))
    # Pending timers are spread over this many index partitions; the job reads each. Only ever raise
    # it: timers already written to a shard above a lowered count would no longer be read.
    timer_shards: int = field(default_factory=lambda: int(_env("TIMER_SHARDS", "64")))
    # Notifications whose e-mail failed at the first try wait for the retry job in this many index partitions
    # (`pending#<n>`), so no partition is hot even when the sender fails for everyone: at 1,000 orders a second
    # and five e-mails an order, 5,000 entries a second over 128 keys are ~40 a second each. The retry job reads
    # each. Only ever raise it.
    email_queue_shards: int = field(default_factory=lambda: int(_env("EMAIL_QUEUE_SHARDS", "128")))
    # How long the one-click link in an optional e-mail's List-Unsubscribe header turns that kind of e-mail off.
    unsubscribe_link_days: int = field(default_factory=lambda: int(_env("UNSUBSCRIBE_LINK_DAYS", "90")))
    # Top-up invoice numbers are reserved this many at a time per Lambda environment, so the year's counter is
    # written once per block, not once per invoice; a block left unused when an environment ends is a gap.
    invoice_number_block: int = field(default_factory=lambda: int(_env("INVOICE_NUMBER_BLOCK", "100")))
    # Shards one invocation of the timer job fires at once (threads); on AWS each group of this many
    # shards is one message on the timer queue, so one invocation (`TIMER_QUEUE_URL`, set by the stack).
    timer_workers: int = field(default_factory=lambda: int(_env("TIMER_WORKERS", "4")))
    timer_queue_url: str = field(default_factory=lambda: _env("TIMER_QUEUE_URL", ""))
    # Powertools' Tracer and the X-Ray SDK (subsegments per handler and AWS call; ~35 ms of cold start).
    xray_sdk: bool = field(default_factory=lambda: _flag("XRAY_SDK"))
    # Platform commission per flow, in basis points (2000 = 20 %).
    commission_gig_order_bps: int = field(default_factory=lambda: int(_env("COMMISSION_GIG_ORDER_BPS", "2000")))
    commission_b2b_task_bps: int = field(default_factory=lambda: int(_env("COMMISSION_B2B_TASK_BPS", "0")))
    # How long after a B2B task is marked done (and paid) its company may still contest it: its cancel then
    # opens a dispute for an operator, and what the contractor was paid is held until the operator decides.
    task_dispute_days: int = field(default_factory=lambda: int(_env("TASK_DISPUTE_DAYS", "14")))
    # Team invitations: how long the one-time link lives, and the web address links point to.
    invitation_ttl_hours: int = field(default_factory=lambda: int(_env("INVITATION_TTL_HOURS", "72")))
    app_url: str = field(default_factory=lambda: _env("APP_URL", "http://127.0.0.1:8000"))
    # The marketplace's web client, where e-mails' and notifications' links lead (paths: WEB_PATHS).
    web_app_url: str = field(default_factory=lambda: _env("WEB_APP_URL", "http://127.0.0.1:3000").rstrip("/"))
    web_paths: dict = field(default_factory=_web_paths)
    # Platform commission on project contracts, in basis points.
    commission_project_bps: int = field(default_factory=lambda: int(_env("COMMISSION_PROJECT_BPS", "1000")))
    # The marketplace's own calendar: business rules that count calendar days (the review window's
    # weekend, the year in invoice numbers and the date they are "dated") use its time zone and weekend.
    marketplace_timezone: str = field(default_factory=lambda: _timezone("MARKETPLACE_TIMEZONE", "Europe/Moscow"))
    weekend_days: frozenset[int] = field(default_factory=_weekend_days)
    # Project contracts: how long the contractor has to accept before the contract lapses (the half
    # returns to the client), and how long after the work is marked done the client has to escrow the
    # rest before the contract closes unfunded (the half in escrow goes to the contractor).
    contract_accept_hours: int = field(default_factory=lambda: int(_env("CONTRACT_ACCEPT_HOURS", "72")))
    contract_fund_rest_days: int = field(default_factory=lambda: int(_env("CONTRACT_FUND_REST_DAYS", "2")))
    # After the work is marked done the client may send it back for changes at most this many times
    # (a dispute stays open to either party); each round gives the contractor at least
    # `CONTRACT_REWORK_DAYS` before the client may cancel it as late. The contractor may push the client's
    # deadline to escrow the rest back once, by `CONTRACT_FUND_EXTEND_DAYS`.
    contract_rework_limit: int = field(default_factory=lambda: int(_env("CONTRACT_REWORK_LIMIT", "3")))
    contract_rework_days: int = field(default_factory=lambda: int(_env("CONTRACT_REWORK_DAYS", "3")))
    contract_fund_extend_days: int = field(default_factory=lambda: int(_env("CONTRACT_FUND_EXTEND_DAYS", "2")))
    # Projects: how long after the work is marked done the escrow is released by itself, and the
    # largest deliverable (a zip) accepted; where deliverables are kept (a bucket on AWS, else a folder).
    project_auto_release_hours: int = field(default_factory=lambda: int(_env("PROJECT_AUTO_RELEASE_HOURS", "48")))
    deliverable_max_bytes: int = field(default_factory=lambda: int(_env("DELIVERABLE_MAX_BYTES", str(5 * 2**20))))
    # A deliverable zip's central directory: at most this many entries, declaring at most this many
    # unpacked bytes together.
    zip_max_entries: int = field(default_factory=lambda: int(_env("ZIP_MAX_ENTRIES", "1000")))
    zip_max_unpacked_bytes: int = field(default_factory=lambda: int(_env("ZIP_MAX_UNPACKED_BYTES", str(100 * 2**20))))
    # Where uploaded files are kept — deliverables, files delivered with an order, personal contracts — (an S3
    # bucket on AWS, else a local folder), and how long a download link lives.
    files_bucket: str = field(default_factory=lambda: _env("FILES_BUCKET", ""))
    files_dir: str = field(default_factory=lambda: _env("FILES_DIR", "var/files"))
    download_link_seconds: int = field(default_factory=lambda: int(_env("DOWNLOAD_LINK_SECONDS", "300")))
    # `POST /v1/uploads`: the largest file one upload may declare (the presigned POST's content-length-range),
    # and how long its presigned POST may be used.
    upload_max_bytes: int = field(default_factory=lambda: int(_env("UPLOAD_MAX_BYTES", str(100 * 2**20))))
    upload_post_seconds: int = field(default_factory=lambda: int(_env("UPLOAD_POST_SECONDS", "900")))
    # Custom offers: limits per contractor level (JSON, see DEFAULT_OFFER_LEVELS), and how long an
    # offer waits for the client when it names no last date, and at most.
    offer_levels: dict = field(default_factory=_offer_levels)
    level_rules: dict = field(default_factory=_level_rules)  # see DEFAULT_LEVEL_RULES
    offer_valid_days: int = field(default_factory=lambda: int(_env("OFFER_VALID_DAYS", "7")))
    # How long a client's request for a custom offer waits for the contractor's answer (an offer or a
    # decline) before it expires; a request with an earlier deadline expires at its deadline.
    offer_request_answer_days: int = field(default_factory=lambda: int(_env("OFFER_REQUEST_ANSWER_DAYS", "7")))
    offer_max_valid_days: int = field(default_factory=lambda: int(_env("OFFER_MAX_VALID_DAYS", "30")))
    # The catalog: its categories; how many gigs a contractor may have listed (active) at once — a change to his
    # rating rewrites all their index rows in the change's own transaction, so this bounds that transaction —
    # and how many index rows one catalog page may read while filters that are not keys skip rows.
    catalog_categories: dict = field(default_factory=_catalog_categories)
    catalog_max_active_gigs: int = field(default_factory=lambda: int(_env("CATALOG_MAX_ACTIVE_GIGS", "10")))
    catalog_page_read_budget: int = field(default_factory=lambda: int(_env("CATALOG_PAGE_READ_BUDGET", "300")))
    # Each listing of the catalog (the whole catalog, a category, a tag) is spread over this many index keys
    # (`all#<n>`, by a hash of the gig id): every scored order re-ranks its contractor's rows, and under one key
    # the whole catalog's would take two partitions' writes at 1,000 orders a second (`python -m bench.cost`). A
    # page reads the shards' Queries merged in the asked order. Changing it needs every gig listed again.
    catalog_listing_shards: int = field(default_factory=lambda: int(_env("CATALOG_LISTING_SHARDS", "8")))
    # Open invoices (top-ups' proformas and sites' invoices) are indexed by what they still ask for on this many
    # keys per currency and amount (`<currency>#<amount>#<n>`, by a hash of the invoice id): a top-up of one amount
    # per order would otherwise put 4 write units an order on one key. An operator's look-up for a payment Queries
    # every shard. Only ever raise it: an invoice keyed under a smaller count is on a shard that is still read.
    open_invoice_shards: int = field(default_factory=lambda: int(_env("OPEN_INVOICE_SHARDS", "16")))
    # How many of a catalog page's shard Queries run at once, on threads (1: one after another).
    catalog_query_threads: int = field(default_factory=lambda: int(_env("CATALOG_QUERY_THREADS", "8")))
    # Payouts: the smallest withdrawal per currency (JSON, minor units), how many may be open at once
    # per currency, and where the bank takes payout requests (empty: the local bank, a file).
    payout_min_amount: dict = field(default_factory=_payout_minimum)
    payout_max_open: int = field(default_factory=lambda: int(_env("PAYOUT_MAX_OPEN", "1")))
    bank_payout_url: str = field(default_factory=lambda: _env("BANK_PAYOUT_URL", ""))
    bank_outbox_dir: str = field(default_factory=lambda: _env("BANK_OUTBOX_DIR", "var/bank"))
    # A payout sent to the bank and not answered for this many hours is stuck: the console's payouts page lists it.
    payout_stuck_after_hours: int = field(default_factory=lambda: int(_env("PAYOUT_STUCK_AFTER_HOURS", "48")))
    # Mail: "ses" on AWS, "sink" writes .eml files into mail_sink_dir.
    mail_transport: str = field(default_factory=lambda: _env("MAIL_TRANSPORT", "sink"))
    mail_sink_dir: str = field(default_factory=lambda: _env("MAIL_SINK_DIR", "var/mail"))
    mail_from: str = field(default_factory=lambda: _env("MAIL_FROM", "escrowdesk <no-reply@escrowdesk.local>"))
    # Local stage only: a file holding the test clock's offset, shared by the API and the job runner.
    clock_file: str | None = field(default_factory=lambda: os.environ.get("CLOCK_FILE") or None)
    # Payee details printed on proforma invoices, and the payee's VAT rate (basis points; 0: "без ПДВ").
    payee_vat_bps: int = field(default_factory=lambda: int(_env("PAYEE_VAT_BPS", "0")))
    payee_name: str = field(default_factory=lambda: _env("PAYEE_NAME", "Escrowdesk Ltd"))
    payee_bank: str = field(default_factory=lambda: _env("PAYEE_BANK", "Example Bank AG"))
    payee_iban: str = field(default_factory=lambda: _env("PAYEE_IBAN", "DE89370400440532013000"))
    payee_swift: str = field(default_factory=lambda: _env("PAYEE_SWIFT", "COBADEFFXXX"))
    # Subscription billing of business accounts ("sites", seed 003): the calendar billing months follow,
    # the service invoices' number prefix and payment term, VAT on them (basis points; 0: "без ПДВ"),
    # the supplier printed on them, and the largest personal contract an operator may upload.
    billing_timezone: str = field(default_factory=lambda: _timezone("BILLING_TIMEZONE", "Europe/Kyiv"))
    service_invoice_prefix: str = field(default_factory=lambda: _env("SERVICE_INVOICE_PREFIX", "HOR"))
    billing_due_days: int = field(default_factory=lambda: int(_env("BILLING_DUE_DAYS", "5")))
    service_vat_bps: int = field(default_factory=lambda: int(_env("SERVICE_VAT_BPS", "0")))
    supplier_name: str = field(default_factory=lambda: _env("SUPPLIER_NAME", "ТОВ «Ескроудеск Україна»"))
    supplier_tax_id: str = field(default_factory=lambda: _env("SUPPLIER_TAX_ID", "32855961"))
    supplier_iban: str = field(default_factory=lambda: _env("SUPPLIER_IBAN", "UA213223130000026007233566001"))
    supplier_bank: str = field(default_factory=lambda: _env("SUPPLIER_BANK", "АТ «Приклад Банк»"))
    supplier_address: str = field(default_factory=lambda: _env("SUPPLIER_ADDRESS", "01001, м. Київ, вул. Хрещатик, 1"))
    contract_max_bytes: int = field(default_factory=lambda: int(_env("CONTRACT_MAX_BYTES", str(5 * 2**20))))
    # Card payments of service invoices: a declined auto-charge is tried again on these days
    # after the invoice's issue; the site is blocked this many days after the issue of an invoice still
    # unpaid; a payment link lives this long.
    billing_retry_days: tuple[int, ...] = field(default_factory=lambda: _days("BILLING_RETRY_DAYS", "1,3,5"))
    billing_block_after_days: int = field(default_factory=lambda: int(_env("BILLING_BLOCK_AFTER_DAYS", "10")))
    payment_link_minutes: int = field(default_factory=lambda: int(_env("PAYMENT_LINK_MINUTES", "30")))
    # The card acquirer (shaped like Monobank acquiring): its API when ACQUIRER_URL is set (ACQUIRER_KEY
    # is the merchant's token), the local fake otherwise (its state and checkout pages under
    # ACQUIRER_LOCAL_DIR; it declines the saved-card tokens listed in ACQUIRER_DECLINE_TOKENS). Its
    # webhooks are signed like the bank's with ACQUIRER_WEBHOOK_SECRET. On a deployed stage both secrets are
    # read from the secrets ACQUIRER_KEY_ARN and ACQUIRER_WEBHOOK_SECRET_ARN name.
    acquirer_url: str = field(default_factory=lambda: _env("ACQUIRER_URL", ""))
    acquirer_key: str = field(default_factory=lambda: _env("ACQUIRER_KEY", ""))
    acquirer_key_arn: str = field(default_factory=lambda: _env("ACQUIRER_KEY_ARN", ""))
    acquirer_webhook_secret: str = field(default_factory=lambda: _env("ACQUIRER_WEBHOOK_SECRET",
                                                                      LOCAL_ACQUIRER_SECRET))
    acquirer_webhook_secret_arn: str = field(default_factory=lambda: _env("ACQUIRER_WEBHOOK_SECRET_ARN", ""))
    acquirer_local_dir: str = field(default_factory=lambda: _env("ACQUIRER_LOCAL_DIR", "var/acquirer"))
    acquirer_decline_tokens: frozenset[str] = field(default_factory=lambda: frozenset(
        token.strip() for token in _env("ACQUIRER_DECLINE_TOKENS", "").split(",") if token.strip()))
    # Card top-ups of clients' balances: which acquirer takes cards in each currency ("UAH:monobank,EUR:monobank";
    # "*" stands for every currency). "monobank" is the Monobank-shaped adapter above, which on the local stage is
    # its fake; a currency with none is refused (`card_payments_unavailable`) and stays payable by bank transfer.
    # Deployed stages take UAH only by default; the local stage's fake takes every currency.
    card_acquirers: dict[str, str] = field(default_factory=lambda: _acquirers(_env(
        "CARD_ACQUIRERS", "*:monobank" if os.environ.get("STAGE", "local") == "local" else "UAH:monobank")))
    # A card top-up's fee in basis points of the amount credited (0 = none): charged on top, shown before
    # paying, booked to revenue and printed on the receipt.
    card_topup_fee_bps: int = field(default_factory=lambda: int(_env("CARD_TOPUP_FEE_BPS", "0")))
    # The state registry (company name, address, director by EDRPOU/RNOKPP) and Vchasno (e-documents):
    # HTTP APIs when their URL is set, local fakes otherwise (Vchasno's known tax ids in VCHASNO_LOCAL_FILE).
    # Their tokens come from the secrets REGISTRY_TOKEN_ARN and VCHASNO_TOKEN_ARN name on a deployed stage.
    registry_url: str = field(default_factory=lambda: _env("REGISTRY_URL", ""))
    registry_token: str = field(default_factory=lambda: _env("REGISTRY_TOKEN", ""))
    registry_token_arn: str = field(default_factory=lambda: _env("REGISTRY_TOKEN_ARN", ""))
    vchasno_url: str = field(default_factory=lambda: _env("VCHASNO_URL", ""))
    vchasno_token: str = field(default_factory=lambda: _env("VCHASNO_TOKEN", ""))
    vchasno_token_arn: str = field(default_factory=lambda: _env("VCHASNO_TOKEN_ARN", ""))
    vchasno_local_file: str = field(default_factory=lambda: _env("VCHASNO_LOCAL_FILE", "var/vchasno/accounts.json"))
    # Domain verification (chalicelib/adapters/domains.py): how long one DNS or HTTPS check may take, and
    # where the local stage's fake keeps what `python -m infra.local.domains verify` published.
    domain_verify_timeout_seconds: float = field(
        default_factory=lambda: float(_env("DOMAIN_VERIFY_TIMEOUT_SECONDS", "5")))
    domains_local_file: str = field(default_factory=lambda: _env("DOMAINS_LOCAL_FILE", "var/domains/published.json"))
    # Abuse limits (kept in DynamoDB, each charged before the work it limits): log-in attempts per
    # (account, source address) and per source address within a window, after which log-in answers 429
    # until the window has passed; log-in attempts per account from addresses that never logged in to it,
    # within LOGIN_ACCOUNT_WINDOW_SECONDS (a much higher bar: only a spread attack reaches it, and an address
    # that logged in to the account before still gets in); password changes per session holder; sign-ups per
    # source address and hour (0 = no limit; off by default on the local stage, where tools and tests create
    # many accounts from one address); invitations per company and day, and invitation e-mails per address
    # and day; password-reset and address-confirmation e-mails per address and per source address within an
    # hour; how long a reset link and a confirmation link live.
    login_max_failures_per_email: int = field(default_factory=lambda: int(_env("LOGIN_MAX_FAILURES_PER_EMAIL", "5")))
    login_max_failures_per_ip: int = field(default_factory=lambda: int(_env("LOGIN_MAX_FAILURES_PER_IP", "100")))
    login_window_seconds: int = field(default_factory=lambda: int(_env("LOGIN_WINDOW_SECONDS", "900")))
    login_max_attempts_per_account: int = field(
        default_factory=lambda: int(_env("LOGIN_MAX_ATTEMPTS_PER_ACCOUNT", "50")))
    login_account_window_seconds: int = field(
        default_factory=lambda: int(_env("LOGIN_ACCOUNT_WINDOW_SECONDS", "3600")))
    password_changes_per_user: int = field(default_factory=lambda: int(_env("PASSWORD_CHANGES_PER_USER", "5")))
    signups_per_ip_per_hour: int = field(default_factory=lambda: int(_env(
        "SIGNUPS_PER_IP_PER_HOUR", "0" if os.environ.get("STAGE", "local") == "local" else "50")))
    email_confirmation_ttl_hours: int = field(
        default_factory=lambda: int(_env("EMAIL_CONFIRMATION_TTL_HOURS", "48")))
    invitations_per_company_per_day: int = field(
        default_factory=lambda: int(_env("INVITATIONS_PER_COMPANY_PER_DAY", "200")))
    # Invitation e-mails one address gets a day: from one company, and (a higher cap) from all companies together.
    invitation_emails_per_company_address_per_day: int = field(
        default_factory=lambda: int(_env("INVITATION_EMAILS_PER_COMPANY_ADDRESS_PER_DAY", "1")))
    invitation_emails_per_address_per_day: int = field(
        default_factory=lambda: int(_env("INVITATION_EMAILS_PER_ADDRESS_PER_DAY", "5")))
    password_resets_per_email: int = field(default_factory=lambda: int(_env("PASSWORD_RESETS_PER_EMAIL", "3")))
    password_resets_per_ip: int = field(default_factory=lambda: int(_env("PASSWORD_RESETS_PER_IP", "30")))
    password_reset_ttl_minutes: int = field(default_factory=lambda: int(_env("PASSWORD_RESET_TTL_MINUTES", "60")))
    # The operator console (`/console`): whether an operator without an enrolled TOTP is refused every
    # `/v1/operator/*` route (on by default on deployed stages, off on the local stage). The key that encrypts
    # each operator's stored TOTP secret is the `totp` secret (TOTP_ENCRYPTION_KEY above).
    operator_totp_required: bool = field(default_factory=lambda: _env(
        "OPERATOR_TOTP_REQUIRED", "false" if os.environ.get("STAGE", "local") == "local" else "true"
    ).strip().lower() in ("1", "true", "yes", "on"))
    # argon2id cost: RFC 9106's second recommended option (t=3 passes, 64 MiB, 4 lanes); see
    # docs/security-platform.md for what it costs a log-in (bench/passwords.py). Lowered only by the test
    # suite: a deployed function refuses anything below OWASP's minimum (ARGON2_OWASP_MINIMUM).
    password_time_cost: int = field(default_factory=lambda: int(_env("PASSWORD_TIME_COST", "3")))
    password_memory_kib: int = field(default_factory=lambda: int(_env("PASSWORD_MEMORY_KIB", "65536")))
    password_parallelism: int = field(default_factory=lambda: int(_env("PASSWORD_PARALLELISM", "4")))

    @property
    def is_local(self) -> bool:
        return self.stage == "local"

    def check(self) -> None:
        """A deployed stage must name itself, must read its secrets from Secrets Manager (its environment names
        each one's ARN, never a value) and must not run on argon2 parameters below OWASP's minimum. Only a
        running function is checked: `chalice package` imports the app with the stage's variables, but the
        secrets' ARNs reach the functions from the CloudFormation stack, not from the shell."""
        if not os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
            return
        if not os.environ.get("STAGE") or self.is_local:
            # the local stage opens /dev/clock and /dev/jobs/run and trusts its default secrets
            raise RuntimeError(f"STAGE must name a deployed stage inside Lambda (got {os.environ.get('STAGE')!r}); "
                               "the local stage's test doors and default secrets must never run there")
        for name in SECRET_SETTINGS:
            if name.upper() in os.environ:
                raise RuntimeError(f"{name.upper()} must not be set on stage {self.stage!r}: name its secret in "
                                   f"{name.upper()}_ARN")
        for name in REQUIRED_SECRETS:
            if not getattr(self, f"{name}_arn"):
                raise RuntimeError(f"{name.upper()}_ARN must name the secret of {name.upper()} on stage "
                                   f"{self.stage!r}")
        if not meets_owasp_minimum(self.password_memory_kib, self.password_time_cost, self.password_parallelism):
            raise RuntimeError(f"PASSWORD_MEMORY_KIB={self.password_memory_kib}, PASSWORD_TIME_COST="
                               f"{self.password_time_cost}, PASSWORD_PARALLELISM={self.password_parallelism} are "
                               "below OWASP's argon2id minimum (one of: " + ", ".join(
                                   f"m={m} KiB t={t} p={p}" for m, t, p in ARGON2_OWASP_MINIMUM) + ")")


settings = Settings()


def reload() -> Settings:
    """Re-read the environment into the one shared settings object (modules hold references to it)."""
    fresh = Settings()
    for item in fields(Settings):
        object.__setattr__(settings, item.name, getattr(fresh, item.name))
    return settings

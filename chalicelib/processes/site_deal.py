"""What every part of a site's subscription reads: its states and constants, its deal's data, the keys it
claims (invoice numbers, domains, site keys) and its usage counters. The table is `subscription.py`."""
from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib.money import periods, tariffs
from chalicelib.platform.config import settings
from chalicelib.processes import Actor
from chalicelib.store.models import (
    DealModel,
)

ACTIVE, PAST_DUE, BLOCKED = "active", "past_due", "blocked"
DELETION_REQUESTED, DELETED = "deletion_requested", "deleted"
BILLED = frozenset({ACTIVE, PAST_DUE, BLOCKED})
OPEN = BILLED | {DELETION_REQUESTED}
AFTER_DELETION = OPEN | {DELETED}  # a verification refund is awaited even after the site is gone
PLATFORM = "platform"  # the contractor of every subscription: the platform itself
HISTORY_KEPT = 60
REFRESH_GRACE = timedelta(minutes=5)  # a report sent just before midnight has landed by then
DELETION_REASONS = ("too_expensive", "missing_features", "moving_to_another_platform", "closing_business", "other")
INVOICE_OPEN, INVOICE_PAID, INVOICE_VOID, INVOICE_WRITTEN_OFF = "open", "paid", "void", "written_off"
SYSTEM: frozenset[Actor] = frozenset({"system"})
CHARGE_RESEND = timedelta(minutes=15)  # a charge unanswered this long is asked again (same payment id)
OVERDUE_AFTER = timedelta(seconds=1)  # `due_at` is the last second of the due day
AUTOPAY, PENDING = "autopay", "pending"


def data(deal: DealModel) -> dict:
    return dict(deal.data or {})


def number(service_code: str, seq: int) -> str:
    return f"{settings.service_invoice_prefix}-{service_code}-{seq:03d}"


def number_key(invoice_number: str) -> str:
    return f"invoice#{invoice_number}"


def domain_key(ascii_host: str) -> str:
    return f"domain#{ascii_host}"


def service_code_key(code: str) -> str:
    """The claim of a site's service code (unique, kept after the site is deleted: a code is never reused)."""
    return f"service-code#{code}"


def contact_email_key(contact: dict) -> str | None:
    """What the sites' `by_contact_email` index keys a contact by: its e-mail, trimmed and lower-cased."""
    email = str((contact or {}).get("email") or "").strip().lower()
    return email or None


def site_key(key_hash: str) -> str:
    return f"sitekey#{key_hash}"


def counters_now(deal: DealModel, now: datetime) -> dict:
    """The counters as the site shows them at `now`: orders count the current month only."""
    return shown(data(deal).get("counters") or {}, now)


def shown(counters: dict, now: datetime) -> dict:
    this_month = periods.period_of(now)
    orders = int(counters.get("orders", 0)) if counters.get("month") == this_month else 0
    return {"products": int(counters.get("products", 0)), "orders": orders,
            "refreshed_at": counters.get("refreshed_at")}


def over_limits(counters: dict, limits: dict) -> list[str]:
    """The counters that exceed the limits."""
    return [name for name, limit in tariffs.COUNTERS.items() if counters[name] > int(limits[limit])]



def site_params(deal: DealModel) -> dict:
    d = data(deal)
    return {"site_id": deal.id, "site_name": deal.title, "service_code": d.get("service_code", "")}

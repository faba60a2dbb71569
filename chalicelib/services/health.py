"""What an operator watches, measured from the tables and emitted as Powertools metrics (CloudWatch's
embedded metric format: log lines, no API call). The stack's dashboard and alarms read these names
(infra/operations.py); nothing else writes them.

- `report_queues`, a job of the every-minute schedule: how late the oldest due timer is, how long the
  oldest e-mail has waited, how many bank payments wait for an operator and since when. Each is one
  small query on a sparse index (a shard's first due timer, the queue's first entry), never a scan.
- `audit_recent_books`, the hourly audit: the journal's entries of the last hours (read up to
  `AUDIT_MAX_ENTRIES`) each summing to zero, the user balances they touched never negative and equal to
  their journal lines, and the card charges still pending at the acquirer. `chalicelib/services/audit.py` is the
  full audit the test suites run over whole tables.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from chalicelib.notify.outbox import queue_keys
from chalicelib.platform import clock
from chalicelib.platform.config import settings
from chalicelib.platform.observability import logger, metrics
from chalicelib.store.models import (
    AccountModel,
    CardPaymentModel,
    DealModel,
    JournalEntryModel,
    JournalLineModel,
    NotificationModel,
    PaymentModel,
)

# Metric names, as the dashboard and the alarms name them.
TIMER_LAG = "TimerLagSeconds"
EMAIL_QUEUE_AGE = "EmailQueueAgeSeconds"
UNMATCHED_PAYMENTS = "UnmatchedPayments"
UNMATCHED_PAYMENT_AGE = "UnmatchedPaymentOldestAgeSeconds"
PENDING_CARD_CHARGES = "PendingCardCharges"
BOOKS_IMBALANCES = "BooksImbalances"
BOOKS_AUDITED_ENTRIES = "BooksAuditedEntries"
EMITTED = (TIMER_LAG, EMAIL_QUEUE_AGE, UNMATCHED_PAYMENTS, UNMATCHED_PAYMENT_AGE, PENDING_CARD_CHARGES,
           BOOKS_IMBALANCES, BOOKS_AUDITED_ENTRIES)

UNMATCHED_QUEUE = "unmatched"  # services/bank.QUEUE (a route's module, which the schedule does not load)
AUDIT_WINDOW = timedelta(hours=2)  # the hourly audit's entries overlap, so a late run misses none
AUDIT_MAX_ENTRIES = 5_000


def _age_seconds(now: datetime, since: str | None) -> float:
    return max(0.0, (now - clock.parse_iso(since)).total_seconds()) if since else 0.0


def report_queues(now: datetime) -> dict:
    """Job: the queues' gauges, as metrics."""
    due = clock.iso(now)
    oldest_due = [deal.timer_due_at for shard in range(settings.timer_shards)
                  for deal in DealModel.by_due.query(f"timer#{shard}", DealModel.timer_due_at <= due, limit=1)]
    # each retry queue shard's oldest: the e-mails that failed at the first try (the stream's own lag, what it
    # has not handed over yet, is Lambda's IteratorAge, alarmed on in infra/template.py)
    waiting = [first.created_at for queue in queue_keys()
               for first in NotificationModel.by_email_queue.query(queue, limit=1)]
    unmatched = [payment.received_at for payment in PaymentModel.by_queue.query(UNMATCHED_QUEUE)]
    gauges = {
        TIMER_LAG: _age_seconds(now, min(oldest_due, default=None)),
        EMAIL_QUEUE_AGE: _age_seconds(now, min(waiting, default=None)),
        UNMATCHED_PAYMENTS: float(len(unmatched)),
        UNMATCHED_PAYMENT_AGE: _age_seconds(now, min(unmatched, default=None)),
    }
    for name, value in gauges.items():
        metrics.add_metric(name=name, unit="Count" if name == UNMATCHED_PAYMENTS else "Seconds", value=value)
    return gauges


def audit_recent_books(now: datetime) -> dict:
    """The hourly audit of the latest money movements; each broken invariant is logged and counted."""
    since = clock.iso(now - AUDIT_WINDOW)
    entries = []
    for entry in JournalEntryModel.scan((JournalEntryModel.sk == "entry") & (JournalEntryModel.created_at >= since)):
        entries.append(entry)
        if len(entries) >= AUDIT_MAX_ENTRIES:
            logger.warning("books audit: more entries than it reads in one run", extra={"read": len(entries)})
            break
    violations = [f"journal entry {entry.pk}: its postings do not sum to zero"
                  for entry in entries if sum(posting["amount"] for posting in entry.postings or []) != 0]
    touched = {(posting["owner_id"], posting["account_key"]) for entry in entries for posting in entry.postings or []
               if not str(posting.get("owner_id", "sys:")).startswith("sys:")}
    violations += [violation for owner, key in sorted(touched) for violation in _balance_violations(owner, key)]
    pending = sum(1 for payment in CardPaymentModel.scan(CardPaymentModel.status == "pending"))
    for violation in violations:
        logger.error("books audit: imbalance", extra={"violation": violation})
    metrics.add_metric(name=BOOKS_IMBALANCES, unit="Count", value=len(violations))
    metrics.add_metric(name=BOOKS_AUDITED_ENTRIES, unit="Count", value=len(entries))
    metrics.add_metric(name=PENDING_CARD_CHARGES, unit="Count", value=pending)
    return {"entries": len(entries), "accounts": len(touched), "imbalances": len(violations),
            "pending_card_charges": pending}


def _balance_violations(owner: str, account_key: str) -> list[str]:
    """A user's account: never below zero, and each bucket equal to the sum of its journal lines."""
    try:
        account = AccountModel.get(owner, account_key, consistent_read=True)
    except AccountModel.DoesNotExist:
        return [f"{owner} {account_key}: journal lines but no account"]
    sums: dict[str, int] = defaultdict(int)
    for line in JournalLineModel.query(f"lines#{owner}", consistent_read=True):
        if line.account_key == account_key:
            sums[line.bucket] += int(line.amount)
    found = []
    for bucket in ("available", "held"):
        balance = int(getattr(account, bucket))
        if balance < 0:
            found.append(f"{owner} {account_key}: negative {bucket} ({balance})")
        if sums[bucket] != balance:
            found.append(f"{owner} {account_key}: {bucket} {balance} but its journal lines sum to {sums[bucket]}")
    return found

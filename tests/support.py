"""Helpers shared by the test suites: signed webhooks, the books' invariants, users."""
from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections import defaultdict

from chalicelib.store.models import AccountModel, JournalEntryModel, JournalLineModel

BANK_SECRET = "local-bank-secret"


def sign(body: bytes, *, secret: str = BANK_SECRET, at: int | None = None) -> str:
    timestamp = str(int(time.time()) if at is None else at)
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def transfer_event(event_id: str, amount: int, currency: str, purpose: str) -> bytes:
    return json.dumps({
        "event_id": event_id, "type": "transfer.incoming", "amount": amount, "currency": currency,
        "purpose": purpose, "payer": {"name": "ACME GmbH", "iban": "DE89370400440532013000"},
        "received_at": "2026-11-22T10:00:00Z",
    }).encode()


def assert_sums_zero() -> list[AccountModel]:
    """Every currency sums to zero and no user balance is negative."""
    totals: dict[str, int] = defaultdict(int)
    accounts = list(AccountModel.scan(consistent_read=True))
    for account in accounts:
        totals[account.currency] += int(account.available) + int(account.held)
        if not account.owner_id.startswith("sys:"):
            assert account.available >= 0 and account.held >= 0, f"negative user balance: {account.owner_id}"
    assert all(total == 0 for total in totals.values()), f"books do not balance: {dict(totals)}"
    return accounts


def assert_books_balance() -> None:
    """The sums hold, and every account's balance equals the sum of its journal lines."""
    accounts = assert_sums_zero()
    lines: dict[tuple[str, str, str], int] = defaultdict(int)
    entries = 0
    for item in JournalLineModel.scan(consistent_read=True):
        if item.sk == "entry":
            entries += 1
            continue
        owner = item.pk.removeprefix("lines#").split("#")[0]
        lines[(owner, item.account_key, item.bucket)] += int(item.amount)
    for account in accounts:
        for bucket in ("available", "held"):
            expected = int(getattr(account, bucket))
            assert lines[(account.owner_id, account.account_key, bucket)] == expected, (
                f"{account.owner_id}/{account.account_key}/{bucket}: lines disagree with balance")
    for entry in JournalEntryModel.scan(consistent_read=True):
        if entry.sk == "entry":
            assert sum(p["amount"] for p in entry.postings) == 0

"""The books' invariants, read straight from the tables; each broken one is a line in the answer.

Used by the test suites after every step that moves money (`tests/support.py`) and by the bank
workload at its end (`bench/bank_workload.py`), and on an operator's demand from the console's books page
(`balances.audit_books`, imported only then). It scans whole tables: an audit, never on an ordinary request's path.
"""
from __future__ import annotations

from collections import defaultdict

from chalicelib.money import ledger
from chalicelib.store.models import AccountModel, DealModel, JournalEntryModel, JournalLineModel, PayoutModel


def sums_violations() -> list[str]:
    """Every currency sums to zero over all accounts, and no user's available or held is below zero."""
    violations = []
    totals: dict[str, int] = defaultdict(int)
    for account in AccountModel.scan(consistent_read=True):
        totals[account.currency] += int(account.available) + int(account.held)
        if not account.owner_id.startswith("sys:") and (account.available < 0 or account.held < 0):
            violations.append(f"{account.owner_id} {account.currency}: negative balance "
                              f"({account.available} available, {account.held} held)")
    return violations + [f"{currency} sums to {total}, not 0" for currency, total in totals.items() if total]


def books_violations(*, holds_are_escrow: bool = True) -> list[str]:
    """The sums; every account equal to the sum of its journal lines; every journal entry summing to
    zero; and (unless the caller made holds of its own) what each user holds equal to the escrow of
    their deals in a money-holding state plus their pending payouts."""
    violations = sums_violations()
    accounts = list(AccountModel.scan(consistent_read=True))
    lines: dict[tuple[str, str, str], int] = defaultdict(int)
    for line in JournalLineModel.scan(consistent_read=True):
        if line.sk != "entry":
            lines[(line.pk.removeprefix("lines#").split("#")[0], line.account_key, line.bucket)] += int(line.amount)
    balances: dict[tuple[str, str, str], int] = defaultdict(int)  # a system account's shard may be two items
    for account in accounts:
        for bucket in ("available", "held"):
            balances[(ledger.owner_of(account.owner_id), account.account_key, bucket)] += int(getattr(account, bucket))
    for key, balance in balances.items():
        if lines[key] != balance:
            violations.append(f"{key}: balance {balance} but its journal lines sum to {lines[key]}")
    for entry in JournalEntryModel.scan(consistent_read=True):
        if entry.sk == "entry" and sum(posting["amount"] for posting in entry.postings) != 0:
            violations.append(f"journal entry {entry.pk}: its postings do not sum to zero")
    if holds_are_escrow:
        held: dict[tuple[str, str], int] = defaultdict(int)
        for account in accounts:
            if not account.owner_id.startswith("sys:"):
                held[(account.owner_id, account.currency)] += int(account.held)
        violations += _escrow_violations(held)
    return violations


def _escrow_violations(held: dict[tuple[str, str], int]) -> list[str]:
    from chalicelib.processes.registry import PROCESSES

    violations = []
    needed: dict[tuple[str, str], int] = defaultdict(int)
    for deal in DealModel.scan(consistent_read=True):
        process = PROCESSES[deal.process]
        if deal.status in process.holding:
            if process.held_by is not None:  # the process says whose account holds it (possibly nothing)
                owner, escrow = process.held_by(deal)
                if escrow < 0:
                    violations.append(f"{deal.id} is {deal.status} but holds {escrow}")
            else:
                owner, escrow = deal.client_id, int(deal.amount if deal.escrowed is None else deal.escrowed)
                if escrow <= 0:
                    violations.append(f"{deal.id} is {deal.status} but holds {escrow}")
            needed[(owner, deal.currency)] += escrow
    for payout in PayoutModel.scan(consistent_read=True):
        if payout.status == "pending":
            needed[(payout.owner_id, payout.currency)] += int(payout.amount)
    return violations + [f"{owner} {currency}: holds {held[(owner, currency)]} but its open deals and pending "
                         f"payouts need {needed[(owner, currency)]}"
                         for owner, currency in sorted(set(needed) | set(held))
                         if needed[(owner, currency)] != held[(owner, currency)]]

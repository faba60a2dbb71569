"""The ledger: the only place balances change.

Accounts are (owner, currency) with two buckets, `available` and `held` (escrow, pending
payouts). Every movement is a `Transfer` of postings in integer minor units whose sum is zero,
so debits equal credits per currency by construction. The outside world has its own accounts
(money in from the bank, money out to the bank, platform revenue, unmatched bank money); they
may go negative and are split over several items by a shard derived from the transfer id, each shard
under a partition key of its own (`sys:bank_in#07`, `owner_of` gives back `sys:bank_in`), so no item or
partition limits throughput. User accounts are written with no-overdraft conditions.

`record()` adds a transfer to a unit of work: the entry (written once per transfer id, so a
retry cannot apply it twice), one statement line per posting, and one conditional update per
account touched.
"""
from __future__ import annotations

import functools
import zlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Literal

from chalicelib.money.amounts import Money
from chalicelib.platform import clock
from chalicelib.platform.config import settings
from chalicelib.platform.errors import Conflict, DomainError, InsufficientFunds, Unprocessable
from chalicelib.store.models import AccountModel, JournalEntryModel, JournalLineModel
from chalicelib.store.uow import UnitOfWork

Bucket = Literal["available", "held"]
AVAILABLE: Bucket = "available"
HELD: Bucket = "held"


class System(str, Enum):
    """Accounts that stand for the world outside the users' balances."""

    BANK_IN = "sys:bank_in"  # money received from banks (goes negative)
    BANK_OUT = "sys:bank_out"  # money paid out or returned to banks
    REVENUE = "sys:revenue"  # platform commission and paid service invoices
    SUSPENSE = "sys:suspense"  # bank money not yet matched to an invoice
    ACQUIRER = "sys:acquirer"  # money received from the card acquirer (goes negative)
    CARD_CLEARING = "sys:card_clearing"  # card money in flight: a verification or a duplicate until its refund
    WRITE_OFFS = "sys:write_offs"  # service invoices an operator wrote off: revenue given up (goes negative)
    WRITTEN_OFF = "sys:written_off"  # what those invoices asked for, no longer owed by anyone


@dataclass(frozen=True)
class AccountRef:
    owner_id: str
    currency: str
    shard: int | None = None

    @property
    def key(self) -> str:
        return self.currency if self.shard is None else f"{self.currency}#{self.shard:02d}"

    @property
    def partition(self) -> str:
        """The account item's partition key: the owner, with a system account's shard."""
        return self.owner_id if self.shard is None else f"{self.owner_id}#{self.shard:02d}"

    @property
    def is_system(self) -> bool:
        return self.owner_id.startswith("sys:")

    @property
    def statement_pk(self) -> str:
        return f"lines#{self.owner_id}" if self.shard is None else f"lines#{self.owner_id}#{self.shard:02d}"


@dataclass(frozen=True)
class Posting:
    account: AccountRef
    bucket: Bucket
    amount_minor: int


@dataclass(frozen=True)
class Transfer:
    """A balanced set of postings with a unique id; `ref` names what it belongs to."""

    id: str
    kind: str
    currency: str
    postings: tuple[Posting, ...]
    ref: str | None = None

    def __post_init__(self) -> None:
        assert self.postings, "a transfer needs postings"
        assert all(p.account.currency == self.currency for p in self.postings), "one currency per transfer"
        assert all(type(p.amount_minor) is int and p.amount_minor != 0 for p in self.postings)
        assert sum(p.amount_minor for p in self.postings) == 0, "debits must equal credits"


def owner_of(partition: str) -> str:
    """The owner of an account item (`AccountModel.owner_id`): a system account's shards share one. Items
    written before the shards had partitions of their own carry the owner alone."""
    return partition.partition("#")[0]


def user_account(owner_id: str, currency: str) -> AccountRef:
    return AccountRef(owner_id, currency)


def system_account(account: System, currency: str, transfer_id: str) -> AccountRef:
    shard = zlib.crc32(transfer_id.encode()) % settings.system_account_shards
    return AccountRef(account.value, currency, shard)


def _move(transfer_id: str, kind: str, money: Money, source: tuple[AccountRef, Bucket],
          target: tuple[AccountRef, Bucket], ref: str | None) -> Transfer:
    return Transfer(transfer_id, kind, money.currency, (
        Posting(source[0], source[1], -money.amount_minor),
        Posting(target[0], target[1], money.amount_minor),
    ), ref)


def bank_top_up(transfer_id: str, owner_id: str, money: Money, ref: str) -> Transfer:
    """Bank money paid for an invoice lands on the owner's available balance."""
    bank = system_account(System.BANK_IN, money.currency, transfer_id)
    return _move(transfer_id, "top_up", money, (bank, AVAILABLE), (user_account(owner_id, money.currency), AVAILABLE),
                 ref)


def park_unmatched(transfer_id: str, money: Money, ref: str) -> Transfer:
    """Bank money nobody can claim yet waits in suspense for an operator."""
    bank = system_account(System.BANK_IN, money.currency, transfer_id)
    suspense = system_account(System.SUSPENSE, money.currency, transfer_id)
    return _move(transfer_id, "unmatched_in", money, (bank, AVAILABLE), (suspense, AVAILABLE), ref)


def apply_unmatched(transfer_id: str, owner_id: str, money: Money, ref: str) -> Transfer:
    suspense = system_account(System.SUSPENSE, money.currency, transfer_id)
    return _move(transfer_id, "unmatched_applied", money, (suspense, AVAILABLE),
                 (user_account(owner_id, money.currency), AVAILABLE), ref)


def return_unmatched(transfer_id: str, money: Money, ref: str) -> Transfer:
    suspense = system_account(System.SUSPENSE, money.currency, transfer_id)
    bank_out = system_account(System.BANK_OUT, money.currency, transfer_id)
    return _move(transfer_id, "unmatched_returned", money, (suspense, AVAILABLE), (bank_out, AVAILABLE), ref)


def bank_service_payment(transfer_id: str, money: Money, ref: str) -> Transfer:
    """Bank money paid for a service invoice is the platform's revenue."""
    bank = system_account(System.BANK_IN, money.currency, transfer_id)
    revenue = system_account(System.REVENUE, money.currency, transfer_id)
    return _move(transfer_id, "service_invoice", money, (bank, AVAILABLE), (revenue, AVAILABLE), ref)


def apply_unmatched_to_revenue(transfer_id: str, money: Money, ref: str) -> Transfer:
    """An operator applies parked bank money to a service invoice."""
    suspense = system_account(System.SUSPENSE, money.currency, transfer_id)
    revenue = system_account(System.REVENUE, money.currency, transfer_id)
    return _move(transfer_id, "service_invoice_applied", money, (suspense, AVAILABLE), (revenue, AVAILABLE), ref)


def card_service_payment(transfer_id: str, money: Money, ref: str) -> Transfer:
    """Card money paid for a service invoice is the platform's revenue."""
    acquirer = system_account(System.ACQUIRER, money.currency, transfer_id)
    revenue = system_account(System.REVENUE, money.currency, transfer_id)
    return _move(transfer_id, "service_invoice_card", money, (acquirer, AVAILABLE), (revenue, AVAILABLE), ref)


SERVICE_SOURCES = {"bank": (System.BANK_IN, "service_invoice"), "card": (System.ACQUIRER, "service_invoice_card"),
                   "suspense": (System.SUSPENSE, "service_invoice_applied")}


def site_credit(site_id: str, currency: str) -> AccountRef:
    """A site's credit: what it paid beyond an invoice, spent on its next invoices or refunded (never negative)."""
    return AccountRef(f"credit:{site_id}", currency)


def service_payment(transfer_id: str, source: str, money: Money, ref: str, *, site_id: str = "",
                    surplus_minor: int = 0) -> Transfer:
    """Money from `source` (`bank`, `card`, `suspense`) paying a service invoice: `money` is revenue, and what
    came beyond it (`surplus_minor`) is the site's credit."""
    account, kind = SERVICE_SOURCES[source]
    postings = [Posting(system_account(account, money.currency, transfer_id), AVAILABLE,
                        -(money.amount_minor + surplus_minor)),
                Posting(system_account(System.REVENUE, money.currency, transfer_id), AVAILABLE, money.amount_minor)]
    if surplus_minor:
        postings.append(Posting(site_credit(site_id, money.currency), AVAILABLE, surplus_minor))
    return Transfer(transfer_id, kind, money.currency, tuple(postings), ref)


def site_credit_spent(transfer_id: str, site_id: str, money: Money, ref: str) -> Transfer:
    """The site's credit pays (part of) its new invoice: revenue."""
    revenue = system_account(System.REVENUE, money.currency, transfer_id)
    return _move(transfer_id, "site_credit_spent", money, (site_credit(site_id, money.currency), AVAILABLE),
                 (revenue, AVAILABLE), ref)


def site_credit_refunded(transfer_id: str, site_id: str, money: Money, ref: str, *, to_card: bool) -> Transfer:
    """The site's credit goes back to whoever paid it: through the bank's payout, or the acquirer to the card."""
    out = system_account(System.ACQUIRER if to_card else System.BANK_OUT, money.currency, transfer_id)
    return _move(transfer_id, "site_credit_refund", money, (site_credit(site_id, money.currency), AVAILABLE),
                 (out, AVAILABLE), ref)


def card_verification(transfer_id: str, money: Money, ref: str) -> Transfer:
    """A card's verification charge waits in the clearing account until its refund is confirmed."""
    acquirer = system_account(System.ACQUIRER, money.currency, transfer_id)
    clearing = system_account(System.CARD_CLEARING, money.currency, transfer_id)
    return _move(transfer_id, "card_verification", money, (acquirer, AVAILABLE), (clearing, AVAILABLE), ref)


def card_verification_refunded(transfer_id: str, money: Money, ref: str) -> Transfer:
    acquirer = system_account(System.ACQUIRER, money.currency, transfer_id)
    clearing = system_account(System.CARD_CLEARING, money.currency, transfer_id)
    return _move(transfer_id, "card_verification_refund", money, (clearing, AVAILABLE), (acquirer, AVAILABLE), ref)


def card_duplicate(transfer_id: str, money: Money, ref: str) -> Transfer:
    """Card money for an invoice paid already waits in the clearing account while the acquirer refunds it."""
    acquirer = system_account(System.ACQUIRER, money.currency, transfer_id)
    clearing = system_account(System.CARD_CLEARING, money.currency, transfer_id)
    return _move(transfer_id, "card_duplicate_in", money, (acquirer, AVAILABLE), (clearing, AVAILABLE), ref)


def card_duplicate_refunded(transfer_id: str, money: Money, ref: str) -> Transfer:
    acquirer = system_account(System.ACQUIRER, money.currency, transfer_id)
    clearing = system_account(System.CARD_CLEARING, money.currency, transfer_id)
    return _move(transfer_id, "card_duplicate_refund", money, (clearing, AVAILABLE), (acquirer, AVAILABLE), ref)


def park_refused_refund(transfer_id: str, money: Money, ref: str) -> Transfer:
    """A refund the acquirer refused: the money leaves the clearing account for suspense, for an operator."""
    clearing = system_account(System.CARD_CLEARING, money.currency, transfer_id)
    suspense = system_account(System.SUSPENSE, money.currency, transfer_id)
    return _move(transfer_id, "card_refund_refused", money, (clearing, AVAILABLE), (suspense, AVAILABLE), ref)


def park_card_payment(transfer_id: str, money: Money, ref: str) -> Transfer:
    """Card money for an invoice that is no longer open waits in suspense for an operator."""
    acquirer = system_account(System.ACQUIRER, money.currency, transfer_id)
    suspense = system_account(System.SUSPENSE, money.currency, transfer_id)
    return _move(transfer_id, "card_unmatched_in", money, (acquirer, AVAILABLE), (suspense, AVAILABLE), ref)


def return_card_payment(transfer_id: str, money: Money, ref: str) -> Transfer:
    """Parked card money an operator returns goes back the way it came: the acquirer refunds it to the card."""
    suspense = system_account(System.SUSPENSE, money.currency, transfer_id)
    acquirer = system_account(System.ACQUIRER, money.currency, transfer_id)
    return _move(transfer_id, "card_unmatched_returned", money, (suspense, AVAILABLE), (acquirer, AVAILABLE), ref)


def service_invoice_written_off(transfer_id: str, money: Money, ref: str) -> Transfer:
    """An operator writes a service invoice off (with a reason): the amount it asked for is given up. Nothing
    was booked when it was issued, so the entry pairs the write-off with the debt it cancels."""
    write_offs = system_account(System.WRITE_OFFS, money.currency, transfer_id)
    written_off = system_account(System.WRITTEN_OFF, money.currency, transfer_id)
    return _move(transfer_id, "service_invoice_written_off", money, (write_offs, AVAILABLE), (written_off, AVAILABLE),
                 ref)


def card_top_up(transfer_id: str, owner_id: str, money: Money, fee_minor: int, ref: str) -> Transfer:
    """A card top-up the acquirer confirmed: `money` lands on the owner's available balance, and the fee charged
    on top of it (if any) is the platform's revenue."""
    assert fee_minor >= 0, "a fee is never negative"
    postings = [Posting(system_account(System.ACQUIRER, money.currency, transfer_id), AVAILABLE,
                        -(money.amount_minor + fee_minor)),
                Posting(user_account(owner_id, money.currency), AVAILABLE, money.amount_minor)]
    if fee_minor:
        postings.append(Posting(system_account(System.REVENUE, money.currency, transfer_id), AVAILABLE, fee_minor))
    return Transfer(transfer_id, "card_top_up", money.currency, tuple(postings), ref)


def hold(transfer_id: str, owner_id: str, money: Money, ref: str, kind: str = "hold") -> Transfer:
    """Reserve money on the owner's own account (escrow, a pending payout)."""
    account = user_account(owner_id, money.currency)
    return _move(transfer_id, kind, money, (account, AVAILABLE), (account, HELD), ref)


def release(transfer_id: str, payer_id: str, payee_id: str, money: Money, commission_minor: int,
            ref: str) -> Transfer:
    """Escrow held on the payer's account goes to the payee, less the platform's commission."""
    assert 0 <= commission_minor <= money.amount_minor, "commission must lie within the amount"
    postings = [Posting(user_account(payer_id, money.currency), HELD, -money.amount_minor)]
    if money.amount_minor - commission_minor:
        postings.append(Posting(user_account(payee_id, money.currency), AVAILABLE,
                                money.amount_minor - commission_minor))
    if commission_minor:
        postings.append(Posting(system_account(System.REVENUE, money.currency, transfer_id), AVAILABLE,
                                commission_minor))
    return Transfer(transfer_id, "release", money.currency, tuple(postings), ref)


def settle(transfer_id: str, payer_id: str, payee_id: str, currency: str, *, refund_minor: int, release_minor: int,
           commission_minor: int, ref: str) -> Transfer:
    """Escrow split by a decision: part back to the payer, part to the payee less the commission on that part."""
    assert refund_minor >= 0 and release_minor >= 0 and refund_minor + release_minor > 0, "a split moves money"
    assert 0 <= commission_minor <= release_minor, "commission must lie within the released part"
    payer = user_account(payer_id, currency)
    postings = [Posting(payer, HELD, -(refund_minor + release_minor))]
    if refund_minor:
        postings.append(Posting(payer, AVAILABLE, refund_minor))
    if release_minor - commission_minor:
        postings.append(Posting(user_account(payee_id, currency), AVAILABLE, release_minor - commission_minor))
    if commission_minor:
        postings.append(Posting(system_account(System.REVENUE, currency, transfer_id), AVAILABLE, commission_minor))
    return Transfer(transfer_id, "settle", currency, tuple(postings), ref)


def pay_out(transfer_id: str, owner_id: str, money: Money, ref: str) -> Transfer:
    """Money held for a payout leaves to the outside world once the bank confirms it."""
    return _move(transfer_id, "payout", money, (user_account(owner_id, money.currency), HELD),
                 (system_account(System.BANK_OUT, money.currency, transfer_id), AVAILABLE), ref)


def refund(transfer_id: str, owner_id: str, money: Money, ref: str, kind: str = "refund") -> Transfer:
    """Escrow goes back to the payer's available balance."""
    account = user_account(owner_id, money.currency)
    return _move(transfer_id, kind, money, (account, HELD), (account, AVAILABLE), ref)


def record(uow: UnitOfWork, transfer: Transfer, *, at: datetime | None = None) -> None:
    """Add the transfer's writes to the unit of work (it commits them with the status change)."""
    created_at = clock.iso_precise(at or clock.now())
    uow.moves_money = True
    uow.put(
        JournalEntryModel(
            pk=f"entry#{transfer.id}", sk="entry", kind=transfer.kind, currency=transfer.currency, ref=transfer.ref,
            created_at=created_at,
            postings=[{"owner_id": p.account.owner_id, "account_key": p.account.key, "bucket": p.bucket,
                       "amount": p.amount_minor} for p in transfer.postings],
        ),
        condition=JournalEntryModel.pk.does_not_exist(),
        on_fail=Conflict("already_applied", f"Transfer {transfer.id} was already applied"),
    )
    for number, posting in enumerate(transfer.postings):
        uow.put(JournalLineModel(
            pk=posting.account.statement_pk, sk=f"{created_at}#{transfer.id}#{number}", entry_id=transfer.id,
            kind=transfer.kind, account_key=posting.account.key, currency=transfer.currency, bucket=posting.bucket,
            amount=posting.amount_minor, ref=transfer.ref, created_at=created_at,
        ))
    for account, deltas in _net_by_account(transfer).items():
        _update_account(uow, account, deltas)


def _net_by_account(transfer: Transfer) -> dict[AccountRef, dict[Bucket, int]]:
    """DynamoDB lets a transaction touch an item once, so postings are netted per account."""
    net: dict[AccountRef, dict[Bucket, int]] = defaultdict(lambda: {AVAILABLE: 0, HELD: 0})
    for posting in transfer.postings:
        net[posting.account][posting.bucket] += posting.amount_minor
    return net


def _update_account(uow: UnitOfWork, account: AccountRef, deltas: dict[Bucket, int]) -> None:
    """One update per account and transaction: an account an earlier transfer of the same unit of work touched
    gets the sum of both (its floor checked on the sum, which is what the transaction leaves)."""
    netted = uow.account_deltas.setdefault(account, {AVAILABLE: 0, HELD: 0})
    for bucket, delta in deltas.items():
        netted[bucket] += delta
    item = AccountModel(account.partition, account.key)
    actions = [AccountModel.currency.set(account.currency)]
    condition = None
    for name, delta in netted.items():
        if delta == 0:
            continue
        attribute = getattr(AccountModel, name)
        actions.append(attribute.add(delta))
        if delta < 0 and not account.is_system:
            floor = attribute >= -delta
            condition = floor if condition is None else condition & floor
    uow.update_keyed(("account", account), item, actions, condition=condition,
                     on_fail=functools.partial(shortfall, account.owner_id, account.currency))


def shortfall(owner_id: str, currency: str) -> DomainError:
    """Why a user's balance did not cover a debit: holding nothing in this currency while holding money in
    another is a currency mismatch (422) — another currency never pays — and too little of it is 409."""
    held = balances(owner_id)
    available, escrow = held.get(currency, (0, 0))
    if available + escrow == 0 and any(sum(amounts) > 0 for amounts in held.values()):
        others = ", ".join(sorted(c for c, amounts in held.items() if sum(amounts) > 0))
        return Unprocessable("currency_mismatch", f"This needs {currency}; your balance is in {others}, and a "
                             "balance in another currency never pays it", field="currency")
    return InsufficientFunds("insufficient_funds", f"Not enough {currency} on the balance for this operation")


def require_covers(owner_id: str, money: Money) -> None:
    """Refuse up front (the transaction would refuse too) when the balance cannot pay `money`."""
    if balances(owner_id).get(money.currency, (0, 0))[0] < money.amount_minor:
        raise shortfall(owner_id, money.currency)


def owned_items(owner_id: str) -> list[AccountModel]:
    """Every account item of an owner (strongly consistent): a user's, or each shard of a system account (its
    own partition, and the owner's, where items from before the shards had partitions of their own stay)."""
    partitions = [owner_id]
    if owner_id.startswith("sys:"):
        partitions += [AccountRef(owner_id, "", shard).partition for shard in range(settings.system_account_shards)]
    return [item for partition in partitions for item in AccountModel.query(partition, consistent_read=True)]


def balances(owner_id: str) -> dict[str, tuple[int, int]]:
    """currency → (available, held) for a user's accounts (strongly consistent)."""
    return {account.currency: (int(account.available or 0), int(account.held or 0))
            for account in AccountModel.query(owner_id, consistent_read=True)}

"""Property: whatever sequence of movements runs, every currency sums to zero, no user balance
goes below zero, every account equals its journal lines, and a rejected movement moves nothing."""
from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from chalicelib.money import ledger
from chalicelib.money.amounts import Money
from chalicelib.platform.errors import Conflict, InsufficientFunds, Unprocessable
from chalicelib.store.uow import UnitOfWork
from tests.support import assert_books_balance, assert_sums_zero

USERS = ("usr_a", "usr_b", "usr_c")
CURRENCIES = ("USD", "EUR", "IRR")
amounts = st.integers(min_value=1, max_value=50_000)
_ids = itertools.count()


def _apply(transfer: ledger.Transfer) -> bool:
    uow = UnitOfWork()
    ledger.record(uow, transfer)
    try:
        uow.commit()
    except InsufficientFunds:
        return False
    except Unprocessable as refused:  # nothing in this currency, something in another: still a refusal
        assert refused.code == "currency_mismatch", refused.code
        return False
    return True


class LedgerMachine(RuleBasedStateMachine):
    """A pure model of the balances beside the real ledger on DynamoDB (moto)."""

    def __init__(self) -> None:
        super().__init__()
        self.run = next(_ids)
        self.model: dict[tuple[str, str], list[int]] = {}
        self.suspense: list[tuple[str, Money]] = []

    def _user(self, user: str) -> str:
        return f"{user}_{self.run}"

    def _bal(self, user: str, currency: str) -> list[int]:
        return self.model.setdefault((user, currency), [0, 0])

    def _tid(self) -> str:
        return f"t{self.run}_{next(_ids)}"

    @rule(user=st.sampled_from(USERS), currency=st.sampled_from(CURRENCIES), amount=amounts)
    def top_up(self, user, currency, amount):
        assert _apply(ledger.bank_top_up(self._tid(), self._user(user), Money(amount, currency), ref="inv"))
        self._bal(user, currency)[0] += amount

    @rule(user=st.sampled_from(USERS), currency=st.sampled_from(CURRENCIES), amount=amounts)
    def hold(self, user, currency, amount):
        ok = _apply(ledger.hold(self._tid(), self._user(user), Money(amount, currency), ref="ord"))
        balance = self._bal(user, currency)
        assert ok == (balance[0] >= amount), "a hold succeeds exactly when it is affordable"
        if ok:
            balance[0] -= amount
            balance[1] += amount

    @rule(payer=st.sampled_from(USERS), payee=st.sampled_from(USERS), currency=st.sampled_from(CURRENCIES),
          amount=amounts, commission_pct=st.integers(0, 100))
    def release(self, payer, payee, currency, amount, commission_pct):
        commission = amount * commission_pct // 100
        transfer = ledger.release(self._tid(), self._user(payer), self._user(payee), Money(amount, currency),
                                  commission, ref="ord")
        ok = _apply(transfer)
        assert ok == (self._bal(payer, currency)[1] >= amount)
        if ok:
            self._bal(payer, currency)[1] -= amount
            self._bal(payee, currency)[0] += amount - commission

    @rule(user=st.sampled_from(USERS), currency=st.sampled_from(CURRENCIES), amount=amounts)
    def refund(self, user, currency, amount):
        ok = _apply(ledger.refund(self._tid(), self._user(user), Money(amount, currency), ref="ord"))
        assert ok == (self._bal(user, currency)[1] >= amount)
        if ok:
            self._bal(user, currency)[1] -= amount
            self._bal(user, currency)[0] += amount

    @rule(currency=st.sampled_from(CURRENCIES), amount=amounts)
    def park(self, currency, amount):
        tid = self._tid()
        assert _apply(ledger.park_unmatched(tid, Money(amount, currency), ref=tid))
        self.suspense.append((tid, Money(amount, currency)))

    @rule(user=st.sampled_from(USERS), data=st.data())
    def resolve_parked(self, user, data):
        if not self.suspense:
            return
        tid, money = self.suspense.pop(data.draw(st.integers(0, len(self.suspense) - 1)))
        if data.draw(st.booleans()):
            assert _apply(ledger.apply_unmatched(f"{tid}:applied", self._user(user), money, ref=tid))
            self._bal(user, money.currency)[0] += money.amount_minor
        else:
            assert _apply(ledger.return_unmatched(f"{tid}:returned", money, ref=tid))

    @rule(user=st.sampled_from(USERS), currency=st.sampled_from(CURRENCIES), amount=amounts)
    def replayed_transfer_is_refused(self, user, currency, amount):
        tid = self._tid()
        assert _apply(ledger.bank_top_up(tid, self._user(user), Money(amount, currency), ref="inv"))
        self._bal(user, currency)[0] += amount
        with pytest.raises(Conflict) as refused:
            _apply(ledger.bank_top_up(tid, self._user(user), Money(amount, currency), ref="inv"))
        assert refused.value.code == "already_applied"

    @invariant()
    def books_balance_and_match_the_model(self):
        assert_sums_zero()
        for (user, currency), (available, held) in self.model.items():
            actual = ledger.balances(self._user(user)).get(currency, (0, 0))
            assert actual == (available, held), f"{user} {currency}"


    def teardown(self):
        assert_books_balance(holds_are_escrow=False)


LedgerMachine.TestCase.settings = settings(
    max_examples=15, stateful_step_count=12, deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
test_ledger_keeps_the_books = LedgerMachine.TestCase


def test_unbalanced_transfer_cannot_be_built():
    account = ledger.user_account("usr_x", "USD")
    with pytest.raises(AssertionError):
        ledger.Transfer("t", "bad", "USD", (ledger.Posting(account, ledger.AVAILABLE, 5),))


def test_transfer_mixing_currencies_cannot_be_built():
    with pytest.raises(AssertionError):
        ledger.Transfer("t", "bad", "USD", (
            ledger.Posting(ledger.user_account("usr_x", "USD"), ledger.AVAILABLE, -5),
            ledger.Posting(ledger.user_account("usr_y", "EUR"), ledger.AVAILABLE, 5),
        ))


def test_system_accounts_are_sharded_deterministically():
    first = ledger.system_account(ledger.System.REVENUE, "USD", "transfer-1")
    assert first == ledger.system_account(ledger.System.REVENUE, "USD", "transfer-1")
    shards = {ledger.system_account(ledger.System.REVENUE, "USD", f"t{i}").shard for i in range(200)}
    assert len(shards) > 8

"""The unit of work tells a business rejection (a failed condition: that item's domain error)
from a lost race (TransactionConflict, throttling: retried with backoff) by the cancellation reasons."""
from __future__ import annotations

import pytest
from pynamodb.exceptions import CancellationReason, TransactWriteError, VerboseClientError

from chalicelib.money import ledger
from chalicelib.money.amounts import Money
from chalicelib.platform.errors import Conflict, InsufficientFunds, Retryable
from chalicelib.store import uow as uow_module
from chalicelib.store.uow import UnitOfWork, run_with_retries
from tests.support import assert_books_balance


def _cancelled(*codes: str) -> TransactWriteError:
    cause = VerboseClientError(
        {"Error": {"Code": "TransactionCanceledException", "Message": "cancelled"}}, "TransactWriteItems",
        cancellation_reasons=[CancellationReason(code=code) for code in codes])
    return TransactWriteError("Failed to write transaction items", cause)


class FlakyConnection:
    """Fails the first `failures` commits with the given error, then lets them through."""

    def __init__(self, real, failures: int, error: Exception) -> None:
        self.real, self.failures, self.error, self.calls = real, failures, error, 0

    def transact_write_items(self, **kwargs):
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return self.real.transact_write_items(**kwargs)


def _top_up(transfer_id: str, amount: int = 100) -> UnitOfWork:
    uow = UnitOfWork()
    ledger.record(uow, ledger.bank_top_up(transfer_id, "usr_u", Money(amount, "USD"), ref="t"))
    return uow


def test_transaction_conflict_is_retried_until_it_goes_through(monkeypatch):
    real = uow_module.connection_for(ledger.AccountModel)
    flaky = FlakyConnection(real, 3, _cancelled("None", "TransactionConflict", "None", "None", "None"))
    monkeypatch.setattr(uow_module, "connection_for", lambda model: flaky)
    run_with_retries(lambda: _top_up("tx-conflict").commit())
    assert flaky.calls == 4
    assert ledger.balances("usr_u")["USD"] == (100, 0)
    assert_books_balance()


def test_throttling_of_the_whole_call_is_retryable(monkeypatch):
    cause = VerboseClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}},
                               "TransactWriteItems")
    real = uow_module.connection_for(ledger.AccountModel)
    flaky = FlakyConnection(real, 1, TransactWriteError("throttled", cause))
    monkeypatch.setattr(uow_module, "connection_for", lambda model: flaky)
    run_with_retries(lambda: _top_up("tx-throttle").commit())
    assert flaky.calls == 2
    assert_books_balance()


def test_endless_conflict_ends_in_a_clear_409_and_nothing_moves(monkeypatch):
    real = uow_module.connection_for(ledger.AccountModel)
    flaky = FlakyConnection(real, 100, _cancelled("TransactionConflict"))
    monkeypatch.setattr(uow_module, "connection_for", lambda model: flaky)
    with pytest.raises(Conflict) as busy:
        run_with_retries(lambda: _top_up("tx-busy").commit(), base_delay_s=0)
    assert busy.value.code == "busy"
    assert ledger.balances("usr_u") == {}
    assert_books_balance()


def test_failed_condition_raises_that_items_domain_error_and_is_not_retried():
    attempts = []

    def overspend() -> None:
        attempts.append(1)
        uow = UnitOfWork()
        ledger.record(uow, ledger.hold("tx-hold", "usr_poor", Money(1, "USD"), ref="o"))
        uow.commit()

    with pytest.raises(InsufficientFunds):
        run_with_retries(overspend)
    assert len(attempts) == 1
    assert_books_balance()


def test_conflict_reason_wins_over_other_codes():
    error = uow_module._translate(_cancelled("ConditionalCheckFailed", "TransactionConflict"), [])
    assert isinstance(error, Retryable)

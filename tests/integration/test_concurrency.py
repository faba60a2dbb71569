"""On real DynamoDB (Local): concurrent spenders, concurrent invoice numbering, and a bank
event delivered many times at once. The conditions in one transaction decide, not luck."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from chalicelib.access.auth import Principal
from chalicelib.money import ledger
from chalicelib.money.amounts import Money
from chalicelib.platform.errors import Conflict, InsufficientFunds
from chalicelib.services import bank, invoices
from chalicelib.store.models import PaymentModel
from chalicelib.store.uow import UnitOfWork
from tests.support import assert_books_balance

THREADS = 16


def _run_all(function, count: int) -> list:
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        futures = [pool.submit(function, i) for i in range(count)]
        results = []
        for future in futures:
            try:
                results.append(future.result())
            except Exception as error:
                results.append(error)
        return results


def _fund(owner_id: str, amount: int, currency: str = "USD") -> None:
    uow = UnitOfWork()
    ledger.record(uow, ledger.bank_top_up(f"fund-{owner_id}", owner_id, Money(amount, currency), ref="test"))
    uow.commit()


def test_concurrent_spenders_get_exactly_the_affordable_number():
    # Given a balance of 10.00 and 40 concurrent holds of 0.75 each
    _fund("usr_spender", 1000)

    def spend(i: int) -> str:
        uow = UnitOfWork()
        ledger.record(uow, ledger.hold(f"spend-{i}", "usr_spender", Money(75, "USD"), ref=f"ord-{i}"))
        uow.commit()
        return "ok"

    # When they all commit at once
    results = _run_all(spend, 40)

    # Then exactly floor(1000 / 75) = 13 succeed, the rest are clear insufficient-funds conflicts
    assert results.count("ok") == 13
    refused = [r for r in results if r != "ok"]
    assert all(isinstance(r, InsufficientFunds) and r.status == 409 for r in refused), refused[:3]
    assert ledger.balances("usr_spender")["USD"] == (1000 - 13 * 75, 13 * 75)
    assert_books_balance(holds_are_escrow=False)


def test_invoice_numbers_stay_unique_under_concurrent_creation():
    principal = Principal("usr_numbers", ("client",))
    results = _run_all(lambda i: invoices.create(principal, 100 + i, "EUR")[1]["number"], 60)
    assert all(isinstance(r, str) for r in results), [r for r in results if not isinstance(r, str)][:3]
    assert len(set(results)) == 60
    sequence = sorted(int(number[-6:]) for number in results)
    assert sequence == list(range(sequence[0], sequence[0] + 60))


def test_one_bank_event_delivered_many_times_at_once_credits_once():
    principal = Principal("usr_payer", ("client",))
    invoice = invoices.create(principal, 150000, "USD")[1]
    transfer = bank.IncomingTransfer("evt-storm", 150000, "USD", invoice["payment_details"],
                                     {"name": "ACME", "iban": ""}, "2026-11-22T10:00:00Z")
    results = _run_all(lambda i: bank.receive_transfer(transfer), 20)
    assert all(isinstance(r, dict) for r in results), results[:3]
    assert sum(1 for r in results if not r["duplicate"]) == 1
    assert ledger.balances("usr_payer")["USD"] == (150000, 0)
    assert len(list(PaymentModel.scan())) == 1
    assert_books_balance()


def test_two_payments_racing_for_one_invoice_credit_once_and_park_the_other():
    principal = Principal("usr_racer", ("client",))
    invoice = invoices.create(principal, 5000, "UAH")[1]

    def pay(i: int) -> dict:
        return bank.receive_transfer(bank.IncomingTransfer(
            f"evt-race-{i}", 5000, "UAH", invoice["payment_details"], {"name": "X", "iban": ""},
            "2026-11-22T10:00:00Z"))

    results = _run_all(pay, 8)
    statuses = sorted(r["payment"]["status"] for r in results)
    assert statuses == ["credited"] + ["unmatched"] * 7
    assert {r["payment"]["reason"] for r in results if r["payment"]["status"] == "unmatched"} == {
        "invoice_already_paid"}
    assert ledger.balances("usr_racer")["UAH"] == (5000, 0)
    assert_books_balance()


def test_replayed_transfer_id_is_refused_by_the_journal():
    _fund("usr_once", 500)
    uow = UnitOfWork()
    ledger.record(uow, ledger.bank_top_up("fund-usr_once", "usr_once", Money(500, "USD"), ref="test"))
    try:
        uow.commit()
        raise AssertionError("a transfer id must apply once")
    except Conflict as refused:
        assert refused.code == "already_applied"
    assert ledger.balances("usr_once")["USD"] == (500, 0)
    assert_books_balance()

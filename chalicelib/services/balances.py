"""Reading the books: a user's balances and statement, and the operator's trial balance."""
from __future__ import annotations

from collections import defaultdict

from chalicelib.access.auth import Principal
from chalicelib.money import ledger
from chalicelib.money.amounts import SUPPORTED_CURRENCIES
from chalicelib.services import views
from chalicelib.services.pagination import page
from chalicelib.store.models import AccountModel, JournalLineModel


def balances(principal: Principal) -> dict:
    """One line per supported currency, zero where the user has no account yet."""
    by_currency = ledger.balances(principal.user_id)
    lines = ((currency, *by_currency.get(currency, (0, 0))) for currency in SUPPORTED_CURRENCIES)
    return {"items": [{"currency": c, "available": available, "held": held} for c, available, held in lines]}


def statement(principal: Principal, limit: int, cursor: str | None, currency: str | None = None) -> dict:
    """The user's own journal lines, newest first."""
    condition = JournalLineModel.currency == currency if currency else None
    return page(lambda **kw: JournalLineModel.query(f"lines#{principal.user_id}", scan_index_forward=False,
                                                    filter_condition=condition, **kw),
                limit, cursor, views.statement_line)


def trial_balance(principal: Principal) -> dict:
    """Every account summed per currency: the total must be zero, or the books are broken."""
    principal.require_operator()
    totals: dict[str, int] = defaultdict(int)
    by_kind: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for account in AccountModel.scan(consistent_read=True):
        amount = int(account.available or 0) + int(account.held or 0)
        totals[account.currency] += amount
        kind = ledger.owner_of(account.owner_id) if account.owner_id.startswith("sys:") else "users"
        by_kind[account.currency][kind] += amount
    items = [{"currency": currency, "total": totals[currency], "balanced": totals[currency] == 0,
              "accounts": dict(sorted(by_kind[currency].items()))} for currency in sorted(totals)]
    return {"items": items, "balanced": all(item["balanced"] for item in items)}

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


BOOKS_SUBJECT = "books#audit"  # the audit trail's object for runs of the books audit
AUDIT_LINES_KEPT = 50  # the most discrepancies one run's audit record keeps, and its page shows


def audit_books(principal: Principal) -> dict:
    """Operators: run the books audit (`services/audit.py`, the very check the test suites run after every step
    that moves money) on demand. It scans the ledger's tables, so it runs only when an operator asks; the run is
    an operator's act in the audit trail (`books#audit`) with its result."""
    from chalicelib.services import audit
    from chalicelib.store import audit_log
    from chalicelib.store.uow import UnitOfWork

    principal.require_operator()
    violations = audit.books_violations()
    uow = UnitOfWork()
    record = audit_log.record(uow, subject=BOOKS_SUBJECT, actor_id=principal.user_id, action="audit_books",
                              reason="", before=None, after={"balanced": not violations,
                                                             "discrepancies": len(violations),
                                                             "lines": violations[:AUDIT_LINES_KEPT]})
    uow.commit()
    return {"id": record.id, "at": record.at, "balanced": not violations, "violations": violations}


def books_audit_run(principal: Principal, run_id: str) -> dict | None:
    """Operators: one earlier run of the books audit, as its audit record keeps it (None if there is none)."""
    from chalicelib.store.models import AuditLogModel

    principal.require_operator()
    for record in AuditLogModel.query(BOOKS_SUBJECT, filter_condition=AuditLogModel.id == run_id,
                                      scan_index_forward=False):
        after = record.after or {}
        return {"id": record.id, "at": record.at, "balanced": bool(after.get("balanced")),
                "violations": list(after.get("lines") or []), "discrepancies": int(after.get("discrepancies") or 0)}
    return None

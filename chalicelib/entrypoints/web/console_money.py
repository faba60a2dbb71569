"""The console's money sections: the unmatched bank payments (the queue with its search, a payment's page with
the invoices a person would consider, applying it to one or returning it to the payer), the failed and stuck
payouts, and the books (the trial balance, and the books audit run on demand).

Every act calls the use case the `/v1/operator/*` route calls (`services/bank.py`, `services/balances.py`), with a
reason the console always asks for: the use case records it in the audit log with the act. A refused act shows
its page again with what is wrong, in the reader's language, and changes nothing."""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from chalice import Response
from chalice.app import Request

from chalicelib.access import sessions
from chalicelib.entrypoints.api.http import schema_names as s
from chalicelib.entrypoints.web.console import (
    console_form,
    console_page,
    console_url,
    current_session,
    locale_of,
    redirect,
    render_console,
    require_csrf,
)
from chalicelib.entrypoints.web.pages import PageProblem, _query
from chalicelib.entrypoints.web.render import translate
from chalicelib.platform.errors import DomainError, NotFound
from chalicelib.platform.i18n import N_

MIN_REASON = 3  # the API's shortest reason
NO_PAYMENT = (404, N_("No such payment"), N_("There is no bank payment with this id. Open it from the queue."))
# What a refused act on a payment says, by the use case's error code.
REFUSALS = {
    "payment_not_unmatched": N_("This payment was already resolved: it is applied or returned."),
    "invoice_not_open": N_("This invoice is not open: it is paid, void or written off."),
    "currency_mismatch": N_("The payment's currency differs from the invoice's."),
    "invalid_amount": N_("This payment's amount cannot be applied to an invoice; return it to the payer."),
    "amount_mismatch": N_("The payment's amount differs from what the invoice still asks: give a reason."),
    "not_found": N_("No invoice has this id or number."),
}
REFUSED = N_("The act was refused. Nothing changed.")
NEED_REASON = N_("Write the reason (at least 3 characters): it is kept in the audit log.")
NEED_INVOICE = N_("Choose one of the invoices, or type an invoice's number or id.")
BAD_SEARCH = N_("The amount must be a number like 1500.00, and the dates days like 2026-11-22.")
DONE = {"applied": N_("The payment was applied to the invoice."),
        "returned": N_("The payment is being returned to the payer.")}
# How a payment's reason for waiting reads.
WHY = {
    "no_invoice_number": N_("no invoice number in the purpose"),
    "several_invoice_numbers": N_("several invoice numbers in the purpose"),
    "unknown_invoice": N_("an unknown invoice number"),
    "invoice_void": N_("the invoice is void"),
    "invoice_already_paid": N_("the invoice was paid already"),
    "currency_mismatch": N_("another currency than the invoice's"),
    "amount_mismatch": N_("another amount than the invoice asks"),
    "amount_out_of_range": N_("an amount beyond what the books hold"),
}
PAYOUT_STATES = {"failed": N_("Failed"), "stuck": N_("Stuck at the bank"), "unsent": N_("Not taken by the bank")}
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _money(amount: int, currency: str, locale: str) -> str:
    from chalicelib.money.amounts import format_amount

    return format_amount(amount, currency, locale)


def _payer(payment: dict) -> str:
    payer = payment.get("payer") or {}
    return " · ".join(str(payer[key]) for key in ("name", "iban") if payer.get(key))


def _row(payment: dict, locale: str) -> dict:
    return {**payment, "money": _money(payment["amount"], payment["currency"], locale), "payer_text": _payer(payment),
            "why": translate(locale, WHY[payment["reason"]]) if payment.get("reason") in WHY else payment.get("reason"),
            "url": console_url(f"payments/{payment['id']}", locale)}


# The queue ------------------------------------------------------------------------------------------------------

def _search(request: Request) -> tuple[dict[str, str], Any]:
    """The search's fields as typed, and the search, or None if a field is malformed."""
    from chalicelib.services import bank

    typed = {name: (_query(request, name) or "").strip()[:200] for name in ("amount", "from", "to", "payer", "text")}
    if any(not ch.isprintable() for value in typed.values() for ch in value):
        return typed, None
    amount = None
    if typed["amount"]:
        try:
            amount = Decimal(typed["amount"].replace(" ", "").replace(",", "."))
        except InvalidOperation:
            return typed, None
        if not amount.is_finite() or amount < 0:
            return typed, None
    if any(typed[day] and not _DAY.fullmatch(typed[day]) for day in ("from", "to")):
        return typed, None
    return typed, bank.PaymentSearch(amount=amount, date_from=typed["from"], date_to=typed["to"],
                                     payer=typed["payer"], text=typed["text"])


@console_page("GET", "/console/payments", "The unmatched bank payments' queue, searchable by amount, dates, payer "
              "and purpose", (200, 400, 401), query=("lang", "amount", "from", "to", "payer", "text"))
def console_payments(request: Request) -> Response:
    from chalicelib.services import bank

    session = current_session(request)
    locale = locale_of(request, session.principal.user.locale)
    typed, search = _search(request)
    if search is None:
        return render_console(request, session, "console_payments.html.j2", status=400, payments=[], typed=typed,
                              error=translate(locale, BAD_SEARCH))
    payments = [_row(payment, locale) for payment in bank.search_unmatched(session.principal, search)]
    return render_console(request, session, "console_payments.html.j2", payments=payments, typed=typed, error="")


# A payment ------------------------------------------------------------------------------------------------------

def _payment_page(request: Request, session: sessions.ConsoleSession, payment_id: str, *, status: int = 200,
                  error: str = "", typed: dict[str, str] | None = None) -> Response:
    from chalicelib.services import balances, bank

    locale = locale_of(request, session.principal.user.locale)
    try:
        payment = bank.get_payment(session.principal, payment_id)
    except NotFound:
        raise PageProblem(*NO_PAYMENT) from None
    open_ = payment["status"] == bank.UNMATCHED
    candidates = [{**candidate, "money": _money(candidate["amount"], candidate["currency"], locale),
                   "due": _money(candidate["amount_due"], candidate["currency"], locale)}
                  for candidate in (bank.candidates(session.principal, payment_id) if open_ else [])]
    done = _query(request, "done") or ""
    done = done if done in DONE and payment["status"] == done else ""  # the result of an act that happened
    books = balances.trial_balance(session.principal) if done in DONE else None
    resolved_invoice = _invoice_after(session, payment, locale) if done == "applied" else None
    path = f"payments/{payment_id}"
    return render_console(
        request, session, "console_payments_one.html.j2", status=status, payment=_row(payment, locale),
        open=open_, candidates=candidates, error=error,
        typed={"invoice": "", "apply_reason": "", "return_reason": "", **(typed or {})},
        done=translate(locale, DONE[done]) if done in DONE else "", books=books, invoice=resolved_invoice,
        apply_action=console_url(f"{path}/apply", locale), return_action=console_url(f"{path}/return", locale),
        queue_url=console_url("payments", locale), books_url=console_url("books", locale))


def _invoice_after(session: sessions.ConsoleSession, payment: dict, locale: str) -> dict | None:
    """The invoice a payment was applied to, as it is now: its status and what it still asks."""
    from chalicelib.services import bank

    if not payment.get("invoice_id"):
        return None
    try:
        invoice = bank.invoice_state(session.principal, payment["invoice_id"])
    except NotFound:
        return None
    return {**invoice, "due": _money(invoice["amount_due"], invoice["currency"], locale)}


@console_page("GET", "/console/payments/{payment_id}", "An unmatched bank payment: the invoices a person would "
              "consider, and the forms to apply it to one or to return it", (200, 401, 404),
              query=("lang", "done"))
def console_payment(request: Request, payment_id: str) -> Response:
    return _payment_page(request, current_session(request), payment_id)


def _refused(request: Request, session: sessions.ConsoleSession, payment_id: str, error: DomainError,
             typed: dict[str, str]) -> Response:
    locale = locale_of(request, session.principal.user.locale)
    if error.code not in REFUSALS and error.status >= 500:
        raise error
    message = translate(locale, REFUSALS.get(error.code, REFUSED))
    status = 422 if error.status in (400, 404) or error.status >= 500 else error.status
    return _payment_page(request, session, payment_id, status=status, error=message, typed=typed)


@console_page("POST", "/console/payments/{payment_id}/apply", "Apply an unmatched payment to a top-up's or a "
              "site's invoice, with a reason (CSRF-protected; the API's use case: another amount than due pays a part "
              "or leaves the surplus as the site's credit)", (303, 400, 401, 403, 404, 409, 422),
              form=s.ConsoleApplyPaymentForm)
def console_apply_payment(request: Request, payment_id: str) -> Response:
    from chalicelib.services import bank

    form = console_form(request, s.ConsoleApplyPaymentForm)
    session = current_session(request)
    require_csrf(form, session.csrf)
    locale = locale_of(request, session.principal.user.locale)
    chosen = (form.invoice_number or form.invoice_id).strip()
    typed = {"invoice": chosen, "apply_reason": form.reason}
    if not chosen:
        return _payment_page(request, session, payment_id, status=422, error=translate(locale, NEED_INVOICE),
                             typed=typed)
    if len(form.reason.strip()) < MIN_REASON:
        return _payment_page(request, session, payment_id, status=422, error=translate(locale, NEED_REASON),
                             typed=typed)
    try:
        bank.apply_to_invoice(session.principal, payment_id, bank.invoice_id_of(session.principal, chosen),
                              form.reason.strip())
    except DomainError as error:
        return _refused(request, session, payment_id, error, typed)
    return redirect(f"/console/payments/{payment_id}?lang={locale}&done=applied")


@console_page("POST", "/console/payments/{payment_id}/return", "Return an unmatched payment to the payer, with a "
              "reason (CSRF-protected; the API's use case)", (303, 400, 401, 403, 404, 409, 422),
              form=s.ConsoleReturnPaymentForm)
def console_return_payment(request: Request, payment_id: str) -> Response:
    from chalicelib.services import bank

    form = console_form(request, s.ConsoleReturnPaymentForm)
    session = current_session(request)
    require_csrf(form, session.csrf)
    locale = locale_of(request, session.principal.user.locale)
    typed = {"return_reason": form.reason}
    if len(form.reason.strip()) < MIN_REASON:
        return _payment_page(request, session, payment_id, status=422, error=translate(locale, NEED_REASON),
                             typed=typed)
    try:
        bank.mark_for_return(session.principal, payment_id, form.reason.strip())
    except DomainError as error:
        return _refused(request, session, payment_id, error, typed)
    return redirect(f"/console/payments/{payment_id}?lang={locale}&done=returned")


# Payouts --------------------------------------------------------------------------------------------------------

@console_page("GET", "/console/payouts", "Failed and stuck payouts, oldest first (read-only: a failed payout's "
              "money is back on its owner's balance already)", (200, 401))
def console_payouts(request: Request) -> Response:
    from chalicelib.platform import clock
    from chalicelib.platform.config import settings
    from chalicelib.services import payouts

    session = current_session(request)
    locale = locale_of(request, session.principal.user.locale)
    rows = [{**row, "money": _money(row["amount"], row["currency"], locale),
             "state_text": translate(locale, PAYOUT_STATES[row["state"]])}
            for row in payouts.troubled(session.principal, clock.now())]
    return render_console(request, session, "console_payouts.html.j2", payouts=rows,
                          stuck_hours=settings.payout_stuck_after_hours)


# Books ----------------------------------------------------------------------------------------------------------

def _books_page(request: Request, session: sessions.ConsoleSession) -> Response:
    from chalicelib.services import balances

    locale = locale_of(request, session.principal.user.locale)
    run = (_query(request, "run") or "")[:100]
    audit = balances.books_audit_run(session.principal, run) if run else None
    trial = balances.trial_balance(session.principal)
    items = [{**item, "money": _money(item["total"], item["currency"], locale),
              "accounts": [(kind, _money(amount, item["currency"], locale))
                           for kind, amount in item["accounts"].items()]} for item in trial["items"]]
    return render_console(request, session, "console_books.html.j2", items=items, balanced=trial["balanced"],
                          audit=audit, audit_action=console_url("books/audit", locale),
                          audit_log_url=console_url("audit", locale, object=balances.BOOKS_SUBJECT))


@console_page("GET", "/console/books", "The books: the trial balance (every currency's accounts summed), and a run "
              "of the books audit's result", (200, 401), query=("lang", "run"))
def console_books(request: Request) -> Response:
    return _books_page(request, current_session(request))


@console_page("POST", "/console/books/audit", "Run the books audit now (CSRF-protected; recorded in the audit log "
              "with its result); the books page then shows the result", (303, 400, 401, 403),
              form=s.ConsoleBooksAuditForm)
def console_books_audit(request: Request) -> Response:
    from chalicelib.services import balances

    form = console_form(request, s.ConsoleBooksAuditForm)
    session = current_session(request)
    require_csrf(form, session.csrf)
    run = balances.audit_books(session.principal)
    return redirect(f"/console/books?lang={locale_of(request, session.principal.user.locale)}&run={run['id']}")


"""The console's sites and tariffs (`/console/sites`, `/console/tariffs`): an operator finds a site by its service
code, a domain, its owner's e-mail or its tax id, reads what his acts on it need — the owner, the tariff, auto-pay,
the open invoices, the credit, a deletion request with its answers, the site's audit trail — and acts: change the
owner or the tariff, stop or allow auto-pay again, complete or refuse a deletion, write an invoice off, refund the
credit. Tariffs are listed and edited (a new price applies from the next billing month).

Every act calls the use case its `/v1/operator/...` route calls, which writes its audit record; the console asks a
reason for every act (at least what the API asks of a reason). A refused act shows the page again, with what is
wrong next to the form, in the reader's language, and changes nothing; a done act redirects back (post/redirect/
get) with a notice."""
from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from chalice import Response
from chalice.app import Request

from chalicelib.access import sessions
from chalicelib.entrypoints.api.http import schema_names as s
from chalicelib.entrypoints.web import billing, console
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
from chalicelib.money.amounts import format_amount
from chalicelib.platform.errors import DomainError, NotFound
from chalicelib.platform.i18n import N_

SITE_STATUSES = {"active": N_("active"), "past_due": N_("past due"), "blocked": N_("blocked"),
                 "deletion_requested": N_("deletion requested"), "deleted": N_("deleted")}
DELETION_REASONS = {"too_expensive": N_("too expensive"), "missing_features": N_("missing features"),
                    "moving_to_another_platform": N_("moving to another platform"),
                    "closing_business": N_("closing the business"), "other": N_("another reason")}
# How a search was read, and what it cost (chalicelib/services/sites.search).
SEARCH_KEYS = {
    "site_id": N_("Read as a site's id: one read."),
    "email": N_("Read as an e-mail: the account's sites and the sites whose owner contact has this address, each by "
                "index."),
    "code_or_tax_id": N_("Read as a service code or a tax id: the service code's claim (one read) and the tax id by "
                         "index."),
    "domain": N_("Read as a domain: the site that proved it and those claiming it (two reads)."),
    "unreadable": N_("This is neither a service code, a domain, an e-mail nor a tax id."),
    "nothing": "",
}
# What a refused act says, by its error's code; any other refusal says it is not possible now.
ACT_ERRORS = {
    "reason_missing": N_("Write the reason (at least 3 characters): it is kept in the audit log."),
    "unknown_owner": N_("No account has this e-mail. The new owner must have an account first."),
    "invalid_phone": N_("The phone must be an international number, like +380501234567."),
    "unknown_tariff": N_("There is no such tariff."),
    "tariff_inactive": N_("This tariff is no longer offered."),
    "tariff_unchanged": N_("The site is already on this tariff."),
    "over_limit": N_("The site's counters exceed the limits of this tariff."),
    "invoice_not_open": N_("This invoice is not open any more."),
    "no_credit": N_("The site has no credit to refund."),
    "invalid_state": N_("This act is not possible in the site's present state."),
    "state_changed": N_("The site changed meanwhile. Look at it again and try again."),
    "stale_form": N_("This form is out of date or was not sent from this page. Try again."),
    "not_found": N_("Not found: it may have been removed."),
    "tariff_exists": N_("A tariff with this code exists already."),
    "bad_code": N_("The code is lower-case letters, digits, - and _ (at most 40)."),
    "bad_name": N_("Write the tariff's name."),
    "bad_price": N_("The price is an amount in hryvnias greater than zero, like 310.00."),
    "bad_limits": N_("The limits are whole numbers, zero or more."),
    "bad_features": N_("At most 50 features, separated by commas."),
}
NO_SITE = (404, N_("No such site"), N_("There is no site with this id. Search for it again."))
NO_TARIFF = (404, N_("No such tariff"), N_("There is no tariff with this code."))
NOT_NOW = N_("This act is not possible now.")
DONE = {
    "owner": N_("The owner is changed."), "tariff": N_("The tariff is changed."),
    "autopay-stop": N_("Auto-pay is stopped."), "autopay-resume": N_("Card payments are allowed again."),
    "delete": N_("The deletion is completed."), "refuse": N_("The deletion request is refused; the owner is told."),
    "write-off": N_("The invoice is written off."), "credit-refund": N_("The credit is being refunded."),
    "tariff-saved": N_("The tariff is saved."), "tariff-added": N_("The tariff is added."),
}


class ActRefused(Exception):
    """A console act the page refuses itself (before any use case): its code is one of ACT_ERRORS."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _locale(request: Request, session: sessions.ConsoleSession) -> str:
    return locale_of(request, session.principal.user.locale)


def _money(locale: str) -> Callable[[dict], str]:
    """`money({"amount": 31000, "currency": "UAH"})` in the reader's locale's format."""
    def money(value: dict) -> str:
        return format_amount(int(value["amount"]), str(value["currency"]), locale)
    return money


def _error(locale: str, code: str) -> str:
    return translate(locale, ACT_ERRORS.get(code, NOT_NOW))


def _done(request: Request, locale: str) -> str:
    done = _query(request, "done") or ""
    return translate(locale, DONE[done]) if done in DONE else ""


def _reason(form: Any) -> str:
    """The reason, by the API's own rule for an operator's reason (OperatorReasonIn)."""
    try:
        return str(s.OperatorReasonIn.model.model_validate({"reason": form.reason}).reason)  # type: ignore[attr-defined]
    except ValueError:
        raise ActRefused("reason_missing") from None


def _checked(request: Request, session: sessions.ConsoleSession, schema: Any) -> Any:
    form = console_form(request, schema)
    try:
        require_csrf(form, session.csrf)
    except PageProblem:
        raise ActRefused("stale_form") from None
    return form


def _status(code: str, error: DomainError | None) -> int:
    if error is not None:
        return error.status
    return 403 if code == "stale_form" else 422


def _refused_here(error: DomainError) -> bool:
    """Whether the page shows the refusal next to its form (a 4xx of the act), or the console's problem page."""
    return (error.code in ACT_ERRORS or error.code not in console.PROBLEMS) and 400 <= error.status < 500


# --- sites ------------------------------------------------------------------------------------------------------

@console_page("GET", "/console/sites", "Sites: search by service code, domain, owner e-mail or tax id; the "
              "deletion requests waiting", (200, 400, 401), query=("lang", "q"))
def console_sites(request: Request) -> Response:
    from chalicelib.services import sites

    session = current_session(request)
    locale = _locale(request, session)
    query = (_query(request, "q") or "")[:254]
    if any(not ch.isprintable() for ch in query):
        raise PageProblem(*console.BAD_FORM)
    found = sites.search(session.principal, query)
    waiting = sites.list_by_status(session.principal, "deletion_requested", 20, None)["items"]
    return render_console(request, session, "console_sites.html.j2", query=query, found=found["items"],
                          searched=bool(query.strip()), how=translate(locale, SEARCH_KEYS[found["how"]])
                          if SEARCH_KEYS[found["how"]] else "", waiting=waiting,
                          statuses={k: translate(locale, v) for k, v in SITE_STATUSES.items()},
                          site_url=lambda site_id: console_url(f"sites/{site_id}", locale))


def _site_page(request: Request, session: sessions.ConsoleSession, site_id: str, *, status: int = 200,
               error: str = "", failed: str = "", values: dict | None = None) -> Response:
    from chalicelib.services import sites

    locale = _locale(request, session)
    try:
        view = sites.operator_view(session.principal, site_id)
    except NotFound:
        raise PageProblem(*NO_SITE) from None
    return render_console(
        request, session, "console_sites_site.html.j2", status=status, view=view, site=view["site"],
        error=error, failed=failed, values=values or {}, done=_done(request, locale), money=_money(locale),
        statuses={k: translate(locale, v) for k, v in SITE_STATUSES.items()},
        reasons={k: translate(locale, v) for k, v in DELETION_REASONS.items()},
        act=lambda tail: console_url(f"sites/{site_id}/{tail}", locale),
        sites_url=console_url("sites", locale), tariffs_url=console_url("tariffs", locale),
        site_audit_url=console_url("audit", locale, object=site_id),
        owner_blocks=billing.owner_view(session, site_id, locale), read_only=True)


@console_page("GET", "/console/sites/{site_id}", "A site for an operator: owner, tariff, auto-pay, open invoices, "
              "credit, a deletion request with its answers, the audit trail, and the operator's acts",
              (200, 401, 404), query=("lang", "done"))
def console_site(request: Request, site_id: str) -> Response:
    return _site_page(request, current_session(request), site_id)


def _site_act(request: Request, site_id: str, name: str, schema: Any,
              act: Callable[[Any, Any], object]) -> Response:
    """One act on a site from its page's form `name`: checked, done by its use case, or the page again."""
    session = current_session(request)
    locale = _locale(request, session)
    values: dict = {}
    try:
        form = _checked(request, session, schema)
        values = form.model_dump(exclude={"csrf"})
        act(session.principal, form)
    except ActRefused as refused:
        return _site_page(request, session, site_id, status=_status(refused.code, None),
                          error=_error(locale, refused.code), failed=name, values=values)
    except DomainError as error:
        if not _refused_here(error):
            raise
        return _site_page(request, session, site_id, status=_status(error.code, error),
                          error=_error(locale, error.code), failed=name, values=values)
    return redirect(f"/console/sites/{site_id}?lang={locale}&done={name}")


SITE_ACT_STATUSES = (303, 400, 401, 403, 404, 409, 422)


@console_page("POST", "/console/sites/{site_id}/owner", "Change a site's owner to the account with this e-mail "
              "(the previous owner's card forgotten, the key rotated), with a reason (audited)", SITE_ACT_STATUSES,
              form=s.ConsoleSiteOwnerForm)
def console_site_owner(request: Request, site_id: str) -> Response:
    from chalicelib.services import accounts, sites

    def act(principal: Any, form: Any) -> None:
        reason = _reason(form)
        user = accounts.find_by_email(form.email) if form.email.strip() else None
        if user is None:
            raise ActRefused("unknown_owner")
        contact = {"name": form.name.strip() or user.name, "email": user.email, "phone": form.phone.strip()}
        sites.change_owner(principal, site_id, contact, user.id, reason)

    return _site_act(request, site_id, "owner", s.ConsoleSiteOwnerForm, act)


@console_page("POST", "/console/sites/{site_id}/tariff", "Change a site's tariff by the owner's rules (an upgrade "
              "at once, prorated; a downgrade from the next month), with a reason (audited)", SITE_ACT_STATUSES,
              form=s.ConsoleSiteTariffForm)
def console_site_tariff(request: Request, site_id: str) -> Response:
    from chalicelib.services import sites

    def act(principal: Any, form: Any) -> None:
        reason = _reason(form)
        if not form.code.strip():
            raise ActRefused("unknown_tariff")
        sites.change_tariff(principal, site_id, form.code.strip(), reason=reason)

    return _site_act(request, site_id, "tariff", s.ConsoleSiteTariffForm, act)


@console_page("POST", "/console/sites/{site_id}/autopay/stop", "Stop a site's auto-pay (the card forgotten), with "
              "a reason (audited)", SITE_ACT_STATUSES, form=s.ConsoleReasonForm)
def console_site_autopay_stop(request: Request, site_id: str) -> Response:
    from chalicelib.services import card_payments

    return _site_act(request, site_id, "autopay-stop", s.ConsoleReasonForm,
                     lambda principal, form: card_payments.stop_autopay(principal, site_id, _reason(form)))


@console_page("POST", "/console/sites/{site_id}/autopay/resume", "Allow a site's card payments again, with a "
              "reason (audited)", SITE_ACT_STATUSES, form=s.ConsoleReasonForm)
def console_site_autopay_resume(request: Request, site_id: str) -> Response:
    from chalicelib.services import sites

    return _site_act(request, site_id, "autopay-resume", s.ConsoleReasonForm,
                     lambda principal, form: sites.resume_autopay(principal, site_id, _reason(form)))


@console_page("POST", "/console/sites/{site_id}/delete", "Complete a site's deletion request, with a reason "
              "(audited)", SITE_ACT_STATUSES, form=s.ConsoleReasonForm)
def console_site_delete(request: Request, site_id: str) -> Response:
    from chalicelib.services import sites

    return _site_act(request, site_id, "delete", s.ConsoleReasonForm,
                     lambda principal, form: sites.complete_deletion(principal, site_id, _reason(form)))


@console_page("POST", "/console/sites/{site_id}/deletion/refuse", "Refuse a site's deletion request, with a reason "
              "the owner is told (audited)", SITE_ACT_STATUSES, form=s.ConsoleReasonForm)
def console_site_refuse_deletion(request: Request, site_id: str) -> Response:
    from chalicelib.services import sites

    return _site_act(request, site_id, "refuse", s.ConsoleReasonForm,
                     lambda principal, form: sites.refuse_deletion(principal, site_id, _reason(form)))


@console_page("POST", "/console/sites/{site_id}/invoices/{invoice_id}/write-off", "Write a site's open invoice "
              "off, with a reason (a ledger entry; audited)", SITE_ACT_STATUSES, form=s.ConsoleReasonForm)
def console_site_write_off(request: Request, site_id: str, invoice_id: str) -> Response:
    from chalicelib.services import service_invoices

    return _site_act(request, site_id, "write-off", s.ConsoleReasonForm,
                     lambda principal, form: service_invoices.write_off(principal, site_id, invoice_id,
                                                                        _reason(form)))


@console_page("POST", "/console/sites/{site_id}/credit/refund", "Send a site's credit back to whoever paid it, "
              "with a reason (audited)", SITE_ACT_STATUSES, form=s.ConsoleReasonForm)
def console_site_credit_refund(request: Request, site_id: str) -> Response:
    from chalicelib.services import sites

    return _site_act(request, site_id, "credit-refund", s.ConsoleReasonForm,
                     lambda principal, form: sites.refund_credit(principal, site_id, _reason(form)))


# --- tariffs ----------------------------------------------------------------------------------------------------

def _tariffs_page(request: Request, session: sessions.ConsoleSession, *, status: int = 200, error: str = "",
                  values: dict | None = None) -> Response:
    from chalicelib.money import periods, tariffs
    from chalicelib.platform import clock
    from chalicelib.services import tariff_catalog

    locale = _locale(request, session)
    return render_console(request, session, "console_tariffs.html.j2", status=status,
                          tariffs=tariff_catalog.list_all()["items"], error=error, values=values or {},
                          done=_done(request, locale), money=_money(locale),
                          next_month=tariffs.effective_period(clock.now()), this_month=periods.period_of(clock.now()),
                          tariff_url=lambda code: console_url(f"tariffs/{code}", locale),
                          add_action=console_url("tariffs", locale))


@console_page("GET", "/console/tariffs", "Tariffs: each with its current price and any scheduled one; a form to add "
              "one", (200, 401), query=("lang", "done"))
def console_tariffs(request: Request) -> Response:
    return _tariffs_page(request, current_session(request))


def _tariff(code: str) -> dict:
    from chalicelib.services import tariff_catalog

    found = [tariff for tariff in tariff_catalog.list_all()["items"] if tariff["code"] == code]
    if not found:
        raise PageProblem(*NO_TARIFF)
    return found[0]


def _tariff_page(request: Request, session: sessions.ConsoleSession, code: str, *, status: int = 200,
                 error: str = "", values: dict | None = None) -> Response:
    from chalicelib.money import tariffs
    from chalicelib.platform import clock
    from chalicelib.services import console as console_service

    locale = _locale(request, session)
    tariff = _tariff(code)
    return render_console(request, session, "console_tariffs_tariff.html.j2", status=status, tariff=tariff,
                          error=error, values=values or _tariff_values(tariff), done=_done(request, locale),
                          money=_money(locale), next_month=tariffs.effective_period(clock.now()),
                          action=console_url(f"tariffs/{code}", locale), tariffs_url=console_url("tariffs", locale),
                          audit=console_service.audit_records(session.principal, "", f"tariff#{code}")["records"])


@console_page("GET", "/console/tariffs/{code}", "One tariff to edit: its current and scheduled price, limits, "
              "features, whether it is offered, and its audit records", (200, 401, 404),
              query=("lang", "done"))
def console_tariff(request: Request, code: str) -> Response:
    return _tariff_page(request, current_session(request), code)


def _amount(text: str) -> int:
    """Hryvnias as written (`310`, `310.00`, `310,5`) in kopiykas; else bad_price."""
    try:
        value = Decimal(text.strip().replace(" ", "").replace(",", "."))
    except InvalidOperation:
        raise ActRefused("bad_price") from None
    if not value.is_finite() or value <= 0 or value != value.quantize(Decimal("0.01")) or value > 10**9:
        raise ActRefused("bad_price")
    return int(value * 100)


def _count(text: str) -> int:
    if not text.strip().isdigit():
        raise ActRefused("bad_limits")
    return int(text.strip())


def _features(text: str) -> list[str]:
    return [feature.strip() for feature in text.split(",") if feature.strip()]


def _tariff_body(form: Any, *, price_changed: bool) -> dict:
    body: dict = {"name": form.name.strip(), "limits": {"products": _count(form.products),
                                                        "orders_per_month": _count(form.orders_per_month)},
                  "features": _features(form.features)}
    if price_changed:
        body["price"] = {"amount": _amount(form.price), "currency": "UAH"}
    return body


FIELD_ERRORS = {"code": "bad_code", "name": "bad_name", "price": "bad_price", "limits": "bad_limits",
                "features": "bad_features"}


def _validated(schema: Any, body: dict) -> Any:
    """The tariff's fields by the API's own rules for them (TariffIn, TariffPatchIn)."""
    from pydantic import ValidationError

    try:
        return schema.model.model_validate(body)
    except ValidationError as invalid:
        first = str(invalid.errors()[0]["loc"][0])
        raise ActRefused(FIELD_ERRORS.get(first, "bad_name")) from None


def _scheduled(tariff: dict) -> dict:
    """The price the next billing months are billed at: the last scheduled one, or the current one."""
    return tariff["price_changes"][-1]["price"] if tariff["price_changes"] else tariff["price"]


def _tariff_values(tariff: dict) -> dict:
    scheduled = _scheduled(tariff)
    return {"name": tariff["name"], "price": f"{Decimal(scheduled['amount']).scaleb(-2):.2f}",
            "products": str(tariff["limits"]["products"]),
            "orders_per_month": str(tariff["limits"]["orders_per_month"]),
            "features": ", ".join(tariff["features"]), "active": "on" if tariff["active"] else "", "reason": ""}


@console_page("POST", "/console/tariffs", "Add a tariff, with a reason (audited)", (303, 400, 401, 403, 409, 422),
              form=s.ConsoleTariffForm)
def console_add_tariff(request: Request) -> Response:
    from chalicelib.services import tariff_catalog

    session = current_session(request)
    locale = _locale(request, session)
    values: dict = {}
    try:
        form = _checked(request, session, s.ConsoleTariffForm)
        values = form.model_dump(exclude={"csrf"})
        reason = _reason(form)
        body = _validated(s.TariffIn, {"code": form.code.strip(), **_tariff_body(form, price_changed=True)})
        tariff_catalog.create(session.principal, body.code, body.name, body.price.model_dump(),
                              body.limits.model_dump(), body.features, reason)
    except ActRefused as refused:
        return _tariffs_page(request, session, status=_status(refused.code, None), error=_error(locale, refused.code),
                             values=values)
    except DomainError as error:
        if not _refused_here(error):
            raise
        return _tariffs_page(request, session, status=_status(error.code, error), error=_error(locale, error.code),
                             values=values)
    return redirect(f"/console/tariffs/{body.code}?lang={locale}&done=tariff-added")


@console_page("POST", "/console/tariffs/{code}", "Change a tariff, with a reason (audited): name, limits, features "
              "and whether it is offered at once, a new price from the next billing month",
              (303, 400, 401, 403, 404, 422), form=s.ConsoleTariffForm)
def console_edit_tariff(request: Request, code: str) -> Response:
    from chalicelib.services import tariff_catalog

    session = current_session(request)
    locale = _locale(request, session)
    tariff = _tariff(code)
    values: dict = {}
    try:
        form = _checked(request, session, s.ConsoleTariffForm)
        values = form.model_dump(exclude={"csrf"})
        reason = _reason(form)
        price_changed = _amount(form.price) != int(_scheduled(tariff)["amount"])
        body = _validated(s.TariffPatchIn, {**_tariff_body(form, price_changed=price_changed),
                                            "active": form.active == "on"})
        tariff_catalog.update(session.principal, code, body.model_dump(exclude_unset=True), reason)
    except ActRefused as refused:
        return _tariff_page(request, session, code, status=_status(refused.code, None),
                            error=_error(locale, refused.code), values=values)
    except DomainError as error:
        if not _refused_here(error):
            raise
        return _tariff_page(request, session, code, status=_status(error.code, error),
                            error=_error(locale, error.code), values=values)
    return redirect(f"/console/tariffs/{code}?lang={locale}&done=tariff-saved")


"""The console's deals sections: disputes (`/console/disputes`) and contractors (`/console/contractors`).

A dispute's page shows the frozen terms, the money held and the whole thread with its files (opened through
`/console/disputes/{deal_id}/files/{file_id}`, which hands the operator's session a fresh short-lived link); its
split form takes the two amounts as the operator types them and checks them here — valid money, not negative,
adding up to what is held, with a reason — before the flow's resolve use case (the API's) sees them. A wrong
split is the form again with what is wrong, and changes nothing. A contractor is found by e-mail, id or name
(`profiles.search`), and his page carries the level override (`profiles.set_level`, the API's), with a reason.
Both acts are recorded in the audit log by their use cases."""
from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from chalice import Response
from chalice.app import Request

from chalicelib.entrypoints.api.http import schema_names as s
from chalicelib.entrypoints.web import console, cookies
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
from chalicelib.entrypoints.web.pages import _query
from chalicelib.entrypoints.web.render import translate
from chalicelib.money.amounts import MAX_AMOUNT_MINOR, format_amount, precision
from chalicelib.platform.errors import Conflict, NotFound, Unprocessable
from chalicelib.platform.i18n import N_

console.PROBLEMS.update({
    "invalid_cursor": (400, N_("This list's link is out of date"), N_(
        "The link to the next part of this list is not valid for you or for this list. Open the list again.")),
    "not_found": (404, N_("Nothing is here"), N_(
        "What this address names does not exist, or is not yours to see. Go back to the list and pick it again.")),
})

DISPUTES_PAGE = 50  # disputes listed per page, oldest first
_ID = re.compile(r"^[A-Za-z0-9_:#.-]{1,100}$")
_AMOUNT = re.compile(r"^(\d+)(?:[.,](\d*))?$")

ENTER_AMOUNT = N_("Enter an amount.")
NEGATIVE = N_("An amount cannot be negative.")
NOT_MONEY = N_("Write the amount in digits, with at most %(places)s digits after the point, e.g. %(example)s.")
TOO_LARGE = N_("This amount is larger than any deal can hold.")
MISMATCH = N_("The two amounts must add up to the money held, %(held)s; these add up to %(total)s.")
NO_REASON = N_("Give the reason for the decision.")
NOT_OPEN = N_("This dispute is no longer open: it was decided meanwhile. Nothing was changed.")
REFUSED_SPLIT = N_("The split was refused: the amounts must add up to the money held. Nothing was changed.")
NO_LEVEL = N_("Choose one of the levels.")
NO_LEVEL_REASON = N_("Give the reason for the change.")


def _checked_id(value: str) -> str:
    if not _ID.match(value):
        raise NotFound("not_found", "No such item")
    return value


def _locale(request: Request, session: Any) -> str:
    return locale_of(request, session.principal.user.locale)


def _money(currency: str, locale: str) -> Any:
    return lambda minor: format_amount(int(minor or 0), currency, locale)


def _plain(minor: int, currency: str) -> str:
    """An amount as the form takes it: `150.00`."""
    places = precision(currency)
    return f"{Decimal(minor).scaleb(-places):.{places}f}"


def parse_amount(raw: str, currency: str) -> tuple[int | None, str | None, dict]:
    """The minor units of a typed amount (`60`, `60.5`, `60,50`), or the message saying what is wrong."""
    text = raw.strip().replace(" ", "").replace("\u00a0", "")
    places = precision(currency)
    if not text:
        return None, ENTER_AMOUNT, {}
    if text.startswith("-"):
        return None, NEGATIVE, {}
    match = _AMOUNT.match(text)
    if match is None or len(match.group(1)) > 30 or len(match.group(2) or "") > places or (
            places == 0 and match.group(2) is not None):
        return None, NOT_MONEY, {"places": places, "example": _plain(6000 * 10 ** max(places - 2, 0), currency)}
    minor = int(match.group(1)) * 10 ** places + int((match.group(2) or "").ljust(places, "0") or 0)
    if minor > MAX_AMOUNT_MINOR[currency]:
        return None, TOO_LARGE, {}
    return minor, None, {}


# Disputes -----------------------------------------------------------------------------------------------------

@console_page("GET", "/console/disputes", "Open disputes of orders, contracts and tasks, oldest first, with the money "
               "each holds", (200, 400, 401), query=("lang", "cursor"))
def console_disputes(request: Request) -> Response:
    from chalicelib.services import disputes
    from chalicelib.services.pagination import list_scope

    session = current_session(request)
    locale = _locale(request, session)
    cursor = _query(request, "cursor")
    with list_scope(f"console-disputes:{session.principal.user_id}"):
        listed = disputes.queue(session.principal, DISPUTES_PAGE, cursor)
    rows = [{"id": item["id"], "kind": item["kind"], "title": item["title"],
             "held": format_amount(item["held"], item["currency"], locale),
             "opened_at": (item.get("dispute") or {}).get("opened_at") or "",
             "opened_by": (item.get("dispute") or {}).get("by") or "",
             "reason": (item.get("dispute") or {}).get("reason") or "",
             "url": console_url(f"disputes/{item['id']}", locale)} for item in listed["items"]]
    more = console_url("disputes", locale, cursor=listed["next_cursor"]) if listed["next_cursor"] else ""
    return render_console(request, session, "console_disputes.html.j2", rows=rows, more_url=more)


def _dispute_page(request: Request, session: Any, deal_id: str, *, status: int = 200, errors: dict | None = None,
                  values: dict | None = None) -> Response:
    from chalicelib.services import disputes

    locale = _locale(request, session)
    view = disputes.show(session.principal, deal_id)
    currency = view["currency"]
    files_url = {}
    for step in [*view["thread"], *view["messages"]]:
        for f in step["files"]:
            files_url[f["id"]] = console_url(f"disputes/{deal_id}/files/{f['id']}", locale)
    return render_console(request, session, "console_disputes_one.html.j2", status=status, dispute=view,
                          money=_money(currency, locale), held_plain=_plain(view["held"], currency),
                          files_url=files_url, errors=errors or {}, values=values or {},
                          action=console_url(f"disputes/{deal_id}/resolve", locale),
                          back_url=console_url("disputes", locale),
                          object_audit_url=console_url("audit", locale, object=f"{view['kind']}#{deal_id}"))


@console_page("GET", "/console/disputes/{deal_id}", "A dispute: the frozen terms, the money held, the whole thread "
               "with its files, and the split form", (200, 401, 404))
def console_dispute(request: Request, deal_id: str) -> Response:
    return _dispute_page(request, current_session(request), _checked_id(deal_id))


@console_page("POST", "/console/disputes/{deal_id}/resolve", "Split a dispute's money between the client and the "
               "contractor, with a reason (CSRF-protected; checked before the resolve use case the API calls)",
               (303, 400, 401, 403, 404, 409, 422), form=s.ConsoleSplitForm)
def console_resolve_dispute(request: Request, deal_id: str) -> Response:
    from chalicelib.services import disputes

    form = console_form(request, s.ConsoleSplitForm)
    session = current_session(request)
    require_csrf(form, session.csrf)
    deal_id = _checked_id(deal_id)
    locale = _locale(request, session)
    view = disputes.show(session.principal, deal_id)
    values = {"to_client": form.to_client, "to_contractor": form.to_contractor, "reason": form.reason}
    if not view["open"]:
        return _dispute_page(request, session, deal_id, status=409, errors={"form": translate(locale, NOT_OPEN)},
                             values=values)
    errors: dict[str, str] = {}
    amounts: dict[str, int] = {}
    for field in ("to_client", "to_contractor"):
        minor, problem, params = parse_amount(getattr(form, field), view["currency"])
        if problem is not None:
            errors[field] = translate(locale, problem) % params if params else translate(locale, problem)
        else:
            amounts[field] = int(minor or 0)
    if not errors and amounts["to_client"] + amounts["to_contractor"] != view["held"]:
        money = _money(view["currency"], locale)
        errors["split"] = translate(locale, MISMATCH) % {
            "held": money(view["held"]), "total": money(amounts["to_client"] + amounts["to_contractor"])}
    if not form.reason.strip():
        errors["reason"] = translate(locale, NO_REASON)
    if errors:
        return _dispute_page(request, session, deal_id, status=422, errors=errors, values=values)
    try:
        disputes.resolve(session.principal, deal_id, amounts["to_client"], amounts["to_contractor"],
                         form.reason.strip())
    except Unprocessable:
        return _dispute_page(request, session, deal_id, status=422,
                             errors={"split": translate(locale, REFUSED_SPLIT)}, values=values)
    except Conflict:
        return _dispute_page(request, session, deal_id, status=409, errors={"form": translate(locale, NOT_OPEN)},
                             values=values)
    return redirect(f"/console/disputes/{deal_id}?lang={locale}")


@console_page("GET", "/console/disputes/{deal_id}/files/{file_id}", "Open a file of a dispute's thread: a redirect to "
               "a fresh short-lived download link, for an operator's session", (303, 401, 404))
def console_dispute_file(request: Request, deal_id: str, file_id: str) -> Response:
    from chalicelib.services import disputes

    session = current_session(request)
    link = disputes.file_link(session.principal, _checked_id(deal_id), _checked_id(file_id))
    response = redirect("")
    response.headers["Location"] = link if link.startswith(("https://", "http://")) else cookies.base_url() + link
    return response


# Contractors --------------------------------------------------------------------------------------------------

@console_page("GET", "/console/contractors", "Find a contractor by e-mail, id or a part of the name", (200, 401),
               query=("lang", "who"))
def console_contractors(request: Request) -> Response:
    from chalicelib.services import profiles

    session = current_session(request)
    locale = _locale(request, session)
    wanted = " ".join((_query(request, "who") or "").split())[:254]
    if any(not ch.isprintable() for ch in wanted):
        wanted = ""
    found: dict[str, Any] = profiles.search(session.principal, wanted) if wanted else {"items": [], "complete": True}
    rows = [{**item, "url": console_url(f"contractors/{item['id']}", locale)} for item in found["items"]]
    return render_console(request, session, "console_contractors.html.j2", rows=rows, wanted=wanted,
                          complete=found["complete"], searched=bool(wanted), scanned=profiles.NAME_SCAN_ITEMS)


def _contractor_page(request: Request, session: Any, user_id: str, *, status: int = 200,
                     errors: dict | None = None, values: dict | None = None) -> Response:
    from chalicelib.services import profiles

    locale = _locale(request, session)
    view = profiles.operator_view(session.principal, user_id)
    return render_console(request, session, "console_contractors_one.html.j2", status=status, contractor=view,
                          errors=errors or {}, values=values or {},
                          action=console_url(f"contractors/{user_id}/level", locale),
                          back_url=console_url("contractors", locale),
                          object_audit_url=console_url("audit", locale, object=f"user#{user_id}"))


@console_page("GET", "/console/contractors/{user_id}", "A contractor: his level (earned or set by an operator), "
               "his record, and the level override form", (200, 401, 404))
def console_contractor(request: Request, user_id: str) -> Response:
    return _contractor_page(request, current_session(request), _checked_id(user_id))


@console_page("POST", "/console/contractors/{user_id}/level", "Set a contractor's level, with a reason "
               "(CSRF-protected; the use case the API calls)", (303, 400, 401, 403, 404, 422),
               form=s.ConsoleLevelForm)
def console_set_level(request: Request, user_id: str) -> Response:
    from chalicelib.platform.config import settings
    from chalicelib.services import profiles

    form = console_form(request, s.ConsoleLevelForm)
    session = current_session(request)
    require_csrf(form, session.csrf)
    user_id = _checked_id(user_id)
    locale = _locale(request, session)
    errors: dict[str, str] = {}
    if form.level not in settings.offer_levels:
        errors["level"] = translate(locale, NO_LEVEL)
    if not form.reason.strip():
        errors["reason"] = translate(locale, NO_LEVEL_REASON)
    if errors:
        return _contractor_page(request, session, user_id, status=422, errors=errors,
                                values={"level": form.level, "reason": form.reason})
    profiles.set_level(session.principal, user_id, form.level, form.reason.strip())
    return redirect(f"/console/contractors/{user_id}?lang={locale}")

"""The operator console's pages (`/console`): log-in with e-mail, password and a TOTP code, the TOTP enrolment at
an operator's first log-in (a QR code drawn here by `segno`, inline SVG, and the secret as text), the home page
and the audit log. Server-rendered like the other pages, in the reader's language.

Before log-in a signed form cookie (`escrowdesk_console_form`) carries the form's CSRF token and, while enrolling,
who is enrolling. The session is another cookie (`escrowdesk_console`): HttpOnly, SameSite=Strict, Secure over
HTTPS, 8 hours, checked against the user record on every page (`chalicelib/access/sessions.py`). Every form
carries its CSRF token; a POST from another origin is refused. Every refusal is a page that says what is wrong."""
from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from typing import Any

from chalice import Blueprint, Response
from chalice.app import Request

from chalicelib.access import sessions
from chalicelib.entrypoints.api.http import Schema
from chalicelib.entrypoints.api.http import schema_names as s
from chalicelib.entrypoints.web import cookies
from chalicelib.entrypoints.web.pages import (
    BAD_FORM,
    NOT_HERE,
    PageProblem,
    _browser_language,
    _query,
    page_response,
    parse_form,
    register_page,
    require_form_shape,
    see_other,
)
from chalicelib.entrypoints.web.render import page, translate
from chalicelib.platform import i18n
from chalicelib.platform.errors import BadRequest, DomainError, TooManyRequests
from chalicelib.platform.i18n import N_
from chalicelib.platform.observability import logger

bp = Blueprint(__name__)
SESSION, FORM = "escrowdesk_console", "escrowdesk_console_form"

SESSION_ENDED = (401, N_("Log in to the console"), N_(
    "You are not logged in to the console, or your session has ended (8 hours, a log-out, or a change of your "
    "password or role). Log in again."))
STALE = (403, N_("This form is out of date"), N_(
    "This form is out of date or was not sent from this page. Open the log-in page again."))
PROBLEMS: dict[str, tuple[int, str, str]] = {
    "console_session_ended": SESSION_ENDED,
    "enrolment_ended": (409, N_("This enrolment has ended"), N_(
        "This enrolment has ended, or your password changed meanwhile. Log in again.")),
    "operator_only": (403, N_("Only for operators"), N_("The console is only for the platform's operators.")),
}
# The messages of a refused log-in, shown on the log-in page itself.
LOGIN_ERRORS = {
    "invalid_credentials": N_("The e-mail or the password is wrong."),
    "wrong_totp_code": N_("The code from the authenticator app is wrong or was already used. Wait for the next "
                          "code and try again."),
    "operator_only": N_("The console is only for the platform's operators."),
}
TOO_MANY = N_("Too many failed log-ins. Wait a few minutes and try again.")


def console_path() -> str:
    return urllib.parse.urlsplit(cookies.base_url()).path + "/console"


html = page_response


def redirect(path: str, cookie: str | list[str] | None = None) -> Response:
    """A 303 to `path` below the service's address."""
    return see_other(cookies.base_url() + path, cookie)


def locale_of(request: Request, fallback: str | None = None) -> str:
    asked = _query(request, "lang")
    return i18n.resolve_locale(asked or fallback or _browser_language(request))


def console_problem(locale: str, status: int, title: str, message: str) -> Response:
    return html(status, page("console_problem.html.j2", locale, title=translate(locale, title),
                              message=translate(locale, message), login_url=console_path() + "/login",
                              switch_language=False))


def console_page(method: str, path: str, summary: str, statuses: tuple[int, ...], form: Schema | None = None,
                 query: tuple[str, ...] = ("lang",)) -> Callable:
    """Register a console page and describe it in OpenAPI; its refusals are pages in the reader's language."""
    return register_page(bp, method, path, summary, statuses, tag="console", form=form, query=query,
                         locale=locale_of, problem=console_problem, problems=PROBLEMS)


def form_cookie(request: Request, kind: str) -> cookies.LinkState:
    state = cookies.read(request.headers.get("cookie"), kind, name=FORM)
    if state is None:
        raise PageProblem(*STALE)
    return state


def _seal(kind: str, token: str, locale: str) -> tuple[cookies.LinkState, str]:
    return cookies.seal(kind, token, locale, name=FORM, path=console_path(), same_site="Strict")


def console_form(request: Request, schema: Schema) -> Any:
    """The POSTed form, well formed and from our own origin (checked before any cookie, so junk is a 400)."""
    return parse_form(request, schema, STALE)


def require_csrf(form: Any, csrf: str) -> None:
    if not cookies.csrf_matches(cookies.LinkState("", "", csrf, ""), getattr(form, "csrf", None)):
        logger.warning("console form without its CSRF token")
        raise PageProblem(*STALE)


def current_session(request: Request) -> sessions.ConsoleSession:
    """The operator's session (else the session-ended page); a POST's body is looked at first (a 400 for junk)."""
    require_form_shape(request)
    return sessions.console(cookies.cookie_value(request.headers.get("cookie"), SESSION))


def session_cookie(value: str, max_age: int) -> str:
    return cookies.set_cookie(value, max_age, name=SESSION, path=console_path(), same_site="Strict")


def _source_ip(request: Request) -> str:
    identity = (request.context or {}).get("identity") or {}
    return str(identity.get("sourceIp") or "unknown")


# Log-in and enrolment ----------------------------------------------------------------------------------------

def _login_page(request: Request, state: cookies.LinkState, *, status: int = 200, error: str = "", email: str = "",
                cookie: str | None = None) -> Response:
    return html(status, page("console_login.html.j2", locale_of(request, state.locale), csrf=state.csrf, error=error,
                              email=email, action=cookies.base_url() + "/console/login", switch_language=True),
                 cookie)


@console_page("GET", "/console/login", "The operator console's log-in page: e-mail, password and the TOTP code",
               (200,))
def console_login_page(request: Request) -> Response:
    state, cookie = _seal("console-login", "", locale_of(request))
    return _login_page(request, state, cookie=cookie)


@console_page("POST", "/console/login", "Log in to the console (CSRF-protected, throttled like the API's log-in); "
               "a first log-in leads to the TOTP enrolment", (303, 400, 401, 403, 429), form=s.ConsoleLoginForm)
def console_login(request: Request) -> Response:
    from chalicelib.services import console

    form = console_form(request, s.ConsoleLoginForm)
    state = form_cookie(request, "console-login")
    require_csrf(form, state.csrf)
    locale = locale_of(request, state.locale)
    try:
        result = console.log_in(form.email, form.password, form.code, _source_ip(request))
    except TooManyRequests:
        return _login_page(request, state, status=429, error=translate(locale, TOO_MANY), email=form.email)
    except DomainError as error:
        if error.code not in LOGIN_ERRORS:
            raise
        return _login_page(request, state, status=error.status, error=translate(locale, LOGIN_ERRORS[error.code]),
                           email=form.email)
    if result.enrol:
        _, cookie = _seal("console-enrol", f"{result.user.id}:{int(result.user.token_epoch or 0)}", locale)
        return redirect(f"/console/enrol?lang={locale}", cookie)
    return redirect(f"/console?lang={locale}", session_cookie(sessions.open_console(result.user),
                                                                sessions.CONSOLE_SESSION_SECONDS))


def _enrolling(state: cookies.LinkState) -> tuple[str, int]:
    user_id, _, epoch = state.token.partition(":")
    if not user_id or not epoch.isdigit():
        raise PageProblem(*STALE)
    return user_id, int(epoch)


def _enrol_page(request: Request, state: cookies.LinkState, *, status: int = 200, error: str = "") -> Response:
    import segno

    from chalicelib.access import totp
    from chalicelib.services import console

    user, secret = console.pending_secret(*_enrolling(state))
    qr = segno.make(totp.provisioning_uri(secret, user.email), error="m").svg_inline(scale=5, light="#fff")
    grouped = " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
    return html(status, page("console_enrol.html.j2", locale_of(request, state.locale), csrf=state.csrf, error=error,
                              qr=qr, secret=grouped, email=user.email, switch_language=True,
                              action=cookies.base_url() + "/console/enrol"))


@console_page("GET", "/console/enrol", "The TOTP enrolment at an operator's first log-in: the QR code and the "
               "secret", (200, 403, 409))
def console_enrol_page(request: Request) -> Response:
    return _enrol_page(request, form_cookie(request, "console-enrol"))


@console_page("POST", "/console/enrol", "Confirm the TOTP enrolment with a code (CSRF-protected): the session starts",
               (303, 400, 403, 409, 422), form=s.ConsoleCodeForm)
def console_enrol(request: Request) -> Response:
    from chalicelib.services import console

    form = console_form(request, s.ConsoleCodeForm)
    state = form_cookie(request, "console-enrol")
    require_csrf(form, state.csrf)
    locale = locale_of(request, state.locale)
    try:
        user = console.confirm_enrolment(*_enrolling(state), form.code)
    except DomainError as error:
        if error.code != "wrong_totp_code":
            raise
        return _enrol_page(request, state, status=422, error=translate(locale, LOGIN_ERRORS[error.code]))
    return redirect(f"/console?lang={locale}", [
        session_cookie(sessions.open_console(user), sessions.CONSOLE_SESSION_SECONDS),
        cookies.set_cookie("", 0, name=FORM, path=console_path(), same_site="Strict")])


@console_page("POST", "/console/logout", "Log out of the console (CSRF-protected): the session ends",
               (303, 400, 401, 403), form=s.ConsoleLogoutForm)
def console_logout(request: Request) -> Response:
    form = console_form(request, s.ConsoleLogoutForm)
    session = current_session(request)
    require_csrf(form, session.csrf)
    sessions.log_out(session.principal)
    return redirect(f"/console/login?lang={locale_of(request, session.principal.user.locale)}",
                     session_cookie("", 0))


# The console's pages ------------------------------------------------------------------------------------------

# The console's sections, in the navigation's order: (path under /console, its name).
SECTIONS = (("payments", N_("Unmatched payments")), ("disputes", N_("Disputes")), ("sites", N_("Sites")),
            ("tariffs", N_("Tariffs")), ("contractors", N_("Contractors")), ("payouts", N_("Payouts")),
            ("books", N_("Books")), ("audit", N_("Audit log")))


def console_url(path: str, locale: str, **query: str) -> str:
    """A console page's address in the reader's language: `console_url("sites/s1", "ru", q="x")`."""
    tail = urllib.parse.urlencode({"lang": locale, **{key: value for key, value in query.items() if value}})
    return f"{cookies.base_url()}/console{'/' + path if path else ''}?{tail}"


def render_console(request: Request, session: sessions.ConsoleSession, template: str, *, status: int = 200,
                   **context: Any) -> Response:
    """A console page for a logged-in operator: the navigation, his e-mail, log-out and the CSRF token for forms;
    `lang` is the reader's language for links and forms."""
    locale = locale_of(request, session.principal.user.locale)
    sections = [(console_url(path, locale), translate(locale, name)) for path, name in SECTIONS]
    return html(status, page(template, locale, csrf=session.csrf, operator=session.principal.user.email,
                             home_url=console_url("", locale), audit_url=console_url("audit", locale),
                             sections=sections, lang=locale, logout_action=console_url("logout", locale),
                             switch_language=True, **context))


@console_page("GET", "/console", "The operator console's home page", (200, 401))
def console_home(request: Request) -> Response:
    return render_console(request, current_session(request), "console_home.html.j2")


@console_page("GET", "/console/audit", "The audit log: every operator's act, filterable by operator and by object "
               "(read-only), newest first, a page at a time (`cursor`: the next page's link)", (200, 400, 401),
               query=("lang", "operator", "object", "cursor"))
def console_audit(request: Request) -> Response:
    from chalicelib.services import console, pagination

    session = current_session(request)
    operator, subject = (_query(request, "operator") or "")[:254], (_query(request, "object") or "")[:200]
    cursor = _query(request, "cursor") or None
    if any(not ch.isprintable() for ch in operator + subject):
        raise PageProblem(*BAD_FORM)
    # A cursor pages only the list it came from: this operator's, with these filters.
    with pagination.list_scope(f"console-audit\n{session.principal.user.id}\n{operator}\n{subject}"):
        try:
            found = console.audit_records(session.principal, operator, subject, cursor)
        except BadRequest as error:
            if error.code != "invalid_cursor":
                raise
            raise PageProblem(400, *NOT_HERE[1:]) from None
    locale = locale_of(request, session.principal.user.locale)
    next_url = console_url("audit", locale, operator=operator, object=subject,
                           cursor=found["next_cursor"]) if found["next_cursor"] else ""
    return render_console(request, session, "console_audit.html.j2", records=found["records"],
                          operator_filter=operator, object_filter=subject, next_url=next_url,
                          first_url=console_url("audit", locale, operator=operator, object=subject) if cursor else "")


# The sections' pages register on this blueprint with `console_page`: their modules are imported here, after
# everything they use from this one is defined.
from chalicelib.entrypoints.web import console_deals, console_money, console_sites  # noqa: E402,F401

"""The site owner's billing section (`/billing/{site_id}`), seed 003's screen as pages: log-in at `/web/login` with
the API's accounts (throttled like the API's log-in), the list of his sites at `/billing`, and each site's section
made of blocks — the domains and service code, requisites, Vchasno, contracts, tariff, payment method, invoices,
acts, deletion — in the seed's order.

The session is a cookie (`escrowdesk_web`): HttpOnly, SameSite=Lax (the section is opened from e-mails' links),
Secure over HTTPS, 12 hours, checked against the user record on every page (`chalicelib/access/sessions.py`).
Before log-in the pages' link cookie carries the log-in form's CSRF token. Every form carries the session's CSRF
token; a POST from another origin is refused. A refusal is a page that says what is wrong, in the reader's language:
the section speaks Ukrainian unless `?lang=` asks for Russian, English or Persian.

A block is a function registered with `@block(name)` that returns what its template
(`billing_block_<name>.html.j2`) needs; the site's page draws the registered blocks in `BLOCK_ORDER`. A block's
forms post to its own routes (`billing_page`), which call the same use cases as the API and redirect back."""
from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chalice import Blueprint, Response
from chalice.app import Request

from chalicelib.access import sessions
from chalicelib.entrypoints.api.http import Schema
from chalicelib.entrypoints.api.http import schema_names as s
from chalicelib.entrypoints.web import cookies
from chalicelib.entrypoints.web.pages import (
    BAD_FORM,
    PageProblem,
    _query,
    page_response,
    parse_form,
    register_page,
    require_form_shape,
    see_other,
)
from chalicelib.entrypoints.web.render import page, translate
from chalicelib.platform import i18n
from chalicelib.platform.errors import DomainError, TooManyRequests
from chalicelib.platform.i18n import N_
from chalicelib.platform.observability import logger

bp = Blueprint(__name__)
SESSION = "escrowdesk_web"
DEFAULT_LOCALE = "uk"  # the billing section's language unless the reader asks for another

SESSION_ENDED = (401, N_("Log in to your account"), N_(
    "You are not logged in, or your session has ended (12 hours, a log-out, or a change of your password). "
    "Log in again."))
STALE = (403, N_("This form is out of date"), N_(
    "This form is out of date or was not sent from this page. Open the page again and repeat."))
NOT_YOURS = (404, N_("No such site"), N_("There is no such site among yours."))
# Refusals shown as a page of their own; a block's module adds the codes its forms can meet.
PROBLEMS: dict[str, tuple[int, str, str]] = {
    "web_session_ended": SESSION_ENDED,
    "not_found": NOT_YOURS,
    "owner_only": NOT_YOURS,
    "site_deleted": (409, N_("The site is deleted"), N_("This site is deleted: its billing section is closed.")),
}
LOGIN_ERRORS = {"invalid_credentials": N_("The e-mail or the password is wrong.")}
TOO_MANY = N_("Too many failed log-ins. Wait a few minutes and try again.")

# The section's blocks in the seed's order; a block module registers its own with `@block`.
BLOCK_ORDER = ("identity", "requisites", "vchasno", "contracts", "tariff", "payment", "invoices", "acts",
               "deletion")


@dataclass(frozen=True)
class Reader:
    """Who reads a billing page: his session (principal and CSRF token) and the page's language."""

    session: sessions.WebSession
    locale: str
    memo: dict[str, Any] = field(default_factory=dict)  # what the page's blocks share (the site's view)

    @property
    def principal(self):  # type: ignore[no-untyped-def]
        return self.session.principal


BlockView = Callable[[Reader, str], dict[str, Any]]
BLOCKS: dict[str, BlockView] = {}
BANNER: Callable[[Reader, str], dict[str, Any] | None] | None = None  # a site that owes: billing_banner.html.j2


def block(name: str) -> Callable[[BlockView], BlockView]:
    """Register the view of the site page's block `name` (one of BLOCK_ORDER): `view(reader, site_id)` returns
    what `billing_block_<name>.html.j2` needs."""
    if name not in BLOCK_ORDER:
        raise ValueError(f"unknown billing block {name}")

    def register(view: BlockView) -> BlockView:
        BLOCKS[name] = view
        return view

    return register


def section_path() -> str:
    """The cookie's path: the service's root below APP_URL, since the section spans /web/login and /billing."""
    return urllib.parse.urlsplit(cookies.base_url()).path or "/"


def billing_url(path: str, locale: str, **query: str) -> str:
    """A page's address in the reader's language: `billing_url("/billing/s1", "ru")`."""
    tail = urllib.parse.urlencode({"lang": locale, **{key: value for key, value in query.items() if value}})
    return f"{cookies.base_url()}{path}?{tail}"


def locale_of(request: Request) -> str:
    asked = _query(request, "lang")
    return i18n.resolve_locale(asked) if asked else DEFAULT_LOCALE


html = page_response
redirect = see_other  # to a whole address, from `billing_url`, after a form: post, redirect, get


def problem_page(locale: str, status: int, title: str, message: str) -> Response:
    return html(status, page("billing_problem.html.j2", locale, title=translate(locale, title),
                             message=translate(locale, message),
                             login_url=billing_url("/web/login", locale), switch_language=False))


def billing_page(method: str, path: str, summary: str, statuses: tuple[int, ...], form: Schema | None = None,
                 query: tuple[str, ...] = ("lang",), produces: str = "text/html") -> Callable:
    """Register a page of the billing section and describe it in OpenAPI; its refusals are pages in the reader's
    language (never a 500: an unexpected failure is logged and answered with a page that says so)."""
    return register_page(bp, method, path, summary, statuses, tag="billing", form=form, query=query,
                         locale=locale_of, problem=problem_page, problems=PROBLEMS, produces=produces)


def reader(request: Request) -> Reader:
    """The logged-in owner reading this page (else the session-ended page). A POST's body is looked at first:
    junk, or a form that is not one of ours (no CSRF field), is a 400 whoever sends it."""
    require_form_shape(request)
    session = sessions.web(cookies.cookie_value(request.headers.get("cookie"), SESSION))
    return Reader(session, locale_of(request))


def owner_form(request: Request, schema: Schema, who: Reader) -> Any:
    """A POSTed form of the section: from this origin, well formed, with the session's CSRF token."""
    form = parse_form(request, schema, STALE)
    if not cookies.csrf_matches(cookies.LinkState("", "", who.session.csrf, ""), getattr(form, "csrf", None)):
        logger.warning("billing form without its CSRF token")
        raise PageProblem(*STALE)
    return form


def render(who: Reader, template: str, *, status: int = 200, **context: Any) -> Response:
    """A page of the section for a logged-in owner: his e-mail, log-out, the CSRF token and the language switch."""
    context.setdefault("read_only", False)  # the blocks' forms; an operator's console reads them without
    return html(status, page(template, who.locale, csrf=who.session.csrf, owner=who.principal.user.email,
                             lang=who.locale, sites_url=billing_url("/billing", who.locale),
                             logout_action=billing_url("/web/logout", who.locale), switch_language=True,
                             **context))


def _session_cookie(value: str, max_age: int) -> str:
    return cookies.set_cookie(value, max_age, name=SESSION, path=section_path(), same_site="Lax")


def _source_ip(request: Request) -> str:
    identity = (request.context or {}).get("identity") or {}
    return str(identity.get("sourceIp") or "unknown")


# Log-in and log-out ---------------------------------------------------------------------------------------------

def _login_page(request: Request, state: cookies.LinkState, *, status: int = 200, error: str = "", email: str = "",
                cookie: str | None = None) -> Response:
    locale = locale_of(request)
    return html(status, page("billing_login.html.j2", locale, csrf=state.csrf, error=error, email=email,
                             action=billing_url("/web/login", locale), switch_language=True), cookie)


@billing_page("GET", "/web/login", "The site owners' log-in page (e-mail and password) for the billing section",
              (200,))
def web_login_page(request: Request) -> Response:
    state, cookie = cookies.seal("web-login", "", locale_of(request))
    return _login_page(request, state, cookie=cookie)


@billing_page("POST", "/web/login", "Log in to the billing section (CSRF-protected, throttled like the API's "
              "log-in): the session starts", (303, 400, 401, 403, 429), form=s.WebLoginForm)
def web_login(request: Request) -> Response:
    from chalicelib.services import accounts

    form = parse_form(request, s.WebLoginForm, STALE)
    state = cookies.read(request.headers.get("cookie"), "web-login")
    if state is None or not cookies.csrf_matches(state, form.csrf):
        raise PageProblem(*STALE)
    locale = locale_of(request)
    try:
        user = accounts.check_login(form.email, form.password, _source_ip(request))
    except TooManyRequests:
        return _login_page(request, state, status=429, error=translate(locale, TOO_MANY), email=form.email)
    except DomainError as error:
        if error.code not in LOGIN_ERRORS:
            raise
        return _login_page(request, state, status=error.status, error=translate(locale, LOGIN_ERRORS[error.code]),
                           email=form.email)
    return redirect(billing_url("/billing", locale), [_session_cookie(sessions.open_web(user),
                                                                      sessions.WEB_SESSION_SECONDS),
                                                      cookies.clear()])


@billing_page("POST", "/web/logout", "Log out of the billing section (CSRF-protected): the session ends",
              (303, 400, 401, 403), form=s.WebLogoutForm)
def web_logout(request: Request) -> Response:
    who = reader(request)
    owner_form(request, s.WebLogoutForm, who)
    sessions.log_out(who.principal)
    return redirect(billing_url("/web/login", who.locale), _session_cookie("", 0))


# The owner's sites and a site's section ----------------------------------------------------------------------------

@billing_page("GET", "/billing", "The billing section: the owner's sites, each a link to its section", (200, 401))
def billing_sites(request: Request) -> Response:
    from chalicelib.services import sites

    who = reader(request)
    mine = sites.list_mine(who.principal, 100, None)["items"]
    return render(who, "billing_sites.html.j2",
                  sites=[{**site, "url": billing_url(f"/billing/{site['id']}", who.locale)} for site in mine])


def site_view(who: Reader, site_id: str) -> dict[str, Any]:
    """The site as its owner sees it (an operator reads it too); anyone else: not found."""
    from chalicelib.services import sites

    if len(site_id) > 64 or not site_id.isprintable():
        raise PageProblem(*BAD_FORM)
    if site_id not in who.memo:
        who.memo[site_id] = sites.get(who.principal, site_id)
    return who.memo[site_id]


@billing_page("GET", "/billing/{site_id}", "A site's billing section as seed 003 draws it: every block, in the "
              "owner's language", (200, 401, 404))
def billing_site(request: Request, site_id: str) -> Response:
    who = reader(request)
    site = site_view(who, site_id)
    blocks = [(name, BLOCKS[name](who, site_id)) for name in BLOCK_ORDER if name in BLOCKS]
    return render(who, "billing_site.html.j2", site=site, blocks=blocks,
                  site_url=billing_url(f"/billing/{site_id}", who.locale),
                  banner=BANNER(who, site_id) if BANNER else None)


def owner_view(session: sessions.ConsoleSession, site_id: str, locale: str) -> list[tuple[str, dict[str, Any]]]:
    """The site's blocks as its owner sees them, for the operators' console: the same views, drawn there with
    `read_only` (no forms, no owner's downloads)."""
    who = Reader(session, locale)
    return [(name, BLOCKS[name](who, site_id)) for name in BLOCK_ORDER if name in BLOCKS]


@block("identity")
def identity(who: Reader, site_id: str) -> dict[str, Any]:
    """The domains, the service code and the owner contact: read-only, with how to change the contact."""
    site = site_view(who, site_id)
    return {"service_code": site["service_code"], "domains": site["domains"], "owner": site["owner"]}


# The blocks' modules register their views and forms on this blueprint: they are imported here, after everything
# they use from this one is defined.
from chalicelib.entrypoints.web import billing_documents, billing_plan  # noqa: E402,F401

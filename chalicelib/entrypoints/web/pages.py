"""The pages' routes: each link's GET (check the token, keep it in the cookie, redirect), the form it
leads to, the form's POST (CSRF, then the same use case as the API: `services/team`, `services/accounts`)
and the page that says it is done. On the local stage only, the fake card acquirer's checkout page
(`chalicelib/adapters/acquirer.py`): a payment link opens it, and it pays or declines by the acquirer's webhook.
Errors are pages too, in the reader's language; the routes are in the OpenAPI document as `text/html`."""
from __future__ import annotations

import functools
import urllib.parse
from collections.abc import Callable
from typing import Any

from chalice import Blueprint, Response
from chalice.app import Request

from chalicelib.entrypoints.api.http import OPERATIONS, Operation, Schema, raw_body
from chalicelib.entrypoints.api.http import schema_names as s
from chalicelib.entrypoints.web import cookies
from chalicelib.entrypoints.web.assets import CSP
from chalicelib.entrypoints.web.render import page, translate
from chalicelib.platform import i18n
from chalicelib.platform.config import settings
from chalicelib.platform.errors import DomainError
from chalicelib.platform.i18n import N_
from chalicelib.platform.observability import logger

bp = Blueprint(__name__)
HTML = "text/html"
MAX_FORM_BYTES = 16 * 1024
# Each page's answers, for OpenAPI: what a link, a form and a form's POST may say.
LINK_STATUSES, FORM_STATUSES, POST_STATUSES = (303, 404, 409, 410), (200, 400, 404, 409, 410), (303, 400, 403, 404,
                                                                                                409, 410, 422)


class PageProblem(Exception):
    """A page that says what is wrong, with its status."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status, self.title, self.message = status, title, message


# What a refusal of the use case means to the reader: (status, title, message), msgids.
PROBLEMS: dict[str, tuple[int, str, str]] = {
    "invalid_invitation": (404, N_("This link does not work"), N_(
        "This invitation link is not valid. Check that you opened the whole link from the e-mail.")),
    "invitation_used": (409, N_("Already answered"), N_(
        "This invitation has already been answered. If you joined, log in with your e-mail and password.")),
    "invitation_expired": (410, N_("This link has expired"), N_(
        "This invitation has expired. Ask the company to invite you again.")),
    "email_taken": (409, N_("You already have an account"), N_(
        "An account with this e-mail already exists. Log in, and ask the company to invite you again.")),
    "invalid_reset_link": (404, N_("This link does not work"), N_(
        "This password reset link is not valid. Check that you opened the whole link from the e-mail.")),
    "reset_link_used": (409, N_("Already used"), N_(
        "This link has already been used to set a new password. Ask for a new link if you need one.")),
    "reset_link_expired": (410, N_("This link has expired"), N_(
        "This password reset link has expired. Ask for a new one.")),
    "invalid_confirmation_link": (404, N_("This link does not work"), N_(
        "This confirmation link is not valid. Check that you opened the whole link from the e-mail.")),
    "confirmation_link_used": (409, N_("Already confirmed"), N_(
        "This address is already confirmed. Log in to escrowdesk to go on.")),
    "confirmation_link_expired": (410, N_("This link has expired"), N_(
        "This confirmation link has expired. Log in and ask for a new one in your account settings.")),
    "email_not_confirmed": (403, N_("Confirm your e-mail address first"), N_(
        "Your account's address is not confirmed yet. Open the confirmation link we e-mailed you, then open "
        "this link again.")),
    "invalid_unsubscribe_link": (404, N_("This link does not work"), N_(
        "This link to turn e-mails off is not valid. Check that you opened the whole link from the e-mail.")),
    "unsubscribe_link_expired": (410, N_("This link has expired"), N_(
        "This link to turn e-mails off has expired. Log in and change your e-mail settings in your account.")),
}
NO_LINK = (400, N_("Open the link from your e-mail"), N_(
    "This page opens from the link in your e-mail. Open that link again."))
STALE_FORM = (403, N_("This form is out of date"), N_(
    "This form is out of date or was not sent from this page. Open the link from your e-mail again."))
BAD_FORM = (400, N_("Something is wrong with this form"), N_(
    "The form arrived incomplete. Open the link from your e-mail again."))
BROKEN = (500, N_("Something went wrong"), N_("Something went wrong on our side. Try again in a moment."))


def _headers(**extra: str) -> dict[str, str | list[str]]:
    return {"Content-Type": f"{HTML}; charset=utf-8", "Cache-Control": "no-store", "Referrer-Policy": "same-origin",
            "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": CSP, **extra}


def page_response(status: int, body: str, cookie: str | list[str] | None = None) -> Response:
    """A page with the pages' headers, and the cookie(s) it sets."""
    headers = _headers()
    if cookie:
        headers["Set-Cookie"] = cookie
    return Response(body=body, status_code=status, headers=headers)


def see_other(url: str, cookie: str | list[str] | None = None) -> Response:
    """A 303 to the whole address `url` after a form (post, redirect, get), with the cookie(s) it sets."""
    headers = _headers(Location=url)
    if cookie:
        headers["Set-Cookie"] = cookie
    return Response(body="", status_code=303, headers=headers)


def _html(status: int, body: str, **headers: str) -> Response:
    return Response(body=body, status_code=status, headers=_headers(**headers))


def _redirect(path: str, **headers: str) -> Response:
    return Response(body="", status_code=303, headers=_headers(Location=cookies.base_url() + path, **headers))


def _problem(locale: str, status: int, title: str, message: str) -> Response:
    return _html(status, page("problem.html.j2", locale, title=translate(locale, title),
                              message=translate(locale, message), web_app_url=settings.web_app_url,
                              switch_language=False))


def _query(request: Request, name: str) -> str | None:
    params: dict[str, str] = dict(request.query_params or {})
    return params.get(name)


def _browser_language(request: Request) -> str:
    """The first language of the browser's Accept-Language that we have (else English)."""
    for part in (request.headers.get("accept-language") or "").split(",")[:10]:
        language = part.split(";")[0].strip()
        if language and i18n.resolve_locale(language) != i18n.DEFAULT_LOCALE:
            return i18n.resolve_locale(language)
    return i18n.DEFAULT_LOCALE


def _locale(request: Request, fallback: str) -> str:
    asked = _query(request, "lang")
    return i18n.resolve_locale(asked) if asked else i18n.resolve_locale(fallback)


def register_page(bp: Blueprint, method: str, path: str, summary: str, statuses: tuple[int, ...], *, tag: str,
                  form: Schema | None, query: tuple[str, ...], locale: Callable[[Request], str],
                  problem: Callable[[str, int, str, str], Response],
                  problems: dict[str, tuple[int, str, str]], produces: str = HTML) -> Callable:
    """Register a page route on `bp` and describe it in OpenAPI (under `tag`, answering text/html). Its refusals
    are pages in the reader's language (`locale(request)`), drawn by `problem(locale, status, title, message)`: a
    PageProblem as raised, a use case's refusal as `problems` says (else its own status), and an unexpected failure
    logged and answered with a page that says so. A download (`produces`, e.g. application/pdf) refuses with pages
    too."""
    def register(handler: Callable[..., Response]) -> Callable:
        OPERATIONS.append(Operation(method, path, summary, tag, "none", statuses[0], form, None, query, produces,
                                    tuple(code for code in statuses[1:] if code >= 400), handler.__name__,
                                    also=tuple(code for code in statuses[1:] if code < 400), page=True))

        @bp.route(path, methods=[method], content_types=["*/*"])
        @functools.wraps(handler)
        def route(**params: str) -> Response:
            request = bp.current_request
            reader = locale(request)
            try:
                return handler(request, **params)
            except PageProblem as refused:
                return problem(reader, refused.status, refused.title, refused.message)
            except DomainError as error:
                status, title, message = problems.get(error.code, (error.status, *BROKEN[1:]))
                return problem(reader, status if status < 500 else 409, title, message)
            except Exception:
                logger.exception("page failed", extra={"route": handler.__name__, "tag": tag})
                return problem(reader, *BROKEN)

        return handler

    return register


def _page(method: str, path: str, summary: str, statuses: tuple[int, ...], form: Schema | None = None,
          ) -> Callable:
    """A page people open from an e-mail; a refusal speaks the browser's language."""
    return register_page(bp, method, path, summary, statuses, tag="pages", form=form, query=("lang",),
                         locale=lambda request: _locale(request, _browser_language(request)), problem=_problem,
                         problems=PROBLEMS)


def _state(request: Request, kind: str) -> cookies.LinkState:
    state = cookies.read(request.headers.get("cookie"), kind)
    if state is None:
        raise PageProblem(*NO_LINK)
    return state


def _form(request: Request, schema: Schema, state: cookies.LinkState) -> Any:
    """The POSTed form, from this page (same origin, the cookie's CSRF token), or a page saying why not."""
    form = parse_form(request, schema)
    if not cookies.csrf_matches(state, getattr(form, "csrf", None)):
        logger.warning("page form without its CSRF token")
        raise PageProblem(*STALE_FORM)
    return form


def require_form_shape(request: Request) -> None:
    """A POST's body looked at before any session is read: junk, or a form that is not one of ours (no CSRF field),
    is a 400 whoever sends it. Other methods pass."""
    if request.method == "POST" and "csrf" not in _form_fields(request, max_fields=50):
        raise PageProblem(*BAD_FORM)


def _form_fields(request: Request, *, max_fields: int) -> dict[str, list[str]]:
    """The POSTed body's fields, or the bad-form page: too big, not UTF-8, not a form, more than `max_fields`."""
    raw = raw_body(request)
    if len(raw) > MAX_FORM_BYTES:
        raise PageProblem(*BAD_FORM)
    try:
        return urllib.parse.parse_qs(raw.decode("utf-8"), keep_blank_values=True, max_num_fields=max_fields)
    except (UnicodeDecodeError, ValueError):
        raise PageProblem(*BAD_FORM) from None


def parse_form(request: Request, schema: Schema, stale: tuple[int, str, str] = STALE_FORM) -> Any:
    """The POSTed form, if it came from our own origin and is well formed; its CSRF token is the caller's to check."""
    origin = request.headers.get("origin")
    own = urllib.parse.urlsplit(cookies.base_url())
    if origin and origin != f"{own.scheme}://{own.netloc}":
        logger.warning("page form from another origin", extra={"origin": origin[:200]})
        raise PageProblem(*stale)
    fields = _form_fields(request, max_fields=20)
    try:
        return schema.model.model_validate({name: values[0] for name, values in fields.items()})
    except ValueError:  # pydantic's ValidationError is a ValueError
        raise PageProblem(*BAD_FORM) from None


# The invitation -------------------------------------------------------------------------------

def _invitation_locale(invitation) -> str:  # type: ignore[no-untyped-def]
    from chalicelib.services import accounts

    reader = accounts.get_user(invitation.user_id or invitation.company_id)  # an invitee reads the company's
    return reader.locale


@_page("GET", "/web/invitations/{token}", "The invitation e-mail's link: checks it and opens the invitation page",
       LINK_STATUSES)
def open_invitation_link(request: Request, token: str) -> Response:
    from chalicelib.services import team

    invitation = team.open_invitation(token)
    _, cookie = cookies.seal("invitation", token, _locale(request, _invitation_locale(invitation)))
    return _redirect("/web/invitation", **{"Set-Cookie": cookie})


def _invitation_page(request: Request, state: cookies.LinkState, *, status: int = 200, error: str = "",
                     name: str = "") -> Response:
    from chalicelib.services import team

    invitation = team.open_invitation(state.token)
    locale = _locale(request, state.locale)
    return _html(status, page("invitation.html.j2", locale, company_name=invitation.company_name,
                              email=invitation.email, greeting=invitation.greeting,
                              existing=bool(invitation.user_id), csrf=state.csrf, error=error, name=name,
                              action=cookies.base_url() + "/web/invitation", switch_language=True))


@_page("GET", "/web/invitation", "The invitation page: who invites you; join (name, password) or decline",
       FORM_STATUSES)
def invitation_page(request: Request) -> Response:
    return _invitation_page(request, _state(request, "invitation"))


@_page("POST", "/web/invitation", "Answer the invitation page's form (CSRF-protected)", POST_STATUSES,
       form=s.InvitationForm)
def answer_invitation_page(request: Request) -> Response:
    from chalicelib.services import team

    state = _state(request, "invitation")
    form = _form(request, s.InvitationForm, state)
    locale = i18n.resolve_locale(form.locale or state.locale)
    invitation = team.open_invitation(state.token)
    if form.action == "decline":
        team.answer_invitation(state.token, accept=False)
        result = "declined"
    elif invitation.user_id:
        team.answer_invitation(state.token, accept=True)
        result = "joined"
    else:
        problem = (N_("Tell us your name.") if not form.name.strip() else
                   N_("The password needs at least 8 characters.") if len(form.password) < 8 else None)
        if problem:
            return _invitation_page(request, state, status=422, error=translate(state.locale, problem),
                                    name=form.name)
        team.accept_invitation(state.token, form.password, form.name.strip(), locale)
        result = "joined"
    return _redirect(f"/web/invitation/done?result={result}&lang={locale}", **{"Set-Cookie": cookies.clear()})


@_page("GET", "/web/invitation/done", "The invitation was answered", (200,))
def invitation_done(request: Request) -> Response:
    locale = _locale(request, i18n.DEFAULT_LOCALE)
    if _query(request, "result") == "declined":
        title, message = N_("Invitation declined"), N_("You declined the invitation; you will not join the team.")
    else:
        title, message = N_("Welcome to the team"), N_(
            "You have joined the team. Log in to escrowdesk with your e-mail and password to see its tasks.")
    return _html(200, page("done.html.j2", locale, title=translate(locale, title), message=translate(locale, message),
                           web_app_url=settings.web_app_url, switch_language=False))


# The password reset ---------------------------------------------------------------------------

@_page("GET", "/web/password-reset/{token}", "The password reset e-mail's link: checks it and opens the form",
       LINK_STATUSES)
def open_reset_link(request: Request, token: str) -> Response:
    from chalicelib.services import accounts

    _, user = accounts.reset_link(token)
    _, cookie = cookies.seal("reset", token, _locale(request, user.locale))
    return _redirect("/web/password", **{"Set-Cookie": cookie})


def _password_page(request: Request, state: cookies.LinkState, *, status: int = 200, error: str = "") -> Response:
    from chalicelib.services import accounts

    _, user = accounts.reset_link(state.token)
    return _html(status, page("password.html.j2", _locale(request, state.locale), email=user.email, csrf=state.csrf,
                              error=error, action=cookies.base_url() + "/web/password", switch_language=True))


@_page("GET", "/web/password", "The password reset form", FORM_STATUSES)
def password_page(request: Request) -> Response:
    return _password_page(request, _state(request, "reset"))


@_page("POST", "/web/password", "Set the new password from the reset form (CSRF-protected)", POST_STATUSES,
       form=s.PasswordForm)
def set_password_page(request: Request) -> Response:
    from chalicelib.services import accounts

    state = _state(request, "reset")
    form = _form(request, s.PasswordForm, state)
    problem = (N_("The password needs at least 8 characters.") if len(form.password) < 8 else
               N_("The two passwords differ.") if form.password != form.password_again else None)
    if problem:
        return _password_page(request, state, status=422, error=translate(state.locale, problem))
    identity = (request.context or {}).get("identity") or {}
    accounts.reset_password(state.token, form.password, str(identity.get("sourceIp") or "unknown"))
    return _redirect(f"/web/password/done?lang={state.locale}", **{"Set-Cookie": cookies.clear()})


@_page("GET", "/web/password/done", "The new password is set", (200,))
def password_done(request: Request) -> Response:
    locale = _locale(request, i18n.DEFAULT_LOCALE)
    return _html(200, page("done.html.j2", locale, title=translate(locale, N_("Your new password is set")),
                           message=translate(locale, N_(
                               "Every device that was signed in has been signed out. Log in with the new password.")),
                           web_app_url=settings.web_app_url, switch_language=False))


# The address's confirmation ---------------------------------------------------------------------

@_page("GET", "/web/email-confirmations/{token}", "The confirmation e-mail's link: checks it and opens the "
       "confirmation page", LINK_STATUSES)
def open_confirmation_link(request: Request, token: str) -> Response:
    from chalicelib.services import accounts

    _, user = accounts.confirmation_link(token)
    _, cookie = cookies.seal("confirmation", token, _locale(request, user.locale))
    return _redirect("/web/email-confirmation", **{"Set-Cookie": cookie})


@_page("GET", "/web/email-confirmation", "The confirmation page: the address, and a button to confirm it",
       FORM_STATUSES)
def confirmation_page(request: Request) -> Response:
    from chalicelib.services import accounts

    state = _state(request, "confirmation")
    _, user = accounts.confirmation_link(state.token)
    return _html(200, page("confirmation.html.j2", _locale(request, state.locale), email=user.email, csrf=state.csrf,
                           action=cookies.base_url() + "/web/email-confirmation", switch_language=True))


@_page("POST", "/web/email-confirmation", "Confirm the address from the confirmation page (CSRF-protected)",
       POST_STATUSES, form=s.ConfirmationForm)
def confirm_page(request: Request) -> Response:
    from chalicelib.services import accounts

    state = _state(request, "confirmation")
    _form(request, s.ConfirmationForm, state)
    accounts.confirm_email(state.token)
    return _redirect(f"/web/email-confirmation/done?lang={state.locale}", **{"Set-Cookie": cookies.clear()})


@_page("GET", "/web/email-confirmation/done", "The address is confirmed", (200,))
def confirmation_done(request: Request) -> Response:
    locale = _locale(request, i18n.DEFAULT_LOCALE)
    return _html(200, page("done.html.j2", locale, title=translate(locale, N_("Your address is confirmed")),
                           message=translate(locale, N_(
                               "Thank you. You can now join a company's team and withdraw money.")),
                           web_app_url=settings.web_app_url, switch_language=False))


# The local acquirer's checkout page (local stage only) ------------------------------------------

NOT_HERE = (404, N_("This link does not work"), N_("There is no such page here."))


def _checkout_payment(payment_id: str) -> dict:
    from chalicelib.adapters.acquirer import LocalAcquirer

    payment = LocalAcquirer().load(payment_id) if settings.is_local else None
    if payment is None:
        raise PageProblem(*NOT_HERE)
    if payment["status"] != "created":
        raise PageProblem(409, N_("Already answered"), N_("This payment has already been paid or declined."))
    return payment


def _checkout_page(request: Request, payment_id: str, state: cookies.LinkState, *, status: int = 200,
                   error: str = "", card_number: str = "", holder: str = "", cookie: str = "") -> Response:
    from chalicelib.money.amounts import Money, format_money
    from chalicelib.platform import clock

    payment = _checkout_payment(payment_id)
    locale = _locale(request, state.locale)
    amount = format_money(Money(int(payment["amount"]), payment["currency"]), locale)
    expired = clock.parse_iso(payment["expires_at"]) <= clock.now()
    return _html(status, page("checkout.html.j2", locale, description=payment["description"], amount=amount,
                              expired=expired, csrf=state.csrf, error=error, card_number=card_number, holder=holder,
                              offers_saving=bool(payment.get("save_card")),
                              action=f"{cookies.base_url()}/web/checkout/{payment_id}", switch_language=True),
                 **({"Set-Cookie": cookie} if cookie else {}))


@_page("GET", "/web/checkout/{payment_id}", "The local stage's test acquirer: the payment page a payment link opens "
       "(404 on other stages)", FORM_STATUSES)
def checkout_page(request: Request, payment_id: str) -> Response:
    _checkout_payment(payment_id)
    state, cookie = cookies.seal("checkout", payment_id, _locale(request, _browser_language(request)))
    return _checkout_page(request, payment_id, state, cookie=cookie)


@_page("POST", "/web/checkout/{payment_id}", "Pay or decline on the test acquirer's page (CSRF-protected): the "
       "acquirer's webhook follows", POST_STATUSES, form=s.CheckoutForm)
def answer_checkout_page(request: Request, payment_id: str) -> Response:
    from stdnum import luhn

    from chalicelib.adapters.acquirer import LocalAcquirer

    state = _state(request, "checkout")  # the page's cookie first, as every form's
    if state.token != payment_id:
        raise PageProblem(*STALE_FORM)
    _checkout_payment(payment_id)
    form = _form(request, s.CheckoutForm, state)
    digits = "".join(ch for ch in form.card_number if not ch.isspace())
    problem = (N_("This is not a valid card number.") if not (digits.isdigit() and 12 <= len(digits) <= 19
                                                              and luhn.is_valid(digits)) else
               N_("Write the card holder's name as on the card.") if not form.holder.strip() else None)
    if problem:
        return _checkout_page(request, payment_id, state, status=422, error=translate(state.locale, problem),
                              card_number=form.card_number, holder=form.holder)
    LocalAcquirer().answer(payment_id, form.action == "pay", digits, form.holder, save=form.save_card == "yes")
    return _redirect(f"/web/checkout/{payment_id}/done?result={form.action}&lang={state.locale}",
                     **{"Set-Cookie": cookies.clear()})


@_page("GET", "/web/checkout/{payment_id}/done", "The test acquirer's page was answered", (200, 404))
def checkout_done(request: Request, payment_id: str) -> Response:
    if not settings.is_local:
        raise PageProblem(*NOT_HERE)
    locale = _locale(request, i18n.DEFAULT_LOCALE)
    if _query(request, "result") == "decline":
        title, message = N_("Payment declined"), N_("The test acquirer declined the payment.")
    else:
        title, message = N_("Payment accepted"), N_(
            "The test acquirer accepted the payment; the invoice is marked paid within seconds.")
    return _html(200, page("done.html.j2", locale, title=translate(locale, title), message=translate(locale, message),
                           web_app_url=settings.web_app_url, switch_language=False))


# Turning one kind of e-mail off (RFC 8058) ---------------------------------------------------------------

UNSUBSCRIBE_STATUSES = (200, 404, 410)


def _unsubscribe_page(request: Request, token: str, user, kind: str, *, done: bool) -> Response:  # type: ignore[no-untyped-def]
    from chalicelib.notify.preferences import KINDS, UNSUBSCRIBE_PATH

    locale = _locale(request, user.locale)
    return _html(200, page("unsubscribe.html.j2", locale, label=translate(locale, KINDS[kind].label or kind),
                           done=done, action=cookies.base_url() + UNSUBSCRIBE_PATH.format(token=token),
                           web_app_url=settings.web_app_url, switch_language=not done))


@_page("GET", "/web/unsubscribe/{token}", "An optional e-mail's List-Unsubscribe link: asks before turning that "
       "kind of e-mail off (a GET changes nothing)", UNSUBSCRIBE_STATUSES)
def unsubscribe_link(request: Request, token: str) -> Response:
    from chalicelib.services import email_settings

    user, kind = email_settings.unsubscribe_target(token)
    return _unsubscribe_page(request, token, user, kind, done=False)


@_page("POST", "/web/unsubscribe/{token}", "One click (RFC 8058): that kind of e-mail is off for the link's user, "
       "without a log-in; the signed link is the authority, so no cookie or CSRF token is asked for",
       UNSUBSCRIBE_STATUSES, form=s.UnsubscribeForm)
def unsubscribe_one_click(request: Request, token: str) -> Response:
    from chalicelib.services import email_settings

    # RFC 8058's body is the form `List-Unsubscribe=One-Click`; any other form field is let be, but a body that
    # is no form at all (or too big to be one) is refused before anything changes. No origin check: a mail
    # provider's server makes this POST from its own.
    raw = raw_body(request)
    try:
        if len(raw) > MAX_FORM_BYTES:
            raise ValueError("too big")
        urllib.parse.parse_qs(raw.decode("utf-8"), keep_blank_values=True, max_num_fields=20, strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        if raw:
            raise PageProblem(*BAD_FORM) from None
    user, kind = email_settings.unsubscribe(token)
    return _unsubscribe_page(request, token, user, kind, done=True)

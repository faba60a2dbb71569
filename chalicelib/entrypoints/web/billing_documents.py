"""The billing section's blocks about a site's documents and payments (seed 003): the requisites form (save, or
save and activate Vchasno; locked while Vchasno is active), the Vchasno status, the contracts, the invoices (pay
online, the PDF) and the acts (the list, the PDFs, a request for a closed month), and the banner of a site that is
past due or blocked, with the sum owed and the oldest open invoice's "pay online".

Every view and form calls the same use case as its API route (`chalicelib/entrypoints/api/sites.py`, `cards.py`):
`sites.get_requisites` / `put_requisites` / `activate_vchasno` / `deactivate_vchasno`, `sites.contracts` /
`offer_pdf` / `contract_link`, `service_invoices.list_for` / `pdf`, `card_payments.payment_link`, `acts.list_for` /
`request` / `pdf`; a form's fields are checked by the API's own request models. A refusal shows the section again
with what is wrong inside the block whose form was sent (status 4xx), and changes nothing."""
from __future__ import annotations

import re
from typing import Any

from chalice import Response
from chalice.app import Request

from chalicelib.entrypoints.api.http import schema_names as s
from chalicelib.entrypoints.web import billing, cookies
from chalicelib.entrypoints.web.billing import Reader
from chalicelib.entrypoints.web.render import translate
from chalicelib.platform import i18n
from chalicelib.platform.errors import DomainError
from chalicelib.platform.i18n import N_

PDF = "application/pdf"
INVOICES_SHOWN = 24  # the newest invoices the block lists: two years of months
OFFER = "public_offer"
UNPAID = ("past_due", "blocked")  # a site in these states shows the banner
ID = re.compile(r"^[A-Za-z0-9_-]{1,80}$")  # an invoice's, a contract's or an act's id as the routes take it

# What a refused form means to its reader, by the use case's error code (msgids); `%(tax_id)s` is the tax id.
ERRORS: dict[str, str] = {
    "invalid_tax_id": N_("The EDRPOU or RNOKPP is wrong: a company has 8 digits, a sole proprietor 10, and the last "
                         "one is a check digit."),
    "invalid_iban": N_("The IBAN is wrong: a Ukrainian IBAN starts with UA and has 29 characters."),
    "company_not_found": N_("The state registry knows no company or sole proprietor with this EDRPOU or RNOKPP."),
    "vchasno_active": N_("The requisites are locked while Vchasno is activated: deactivate Vchasno first, then edit "
                         "the requisites and activate it again."),
    "vchasno_account_not_found": N_("Vchasno has no account for %(tax_id)s. Register your company at vchasno.ua with "
                                    "this EDRPOU or RNOKPP, then press “Save and activate Vchasno” again."),
    "requisites_missing": N_("Fill in the requisites (EDRPOU or RNOKPP and IBAN) first."),
    "state_changed": N_("This changed meanwhile. Look at it again and repeat."),
    "invoice_not_open": N_("This invoice is not waiting for a payment any more."),
    "invoice_not_found": N_("There is no such invoice among this site's."),
    "autopay_stopped": N_("Card payments were stopped by support: pay the invoice by bank transfer with its "
                          "details (the “Invoice” button)."),
    "vchasno_not_activated": N_("Activate Vchasno first: acts are sent through it."),
    "period_not_closed": N_("This month is not over yet: an act is made for a closed month."),
    "invoice_unpaid": N_("That month's invoices are not all paid (or nothing was billed for it): an act is made for "
                         "a paid month."),
    "invalid_period": N_("Choose a month."),
    "field_too_long": N_("A field is longer than allowed: shorten it."),
    "upstream_unavailable": N_("The service did not answer. Try again in a few minutes."),
}
FIELD_ERRORS = {"tax_id": "invalid_tax_id", "iban": "invalid_iban"}
GENERIC = N_("This could not be done. Look at the form and try again.")
STATUSES = {"open": N_("Unpaid"), "overdue": N_("Overdue"), "paid": N_("Paid"), "void": N_("Cancelled"),
            "written_off": N_("Written off")}
REQUISITE_FIELDS = ("tax_id", "iban", "company_name", "address", "director")
CORRECTIONS = ("company_name", "address", "director")


# --- formatting for the reader -------------------------------------------------------------------------------------

def _money(who: Reader, amount: int, currency: str) -> str:
    from chalicelib.money.amounts import format_amount

    return format_amount(amount, currency, who.locale)


def _date(who: Reader, moment: str | None) -> str:
    if not moment:
        return ""
    zone = i18n.zone_for(who.principal.user.timezone, who.locale)
    return i18n.format_date(_parse(moment), who.locale, zone)


def _parse(moment: str):  # type: ignore[no-untyped-def]
    from chalicelib.platform.clock import parse_iso

    return parse_iso(moment)


def _errors(who: Reader) -> dict[str, str]:
    """The refusal to show in a block, by block name, when the page answers a refused form."""
    return who.memo.setdefault("errors", {})


def _url(who: Reader, site_id: str, tail: str) -> str:
    return billing.billing_url(f"/billing/{site_id}{tail}", who.locale)


# --- Реквізити -----------------------------------------------------------------------------------------------------

@billing.block("requisites")
def requisites(who: Reader, site_id: str) -> dict[str, Any]:
    """The form pre-filled (the saved requisites, or another site's of the owner), what the registry filled in,
    and locked while Vchasno is active."""
    from chalicelib.services import sites

    saved = who.memo[f"requisites:{site_id}"] = sites.get_requisites(who.principal, site_id)
    sent = who.memo.get("requisites_form")
    values = {name: (sent or saved).get(name) or "" for name in REQUISITE_FIELDS}
    registry = saved.get("registry") or (
        {name: saved[name] for name in CORRECTIONS} if saved.get("updated_at") else None)
    return {"fields": values, "locked": saved["vchasno"]["status"] == sites.ACTIVATED,
            "saved": bool(saved.get("updated_at")), "updated_at": _date(who, saved.get("updated_at")),
            "kind": saved.get("kind"), "registry": registry, "corrected": bool(saved.get("registry")),
            "prefilled": bool(saved.get("prefilled_from")), "error": _errors(who).get("requisites", ""),
            "action": _url(who, site_id, "/requisites")}


@billing.billing_page("POST", "/billing/{site_id}/requisites", "Save the site's requisites from the billing section "
                      "(the registry fills the company's name, address and director), or save them and activate "
                      "Vchasno (activate=1): the same use cases as PUT /v1/sites/{site_id}/requisites and POST "
                      "…/vchasno/activate", (303, 400, 401, 403, 404, 409, 422), form=s.RequisitesForm)
def save_requisites(request: Request, site_id: str) -> Response:
    from pydantic import ValidationError

    from chalicelib.entrypoints.api.schemas.sites import RequisitesIn
    from chalicelib.services import sites

    who = billing.reader(request)
    form = billing.owner_form(request, s.RequisitesForm, who)
    billing.site_view(who, site_id)
    sent = {name: getattr(form, name).strip() for name in REQUISITE_FIELDS}
    who.memo["requisites_form"] = sent
    if not sent["tax_id"] or not sent["iban"]:
        return _refused(who, site_id, "requisites", "requisites_missing", 422)
    try:  # the API's own request model: the same limits as PUT …/requisites
        body = RequisitesIn.model_validate({name: value for name, value in sent.items() if value})
    except ValidationError as invalid:
        field = str(invalid.errors()[0]["loc"][0]) if invalid.errors()[0]["loc"] else ""
        return _refused(who, site_id, "requisites", FIELD_ERRORS.get(field, "field_too_long"), 422)
    shown = sites.get_requisites(who.principal, site_id)
    same_company = shown.get("tax_id") == body.tax_id
    # a registry field left as the form showed it for another company is not a correction: the registry fills it
    corrections = {name: getattr(body, name) for name in CORRECTIONS
                   if getattr(body, name) is not None and (same_company or getattr(body, name) != shown.get(name))}
    activate = form.activate == "1"
    try:  # "save and activate" is the API's one transaction: both happen or neither
        sites.put_requisites(who.principal, site_id, body.tax_id, body.iban, corrections, activate_vchasno=activate)
    except DomainError as error:
        block = "vchasno" if error.code == "vchasno_account_not_found" else "requisites"
        return _refused(who, site_id, block, error.code, error.status, tax_id=body.tax_id)
    who.memo.pop("requisites_form")
    return billing.redirect(_url(who, site_id, "") + ("#block-vchasno" if form.activate == "1"
                                                      else "#block-requisites"))


# --- Вчасно --------------------------------------------------------------------------------------------------------

@billing.block("vchasno")
def vchasno(who: Reader, site_id: str) -> dict[str, Any]:
    from chalicelib.services import sites

    site = billing.site_view(who, site_id)
    saved = who.memo.get(f"requisites:{site_id}") or sites.get_requisites(who.principal, site_id)
    return {"active": site["vchasno"]["status"] == sites.ACTIVATED, "has_requisites": bool(saved.get("updated_at")),
            "error": _errors(who).get("vchasno", ""), "activate": _url(who, site_id, "/vchasno/activate"),
            "deactivate": _url(who, site_id, "/vchasno/deactivate")}


@billing.billing_page("POST", "/billing/{site_id}/vchasno/activate", "Activate Vchasno from the billing section (an "
                      "account must exist for the requisites' tax id): the same use case as POST "
                      "/v1/sites/{site_id}/vchasno/activate", (303, 400, 401, 403, 404, 409, 422),
                      form=s.BillingActionForm)
def activate_vchasno(request: Request, site_id: str) -> Response:
    from chalicelib.services import sites

    return _act(request, site_id, "vchasno", lambda who: sites.activate_vchasno(who.principal, site_id))


@billing.billing_page("POST", "/billing/{site_id}/vchasno/deactivate", "Deactivate Vchasno from the billing section "
                      "(to edit the requisites): the same use case as POST /v1/sites/{site_id}/vchasno/deactivate",
                      (303, 400, 401, 403, 404, 409), form=s.BillingActionForm)
def deactivate_vchasno(request: Request, site_id: str) -> Response:
    from chalicelib.services import sites

    return _act(request, site_id, "requisites", lambda who: sites.deactivate_vchasno(who.principal, site_id))


# --- Договори ------------------------------------------------------------------------------------------------------

@billing.block("contracts")
def contracts(who: Reader, site_id: str) -> dict[str, Any]:
    from chalicelib.services import sites

    items = sites.contracts(who.principal, site_id)["items"]
    return {"items": [{"offer": item["kind"] == OFFER, "title": item["title"], "version": item["version"],
                       "effective_from": _date(who, item["effective_from"]) if item["effective_from"] else "",
                       "uploaded_at": _date(who, item["uploaded_at"]), "filename": item["filename"],
                       "url": _url(who, site_id, "/offer" if item["kind"] == OFFER else f"/contracts/{item['id']}")}
                      for item in items]}


@billing.billing_page("GET", "/billing/{site_id}/offer", "The public offer as PDF for the site's owner (his session): "
                      "the same document as GET /v1/sites/{site_id}/offer", (200, 401, 404),
                      produces=PDF)
def offer_pdf(request: Request, site_id: str) -> Response:
    from chalicelib.services import sites

    who = billing.reader(request)
    billing.site_view(who, site_id)
    return _pdf(*sites.offer_pdf(who.principal, site_id))


@billing.billing_page("GET", "/billing/{site_id}/contracts/{contract_id}", "A personal contract for the site's owner "
                      "(his session): to its short-lived download link, as GET "
                      "/v1/sites/{site_id}/contracts/{contract_id} gives it", (303, 401, 404))
def contract(request: Request, site_id: str, contract_id: str) -> Response:
    from chalicelib.services import sites

    who = billing.reader(request)
    billing.site_view(who, site_id)
    _known_id(contract_id)
    link = sites.contract_link(who.principal, site_id, contract_id)["url"]
    return billing.redirect(link if link.startswith(("https://", "http://")) else f"{cookies.base_url()}{link}")


# --- Рахунки -------------------------------------------------------------------------------------------------------

def _invoices(who: Reader, site_id: str) -> list[dict]:
    """The site's newest invoices (read once per page: the invoices and the acts blocks share them)."""
    from chalicelib.services import service_invoices, sites

    key = f"invoices:{site_id}"
    if key not in who.memo:
        sites.visible(who.principal, site_id)
        who.memo[key] = service_invoices.list_for(site_id, INVOICES_SHOWN, None)["items"]
    return who.memo[key]


@billing.block("invoices")
def invoices(who: Reader, site_id: str) -> dict[str, Any]:
    from chalicelib.platform import clock

    now = clock.iso(clock.now())
    rows = []
    for item in _invoices(who, site_id):
        status = "overdue" if item["status"] == "open" and item["due_at"] < now else item["status"]
        rows.append({
            "number": item["number"], "period": i18n.format_month(item["period"], who.locale),
            "amount": _money(who, item["amount"], item["currency"]),
            "due": _money(who, item["amount_due"], item["currency"]) if item["status"] == "open" else "",
            "part_paid": item["status"] == "open" and item["amount_paid"] > 0,
            "status": status, "status_text": translate(who.locale, STATUSES.get(status, STATUSES["open"])),
            "issued_at": _date(who, item["issued_at"]), "due_at": _date(who, item["due_at"]),
            "paid_at": _date(who, item["paid_at"]), "payable": item["status"] == "open",
            "pay": _url(who, site_id, f"/invoices/{item['id']}/pay"),
            "pdf": _url(who, site_id, f"/invoices/{item['id']}/pdf")})
    return {"items": rows, "error": _errors(who).get("invoices", "")}


@billing.billing_page("POST", "/billing/{site_id}/invoices/{invoice_id}/pay", "Pay an open invoice online: to its "
                      "payment link (valid 30 minutes, renewed after), the same use case as POST "
                      "/v1/sites/{site_id}/invoices/{invoice_id}/payment-link", (303, 400, 401, 403, 404, 409),
                      form=s.BillingActionForm)
def pay_invoice(request: Request, site_id: str, invoice_id: str) -> Response:
    from chalicelib.services import card_payments

    who = billing.reader(request)
    billing.owner_form(request, s.BillingActionForm, who)
    billing.site_view(who, site_id)
    if not ID.match(invoice_id):
        return _refused(who, site_id, "invoices", "invoice_not_found", 404)
    try:
        _, link = card_payments.payment_link(who.principal, site_id, invoice_id)
    except DomainError as error:
        code = "invoice_not_found" if error.code == "not_found" else error.code
        return _refused(who, site_id, "invoices", code, error.status)
    url = str(link["url"])
    return billing.redirect(url if url.startswith(("https://", "http://")) else f"{cookies.base_url()}{url}")


@billing.billing_page("GET", "/billing/{site_id}/invoices/{invoice_id}/pdf", "A service invoice as PDF for the "
                      "site's owner (his session): the same document as GET "
                      "/v1/sites/{site_id}/invoices/{invoice_id}/pdf", (200, 401, 404), produces=PDF)
def invoice_pdf(request: Request, site_id: str, invoice_id: str) -> Response:
    from chalicelib.services import service_invoices, sites

    who = billing.reader(request)
    billing.site_view(who, site_id)
    _known_id(invoice_id)
    deal = sites.visible(who.principal, site_id)
    return _pdf(*service_invoices.pdf(who.principal, site_id, invoice_id, deal.client_id))


# --- Акти ----------------------------------------------------------------------------------------------------------

@billing.block("acts")
def acts_block(who: Reader, site_id: str) -> dict[str, Any]:
    """The acts sent, their PDFs, the rules, and the request form for a closed month not asked for yet."""
    from chalicelib.money import periods
    from chalicelib.platform import clock
    from chalicelib.services import acts

    site = billing.site_view(who, site_id)
    sent = acts.list_for(who.principal, site_id)["items"]
    asked = {act["period"] for act in sent}
    current = periods.period_of(clock.now())
    months = sorted({item["period"] for item in _invoices(who, site_id)
                     if item["period"] < current and item["period"] not in asked}, reverse=True)
    return {"items": [{"period": i18n.format_month(act["period"], who.locale), "document": act["vchasno_document_id"],
                       "pdf": _url(who, site_id, f"/acts/{act['id']}/pdf")} for act in sent],
            "months": [(month, i18n.format_month(month, who.locale)) for month in months],
            "vchasno_active": site["vchasno"]["status"] == "activated", "error": _errors(who).get("acts", ""),
            "action": _url(who, site_id, "/acts")}


@billing.billing_page("POST", "/billing/{site_id}/acts", "Ask for the act of a closed, paid month, sent to Vchasno: "
                      "the same use case as POST /v1/sites/{site_id}/acts", (303, 400, 401, 403, 404, 409, 422),
                      form=s.ActRequestForm)
def request_act(request: Request, site_id: str) -> Response:
    from pydantic import ValidationError

    from chalicelib.entrypoints.api.schemas.sites import SiteActIn
    from chalicelib.services import acts

    who = billing.reader(request)
    form = billing.owner_form(request, s.ActRequestForm, who)
    billing.site_view(who, site_id)
    try:
        period = SiteActIn.model_validate({"period": form.period}).period
    except ValidationError:
        return _refused(who, site_id, "acts", "invalid_period", 422)
    try:
        acts.request(who.principal, site_id, period)
    except DomainError as error:
        return _refused(who, site_id, "acts", error.code, error.status)
    return billing.redirect(_url(who, site_id, "") + "#block-acts")


@billing.billing_page("GET", "/billing/{site_id}/acts/{act_id}/pdf", "An act as PDF for the site's owner (his "
                      "session): the document sent to Vchasno, as GET /v1/sites/{site_id}/acts/{act_id}/pdf",
                      (200, 401, 404), produces=PDF)
def act_pdf(request: Request, site_id: str, act_id: str) -> Response:
    from chalicelib.services import acts

    who = billing.reader(request)
    billing.site_view(who, site_id)
    _known_id(act_id)
    return _pdf(*acts.pdf(who.principal, site_id, act_id))


# --- the banner of a site that owes ---------------------------------------------------------------------------------

def banner(who: Reader, site_id: str) -> dict[str, Any] | None:
    """A past-due or blocked site's sum owed and its oldest open invoice's "pay online" (None for the others)."""
    from chalicelib.services import service_invoices, sites

    site = billing.site_view(who, site_id)
    if site["status"] not in UNPAID:
        return None
    still_open = service_invoices.open_invoices(sites.visible(who.principal, site_id))
    if not still_open:
        return None
    oldest = still_open[0]
    owed = sum(service_invoices.due(invoice) for invoice in still_open)
    return {"blocked": site["status"] == "blocked", "owed": _money(who, owed, oldest.currency),
            "number": oldest.number, "due_at": _date(who, oldest.due_at),
            "pay": _url(who, site_id, f"/invoices/{oldest.id}/pay")}


billing.BANNER = banner


# --- shared ----------------------------------------------------------------------------------------------------------

def _act(request: Request, site_id: str, block: str, use_case) -> Response:  # type: ignore[no-untyped-def]
    """A button that only acts: CSRF and ownership checked, the use case run, back to its block (or the refusal in
    the block)."""
    who = billing.reader(request)
    billing.owner_form(request, s.BillingActionForm, who)
    billing.site_view(who, site_id)
    try:
        use_case(who)
    except DomainError as error:
        saved = {}
        if error.code == "vchasno_account_not_found":
            from chalicelib.services import sites

            saved = {"tax_id": sites.get_requisites(who.principal, site_id).get("tax_id") or ""}
        return _refused(who, site_id, "vchasno" if error.code.startswith("vchasno") else block, error.code,
                        error.status, **saved)
    return billing.redirect(_url(who, site_id, "") + f"#block-{block}")


def _refused(who: Reader, site_id: str, block: str, code: str, status: int, **values: str) -> Response:
    """The site's section again, what is wrong said inside `block`, with a 4xx status (a 5xx is a 503 page)."""
    message = translate(who.locale, ERRORS.get(code, GENERIC))
    if values:
        message = message % {name: value for name, value in values.items()}
    _errors(who)[block] = message
    return site_page(who, site_id, status=status if 400 <= status < 500 else 503)


def site_page(who: Reader, site_id: str, *, status: int = 200) -> Response:
    """The site's section as `billing.billing_site` draws it, with the refusals `who.memo` holds for its blocks."""
    site = billing.site_view(who, site_id)
    blocks = [(name, billing.BLOCKS[name](who, site_id)) for name in billing.BLOCK_ORDER if name in billing.BLOCKS]
    return billing.render(who, "billing_site.html.j2", status=status, site=site, blocks=blocks,
                          site_url=billing.billing_url(f"/billing/{site_id}", who.locale), banner=banner(who, site_id))


def _known_id(value: str) -> None:
    if not ID.match(value):
        from chalicelib.entrypoints.web.pages import PageProblem

        raise PageProblem(*billing.NOT_YOURS)


def _pdf(filename: str, content: bytes) -> Response:
    from chalicelib.adapters.files import content_disposition

    return Response(body=content, status_code=200, headers={
        "Content-Type": PDF, "Content-Disposition": content_disposition(filename),
        "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})

"""The billing section's plan blocks (seed 003): the tariff, the payment method and the site's deletion.

- Тариф: the tariff's name and price, the product and order counters as bars against its limits ("updated
  daily"), the other tariffs' additional features, and "Change the tariff": a tariff chosen, a confirmation page
  shows what the change does — the prorated amount of an upgrade, or the month a downgrade starts — before the
  owner confirms it (`sites.preview_tariff_change`, the change's own check and proration, nothing written), then
  `sites.change_tariff` as the API's `POST /v1/sites/{site_id}/tariff`.
- Способ оплаты: the saved card's mask and holder, and "Add a bank card" / "Change the card", which goes to the
  acquirer's checkout page (`card_payments.payment_method`, as `POST /v1/sites/{site_id}/payment-method`); the
  auto-pay explanation of the seed.
- Удалить проект: the questionnaire (the reasons and a comment), then the request's status and its withdrawal
  (`sites.request_deletion` / `sites.withdraw_deletion`, as the API's deletion-request routes).

A refused act (an unknown tariff, the same one, a questionnaire without a reason…) shows the site's section again
with what is wrong inside its block, and changes nothing; a stale form, an ended session or another owner's site get
the section's own refusal pages (`billing.billing_page`)."""
from __future__ import annotations

from typing import Any

from chalice import Response
from chalice.app import Request

from chalicelib.entrypoints.api.http import schema_names as s
from chalicelib.entrypoints.web import billing
from chalicelib.entrypoints.web.billing import Reader
from chalicelib.entrypoints.web.pages import _query
from chalicelib.entrypoints.web.render import translate
from chalicelib.platform import i18n
from chalicelib.platform.clock import parse_iso
from chalicelib.platform.errors import DomainError
from chalicelib.platform.i18n import N_

# The questionnaire's reasons (the deletion's use case takes their codes), as the owner reads them.
REASONS = {
    "too_expensive": N_("It is too expensive"),
    "missing_features": N_("Features I need are missing"),
    "moving_to_another_platform": N_("I am moving to another platform"),
    "closing_business": N_("I am closing the business"),
    "other": N_("Another reason"),
}
# What the plan blocks' refusals say, inside the block; a code not here says its form's general refusal.
REFUSALS = {
    "unknown_tariff": N_("There is no such tariff. Choose one from the list."),
    "tariff_inactive": N_("This tariff is no longer offered. Choose another one."),
    "tariff_unchanged": N_("The site is already on this tariff."),
    "over_limit": N_("The site's products or orders exceed this tariff's limits: reduce them before choosing it."),
    "autopay_stopped": N_("Card payments were stopped by support: pay the invoices by bank transfer."),
    "invalid_reason": N_("Choose at least one reason."),
    "state_changed": N_("This changed meanwhile. Look at it again and repeat."),  # another change came first
}
NOT_NOW = {
    "tariff": N_("The tariff cannot be changed while the site is in this state (a deletion is requested, or it "
                 "is deleted)."),
    "payment": N_("A card cannot be added now. Try again later or write to support."),
    "deletion": N_("This cannot be done in the site's present state. Open the page again."),
}
CHANGEABLE = ("active", "past_due", "blocked")  # the states a tariff change or a deletion request starts from


def _money(value: dict, locale: str) -> str:
    from chalicelib.money.amounts import format_amount

    return format_amount(int(value["amount"]), value["currency"], locale)


def _number(value: int, locale: str) -> str:
    from babel.numbers import format_decimal

    return format_decimal(value, locale=i18n.resolve_locale(locale))


def _moment(who: Reader, value: str) -> str:
    zone = i18n.zone_for(who.principal.user.timezone, who.locale)
    return i18n.format_datetime(parse_iso(value), who.locale, zone)


def _url(who: Reader, site_id: str, tail: str = "", **query: str) -> str:
    return billing.billing_url(f"/billing/{site_id}{tail}", who.locale, **query)


def _section_again(who: Reader, site_id: str, name: str, error: DomainError | str) -> Response:
    """The site's section with what is wrong inside block `name` (4xx): the act was refused, nothing changed."""
    if isinstance(error, DomainError):
        status, message = min(max(error.status, 400), 499), REFUSALS.get(error.code, NOT_NOW[name])
    else:
        status, message = 422, error
    site = billing.site_view(who, site_id)
    blocks = []
    for each in billing.BLOCK_ORDER:
        if each in billing.BLOCKS:
            data = billing.BLOCKS[each](who, site_id)
            blocks.append((each, {**data, "error": translate(who.locale, message)} if each == name else data))
    return billing.render(who, "billing_site.html.j2", status=status, site=site, blocks=blocks,
                          site_url=_url(who, site_id))


def _back(who: Reader, site_id: str, name: str) -> Response:
    return billing.redirect(_url(who, site_id) + f"#block-{name}")


# Тариф ----------------------------------------------------------------------------------------------------------

COUNTER_LABELS = {"products": N_("Products"), "orders": N_("Orders this month")}


@billing.block("tariff")
def tariff(who: Reader, site_id: str) -> dict[str, Any]:
    """The tariff, its counters against its limits, the other tariffs' features, and the tariffs to choose."""
    from chalicelib.services import tariff_catalog

    site = billing.site_view(who, site_id)
    counters = site["counters"]
    bars = []
    for name in ("products", "orders"):
        value, limit = int(counters[name]["value"]), counters[name]["limit"]
        bars.append({"name": name, "label": COUNTER_LABELS[name], "value": value, "limit": limit,
                     "value_text": _number(value, who.locale),
                     "limit_text": None if limit is None else _number(int(limit), who.locale)})
    pending = site["next_tariff"]
    choices = [{"code": item["code"], "name": item["name"], "price": _money(item["price"], who.locale)}
               for item in tariff_catalog.list_all()["items"]
               if item["active"] and item["code"] != site["tariff"]["code"]]
    return {"name": site["tariff"]["name"] or site["tariff"]["code"], "price": _money(site["tariff"]["price"],
                                                                                       who.locale),
            "counters": bars,
            "refreshed_at": _moment(who, counters["refreshed_at"]) if counters["refreshed_at"] else None,
            "next_tariff": None if pending is None else {
                "name": pending["name"], "from": i18n.format_month(pending["from"], who.locale)},
            "additional_features": site["additional_features"], "choices": choices,
            "changeable": site["status"] in CHANGEABLE, "choose_action": _url(who, site_id, "/tariff")}


@billing.billing_page("GET", "/billing/{site_id}/tariff", "Change the tariff, step two: what the chosen tariff "
                      "would change (an upgrade's prorated amount, or the month a downgrade starts), to confirm",
                      (200, 401, 404, 409, 422), query=("lang", "tariff"))
def tariff_confirmation(request: Request, site_id: str) -> Response:
    from chalicelib.services import sites

    who = billing.reader(request)
    code = (_query(request, "tariff") or "").strip()[:40]
    if not code:
        billing.site_view(who, site_id)
        return _section_again(who, site_id, "tariff", N_("Choose a tariff."))
    try:
        preview = sites.preview_tariff_change(who.principal, site_id, code)
    except DomainError as refused:
        if refused.code in billing.PROBLEMS:
            raise
        return _section_again(who, site_id, "tariff", refused)
    site = billing.site_view(who, site_id)
    invoice = preview["invoice"]
    shown = None if invoice is None else {
        "amount": _money(invoice["amount"], who.locale),
        "credit": _money(invoice["credit_applied"], who.locale) if invoice["credit_applied"]["amount"] else None,
        "due": _money(invoice["amount_due"], who.locale),
        "days": _number(sum(int(line["days"]) for line in invoice["lines"]), who.locale),
        "month_days": _number(int(invoice["lines"][0]["month_days"]), who.locale),
        "start": i18n.format_date(parse_iso(invoice["lines"][0]["start"] + "T12:00:00+00:00"), who.locale,
                                  i18n.zone_for("UTC", who.locale)),
        "end": i18n.format_date(parse_iso(invoice["lines"][-1]["end"] + "T12:00:00+00:00"), who.locale,
                                i18n.zone_for("UTC", who.locale))}
    return billing.render(who, "billing_plan_tariff.html.j2", site=site, code=code, when=preview["when"],
                          tariff={"name": preview["tariff"]["name"],
                                  "price": _money(preview["tariff"]["price"], who.locale)},
                          current={"name": preview["current"]["name"],
                                   "price": _money(preview["current"]["price"], who.locale)},
                          starts=i18n.format_month(preview["from"], who.locale) if preview["from"] else None,
                          invoice=shown, action=_url(who, site_id, "/tariff"),
                          back_url=_url(who, site_id) + "#block-tariff")


@billing.billing_page("POST", "/billing/{site_id}/tariff", "Change the tariff (CSRF-protected), as the API's "
                      "tariff change: an upgrade at once with its prorated invoice, a downgrade from the next month",
                      (303, 400, 401, 403, 404, 409, 422), form=s.TariffChangeForm)
def change_tariff(request: Request, site_id: str) -> Response:
    from chalicelib.services import sites

    who = billing.reader(request)
    form = billing.owner_form(request, s.TariffChangeForm, who)
    if not form.code.strip():
        billing.site_view(who, site_id)
        return _section_again(who, site_id, "tariff", N_("Choose a tariff."))
    try:
        sites.change_tariff(who.principal, site_id, form.code.strip())
    except DomainError as refused:
        if refused.code in billing.PROBLEMS:
            raise
        return _section_again(who, site_id, "tariff", refused)
    return _back(who, site_id, "tariff")


# Способ оплаты --------------------------------------------------------------------------------------------------

@billing.block("payment")
def payment(who: Reader, site_id: str) -> dict[str, Any]:
    """The saved card (mask and holder), the button to the checkout, and how auto-pay works."""
    card = billing.site_view(who, site_id)["payment_method"]
    return {"card": card, "action": _url(who, site_id, "/payment-method"),
            "open": billing.site_view(who, site_id)["status"] != "deleted"}


@billing.billing_page("POST", "/billing/{site_id}/payment-method", "Add or change the card for auto-pay "
                      "(CSRF-protected), as the API's payment method: to the acquirer's checkout page (it pays the "
                      "oldest open invoice, or verifies the card with 1.00 UAH, refunded)",
                      (303, 400, 401, 403, 404, 409), form=s.PaymentMethodForm)
def payment_method(request: Request, site_id: str) -> Response:
    from chalicelib.services import card_payments

    who = billing.reader(request)
    billing.owner_form(request, s.PaymentMethodForm, who)
    try:
        _, started = card_payments.payment_method(who.principal, site_id)
    except DomainError as refused:
        if refused.code in billing.PROBLEMS:
            raise
        return _section_again(who, site_id, "payment", refused)
    return billing.redirect(str(started["url"]))


# Удалить проект -------------------------------------------------------------------------------------------------

@billing.block("deletion")
def deletion(who: Reader, site_id: str) -> dict[str, Any]:
    """The questionnaire, or the request as it stands (when, why) with its withdrawal."""
    site = billing.site_view(who, site_id)
    asked = site["deletion"] if site["status"] == "deletion_requested" else None
    return {"status": site["status"], "reasons": list(REASONS.items()),
            "requested": None if not asked else {
                "at": _moment(who, asked["requested_at"]) if asked.get("requested_at") else None,
                "reasons": [label for code, label in REASONS.items() if code in (asked.get("reasons") or [])],
                "comment": asked.get("comment") or ""},
            "can_request": site["status"] in CHANGEABLE,
            "request_action": _url(who, site_id, "/deletion-request"),
            "withdraw_action": _url(who, site_id, "/deletion-request/withdraw")}


@billing.billing_page("POST", "/billing/{site_id}/deletion-request", "Ask to delete the site with the "
                      "questionnaire (CSRF-protected), as the API's deletion request: no more invoices",
                      (303, 400, 401, 403, 404, 409, 422), form=s.DeletionForm)
def request_deletion(request: Request, site_id: str) -> Response:
    from chalicelib.services import sites

    who = billing.reader(request)
    form = billing.owner_form(request, s.DeletionForm, who)
    reasons = [code for code in REASONS if getattr(form, f"reason_{code}") == "yes"]
    try:
        sites.request_deletion(who.principal, site_id, reasons, form.comment.strip())
    except DomainError as refused:
        if refused.code in billing.PROBLEMS:
            raise
        return _section_again(who, site_id, "deletion", refused)
    return _back(who, site_id, "deletion")


@billing.billing_page("POST", "/billing/{site_id}/deletion-request/withdraw", "Withdraw the deletion request "
                      "(CSRF-protected), as the API's withdrawal: billing resumes",
                      (303, 400, 401, 403, 404, 409), form=s.DeletionWithdrawForm)
def withdraw_deletion(request: Request, site_id: str) -> Response:
    from chalicelib.services import sites

    who = billing.reader(request)
    billing.owner_form(request, s.DeletionWithdrawForm, who)
    try:
        sites.withdraw_deletion(who.principal, site_id)
    except DomainError as refused:
        if refused.code in billing.PROBLEMS:
            raise
        return _section_again(who, site_id, "deletion", refused)
    return _back(who, site_id, "deletion")

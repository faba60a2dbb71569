"""Sites paying by card: payment links, saving a card, the acquirer's signed webhook, a site's
card payments, and operators' acts on them (the list of sites by status, stopping auto-pay)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint

from chalicelib.entrypoints.api.http import Call, endpoint
from chalicelib.entrypoints.api.http import schema_names as s
from chalicelib.platform.lazy import lazy_modules

if TYPE_CHECKING:
    from chalicelib.services import card_payments, sites
else:  # loaded when a route first runs (chalicelib/platform/lazy.py)
    card_payments, sites = lazy_modules("chalicelib.services", "card_payments", "sites")

bp = Blueprint(__name__)


@endpoint(bp, "POST", "/v1/sites/{site_id}/invoices/{invoice_id}/payment-link", summary="The invoice's online "
          "payment link: valid 30 minutes, the same link until then, a new one after", tag="billing",
          response=s.PaymentLinkOut, errors=(403,))
def payment_link(call: Call):
    return card_payments.payment_link(call.user, call.params["site_id"], call.params["invoice_id"])


@endpoint(bp, "POST", "/v1/sites/{site_id}/payment-method", summary="Save (or change) the card for auto-pay: it "
          "pays the oldest open invoice, or 1.00 UAH is charged to verify it and refunded at once", tag="billing",
          response=s.PaymentMethodOut, errors=(403,))
def payment_method(call: Call):
    return card_payments.payment_method(call.user, call.params["site_id"])


@endpoint(bp, "GET", "/v1/sites/{site_id}/card-payments", summary="The site's card payments, newest first",
          tag="billing", response=s.CardPaymentList, query=("limit", "cursor"), errors=(422,))
def list_card_payments(call: Call):
    return card_payments.list_for_site(call.user, call.params["site_id"], call.limit, call.cursor)


@endpoint(bp, "POST", "/v1/webhooks/acquirer", summary="Card acquirer callback (X-Acquirer-Signature: "
          "t=<unix>,v1=<hex HMAC>): payments and refunds, each event applied once", tag="billing",
          request=s.AcquirerEventIn, response=s.AcquirerAck, auth_="acquirer", moves_money=True)
def acquirer_webhook(call: Call):
    b = call.body
    return card_payments.receive(card_payments.AcquirerEvent(
        event_id=b.event_id, type=b.type, payment_id=b.payment_id, amount_minor=b.amount, currency=b.currency,
        card=b.card.model_dump() if b.card else None, acquirer_id=b.acquirer_id))


@endpoint(bp, "GET", "/v1/operator/sites", summary="Sites by status (active, past_due, blocked, "
          "deletion_requested, deleted), or those a search names with `q`: a service code, a domain, an owner's "
          "e-mail, a tax id or a site id (one page, up to 50; what each costs: docs/pages.md)", tag="operator",
          response=s.SiteList, auth_="operator", query=("status", "q", "limit", "cursor"), errors=(422,))
def list_sites_by_status(call: Call):
    if (call.query.get("q") or "").strip():
        return {"items": sites.search(call.user, call.query["q"][:254])["items"], "next_cursor": None}
    return sites.list_by_status(call.user, call.query.get("status", "blocked"), call.limit, call.cursor)


@endpoint(bp, "POST", "/v1/operator/sites/{site_id}/autopay/stop", summary="Stop a site's auto-pay: the card is "
          "forgotten, invoices are paid by bank transfer from now", tag="operator", response=s.SiteOut,
          auth_="operator")
def stop_autopay(call: Call):
    return card_payments.stop_autopay(call.user, call.params["site_id"])

"""Top-ups: proforma invoices paid by bank transfer, card top-ups paid on the acquirer's page, and their PDFs
(the client's "Documents")."""
from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint, Response

from chalicelib.entrypoints.api.http import Call, endpoint
from chalicelib.entrypoints.api.http import schema_names as s
from chalicelib.platform.lazy import lazy_modules

if TYPE_CHECKING:
    from chalicelib.services import invoices, topups
else:  # loaded when a route first runs (chalicelib/platform/lazy.py)
    invoices, topups = lazy_modules("chalicelib.services", "invoices", "topups")

bp = Blueprint(__name__)


@endpoint(bp, "POST", "/v1/invoices", summary="Create a proforma invoice to top up a balance", tag="invoices",
          status=201, request=s.InvoiceIn, response=s.InvoiceOut)
def create_invoice(call: Call):
    return invoices.create(call.user, call.body.amount, call.body.currency)


@endpoint(bp, "GET", "/v1/invoices", summary="The client's invoices (Documents), newest first", tag="invoices",
          response=s.InvoiceList, query=("limit", "cursor"), errors=(422,))
def list_invoices(call: Call):
    return invoices.list_documents(call.user, call.limit, call.cursor)


@endpoint(bp, "GET", "/v1/invoices/{invoice_id}", summary="One invoice", tag="invoices", response=s.InvoiceOut)
def get_invoice(call: Call):
    return invoices.get(call.user, call.params["invoice_id"])


@endpoint(bp, "GET", "/v1/invoices/{invoice_id}/pdf", summary="The invoice as PDF", tag="invoices",
          produces="application/pdf")
def get_invoice_pdf(call: Call):
    filename, content = invoices.pdf(call.user, call.params["invoice_id"])
    return Response(body=content, status_code=200, headers={
        "Content-Type": "application/pdf", "Content-Disposition": f'inline; filename="{filename}"'})


@endpoint(bp, "POST", "/v1/topups", summary="Top up a balance by card: the acquirer's payment page (valid 30 "
          "minutes) and the fee on top, if any; 422 card_payments_unavailable in a currency without an acquirer",
          tag="invoices", status=201, request=s.TopupIn, response=s.TopupOut)
def create_topup(call: Call):
    return topups.create(call.user, call.body.amount, call.body.currency)


@endpoint(bp, "GET", "/v1/topups/{topup_id}", summary="One card top-up: pending or paid, and what its action "
          "became", tag="invoices", response=s.TopupOut)
def get_topup(call: Call):
    return topups.get(call.user, call.params["topup_id"])


@endpoint(bp, "POST", "/v1/topups/{topup_id}/payment-link", summary="The top-up's payment link: the same link "
          "until it expires (30 minutes), a new one after", tag="invoices", response=s.PaymentLinkOut, errors=(409,))
def topup_payment_link(call: Call):
    return topups.payment_link(call.user, call.params["topup_id"])

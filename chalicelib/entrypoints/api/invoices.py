"""Top-up invoices and their PDFs (the client's "Documents")."""
from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint, Response

from chalicelib.entrypoints.api.http import Call, endpoint
from chalicelib.entrypoints.api.http import schema_names as s
from chalicelib.platform.lazy import lazy_modules

if TYPE_CHECKING:
    from chalicelib.services import invoices
else:  # loaded when a route first runs (chalicelib/platform/lazy.py)
    invoices, = lazy_modules("chalicelib.services", "invoices")

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

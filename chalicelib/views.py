"""How domain records are shown over the API (one function per resource)."""
from __future__ import annotations

from chalicelib.store.models import (
    InvoiceModel,
    JournalLineModel,
    NotificationModel,
    PaymentModel,
    UserModel,
)


def user(record: UserModel) -> dict:
    return {"id": record.id, "email": record.email, "name": record.name, "locale": record.locale,
            "roles": list(record.roles), "created_at": record.created_at}


def invoice(record: InvoiceModel) -> dict:
    return {"id": record.id, "number": record.number, "amount": int(record.amount), "currency": record.currency,
            "status": record.status, "payment_details": record.payment_details, "created_at": record.created_at,
            "paid_at": record.paid_at, "pdf_url": f"/v1/invoices/{record.id}/pdf"}


def payment(record: PaymentModel) -> dict:
    return {"id": record.id, "event_id": record.event_id, "amount": int(record.amount), "currency": record.currency,
            "purpose": record.purpose, "payer": record.payer, "received_at": record.received_at,
            "status": record.status, "reason": record.reason, "invoice_id": record.invoice_id,
            "resolved_by": record.resolved_by, "resolved_at": record.resolved_at}


def statement_line(record: JournalLineModel) -> dict:
    return {"entry_id": record.entry_id, "kind": record.kind, "currency": record.currency, "bucket": record.bucket,
            "amount": int(record.amount), "ref": record.ref, "created_at": record.created_at[:19] + "Z"}


def notification(record: NotificationModel, title: str, body: str) -> dict:
    return {"id": record.id, "kind": record.kind, "title": title, "body": body, "params": record.params,
            "created_at": record.created_at, "read_at": record.read_at}

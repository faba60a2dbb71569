"""How domain records are shown over the API (one function per resource)."""
from __future__ import annotations

from chalicelib.money import commission
from chalicelib.store.models import (
    DealModel,
    GigModel,
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


def gig(record: GigModel) -> dict:
    return {"id": record.id, "contractor_id": record.contractor_id, "title": record.title,
            "description": record.description, "amount": int(record.amount), "currency": record.currency,
            "delivery_days": int(record.delivery_days), "status": record.status, "created_at": record.created_at}


def order(record: DealModel) -> dict:
    return {"id": record.id, "gig_id": record.subject_id, "client_id": record.client_id,
            "contractor_id": record.contractor_id, "title": record.title, "amount": int(record.amount),
            "currency": record.currency, "commission": _commission(record), "status": record.status,
            "delivery_days": int(record.delivery_days), "deadline_at": record.deadline_at,
            "review_due_at": record.review_due_at, "last_message": record.last_message,
            "closed_reason": record.closed_reason, "created_at": record.created_at, "version": int(record.version),
            "history": record.history}


def _commission(record: DealModel) -> int:
    return commission(int(record.amount), int(record.commission_bps))


def deal_notification(record: DealModel, kind: str) -> dict:
    """The params every order notification template may use."""
    gross, fee = int(record.amount), _commission(record)
    amount = gross - fee if kind == "funds_released" else gross
    return {"order_id": record.id, "title": record.title, "amount": {"amount": amount, "currency": record.currency},
            "commission": {"amount": fee, "currency": record.currency}, "deadline_at": record.deadline_at,
            "review_due_at": record.review_due_at, "message": record.last_message or "",
            "reason": record.closed_reason or ""}

"""The params each process's notifications are rendered with, for each recipient: what the deal is, what it
costs and what the reader gets (see tests/notification_samples.py for every kind's shape)."""
from __future__ import annotations

from typing import Any

from chalicelib.money.amounts import commission
from chalicelib.platform.config import settings
from chalicelib.store.models import DealModel


def _commission(record: DealModel) -> int:
    return commission(int(record.amount), int(record.commission_bps))


def _money(amount: int | None, currency: str) -> dict | None:
    return None if amount is None else {"amount": int(amount), "currency": currency}


def deal_notification(record: DealModel, kind: str, role: str, *, extra_id: str | None = None) -> dict:
    """The params an order notification is rendered with (see tests/notification_samples.py)."""
    gross, fee, currency = int(record.amount), _commission(record), record.currency
    params: dict[str, Any] = {
        "role": role, "order_id": record.id, "title": record.title, "amount": _money(gross, currency),
        "payout": _money(gross - fee, currency), "commission": _money(fee, currency),
        "deadline_at": record.deadline_at, "review_due_at": record.review_due_at,
        "message": record.last_message or "", "reason": record.closed_reason or ""}
    if kind == "order_delivered":
        deliveries = (record.data or {}).get("deliveries") or [{}]
        params["files"] = [{"filename": f["filename"], "size": int(f["size"])} for f in deliveries[-1].get("files", [])]
    if kind.startswith("extra_"):
        extra = next(e for e in record.extras if e["id"] == extra_id)
        params["extra"] = {"title": extra["title"], "amount": _money(extra["amount"], currency),
                           "extra_days": extra["extra_days"]}
    if kind.startswith("cancellation_"):
        asked = record.cancellation or {}
        params["cancellation"] = {"by": asked["by"], "reason": asked["reason"], "message": asked.get("message", "")}
    if kind.startswith("dispute_"):
        dispute = record.dispute or {}
        released = dispute.get("release")
        params["dispute"] = {
            "by": dispute.get("by", "client"), "reason": dispute.get("reason", ""), "note": dispute.get("note", ""),
            "refund": _money(dispute.get("refund"), currency), "release": _money(released, currency),
            "payout": _money(None if released is None else released - dispute["commission"], currency)}
    return params


def promised_revisions(promised: int | None) -> int:
    """What an offer promises is what the engine keeps: an offer made before the cap (no number) allows
    the engine's limit, never "unlimited"."""
    from chalicelib.processes.gig_order import MAX_REVISIONS  # gig_order renders its notices with this module

    return MAX_REVISIONS if promised is None else min(int(promised), MAX_REVISIONS)


def offer_notification(record: DealModel, role: str) -> dict:
    agreed = record.terms or {}
    return {"role": role, "offer_id": record.id, "gig_title": agreed.get("gig_title", record.title),
            "description": agreed.get("description", ""), "amount": _money(int(record.amount), record.currency),
            "delivery_days": int(record.delivery_days),
            "revision_limit": promised_revisions(agreed.get("revision_limit")),
            "accept_by": record.accept_by, "order_id": record.related_id, "reason": record.closed_reason or "",
            # what the order it becomes will take and leave the contractor (recorded with the offer)
            "commission": _money(_commission(record), record.currency),
            "payout": _money(int(record.amount) - _commission(record), record.currency)}


def contract_notification(record: DealModel, kind: str, role: str) -> dict:
    """Like an order's, but `amount` is what is in escrow now and `price` the agreed price."""
    escrowed = int(record.amount if record.escrowed is None else record.escrowed)
    fee = commission(escrowed, int(record.commission_bps))
    return {**deal_notification(record, kind, role), "deal": "contract", "amount": _money(escrowed, record.currency),
            "payout": _money(escrowed - fee, record.currency), "commission": _money(fee, record.currency),
            "price": _money(int(record.amount), record.currency), "fund_due_at": record.fund_due_at,
            "price_payout": _money(int(record.amount) - _commission(record), record.currency),
            "price_commission": _money(_commission(record), record.currency),
            "rest": _money(max(int(record.amount) - escrowed, 0), record.currency),
            "rework": {"used": sum(1 for step in record.history or [] if step["transition"] == "request_changes"),
                       "limit": settings.contract_rework_limit}}


def task_notification(record: DealModel, role: str) -> dict:
    fee = commission(int(record.amount), int(record.commission_bps))
    return {"role": role, "task_id": record.id, "title": record.title,
            "amount": _money(int(record.amount), record.currency),
            "payout": _money(int(record.amount) - fee, record.currency), "commission": _money(fee, record.currency),
            "deadline_at": record.deadline_at,
            "reason": record.closed_reason or "", **_task_dispute(record)}


def _task_dispute(record: DealModel) -> dict:
    """A contested done task: what is held of the contractor's pay, and how an operator split it."""
    dispute = record.dispute
    if not dispute:
        return {}

    def amount(key: str) -> dict | None:
        return None if dispute.get(key) is None else _money(int(dispute[key]), record.currency)

    return {"dispute": {"reason": dispute.get("reason", ""), "held": amount("held"), "refund": amount("refund"),
                        "release": amount("release"), "note": dispute.get("note", "")}}


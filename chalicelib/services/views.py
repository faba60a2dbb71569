"""How domain records are shown over the API (one function per resource)."""
from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib.money import deal_terms
from chalicelib.money.amounts import commission
from chalicelib.platform import clock, i18n
from chalicelib.platform.config import settings
from chalicelib.processes import b2b_task, gig_order, notice_params
from chalicelib.store import catalog
from chalicelib.store.models import (
    AuditLogModel,
    CatalogEntryModel,
    ConversationModel,
    DealModel,
    GigModel,
    InvoiceModel,
    JournalLineModel,
    MessageModel,
    NotificationModel,
    PaymentModel,
    PayoutModel,
    ProjectModel,
    ProposalModel,
    ReviewModel,
    ServiceInvoiceModel,
    SiteModel,
    TariffModel,
    TeamMemberModel,
    ThreadEntryModel,
    UserModel,
)


def user(record: UserModel) -> dict:
    return {"id": record.id, "email": record.email, "name": record.name, "locale": record.locale,
            "timezone": i18n.zone_name(record.timezone, record.locale), "roles": list(record.roles),
            "created_at": record.created_at, "email_confirmed": record.email_confirmed_at is not None,
            # until it is confirmed: how to get a new link (the e-mailed one may be lost or expired)
            "email_confirmation": None if record.email_confirmed_at is not None else {
                "resend": "POST /v1/me/email-confirmation",
                "message": "Open the link we e-mailed you to confirm your address; until then you cannot join a "
                           "company's team or withdraw money. Lost it? Ask for a new one."}}


def invoice(record: InvoiceModel) -> dict:
    return {"id": record.id, "number": record.number, "amount": int(record.amount), "currency": record.currency,
            "status": record.status, "payment_details": record.payment_details, "created_at": record.created_at,
            "paid_at": record.paid_at, "pdf_url": f"/v1/invoices/{record.id}/pdf", "kind": record.kind or "proforma",
            **_paid_and_due(record)}


def _paid_and_due(record: InvoiceModel | ServiceInvoiceModel) -> dict:
    """What was paid of an invoice and what it still asks (nothing once it is paid, void or written off)."""
    paid = int(record.amount) if record.status == "paid" else int(record.amount_paid or 0)
    return {"amount_paid": paid, "amount_due": int(record.amount) - paid if record.status == "open" else 0}


def payment(record: PaymentModel) -> dict:
    return {"id": record.id, "event_id": record.event_id, "amount": int(record.amount), "currency": record.currency,
            "purpose": record.purpose, "payer": record.payer, "received_at": record.received_at,
            "status": record.status, "reason": record.reason, "invoice_id": record.invoice_id,
            "resolved_by": record.resolved_by, "resolved_at": record.resolved_at}


def statement_line(record: JournalLineModel) -> dict:
    return {"entry_id": record.entry_id, "kind": record.kind, "currency": record.currency, "bucket": record.bucket,
            "amount": int(record.amount), "ref": record.ref, "created_at": record.created_at[:19] + "Z"}


def notification(record: NotificationModel, title: str, body: str, link: str) -> dict:
    return {"id": record.id, "kind": record.kind, "title": title, "body": body, "link": link,
            "params": record.params, "created_at": record.created_at, "read_at": record.read_at}


def gig(record: GigModel) -> dict:
    return {"id": record.id, "contractor_id": record.contractor_id, "title": record.title,
            "description": record.description, "amount": int(record.amount), "currency": record.currency,
            "delivery_days": int(record.delivery_days), "status": record.status,
            "rating": rating(record.rating_sum, record.rating_count), "created_at": record.created_at,
            "category": record.category, "tags": list(record.tags or []), "extras": list(record.extras or [])}


def catalog_card(row: CatalogEntryModel, level: str) -> dict:
    """A gig as a catalog page lists it, from its index row alone."""
    stand = row.contractor
    return {"id": row.gig_id, "title": row.title, "amount": int(row.amount), "currency": row.currency,
            "delivery_days": int(row.delivery_days), "category": row.category, "tags": list(row.tags or []),
            "rating": rating(row.rating_sum, row.rating_count), "created_at": row.created_at,
            "contractor": {"id": row.contractor_id, "level": level,
                           "responsibility_percent": catalog.responsibility_percent(stand["completed"],
                                                                                   stand["failed"]),
                           "reviews": rating(stand["review_sum"], stand["review_count"])}}


def order(record: DealModel, reader: str = "operator") -> dict:
    """The order as `reader` (client, contractor, operator) sees it, with the times both count on: the platform's
    commission — in the figures, the frozen terms and a dispute's decision — is the contractor's and the
    operators' to see, never the client's, who sees what he pays."""
    shown = {**_order_fields(record), **order_clock(record, clock.now())}
    if reader == "client":
        shown.pop("commission")
        shown.pop("net_to_contractor")
        shown["terms"] = None if record.terms is None else {
            key: value for key, value in record.terms.items() if key != "commission_bps"}
        if record.dispute:
            shown["dispute"] = {key: value for key, value in record.dispute.items() if key != "commission"}
    return shown


def order_clock(record: DealModel, now: datetime) -> dict:
    """The times both parties count on: `auto_cancel_at` while not started; the deadline and the seconds left
    (`remaining_seconds`), which stand still on review (`deadline_paused`: the deadline shown is where it would
    be if the clock restarted now, never passed); `review_due_at` on review."""
    at: dict[str, object] = {"auto_cancel_at": None, "deadline_at": record.deadline_at, "remaining_seconds": None,
          "deadline_paused": False, "deadline_passed": False, "review_due_at": record.review_due_at}
    if record.status == gig_order.NOT_STARTED:
        at["auto_cancel_at"] = clock.iso(clock.parse_iso(record.created_at) + gig_order.START_WITHIN)
    elif record.status == gig_order.IN_PROGRESS and record.deadline_at:
        left = int((clock.parse_iso(record.deadline_at) - now).total_seconds())
        at.update(remaining_seconds=max(left, 0), deadline_passed=left < 0)
    elif record.status == gig_order.ON_REVIEW and record.remaining_seconds is not None:
        left = max(int(record.remaining_seconds), 0)
        at.update(remaining_seconds=left, deadline_paused=True, deadline_at=clock.iso(now + timedelta(seconds=left)))
    return at


def thread_entry(record: ThreadEntryModel) -> dict:
    return {"seq": int(record.seq), "kind": record.kind, "actor": record.actor, "status": record.status,
            "at": record.at, "message": record.message, "reason": record.reason, **(record.details or {})}


def _order_fields(record: DealModel) -> dict:
    return {"id": record.id, "gig_id": record.subject_id, "offer_id": record.related_id,
            "client_id": record.client_id, "contractor_id": record.contractor_id, "title": record.title,
            "amount": int(record.amount), "currency": record.currency, "commission": _commission(record),
            "net_to_contractor": int(record.amount) - _commission(record),
            "status": record.status, "delivery_days": int(record.delivery_days), "deadline_at": record.deadline_at,
            "review_due_at": record.review_due_at, "last_message": record.last_message,
            "closed_reason": record.closed_reason, "revisions": int(record.revisions or 0),
            "extras": [_extra(extra) for extra in record.extras],
            "deliveries": [_delivery(delivery) for delivery in (record.data or {}).get("deliveries", [])],
            "cancellation": record.cancellation,
            "dispute": record.dispute, "terms": record.terms, "terms_hash": record.terms_hash,
            "terms_verified": deal_terms.verify(record.terms, record.terms_hash),
            "reviewed": record.reviewed_at is not None,
            "created_at": record.created_at, "version": int(record.version), "history": record.history,
            "thread_count": int(record.thread_count or 0)}


def _delivery(delivery: dict) -> dict:
    return {"at": delivery["at"],
            "files": [file_ref(f) for f in delivery["files"]]}


def file_ref(f: dict) -> dict:
    """An attached file as a message or delivery shows it (its download link is asked for separately)."""
    return {"id": f["id"], "filename": f["filename"], "size": f["size"],
            "content_type": f.get("content_type", "application/octet-stream"),
            "width": f.get("width"), "height": f.get("height")}


def _extra(extra: dict) -> dict:
    return {key: extra[key] for key in ("id", "title", "amount", "extra_days", "status", "offered_at", "decided_at")}


def offer(record: DealModel) -> dict:
    agreed = record.terms or {}
    return {"id": record.id, "gig_id": record.subject_id, "order_id": record.related_id,
            "client_id": record.client_id, "contractor_id": record.contractor_id, "title": record.title,
            "description": agreed.get("description", ""), "amount": int(record.amount), "currency": record.currency,
            "delivery_days": int(record.delivery_days),
            "revision_limit": notice_params.promised_revisions(agreed.get("revision_limit")),
            "commission": _commission(record), "net_to_contractor": int(record.amount) - _commission(record),
            "request_id": agreed.get("request_id"), "accept_by": record.accept_by, "status": record.status,
            "closed_reason": record.closed_reason,
            "terms": record.terms, "terms_hash": record.terms_hash, "created_at": record.created_at,
            "version": int(record.version), "history": record.history}


def offer_request(record: DealModel) -> dict:
    data = record.data or {}
    return {"id": record.id, "client_id": record.client_id, "contractor_id": record.contractor_id,
            "gig_id": data.get("gig_id"), "description": record.description or "",
            "budget": None if not data.get("budget") else dict(data["budget"]), "deadline_at": record.deadline_at,
            "answer_by": record.accept_by, "status": record.status, "offer_id": record.related_id,
            "closed_reason": record.closed_reason, "conversation_id": data["conversation_id"],
            "message_id": data["message_id"], "created_at": record.created_at, "version": int(record.version),
            "history": record.history}


def _commission(record: DealModel) -> int:
    return commission(int(record.amount), int(record.commission_bps))


def review(record: ReviewModel) -> dict:
    return {"order_id": record.order_id, "gig_id": record.gig_id, "client_id": record.client_id,
            "contractor_id": record.contractor_id, "rating": int(record.rating), "text": record.text,
            "outcome": record.outcome or "completed", "created_at": record.created_at}


def contract_review(record: ReviewModel) -> dict:
    contract_id, _, author = record.order_id.partition("#")
    return {"contract_id": contract_id, "project_id": record.project_id, "author_role": author,
            "author_id": record.client_id if author == "client" else record.contractor_id,
            "reviewed_id": record.contractor_id if author == "client" else record.client_id,
            "rating": int(record.rating), "text": record.text, "created_at": record.created_at}


def rating(total: float | None, count: float | None) -> dict:
    """A rating without floats: the count, the sum, and the average as a decimal string with 2 places."""
    count, total = int(count or 0), int(total or 0)
    hundredths = (total * 100 + count // 2) // count if count else None
    average = None if hundredths is None else f"{hundredths // 100}.{hundredths % 100:02d}"
    return {"count": count, "sum": total, "average": average}


def message(record: MessageModel) -> dict:
    return {"id": record.message_id, "thread_id": record.thread_id, "sender_id": record.sender_id,
            "text": record.text, "attachments": [file_ref(f) for f in record.attachments if "id" in f],
            "links": list(record.links or []), "offer_request_id": record.offer_request_id,
            "created_at": record.created_at}


def conversation(record: ConversationModel) -> dict:
    return {"id": record.conversation_id, "peer_id": record.peer_id, "created_at": record.created_at}


def masked(method: str, destination: str) -> str:
    """A card shows its last four digits; an IBAN its country, check digits and last four."""
    if method == "card":
        return f"•••• {destination[-4:]}"
    return f"{destination[:4]} •••• {destination[-4:]}"


def payout(record: PayoutModel) -> dict:
    return {"id": record.id, "amount": int(record.amount), "currency": record.currency, "method": record.method,
            "destination": masked(record.method, record.destination), "status": record.status,
            "created_at": record.created_at, "sent_at": record.sent_at, "decided_at": record.decided_at,
            "failure_reason": record.failure_reason}


def payout_notification(record: PayoutModel) -> dict:
    return {"payout_id": record.id, "amount": {"amount": int(record.amount), "currency": record.currency},
            "destination": masked(record.method, record.destination), "reason": record.failure_reason or ""}


def project(record: ProjectModel) -> dict:
    return {"id": record.id, "client_id": record.client_id, "title": record.title, "description": record.description,
            "skills": list(record.skills), "budget_min": int(record.budget_min), "budget_max": int(record.budget_max),
            "currency": record.currency, "status": record.status, "contract_id": record.contract_id,
            "created_at": record.created_at}


def proposal(record: ProposalModel) -> dict:
    return {"project_id": record.project_id, "contractor_id": record.contractor_id, "price": int(record.price),
            "currency": record.currency, "days": int(record.days), "text": record.text, "status": record.status,
            "created_at": record.created_at, "updated_at": record.updated_at}


def contract(record: DealModel) -> dict:
    escrowed = int(record.amount if record.escrowed is None else record.escrowed)
    deliverable = (record.data or {}).get("deliverable")
    return {"id": record.id, "project_id": record.subject_id, "client_id": record.client_id,
            "contractor_id": record.contractor_id, "title": record.title, "price": int(record.amount),
            "escrowed": escrowed, "currency": record.currency, "commission_bps": int(record.commission_bps),
            "status": record.status, "days": int(record.delivery_days), "deadline_at": record.deadline_at,
            "release_due_at": record.review_due_at, "fund_due_at": record.fund_due_at, "deliverable": deliverable,
            "versions": (record.data or {}).get("versions") or [],
            "rework": {"used": sum(1 for step in record.history if step["transition"] == "request_changes"),
                       "limit": settings.contract_rework_limit},
            "funding_extended": any(step["transition"] == "extend_funding" for step in record.history),
            "dispute": record.dispute,
            "terms": record.terms, "terms_hash": record.terms_hash,
            "terms_verified": deal_terms.verify(record.terms, record.terms_hash), "created_at": record.created_at,
            "version": int(record.version), "history": record.history}


def deal(record: DealModel) -> dict:
    """A deal in a list that mixes flows (the operators' dispute queue)."""
    if record.process == "b2b_task":
        return task(record) | {"process": record.process}
    return contract(record) | {"process": "project"} if record.process == "project" else order(record) | {
        "process": record.process}


def task(record: DealModel) -> dict:
    act = (record.data or {}).get("act")
    unassigned = record.contractor_id == b2b_task.UNASSIGNED
    member = b2b_task.pending_member(record)
    return {"id": record.id, "company_id": record.client_id,
            "contractor_id": None if unassigned else record.contractor_id,
            "contractor_state": "unassigned" if unassigned else "invited" if member else "active",
            "invitation_expires_at": member["expires_at"] if member else None,
            "title": record.title, "description": record.description or "", "amount": int(record.amount),
            "currency": record.currency, "commission": commission(int(record.amount), int(record.commission_bps)),
            "deadline_at": record.deadline_at, "status": record.status, "closed_reason": record.closed_reason,
            "dispute": record.dispute,
            "act": None if act is None else {**act, "pdf_url": f"/v1/tasks/{record.id}/act"},
            "created_at": record.created_at, "version": int(record.version), "history": record.history}


def act_document(record: DealModel) -> dict:
    act = (record.data or {})["act"]
    return {"kind": "act", "number": act["number"], "issued_at": act["issued_at"], "task_id": record.id,
            "title": record.title, "amount": int(record.amount), "currency": record.currency,
            "company_id": record.client_id, "contractor_id": record.contractor_id,
            "pdf_url": f"/v1/tasks/{record.id}/act"}


def team_member(record: TeamMemberModel) -> dict:
    """A member as the company sees him: `contractor_id` is whom to assign tasks to — drafts only, until he
    joins; a pending invitation past its expiry shows as `expired`."""
    pending = record.state in ("invited", "requested")
    expired = pending and record.expires_at is not None and clock.parse_iso(record.expires_at) <= clock.now()
    assignable = record.state == "active" or (pending and not expired)
    return {"email": record.email, "user_id": record.user_id,
            "contractor_id": (record.user_id or b2b_task.placeholder_id(record.company_id, record.email))
            if assignable else None,
            "state": "expired" if expired else record.state, "invited_at": record.invited_at,
            "invitation_expires_at": record.expires_at if pending else None, "joined_at": record.joined_at}


def tariff(record: TariffModel, period: str) -> dict:
    from chalicelib.money.tariffs import CURRENCY, price_for

    upcoming = [entry for entry in record.prices if entry["from"] > period]
    price = {"amount": price_for(record, period), "currency": CURRENCY}
    return {"code": record.code, "name": record.name, "price": price,
            "limits": dict(record.limits), "features": list(record.features), "active": bool(record.active),
            "price_changes": [{"from": entry["from"], "price": {"amount": int(entry["amount"]), "currency": CURRENCY}}
                              for entry in sorted(upcoming, key=lambda entry: entry["from"])]}


def site(record: SiteModel, deal: DealModel, tariffs: dict[str, TariffModel], counters: dict,
         next_invoice_at: str | None) -> dict:
    from chalicelib.money.tariffs import COUNTERS, CURRENCY

    data = deal.data or {}
    current = tariffs.get(data.get("tariff", ""))
    limits = dict(current.limits) if current else {}
    mine = set(current.features) if current else set()
    pending = tariffs.get(data.get("next_tariff") or "")
    return {
        "id": record.id, "service_code": record.service_code, "name": record.name, "domains": list(record.domains),
        "owner": dict(record.contact), "owner_id": deal.client_id, "status": deal.status,
        "tariff": {"code": data.get("tariff"), "name": data.get("tariff_name"),
                   "price": {"amount": int(deal.amount), "currency": CURRENCY}},
        "next_tariff": None if pending is None else {"code": pending.code, "name": pending.name,
                                                     "from": data.get("next_period")},
        "counters": {**{name: {"value": counters[name], "limit": limits.get(limit)}
                        for name, limit in COUNTERS.items()}, "refreshed_at": counters["refreshed_at"]},
        "additional_features": [{"tariff": other.code, "name": other.name,
                                 "features": [f for f in other.features if f not in mine]}
                                for other in sorted(tariffs.values(), key=lambda t: t.code)
                                if other.active and other.code != data.get("tariff")
                                and any(f not in mine for f in other.features)],
        "vchasno": {"status": record.vchasno},
        "payment_method": None if not record.payment_method else {
            "card_mask": record.payment_method["card_mask"], "holder": record.payment_method.get("holder", "")},
        "next_invoice_at": next_invoice_at,
        "deletion": record.deletion, "created_at": record.created_at,
        "credit": {"amount": int(data.get("credit") or 0), "currency": CURRENCY},
    }


def service_invoice(record: ServiceInvoiceModel) -> dict:
    return {"id": record.id, "site_id": record.site_id, "number": record.number, "period": record.period,
            "kind": record.kind, "amount": int(record.amount), "currency": record.currency, "status": record.status,
            "issued_at": record.issued_at, "due_at": record.due_at, "paid_at": record.paid_at,
            "paid_by": record.paid_by, "lines": list(record.lines),
            "pdf_url": f"/v1/sites/{record.site_id}/invoices/{record.id}/pdf", "written_off": record.written_off,
            **_paid_and_due(record), "credit_applied": int(record.credit_applied or 0)}


def audit_record(record: AuditLogModel) -> dict:
    return {"id": record.id, "actor_id": record.actor_id, "action": record.action, "at": record.at,
            "before": record.before, "after": record.after, "reason": record.reason}


def requisites(record: SiteModel) -> dict:
    return {"tax_id": None, "kind": None, "iban": None, "company_name": None, "address": None, "director": None,
            "updated_at": None, **(record.requisites or {}), "vchasno": {"status": record.vchasno}}

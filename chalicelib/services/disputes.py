"""The operators' view of a dispute, whatever its flow: a gig order's, a project contract's or a company task's.
The queue is the one `GET /v1/operator/disputes` lists (`orders.open_disputes`: every flow shares it). One dispute
shows its frozen terms (price, deadline, what was agreed, the commission), the money it holds, and its whole
thread with every file; the decision goes through the flow's own use case (`orders.resolve_dispute`,
`projects.resolve_dispute`, `tasks.resolve_dispute`), the same the API's resolve routes call."""
from __future__ import annotations

from chalicelib.access.auth import Principal
from chalicelib.money import deal_terms
from chalicelib.money.amounts import commission
from chalicelib.platform import clock
from chalicelib.platform.errors import NotFound
from chalicelib.processes.disputes import escrow_of
from chalicelib.services import conversations, deals, orders, projects, tasks, uploads
from chalicelib.store import lookup
from chalicelib.store.models import DealModel, MessageModel, ThreadEntryModel, UserModel

# Which flows have disputes, and what the console calls each.
KINDS = {"gig_order": "order", "project": "contract", "b2b_task": "task"}
THREAD_MAX = 500  # a thread longer than this shows its first THREAD_MAX steps and messages (none comes near it)


def queue(principal: Principal, limit: int, cursor: str | None) -> dict:
    """The open disputes of every flow, oldest first: `GET /v1/operator/disputes`'s use case, each with what the
    console calls its flow (`kind`) and the money it holds (`held`, minor units)."""
    listed = orders.open_disputes(principal, limit, cursor)
    for item in listed["items"]:
        item["kind"] = KINDS.get(item["process"], item["process"])
        item["held"] = (int((item.get("dispute") or {}).get("held") or 0) if item["process"] == "b2b_task"
                        else int(item["escrowed"]) if item["process"] == "project" else int(item["amount"]))
    return listed


def _load(deal_id: str) -> DealModel:
    record = lookup.load(DealModel, deal_id, what="dispute")
    if record.process not in KINDS or record.dispute is None:
        raise NotFound("not_found", "No such dispute")
    return deals.settle(record, clock.now())


def held(deal: DealModel) -> int:
    """What the dispute holds, in minor units: the escrow (a project's may be half its price), or what a task's
    dispute held of the contractor's pay."""
    if deal.process == "b2b_task":
        return int((deal.dispute or {}).get("held") or 0)
    return escrow_of(deal)


def _party(user_id: str) -> dict:
    try:
        user = UserModel.get(user_id)
    except UserModel.DoesNotExist:
        return {"id": user_id, "email": "", "name": ""}
    return {"id": user.id, "email": user.email, "name": user.name}


def _terms(deal: DealModel) -> dict:
    """The frozen terms as agreed: price, deadline, what was agreed, commission."""
    agreed = dict(deal.terms or {})
    bps = int(deal.commission_bps or 0)
    return {"price": int(deal.amount), "currency": deal.currency,
            "days": int(deal.delivery_days) if deal.delivery_days is not None else None,
            "deadline_at": deal.deadline_at, "title": agreed.get("title") or deal.title,
            "description": agreed.get("description") or deal.description or "",
            "proposal": agreed.get("proposal"), "revision_limit": agreed.get("revision_limit"),
            "commission_bps": bps, "commission": commission(int(deal.amount), bps),
            "verified": deal.terms is None or deal_terms.verify(deal.terms, deal.terms_hash)}


def _file(record: dict) -> dict:
    return {"id": record["id"], "filename": record.get("filename", record["id"]), "size": record.get("size")}


def _thread(deal: DealModel) -> list[dict]:
    """The flow's own steps, oldest first: a gig order's thread entries, or another flow's history."""
    if deal.process == "gig_order":
        entries = ThreadEntryModel.query(deal.id, scan_index_forward=True, limit=THREAD_MAX)
        return [{"at": entry.at, "actor": entry.actor, "kind": entry.kind, "status": entry.status,
                 "message": entry.message or "", "reason": entry.reason or "",
                 "files": [_file(f) for f in (entry.details or {}).get("files", []) if "id" in f],
                 "links": list((entry.details or {}).get("links") or [])} for entry in entries]
    versions = {int(v["version"]): v for v in ((deal.data or {}).get("versions") or [])}
    steps = []
    submitted = 0
    for step in deal.history:
        files = []
        if step["transition"] == "submit":
            submitted += 1
            if submitted in versions:
                files = [{"id": f"v{submitted}", "filename": versions[submitted]["filename"],
                          "size": versions[submitted].get("size")}]
        steps.append({"at": step["at"], "actor": step["actor"], "kind": step["transition"], "status": step["to"],
                      "message": "", "reason": "", "files": files, "links": []})
    return steps


def _messages(deal: DealModel, people: dict[str, dict]) -> list[dict]:
    """What the parties wrote to each other, oldest first: on the order, or in their conversation."""
    thread_id = deal.id if deal.process == "gig_order" else conversations.conversation_id(deal.client_id,
                                                                                           deal.contractor_id)
    found = MessageModel.query(thread_id, scan_index_forward=True, limit=THREAD_MAX)
    return [{"at": message.created_at, "sender": people.get(message.sender_id, _party(message.sender_id)),
             "text": message.text, "links": list(message.links or []),
             "files": [_file(f) for f in message.attachments if "id" in f]} for message in found]


def show(principal: Principal, deal_id: str) -> dict:
    """One dispute as an operator decides it: the parties, the frozen terms, what it holds, the whole thread."""
    principal.require_operator()
    deal = _load(deal_id)
    people = {deal.client_id: _party(deal.client_id), deal.contractor_id: _party(deal.contractor_id)}
    dispute = dict(deal.dispute or {})
    return {"id": deal.id, "kind": KINDS[deal.process], "process": deal.process, "title": deal.title,
            "status": deal.status, "open": deal.status == "disputed",
            "currency": deal.currency, "held": held(deal), "client": people[deal.client_id],
            "contractor": people[deal.contractor_id], "terms": _terms(deal), "dispute": dispute,
            "thread": _thread(deal), "messages": _messages(deal, people),
            "created_at": deal.created_at}


def resolve(principal: Principal, deal_id: str, to_client: int, to_contractor: int, reason: str) -> dict:
    """Split what the dispute holds, through its flow's use case (the API's): `to_client` back to the client (a
    task's company), `to_contractor` to the contractor (less the commission the terms name)."""
    principal.require_operator()
    deal = _load(deal_id)
    if deal.process == "gig_order":
        _, body = orders.resolve_dispute(principal, deal.id, to_client, to_contractor, reason)
    elif deal.process == "project":
        _, body = projects.resolve_dispute(principal, deal.id, to_client, to_contractor, reason)
    else:
        _, body = tasks.resolve_dispute(principal, deal.id, to_client, to_contractor, reason)
    return body


def file_link(principal: Principal, deal_id: str, file_id: str) -> str:
    """A fresh short-lived link to one of the dispute's files: a delivery's, a message's attachment, or a
    contract's submitted version (`v1`, `v2`…)."""
    principal.require_operator()
    deal = _load(deal_id)
    if deal.process == "project" and file_id.startswith("v"):
        return str(projects.download_link(principal, deal.id, file_id[1:])["url"])
    if deal.process == "gig_order":
        delivered = {f["id"] for delivery in (deal.data or {}).get("deliveries", []) for f in delivery["files"]}
        if file_id in delivered:
            return str(orders.download_link(principal, deal.id, file_id)["url"])
    record = uploads.get(principal, file_id)
    thread_id = deal.id if deal.process == "gig_order" else conversations.conversation_id(deal.client_id,
                                                                                           deal.contractor_id)
    if record.get("claimed_by") != thread_id:
        raise NotFound("not_found", "No such file in this dispute")
    return str(record["download_url"])


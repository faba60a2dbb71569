"""Projects with proposals (seed 001): a client posts a project; contractors with matching skills
bid (price, days, text) and may edit or withdraw their bid until one is chosen; choosing one
escrows half its price and opens the contract (`chalicelib/processes/project.py`), whose every
later step is a transition applied by the engine. Client and bidder talk in their conversation
(`services/conversations.py`)."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from chalicelib import engine
from chalicelib.access.auth import Principal
from chalicelib.adapters.files import ZIP, check_zip, get_files
from chalicelib.money import deal_terms, ledger
from chalicelib.money.amounts import Money, require_positive
from chalicelib.notify import outbox
from chalicelib.platform import clock, ids
from chalicelib.platform.config import settings
from chalicelib.platform.errors import Conflict, Forbidden, InsufficientFunds, NotFound, Unprocessable
from chalicelib.processes import Actor, Context
from chalicelib.processes.disputes import escrow_of
from chalicelib.processes.project import AWAITING, IN_PROGRESS, PROCESS, first_half
from chalicelib.services import deals, idempotency, profiles, topups, uploads, views
from chalicelib.services.pagination import page
from chalicelib.store import lookup
from chalicelib.store.models import DealModel, ProjectModel, ProposalModel, UploadModel
from chalicelib.store.uow import UnitOfWork

OPEN, CONTRACTED, CLOSED = "open", "contracted", "closed"
ACTIVE, WITHDRAWN, SELECTED, NOT_SELECTED = "active", "withdrawn", "selected", "not_selected"
FAN_OUT = 40  # bidders told per transaction (a proposal's update and its author's notification each)


def post(principal: Principal, title: str, description: str, skills: list[str], budget_min: int, budget_max: int,
         currency: str) -> tuple[int, dict]:
    require_positive(budget_min, currency)
    if budget_max < budget_min:
        raise Unprocessable("invalid_budget", "budget_max must not be below budget_min", field="budget_max")
    now = clock.iso(clock.now())
    project = ProjectModel(ids.new_id("prj"), client_id=principal.user_id, title=title, description=description,
                           skills=sorted({skill.lower() for skill in skills}), budget_min=budget_min,
                           budget_max=budget_max, currency=currency, status=OPEN, listing=OPEN, created_at=now)
    uow = UnitOfWork()
    uow.put(project, condition=ProjectModel.id.does_not_exist())
    return idempotency.commit(uow, 201, views.project(project))


def list_open(principal: Principal, skills: list[str] | None, limit: int, cursor: str | None) -> dict:
    """Active projects, newest first, that need one of the skills (by default the caller's own)."""
    wanted = sorted({s.lower() for s in skills}) if skills is not None else (profiles.load(principal.user_id).skills
                                                                              or [])
    condition = None
    for skill in wanted:
        clause = ProjectModel.skills.contains(skill)
        condition = clause if condition is None else condition | clause
    return page(lambda **kw: ProjectModel.by_listing.query(OPEN, scan_index_forward=False,
                                                           filter_condition=condition, **kw),
                limit, cursor, views.project)


def list_mine(principal: Principal, limit: int, cursor: str | None) -> dict:
    return page(lambda **kw: ProjectModel.by_client.query(principal.user_id, scan_index_forward=False, **kw),
                limit, cursor, views.project)


def load(project_id: str) -> ProjectModel:
    return lookup.load(ProjectModel, project_id, what="project")


def get(project_id: str) -> dict:
    return views.project(load(project_id))


def _own_open_project(principal: Principal, project_id: str) -> ProjectModel:
    project = load(project_id)
    if project.client_id != principal.user_id:
        raise Forbidden("not_your_project", "Only the project's client may change it")
    if project.status != OPEN:
        raise Conflict("project_closed", "Only a project still taking proposals, with no contract, can be changed")
    return project


def _active_bids(project_id: str) -> list[ProposalModel]:
    return list(ProposalModel.query(project_id, filter_condition=ProposalModel.status == ACTIVE,
                                    consistent_read=True))


def _tell_bidders(project: ProjectModel, kind: str, *, status: str | None = None, but: str | None = None) -> None:
    """Tell every active bidder (but `but`) what happened to the project, marking each bid `status` if given;
    in chunks, each bid's change with its author's notification."""
    bids = [bid for bid in _active_bids(project.id) if bid.contractor_id != but]
    for start in range(0, len(bids), FAN_OUT):
        uow = UnitOfWork()
        for bid in bids[start:start + FAN_OUT]:
            if status is not None:
                uow.update(bid, [ProposalModel.status.set(status),
                                 ProposalModel.updated_at.set(clock.iso(clock.now()))],
                           condition=ProposalModel.status == ACTIVE)
            outbox.enqueue(uow, bid.contractor_id, kind, {
                "project_id": project.id, "title": project.title, "status": project.status,
                "price": {"amount": int(bid.price), "currency": bid.currency}})
        uow.commit()


def edit(principal: Principal, project_id: str, changes: dict) -> dict:
    """The client changes the project while no contract exists; every active bidder is told."""
    project = _own_open_project(principal, project_id)
    budget_min = changes.get("budget_min", int(project.budget_min))
    budget_max = changes.get("budget_max", int(project.budget_max))
    if budget_max < budget_min:
        raise Unprocessable("invalid_budget", "budget_max must not be below budget_min", field="budget_max")
    if "skills" in changes:
        changes["skills"] = sorted({skill.lower() for skill in changes["skills"]})
    actions = [getattr(ProjectModel, name).set(value) for name, value in sorted(changes.items())]
    if not actions:
        return views.project(project)
    uow = UnitOfWork()
    uow.update(project, actions, condition=ProjectModel.status == OPEN,
               on_fail=Conflict("project_closed", "Only a project still taking proposals can be changed"))
    uow.commit()
    project = load(project_id)
    _tell_bidders(project, "project_changed")
    return views.project(project)


def close(principal: Principal, project_id: str) -> tuple[int, dict]:
    """The client closes a project that has no contract: it takes no more proposals and every bidder is told."""
    project = _own_open_project(principal, project_id)
    uow = UnitOfWork()
    uow.update(project, [ProjectModel.status.set(CLOSED), ProjectModel.listing.remove()],
               condition=ProjectModel.status == OPEN,
               on_fail=Conflict("project_closed", "Only a project still taking proposals can be closed"))
    project.status, project.listing = CLOSED, None
    status, body = idempotency.commit(uow, 200, views.project(project))
    _tell_bidders(project, "project_closed", status=NOT_SELECTED)
    return status, body


def _open_project(project_id: str, principal: Principal) -> ProjectModel:
    project = load(project_id)
    if project.client_id == principal.user_id:
        raise Unprocessable("own_project", "You cannot bid on your own project", field="project_id")
    if project.status != OPEN:
        raise Conflict("project_closed", "This project no longer takes proposals")
    return project


def propose(principal: Principal, project_id: str, price: int, days: int, text: str) -> tuple[int, dict]:
    project = _open_project(project_id, principal)
    require_positive(price, project.currency)
    now = clock.iso(clock.now())
    proposal = ProposalModel(project.id, principal.user_id, price=price, currency=project.currency, days=days,
                             text=text, status=ACTIVE, created_at=now, updated_at=now)
    uow = UnitOfWork()
    uow.put(proposal, condition=ProposalModel.contractor_id.does_not_exist(),
            on_fail=Conflict("already_proposed", "You already sent a proposal; edit it instead"))
    outbox.enqueue(uow, project.client_id, "proposal_received", {
        "project_id": project.id, "title": project.title, "price": {"amount": price, "currency": project.currency},
        "days": days, "text": text})
    return idempotency.commit(uow, 201, views.proposal(proposal))


def _own_proposal(principal: Principal, project_id: str) -> ProposalModel:
    return lookup.load(ProposalModel, project_id, principal.user_id, what="proposal")


def edit_proposal(principal: Principal, project_id: str, price: int | None, days: int | None,
                  text: str | None) -> dict:
    proposal = _own_proposal(principal, project_id)  # only a bidder learns whether the project is open
    _open_project(project_id, principal)
    actions = [ProposalModel.updated_at.set(clock.iso(clock.now()))]
    if price is not None:
        require_positive(price, proposal.currency)
        actions.append(ProposalModel.price.set(price))
    if days is not None:
        actions.append(ProposalModel.days.set(days))
    if text is not None:
        actions.append(ProposalModel.text.set(text))
    uow = UnitOfWork()
    uow.update(proposal, actions, condition=ProposalModel.status == ACTIVE,
               on_fail=Conflict("proposal_closed", "Only an active proposal can be edited"))
    uow.commit()
    return views.proposal(lookup.load(ProposalModel, project_id, principal.user_id, what="proposal"))


def withdraw(principal: Principal, project_id: str) -> tuple[int, dict]:
    proposal = _own_proposal(principal, project_id)
    _open_project(project_id, principal)
    if proposal.status != ACTIVE:
        raise Conflict("proposal_closed", "Only an active proposal can be withdrawn")
    proposal.status = WITHDRAWN
    uow = UnitOfWork()
    uow.update(proposal, [ProposalModel.status.set(WITHDRAWN), ProposalModel.updated_at.set(clock.iso(clock.now()))],
               condition=ProposalModel.status == ACTIVE,
               on_fail=Conflict("proposal_closed", "Only an active proposal can be withdrawn"))
    return idempotency.commit(uow, 200, views.proposal(proposal))


def proposals(principal: Principal, project_id: str, limit: int, cursor: str | None) -> dict:
    project = load(project_id)
    if project.client_id != principal.user_id:
        raise Forbidden("not_your_project", "Only the project's client sees its proposals")
    return page(lambda **kw: ProposalModel.query(project_id, **kw), limit, cursor, views.proposal)


def select(principal: Principal, project_id: str, contractor_id: str) -> tuple[int, dict]:
    """The client chooses a proposal: half its price goes into escrow and the contract opens. Too little
    available balance answers 402 with a card top-up that chooses it once paid."""
    project = load(project_id)
    if project.client_id != principal.user_id:
        raise Forbidden("not_your_project", "Only the project's client chooses a proposal")
    uow = UnitOfWork()
    deal = _select(uow, project, contractor_id, clock.now())
    try:
        return idempotency.commit(uow, 201, views.contract(deal))
    except InsufficientFunds:
        raise topups.required(principal.user_id, Money(int(deal.escrowed), deal.currency), {
            "kind": topups.SELECT_PROPOSAL, "project_id": project.id, "contractor_id": contractor_id}) from None


def select_into(uow: UnitOfWork, client_id: str, project_id: str, contractor_id: str, now: datetime) -> DealModel:
    """Add choosing a proposal to the unit of work, with the checks of `select` (a paid top-up chooses it)."""
    project = load(project_id)
    if project.client_id != client_id:
        raise NotFound("not_found", "No such project")
    return _select(uow, project, contractor_id, now)


def _select(uow: UnitOfWork, project: ProjectModel, contractor_id: str, now: datetime) -> DealModel:
    if project.status != OPEN:
        raise Conflict("project_closed", "A proposal has already been chosen for this project")
    proposal = lookup.load(ProposalModel, project.id, contractor_id, what="proposal")
    if proposal.status != ACTIVE:
        raise Conflict("proposal_closed", "This proposal was withdrawn")
    price, half = int(proposal.price), first_half(int(proposal.price))
    agreed = {"project_id": project.id, "title": project.title, "description": project.description,
              "price": price, "currency": project.currency, "days": int(proposal.days), "proposal": proposal.text,
              "client_id": project.client_id, "contractor_id": contractor_id}
    deal = DealModel(ids.new_id("ctr"), client_id=project.client_id, contractor_id=contractor_id,
                     subject_id=project.id, title=project.title, description=project.description, amount=price,
                     escrowed=half, currency=project.currency, commission_bps=settings.commission_project_bps,
                     delivery_days=int(proposal.days), created_at=clock.iso(now), terms=agreed,
                     terms_hash=deal_terms.digest(agreed), data={})
    uow.update(project, [ProjectModel.status.set(CONTRACTED), ProjectModel.listing.remove(),
                         ProjectModel.contract_id.set(deal.id)], condition=ProjectModel.status == OPEN,
               on_fail=Conflict("project_closed", "A proposal has already been chosen for this project"))
    uow.update(proposal, [ProposalModel.status.set(SELECTED)], condition=ProposalModel.status == ACTIVE,
               on_fail=Conflict("proposal_closed", "This proposal was withdrawn"))
    hold = ledger.hold(f"{deal.id}:select", project.client_id, Money(half, project.currency), ref=deal.id,
                       kind="escrow_hold")
    engine.create(uow, PROCESS, deal, AWAITING, Context(now, "client"), hold, notify="contract_created")
    return deal


# --- contracts ------------------------------------------------------------------------------------------------------

def load_contract(contract_id: str) -> DealModel:
    return deals.load(PROCESS, contract_id)


def _role(principal: Principal, deal: DealModel) -> Actor:
    return deals.role_of(principal, deal, "contract")


def get_contract(principal: Principal, contract_id: str) -> dict:
    deal = load_contract(contract_id)
    _role(principal, deal)
    return views.contract(deal)


def list_contracts(principal: Principal, role: str, limit: int, cursor: str | None) -> dict:
    return deals.list_for(principal, PROCESS, role, limit, cursor, views.contract)


def act(principal: Principal, contract_id: str, transition: str, *, message: str | None = None,
        payload: dict | None = None) -> tuple[int, dict]:
    try:
        status, body = deals.fire(PROCESS, contract_id, transition, lambda deal: _role(principal, deal),
                                  views.contract, message=message, payload=payload)
    except InsufficientFunds:
        if transition != "fund_rest":
            raise
        deal = load_contract(contract_id)  # too little for the rest: a card top-up escrows it once paid
        raise topups.required(principal.user_id, Money(int(deal.amount) - escrow_of(deal), deal.currency),
                              {"kind": topups.FUND_CONTRACT, "contract_id": deal.id}) from None
    if transition == "accept" and status == 200:
        # the contract is under way: the other bids are not chosen, and their authors hear it
        _tell_bidders(load(body["project_id"]), "proposal_not_selected", status=NOT_SELECTED,
                      but=body["contractor_id"])
    return status, body


def resolve_dispute(principal: Principal, contract_id: str, refund_minor: int, release_minor: int,
                    note: str) -> tuple[int, dict]:
    """An operator splits a disputed contract's escrow between a refund and a release; the decision and its reason
    are his act in the audit log, committed with the split (`subject` = `contract#<id>`)."""
    principal.require_operator()
    return deals.fire(PROCESS, contract_id, "resolve_dispute", lambda deal: _role(principal, deal), views.contract,
                      message=note,
                      payload={"refund": refund_minor, "release": release_minor, "operator_id": principal.user_id},
                      also=deals.audit_resolution(principal, "contract", note))


def fund_into(uow: UnitOfWork, client_id: str, contract_id: str, now: datetime) -> DealModel:
    """Add escrowing the rest of a contract to the unit of work, as its client firing `fund_rest` (a paid top-up
    funds it)."""
    deal = load_contract(contract_id)
    if deal.client_id != client_id:
        raise NotFound("not_found", "No such contract")
    engine.apply(uow, PROCESS, deal, "fund_rest", Context(now, "client"))
    return deal


def upload(principal: Principal, contract_id: str, file_id: str) -> tuple[int, dict]:
    """The contractor attaches the deliverable, while in progress: his upload (`POST /v1/uploads`), claimed by the
    contract in the same unit of work — one zip, within the size limit, whose directory is safe to unpack."""
    deal = load_contract(contract_id)
    if _role(principal, deal) != "contractor":
        raise Forbidden("not_your_move", "Only the contractor uploads the deliverable")
    if deal.status != IN_PROGRESS:
        raise Conflict("invalid_state", f"Cannot upload to a contract that is {deal.status.replace('_', ' ')}")

    def a_safe_zip(record: UploadModel, read: Callable[[], bytes]) -> None:
        if record.content_type != ZIP:
            raise Unprocessable("not_a_zip", "The deliverable must be a zip archive (application/zip)",
                                field="file_id")
        if int(record.size) > settings.deliverable_max_bytes:
            raise Unprocessable("file_too_large", f"The deliverable may be at most {settings.deliverable_max_bytes}"
                                " bytes", field="file_id")
        check_zip(read(), filename=record.filename, max_entries=settings.zip_max_entries,
                  max_unpacked_bytes=settings.zip_max_unpacked_bytes, field="file_id", name_field="file_id")

    now = clock.now()
    uow = UnitOfWork()
    claimed = uploads.claim_one(uow, principal, file_id, deal.id, now, a_safe_zip)
    deliverable = {"key": claimed["key"], "file_id": claimed["id"], "filename": claimed["filename"],
                   "size": claimed["size"], "uploaded_at": clock.iso(now)}
    deal.data = {**(deal.data or {}), "deliverable": deliverable}
    uow.update(deal, [DealModel.data.set(deal.data)], condition=(DealModel.status == IN_PROGRESS) &
               (DealModel.version == int(deal.version)),
               on_fail=Conflict("state_changed", "The contract changed meanwhile; reload it and try again"))
    return idempotency.commit(uow, 200, views.contract(deal))


def download_link(principal: Principal, contract_id: str, version: str | None = None) -> dict:
    """A short-lived link to the deliverable (or one submitted version of it), for the parties — refused
    until the whole price is in escrow."""
    deal = load_contract(contract_id)
    role = _role(principal, deal)
    deliverable = (deal.data or {}).get("deliverable")
    if version is not None:
        versions = (deal.data or {}).get("versions") or []
        if not version.isdigit() or not 1 <= int(version) <= len(versions):
            raise Unprocessable("validation_error", f"version must be one of 1..{len(versions)}", field="version")
        deliverable = versions[int(version) - 1]
    if deliverable is None:
        raise NotFound("not_found", "No deliverable has been uploaded yet")
    escrowed = int(deal.amount if deal.escrowed is None else deal.escrowed)
    if role == "client" and escrowed < int(deal.amount):
        raise Forbidden("not_fully_funded", "Escrow the remaining half to download the deliverable")
    return {"url": get_files().link(deliverable["key"], deliverable["filename"]),
            "expires_in_seconds": settings.download_link_seconds, "filename": deliverable["filename"]}

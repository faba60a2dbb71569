"""What every deal flow's service does alike: load a deal of its process as it stands once its due
timer has fired, tell the caller's part in it (strangers see nothing: 404), fire a transition as
that part, and list a party's deals of one process, newest first.

A due timer wins over a late action: whoever touches a deal first after its timer fell due — the
scheduled job, a party's action, a read — fires the timed transition exactly as the job would (as
the `system` actor, conditional on the status and version it was armed for), and only then is
the request served. A party's move that the timer made impossible is refused with a 409 naming
what the timer did (see `engine.apply`)."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from chalicelib import engine
from chalicelib.access.auth import Principal
from chalicelib.platform import clock
from chalicelib.platform.errors import Conflict, DomainError, Forbidden, NotFound, Retryable, UpstreamRefused
from chalicelib.platform.observability import logger
from chalicelib.processes import Actor, Charge, Context, OutsideRequest, Process
from chalicelib.processes.registry import PROCESSES
from chalicelib.services import idempotency
from chalicelib.services.pagination import page
from chalicelib.store import audit_log, lookup
from chalicelib.store.models import DealModel
from chalicelib.store.uow import UnitOfWork, run_with_retries

# A deal's timers fire one after another when several fell due (a subscription's missed months);
# this bounds how many one request catches up on before it is served.
CATCH_UP = 24


def load(process: Process, deal_id: str) -> DealModel:
    """The deal as it stands now: its due timers fired first."""
    deal = lookup.load(DealModel, deal_id, what=process.noun)
    if deal.process != process.name:
        raise NotFound("not_found", f"No such {process.noun}")
    return settle(deal, clock.now())


def settle(deal: DealModel, now: datetime) -> DealModel:
    """Fire the deal's due timers, as the job would, and return the deal as they left it."""
    for _ in range(CATCH_UP):
        if engine.due_timer(deal, now) is None:
            return deal
        try:
            if fire_timer(deal, now):
                continue
        except Retryable:
            pass
        deal = DealModel.get(deal.id, consistent_read=True)  # fired or moved by someone else meanwhile, or a lost race
    raise Conflict("busy", "The deal's timers are being fired; retry the request")


def fire_timer(deal: DealModel, now: datetime) -> bool:
    """Fire the deal's pending timed transition as the `system` actor; False if it no longer applies
    (another run fired it first, the deal moved on, or an index copy lags behind the table). A timer
    whose transition the deal refuses (its guard, its state) is not left pending: the deal re-arms its
    next timer without it (`engine.rearm`), so a refused timer never blocks the ones behind it."""
    if deal.timer_transition is None:
        return False
    process = PROCESSES[deal.process]
    payload = process.prepare(deal, deal.timer_transition, now) if process.prepare else {}
    uow = UnitOfWork()
    ctx = Context(now, "system", payload=payload)
    refused = deal.timer_transition
    try:
        engine.check(process, deal, refused, ctx)
    except (Conflict, Forbidden):
        _rearm(process, deal, refused, now)
        return False
    try:
        engine.apply(uow, process, deal, deal.timer_transition, ctx)
        uow.commit()
    except (Conflict, Forbidden):
        return False
    if process.after is not None:
        ask_outside(process.after(deal, ctx))
    return True


def _rearm(process: Process, deal: DealModel, refused: str, now: datetime) -> None:
    uow = UnitOfWork()
    if not engine.rearm(uow, process, deal, refused, now):
        return
    try:
        uow.commit()
    except Conflict:  # the deal moved meanwhile: its move armed its timers afresh
        return
    logger.info("refused timer re-armed", extra={"deal_id": deal.id, "refused": refused,
                                                "next": deal.timer_transition})


def ask_outside(requests: list[OutsideRequest]) -> None:
    """Send what committed transitions ask of the outside world. Each request is safe to send twice, and one
    not taken now is asked again by the deal's own timer, so a refusal is logged, never raised."""
    from chalicelib.adapters import acquirer
    from chalicelib.services import card_payments  # a refusal is the payments' outcome (they use this module)

    for request in requests:
        try:
            if isinstance(request, Charge):
                acquirer_id = acquirer.get_acquirer().charge(request.payment_id, request.card_token, request.amount,
                                                             request.description,
                                                             idempotency_key=request.idempotency_key)
                card_payments.remember_acquirer_id(request.payment_id, acquirer_id)
            else:
                acquirer.get_acquirer().refund(request.payment_id, request.amount, request.acquirer_id)
        except UpstreamRefused:  # 4xx: asking again would be refused again
            logger.warning("acquirer refused the request", extra={"payment_id": request.payment_id,
                                                                   "request": type(request).__name__})
            if isinstance(request, Charge):
                card_payments.charge_refused(request.payment_id)
            else:
                card_payments.refund_refused(request.payment_id)
        except DomainError:  # unavailable: the deal's own timer asks again under the same id and key
            logger.warning("acquirer request not taken; asked again later",
                           extra={"payment_id": request.payment_id, "request": type(request).__name__})


def role_of(principal: Principal, deal: DealModel, noun: str, *, operators: bool = True) -> Actor:
    if principal.user_id == deal.client_id:
        return "client"
    if principal.user_id == deal.contractor_id:
        return "contractor"
    if operators and principal.is_operator:
        return "operator"
    raise NotFound("not_found", f"No such {noun}")


def fire(process: Process, deal_id: str, transition: str, role_of: Callable[[DealModel], Actor],
         present: Callable[[DealModel], dict], *, message: str | None = None, reason: str | None = None,
         payload: dict | None = None, status: int = 200,
         before: Callable[[DealModel, Actor], None] | None = None,
         also: Callable[[UnitOfWork, DealModel], None] | None = None,
         prepare: Callable[[UnitOfWork, DealModel, Context], None] | None = None) -> tuple[int, dict]:
    """Fire `transition` on a deal as the caller's part in it, committed with the request's
    idempotency record; a lost race reloads the deal and tries again. `before` may refuse first;
    `prepare`, once the move is allowed, adds to its transaction and context what it carries (the files a
    delivery claims); `also` adds what else the move writes to its transaction (an operator's audit record)."""

    fired: list[tuple[DealModel, Context]] = []

    def attempt() -> tuple[int, dict]:
        fired.clear()
        deal = load(process, deal_id)
        role = role_of(deal)
        if before is not None:
            before(deal, role)
        ctx = Context(clock.now(), role, message=message, reason=reason, payload=dict(payload or {}))
        uow = UnitOfWork()
        if prepare is not None:
            engine.check(process, deal, transition, ctx)
            prepare(uow, deal, ctx)
        engine.apply(uow, process, deal, transition, ctx)
        if also is not None:
            also(uow, deal)
        answer = idempotency.commit(uow, status, present(deal))
        fired.append((deal, ctx))
        return answer

    answer = run_with_retries(attempt)
    if process.after is not None:  # what the move asks of the outside world leaves in this request
        for deal, ctx in fired:
            ask_outside(process.after(deal, ctx))
    return answer


def list_for(principal: Principal, process: Process, role: str, limit: int, cursor: str | None,
             present: Callable[[DealModel], dict], *, only: Callable[[DealModel], bool] | None = None) -> dict:
    """The caller's deals of `process` as client (default) or contractor, those matching `only`. The index holds
    keys only: the page's deals are read in one batch, then filtered (as a query's filter would, after its limit)."""
    key = f"{process.noun}#{principal.user_id}"
    index = DealModel.by_contractor if role == "contractor" else DealModel.by_client
    now = clock.now()

    def load(listed: list[DealModel]) -> list[DealModel]:
        deals = lookup.in_order(DealModel, listed)
        return deals if only is None else [deal for deal in deals if only(deal)]

    return page(lambda **kw: index.query(key, scan_index_forward=False, **kw), limit, cursor,
                lambda deal: present(settle(deal, now)), load=load)


def audit_resolution(principal: Principal, noun: str, reason: str) -> Callable[[UnitOfWork, DealModel], None]:
    """`fire`'s `also` for an operator's split of a dispute: his act in the audit log (`subject` = `<noun>#<id>`),
    what the dispute held before and how it was split after, with his reason."""
    def record(uow: UnitOfWork, deal: DealModel) -> None:
        dispute = deal.dispute or {}
        refund, release = int(dispute.get("refund") or 0), int(dispute.get("release") or 0)
        audit_log.record(uow, subject=f"{noun}#{deal.id}", actor_id=principal.user_id, action="resolve_dispute",
                         reason=reason, before={"status": "disputed", "held": refund + release,
                                                "currency": deal.currency},
                         after={"status": deal.status, "refund": refund, "release": release,
                                "commission": int(dispute.get("commission") or 0)})

    return record

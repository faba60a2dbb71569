"""The engine's promises, checked over every process in `chalicelib/processes/` (the registry):

- every state that holds money has a timer, or a transition of the payer (the client) or an
  operator that leaves it — no escrow without a way out;
- every way of going round in circles passes a transition with a `limit`, and the longest run of
  requests a gig order allows (the one process with loops) keeps its item far below DynamoDB's
  400 KB — no sequence of requests can freeze a deal's escrow by growing its item;
- the engine refuses a transition once its limit is used up, and a party refused because a timer
  decided the deal is told what the timer did.
"""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib import engine
from chalicelib.platform.errors import Conflict
from chalicelib.processes import Context, Process
from chalicelib.processes.gig_order import (
    CANCELLATION_REASONS,
    MAX_CANCELLATION_REQUESTS,
    MAX_EXTRAS,
    MAX_REVISIONS,
)
from chalicelib.processes.gig_order import PROCESS as GIG_ORDER
from chalicelib.processes.registry import PROCESSES
from chalicelib.store.models import DealModel
from chalicelib.store.uow import UnitOfWork

PAYER_OR_OPERATOR = {"client", "operator"}
ITEM_LIMIT_BYTES = 400 * 1024
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize("process", PROCESSES.values(), ids=PROCESSES.keys())
def test_every_state_that_holds_money_has_a_timer_or_a_way_out_for_the_payer_or_an_operator(process: Process):
    stranded = []
    for state in sorted(process.holding):
        timers = process.timers.get(state, ())
        exits = [t.name for t in process.transitions.values()
                 if state in t.source and t.target not in (None, state) and t.actors & PAYER_OR_OPERATOR]
        if not timers and not exits:
            stranded.append(state)
    assert stranded == [], f"{process.name}: escrow can be stranded in {stranded}"


LOOPING = {name: process for name, process in PROCESSES.items() if process.history_kept is not None}
BOUNDED = {name: process for name, process in PROCESSES.items() if process.history_kept is None}


@pytest.mark.parametrize("process", BOUNDED.values(), ids=BOUNDED.keys())
def test_every_loop_of_transitions_passes_one_with_a_limit(process: Process):
    """Without its limited transitions, each process's graph of states is acyclic. (A process that goes
    round by design keeps a bounded history instead: see the subscription's test below.)"""
    edges: dict[str, set[str]] = {state: set() for state in process.states}
    for transition in process.transitions.values():
        if transition.limit is None:
            for source in transition.source:
                edges[source].add(transition.target or source)
    visiting, done = set(), set()

    def visit(state: str, path: tuple[str, ...]) -> None:
        assert state not in visiting, f"{process.name}: unbounded loop {' → '.join((*path, state))}"
        if state in done:
            return
        visiting.add(state)
        for nxt in sorted(edges[state]):
            visit(nxt, (*path, state))
        visiting.remove(state)
        done.add(state)

    for state in sorted(process.states):
        visit(state, ())


def _apply(deal: DealModel, name: str, actor: str, minutes: int, **ctx) -> None:
    engine.apply(UnitOfWork(), GIG_ORDER, deal, name, Context(T0 + timedelta(minutes=minutes), actor, **ctx))


def _item_bytes(deal: DealModel) -> int:
    """The item's size as DynamoDB counts it, over-estimated: names plus JSON-encoded values."""
    return sum(len(name) + len(json.dumps(value, ensure_ascii=False).encode())
               for name, value in deal.serialize().items())


def test_the_longest_run_of_requests_keeps_a_gig_orders_item_far_below_400_kb():
    """Given an order on the longest terms the API accepts, when the parties repeat everything they
    may as often as they may with the longest texts, the item stays small; one more is refused."""
    long_text, name = "ж" * 5000, "ф" * 250 + ".zip"
    terms = {"gig_id": "gig_x", "title": "т" * 200, "description": "о" * 10000, "amount": 10**12,
             "currency": "IRR", "delivery_days": 365, "revision_limit": None}
    deal = DealModel("ord_" + "x" * 26, client_id="usr_" + "c" * 26, contractor_id="usr_" + "k" * 26,
                     subject_id="gig_x", title="т" * 200, amount=10**12, currency="IRR", commission_bps=2000,
                     delivery_days=365, created_at="2026-12-01T09:00:00Z", terms=terms, terms_hash="h" * 64, data={})
    engine.create(UnitOfWork(), GIG_ORDER, deal, "not_started", Context(T0, "client"), None, None)
    minute = iter(range(1, 10_000))
    for n in range(MAX_EXTRAS):
        extra = {"extra_id": f"ext_{n:026d}", "title": "д" * 200, "amount": 10**12, "extra_days": 365}
        _apply(deal, "offer_extra", "contractor", next(minute), payload=extra)
        _apply(deal, "pay_extra" if n % 2 else "reject_extra", "client", next(minute), payload=extra)
    with pytest.raises(Conflict) as refused:
        _apply(deal, "offer_extra", "contractor", next(minute), payload={**extra, "extra_id": "ext_more"})
    assert refused.value.code == "limit_reached"
    _apply(deal, "start", "contractor", next(minute))
    for _ in range(MAX_CANCELLATION_REQUESTS):
        _apply(deal, "request_cancellation", "client", next(minute), reason=CANCELLATION_REASONS["client"][0],
               message=long_text)
        _apply(deal, "refuse_cancellation", "contractor", next(minute))
    with pytest.raises(Conflict) as refused:
        _apply(deal, "request_cancellation", "contractor", next(minute), reason="other", message=long_text)
    assert refused.value.code == "limit_reached"
    files = [{"id": f"fil_{n:026d}", "key": f"deliveries/{deal.id}/fil_{n:026d}", "filename": name, "size": 5 << 20}
             for n in range(5)]
    for _ in range(MAX_REVISIONS):
        _apply(deal, "deliver", "contractor", next(minute), message=long_text, payload={"files": files})
        _apply(deal, "request_revision", "client", next(minute), message=long_text)
    _apply(deal, "deliver", "contractor", next(minute), message=long_text, payload={"files": files})
    with pytest.raises(Conflict) as refused:
        _apply(deal, "request_revision", "client", next(minute), message=long_text)
    assert refused.value.code == "limit_reached"
    _apply(deal, "open_dispute", "client", next(minute), message=long_text)
    _apply(deal, "resolve_dispute", "operator", next(minute), message=long_text,
           payload={"refund": int(deal.amount), "release": 0, "operator_id": "usr_ops"})
    assert deal.status == "resolved"
    assert _item_bytes(deal) < ITEM_LIMIT_BYTES // 2, f"{_item_bytes(deal)} bytes"


def test_a_party_refused_after_a_timer_decided_the_deal_is_told_what_the_timer_did():
    deal = DealModel("ord_t", client_id="usr_c", contractor_id="usr_k", subject_id="gig_x", title="Logo",
                     amount=100, currency="USD", commission_bps=0, delivery_days=1,
                     created_at="2026-12-01T09:00:00Z", terms={}, terms_hash="h", data={})
    engine.create(UnitOfWork(), GIG_ORDER, deal, "not_started", Context(T0, "client"), None, None)
    assert deal.timer_transition == "auto_cancel" and deal.timer_due_at == "2026-12-02T09:00:00Z"
    assert engine.due_timer(deal, T0 + timedelta(hours=24)) == "auto_cancel"
    assert engine.due_timer(deal, T0 + timedelta(hours=23, minutes=59)) is None
    _apply(deal, "auto_cancel", "system", 24 * 60)
    with pytest.raises(Conflict) as refused:
        _apply(deal, "start", "contractor", 24 * 60 + 1)
    assert refused.value.code == "order_auto_cancelled" and "2026-12-02T09:00:00Z" in refused.value.message
    assert deal.timer_transition is None and deal.timer_due_at is None


@pytest.mark.parametrize("process", LOOPING.values(), ids=LOOPING.keys())
def test_a_process_that_loops_by_design_has_no_limits_that_its_short_history_could_not_count(process: Process):
    assert all(transition.limit is None for transition in process.transitions.values())


def test_years_of_a_subscription_keep_its_item_small():
    """Given a site billed for ten years, reporting usage every day, changing tariffs and asking to be
    deleted and changing its mind every month, its deal's item stays a few kilobytes."""
    from chalicelib.money import periods
    from chalicelib.processes.subscription import PROCESS as SUBSCRIPTION

    tariff = {"code": "business", "name": "Б" * 100, "price": 62000, "limits": {"products": 10, "orders_per_month": 5}}
    cheaper = {**tariff, "code": "start", "price": 31000, "limits": {"products": 10**6, "orders_per_month": 10**6}}
    deal = DealModel("site_" + "x" * 26, client_id="usr_" + "c" * 26, contractor_id="platform", subject_id="site_x",
                     title="т" * 200, amount=62000, currency="UAH", commission_bps=0, delivery_days=0,
                     created_at="2026-12-01T09:00:00Z", data={
                         "service_code": "10001", "tariff": "business", "tariff_name": "Б" * 100, "next_tariff": None,
                         "next_period": "2026-12", "billable_from": "2026-12-01T09:00:00Z", "invoice_seq": 0,
                         "counters": {"products": 0, "orders": 0, "month": "2026-12", "refreshed_at": None},
                         "usage_days": [], "limit_notified": {}})
    engine.create(UnitOfWork(), SUBSCRIPTION, deal, "active", Context(T0, "client"), None, None)
    now = T0
    for _ in range(120):
        period = deal.data["next_period"]
        now = max(now, periods.start_of(period)) + timedelta(minutes=1)
        engine.apply(UnitOfWork(), SUBSCRIPTION, deal, "issue_invoice", Context(now, "system", payload={
            "tariff": tariff}))
        for _ in range(periods.days_in(period) - 1):
            now += timedelta(days=1)
            today = periods.local_day(now).isoformat()
            engine.apply(UnitOfWork(), SUBSCRIPTION, deal, "report_usage", Context(now, "system",
                                                                                   payload={"day": today}))
            later = now + timedelta(days=1)
            engine.apply(UnitOfWork(), SUBSCRIPTION, deal, "refresh_counters", Context(later, "system", payload={
                "days": {today: {"orders": 3, "products": 20}}, "folded": [today], "limits": tariff["limits"]}))
        engine.apply(UnitOfWork(), SUBSCRIPTION, deal, "change_tariff", Context(now, "client", payload={
            "tariff": cheaper, "current": tariff}))
        engine.apply(UnitOfWork(), SUBSCRIPTION, deal, "request_deletion", Context(
            now, "client", message="ж" * 2000, payload={"reasons": ["other"]}))
        engine.apply(UnitOfWork(), SUBSCRIPTION, deal, "withdraw_deletion", Context(now, "client"))
    assert int(deal.data["invoice_seq"]) >= 120 and len(deal.history) == SUBSCRIPTION.history_kept
    assert _item_bytes(deal) < 16 * 1024, f"{_item_bytes(deal)} bytes"


TIMED = [(name, state, timer.fires) for name, process in PROCESSES.items()
         for state, timers in sorted(process.timers.items()) for timer in timers]


@pytest.mark.parametrize(("name", "state", "fires"), TIMED, ids=[f"{n}-{s}-{f}" for n, s, f in TIMED])
def test_a_due_timer_whose_transition_is_refused_never_stays_pending_the_deal_re_arms_its_next_timer(
        monkeypatch, name: str, state: str, fires: str):
    """Whatever a process's guard says when its timer fires, the timer does not stay due for ever (each job
    run and each read finding it again, and the timers behind it never armed): the deal re-arms without it."""
    import dataclasses

    from chalicelib.platform import clock
    from chalicelib.processes import Timer
    from chalicelib.services import deals

    now = T0 + timedelta(days=3)
    process = PROCESSES[name]

    def refuse(deal, ctx):
        raise Conflict("not_now", "refused when it fired")

    others = {timer.fires: T0 + timedelta(days=1 + index) for index, timer in enumerate(process.timers[state])}
    others[fires] = T0
    timers = tuple(Timer(timer.fires, lambda deal, at=others[timer.fires]: at) for timer in process.timers[state])
    transitions = {**process.transitions, fires: dataclasses.replace(process.transitions[fires], guard=refuse)}
    patched = dataclasses.replace(process, prepare=None, transitions=transitions, timers={state: timers})
    monkeypatch.setitem(PROCESSES, name, patched)
    deal = DealModel(f"{name[:3]}_refused", client_id="usr_c", contractor_id="usr_k", subject_id="x", title="t",
                     amount=100, currency="UAH", commission_bps=0, delivery_days=1, created_at=clock.iso(T0),
                     terms={}, terms_hash="h", data={}, process=name, status=state, version=3, history=[],
                     client_key="x#usr_c", contractor_key="x#usr_k",
                     timer_shard=engine.timer_shard(f"{name[:3]}_refused"), timer_due_at=clock.iso(T0),
                     timer_transition=fires)
    deal.save()
    assert deals.fire_timer(deal, now) is False
    after = DealModel.get(deal.id, consistent_read=True)
    assert not (after.timer_transition == fires and engine.due_timer(after, now) == fires), \
        f"{name}.{fires} stays due after its refusal"
    assert int(after.version) == 3 and after.status == state  # nothing else changed
    expected = [(at, timer) for timer, at in others.items() if timer != fires]
    if expected:
        assert after.timer_transition == min(expected)[1]

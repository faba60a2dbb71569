"""Stateful property of the gig-order process: random parties (strangers and an operator too) fire
random transitions — extras, cancellation requests, deliveries, disputes and their splits — while
the clock moves and the timer job runs. After every step the books sum to zero, the client's
escrow equals the sum over open orders, terminal states stay terminal, nobody fires a transition
that is not theirs, and the contractor's rating counters match what happened to his orders."""
from __future__ import annotations

import itertools

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from chalicelib.access.auth import Principal
from chalicelib.money import ledger
from chalicelib.money.amounts import Money
from chalicelib.platform import clock
from chalicelib.platform.errors import Conflict, DomainError, Forbidden, NotFound, PaymentRequired, Unprocessable
from chalicelib.processes.gig_order import CANCELLATION_REASONS, OPEN_STATES, PROCESS
from chalicelib.services import gigs, orders, profiles, timers
from chalicelib.store.models import DealModel
from chalicelib.store.uow import UnitOfWork
from tests.support import assert_sums_zero

_runs = itertools.count()
TRANSITIONS = sorted(name for name, t in PROCESS.transitions.items() if "system" not in t.actors)
FORWARD = {"not_started": ["start", "offer_extra"], "in_progress": ["deliver", "pay_extra", "request_cancellation",
                                                                  "accept_cancellation"],
           "on_review": ["accept", "open_dispute", "request_revision"], "disputed": ["resolve_dispute"]}


class GigOrderMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        run = next(_runs)
        self.client = Principal(f"usr_client{run}", ("client",))
        self.contractor = Principal(f"usr_seller{run}", ("contractor",))
        self.stranger = Principal(f"usr_stranger{run}", ("client",))
        self.operator = Principal(f"usr_operator{run}", ("operator",))
        uow = UnitOfWork()
        ledger.record(uow, ledger.bank_top_up(f"fund{run}", self.client.user_id, Money(50_000, "EUR"), ref="t"))
        uow.commit()
        self.gig = gigs.publish(self.contractor, "Gig", "", 7_000, "EUR", 2)[1]["id"]
        self.orders: list[str] = []
        self.terminal: dict[str, str] = {}

    @rule()
    def place(self):
        try:
            self.orders.append(orders.place(self.client, self.gig)[1]["id"])
        except (Conflict, PaymentRequired) as refused:  # 402: short of balance, with a card top-up to pay
            assert refused.code == "insufficient_funds"

    @precondition(lambda self: self.orders)
    @rule(data=st.data(), fitting=st.sampled_from([True, True, True, True, False]))
    def fire(self, data, fitting):
        """Mostly a move that fits an open order's state and the actor; sometimes anything at all."""
        deals = [DealModel.get(order_id) for order_id in self.orders]
        open_deals = [deal for deal in deals if deal.status in OPEN_STATES]
        deal = data.draw(st.sampled_from(open_deals if open_deals and fitting else deals))
        enabled = [name for name in TRANSITIONS if deal.status in PROCESS.transitions[name].source]
        transition = data.draw(st.sampled_from(enabled if enabled and fitting else TRANSITIONS))
        spec = PROCESS.transitions[transition]
        who = data.draw(st.sampled_from(sorted(spec.actors) if fitting else
                                        ["client", "contractor", "stranger", "operator"]))
        principal = getattr(self, who)
        spec = PROCESS.transitions[transition]
        try:
            after = self._act(data, principal, who, deal, transition)["status"]
        except NotFound:
            assert who == "stranger" or transition.endswith("_extra")
            return
        except Forbidden:
            assert who not in spec.actors or spec.guard is not None
            return
        except (Conflict, Unprocessable):
            assert deal.status not in spec.source or spec.guard is not None
            return
        except DomainError as error:
            raise AssertionError(f"unexpected {error.code}") from error
        assert who in spec.actors and deal.status in spec.source and after == (spec.target or deal.status)
        event(f"fired {transition}")

    @precondition(lambda self: self.orders)
    @rule(data=st.data(), steps=st.integers(min_value=1, max_value=4))
    def move_forward(self, data, steps):
        """Push an open order a few steps along its main paths, so that disputes and splits are reached."""
        open_ids = [i for i in self.orders if DealModel.get(i).status in OPEN_STATES]
        if not open_ids:
            return
        order_id = data.draw(st.sampled_from(open_ids))
        for _ in range(steps):
            deal = DealModel.get(order_id)
            if deal.status not in FORWARD:
                return
            transition = data.draw(st.sampled_from(FORWARD[deal.status]))
            who = sorted(PROCESS.transitions[transition].actors)[0]
            if transition == "accept_cancellation" and deal.cancellation:
                who = "client" if deal.cancellation["by"] == "contractor" else "contractor"
            try:
                after = self._act(data, getattr(self, who), who, deal, transition)["status"]
            except (Conflict, Unprocessable, NotFound):
                assert transition in ("resolve_dispute", "request_revision", "accept_cancellation", "pay_extra",
                                      "request_cancellation")
                continue
            assert after == (PROCESS.transitions[transition].target or deal.status)
            event(f"fired {transition}")

    @staticmethod
    def _act(data, principal, who, deal, transition) -> dict:
        if transition == "offer_extra":
            amount = data.draw(st.integers(min_value=1, max_value=20_000))
            return orders.offer_extra(principal, deal.id, "Extra", amount, data.draw(st.integers(0, 3)))[1]
        payload, reason = {}, "r"
        if transition in ("pay_extra", "reject_extra"):
            payload["extra_id"] = data.draw(st.sampled_from([e["id"] for e in deal.extras] + ["ext_nope"]))
        if transition == "request_cancellation":
            reason = data.draw(st.sampled_from([*CANCELLATION_REASONS.get(who, ()), "not_a_reason"]))
        if transition == "resolve_dispute":
            refund = data.draw(st.integers(min_value=0, max_value=int(deal.amount)))
            payload = {"refund": refund, "release": int(deal.amount) - refund + data.draw(st.sampled_from([0, 0, 1]))}
        return orders.act(principal, deal.id, transition, message="m", reason=reason, payload=payload)[1]

    @rule(seconds=st.integers(min_value=0, max_value=2 * 86400))
    def time_passes_and_jobs_run(self, seconds):
        clock.advance(seconds)
        timers.fire_due(clock.now())

    @invariant()
    def books_escrow_and_terminal_states_hold(self):
        assert_sums_zero()
        deals = [DealModel.get(order_id) for order_id in self.orders]
        open_amount = sum(int(d.amount) for d in deals if d.status in OPEN_STATES)
        assert ledger.balances(self.client.user_id).get("EUR", (0, 0))[1] == open_amount
        finals = [deal.history[-1]["transition"] for deal in deals if deal.status in PROCESS.terminal]
        profile = profiles.load(self.contractor.user_id)
        assert int(profile.orders_failed or 0) == sum(t in ("decline", "auto_cancel", "cancel_late") for t in finals)
        assert int(profile.orders_completed or 0) == sum(t in ("accept", "auto_accept") for t in finals)
        for deal in deals:
            if deal.id in self.terminal:
                assert deal.status == self.terminal[deal.id], "a terminal state was left"
            elif deal.status in PROCESS.terminal:
                self.terminal[deal.id] = deal.status

    def teardown(self):
        clock.reset()


GigOrderMachine.TestCase.settings = settings(
    max_examples=15, stateful_step_count=30, deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
test_gig_order_process_keeps_its_promises = GigOrderMachine.TestCase

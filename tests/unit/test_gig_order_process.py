"""Stateful property of the gig-order process: random parties (and strangers) fire random
transitions while the clock moves and the timer job runs. After every step the books sum to zero,
the client's escrow equals the sum over open orders, terminal states stay terminal, and nobody
fires a transition that is not theirs."""
from __future__ import annotations

import itertools

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from chalicelib import clock, ledger
from chalicelib.auth import Principal
from chalicelib.errors import Conflict, DomainError, Forbidden, NotFound
from chalicelib.money import Money
from chalicelib.processes.gig_order import OPEN_STATES, PROCESS
from chalicelib.services import gigs, orders, timers
from chalicelib.store.models import DealModel
from chalicelib.store.uow import UnitOfWork
from tests.support import assert_sums_zero

_runs = itertools.count()
TRANSITIONS = sorted(name for name, t in PROCESS.transitions.items() if "system" not in t.actors)


class GigOrderMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        run = next(_runs)
        self.client = Principal(f"usr_client{run}", ("client",))
        self.contractor = Principal(f"usr_seller{run}", ("contractor",))
        self.stranger = Principal(f"usr_stranger{run}", ("client",))
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
        except Conflict as refused:
            assert refused.code == "insufficient_funds"

    @precondition(lambda self: self.orders)
    @rule(data=st.data(), who=st.sampled_from(["client", "contractor", "stranger"]),
          transition=st.sampled_from(TRANSITIONS))
    def fire(self, data, who, transition):
        order_id = data.draw(st.sampled_from(self.orders))
        before = DealModel.get(order_id).status
        principal = getattr(self, who)
        spec = PROCESS.transitions[transition]
        try:
            after = orders.act(principal, order_id, transition, message="m", reason="r")[1]["status"]
        except NotFound:
            assert who == "stranger"
            return
        except Forbidden:
            assert who not in spec.actors
            return
        except Conflict:
            assert before not in spec.source or spec.guard is not None
            return
        except DomainError as error:
            raise AssertionError(f"unexpected {error.code}") from error
        assert who in spec.actors and before in spec.source and after == spec.target

    @rule(seconds=st.integers(min_value=0, max_value=3 * 86400))
    def time_passes_and_jobs_run(self, seconds):
        clock.advance(seconds)
        timers.fire_due(clock.now())

    @invariant()
    def books_escrow_and_terminal_states_hold(self):
        assert_sums_zero()
        deals = [DealModel.get(order_id) for order_id in self.orders]
        open_amount = sum(int(d.amount) for d in deals if d.status in OPEN_STATES)
        assert ledger.balances(self.client.user_id).get("EUR", (0, 0))[1] == open_amount
        for deal in deals:
            if deal.id in self.terminal:
                assert deal.status == self.terminal[deal.id], "a terminal state was left"
            elif deal.status in PROCESS.terminal:
                self.terminal[deal.id] = deal.status

    def teardown(self):
        clock.reset()


GigOrderMachine.TestCase.settings = settings(
    max_examples=12, stateful_step_count=20, deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
test_gig_order_process_keeps_its_promises = GigOrderMachine.TestCase

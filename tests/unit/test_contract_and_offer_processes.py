"""Stateful properties of the project contract and the custom offer, with the clock as one of the
moves: random parties (strangers and an operator too) fire random transitions while time passes,
sometimes with the timer job and sometimes without it. After every step the books sum to zero, the
client's escrow equals what his open deals hold, terminal states stay terminal, each timed
transition fires at most once, and no deal read through the service ever shows a due timer.

And the rule a due timer wins by: whenever a party acts on a deal whose timer was due (the job not
having come by), the answer is the 409 that names what the timer did — never the party's move."""
from __future__ import annotations

import io
import itertools
import zipfile
from datetime import timedelta
from typing import ClassVar

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from chalicelib import engine
from chalicelib.access.auth import Principal
from chalicelib.money import ledger
from chalicelib.money.amounts import Money
from chalicelib.platform import clock
from chalicelib.platform.errors import Conflict, DomainError, Forbidden, NotFound, PaymentRequired, Unprocessable
from chalicelib.processes import custom_offer, project
from chalicelib.processes.disputes import escrow_of
from chalicelib.processes.gig_order import OPEN_STATES as OPEN_ORDER_STATES
from chalicelib.services import conversations, gigs, offers, profiles, projects, timers
from chalicelib.store.models import DealModel, UserModel
from chalicelib.store.uow import UnitOfWork
from tests.support import assert_sums_zero

_runs = itertools.count()
WHO = ("client", "contractor", "stranger", "operator")


def _user(principal: Principal, name: str) -> Principal:
    UserModel(principal.user_id, email=f"{principal.user_id}@example.com", name=name, locale="en",
              password_hash="x", roles=list(principal.roles), created_at=clock.iso(clock.now())).save()
    return principal


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.html", "<h1>done</h1>")
    return buffer.getvalue()


def _uploaded_zip(principal) -> str:  # type: ignore[no-untyped-def]
    """A zip the contractor uploaded (declared, then stored as the upload form would), ready to attach."""
    from chalicelib.adapters.files import get_files
    from chalicelib.services import uploads
    from chalicelib.store.models import UploadModel

    data = _zip()
    file_id = uploads.create(principal, "s.zip", len(data), "application/zip")[1]["id"]
    get_files().put(UploadModel.get(file_id).key, data, "application/zip")
    return file_id


class _Machine(RuleBasedStateMachine):
    """What both machines share: the people, the money, the clock and the checks on every deal."""

    process = project.PROCESS

    def __init__(self) -> None:
        super().__init__()
        run = next(_runs)
        self.client = _user(Principal(f"usr_client{run}", ("client",)), "Client")
        self.contractor = _user(Principal(f"usr_seller{run}", ("contractor",)), "Seller")
        self.stranger = _user(Principal(f"usr_stranger{run}", ("client",)), "Stranger")
        self.operator = _user(Principal(f"usr_operator{run}", ("operator",)), "Operator")
        uow = UnitOfWork()
        ledger.record(uow, ledger.bank_top_up(f"fund{run}", self.client.user_id, Money(100_000, "EUR"), ref="t"))
        uow.commit()
        self.deals: list[str] = []
        self.terminal: dict[str, str] = {}

    def _fire(self, deal_id: str, who: str, transition: str, attempt) -> None:
        """Fire as `who`; if the deal's timer was due, the answer must name what the timer did."""
        raw = DealModel.get(deal_id, consistent_read=True)
        due = engine.due_timer(raw, clock.now())
        if due is not None and self.process.transitions[due].target is None:
            due = None  # a reminder keeps the deal's state: the move goes on after it fired
        try:
            attempt()
        except (NotFound, Forbidden) as refused:
            assert who in ("stranger", "operator") or refused.code == "not_your_move" or due is None, refused.code
            return
        except (Conflict, Unprocessable) as refused:
            if due is not None:
                assert refused.code == self.process.transitions[due].notify, (due, refused.code)
                event("late move told what the timer did")
            return
        except DomainError as error:
            raise AssertionError(f"unexpected {error.code}") from error
        assert due is None, f"{transition} by the {who} went through although {due} was due"
        event(f"fired {transition}")

    @precondition(lambda self: self.deals)
    @rule(data=st.data())
    def a_timer_falls_due_and_a_party_moves_before_the_job(self, data):
        deals = [DealModel.get(i, consistent_read=True) for i in self.deals]
        armed = [deal for deal in deals if deal.timer_due_at is not None]
        if not armed:
            return
        deal = data.draw(st.sampled_from(armed))
        clock.advance(max(0.0, (clock.parse_iso(deal.timer_due_at) - clock.now()).total_seconds()) + 1)
        moves = sorted(name for name, t in self.process.transitions.items()
                       if deal.status in t.source and "system" not in t.actors and "operator" not in t.actors)
        transition = data.draw(st.sampled_from(moves))
        who = data.draw(st.sampled_from(sorted(self.process.transitions[transition].actors)))
        self._move(data, deal.id, transition, who)

    def _move(self, data, deal_id: str, transition: str, who: str) -> None:
        raise NotImplementedError

    @rule(seconds=st.sampled_from([60, 3600, 86400, 2 * 86400, 4 * 86400]), job=st.booleans())
    def time_passes(self, seconds, job):
        clock.advance(seconds)
        if job:
            timers.fire_due(clock.now())

    def _open_escrow(self) -> int:
        deals = [DealModel.get(i, consistent_read=True) for i in self.deals]
        return sum(escrow_of(d) for d in deals if d.status in self.process.holding)

    @invariant()
    def books_and_escrow_balance(self):
        assert_sums_zero()
        assert ledger.balances(self.client.user_id).get("EUR", (0, 0))[1] == self._open_escrow()

    @invariant()
    def terminal_states_stay_and_timers_fire_once(self):
        now = clock.now()
        for deal_id in self.deals:
            deal = DealModel.get(deal_id, consistent_read=True)
            timed = [step["transition"] for step in deal.history if self.process.timed(step["transition"])
                     and self.process.transitions[step["transition"]].target is not None]  # not a reminder
            assert len(timed) <= 1 and (not timed or deal.history[-1]["transition"] == timed[0])
            if deal_id in self.terminal:
                assert deal.status == self.terminal[deal_id], "a terminal state was left"
            elif deal.status in self.process.terminal:
                self.terminal[deal_id] = deal.status
            shown = self._read(deal_id)
            assert engine.due_timer(DealModel.get(deal_id, consistent_read=True), now) is None, "a due timer was read"
            assert shown["version"] == int(DealModel.get(deal_id, consistent_read=True).version)

    def _read(self, deal_id: str) -> dict:
        raise NotImplementedError

    def teardown(self):
        clock.reset()


class ContractMachine(_Machine):
    process = project.PROCESS
    ACTIONS = sorted(name for name, t in project.PROCESS.transitions.items() if "system" not in t.actors)

    @rule(price=st.integers(min_value=2, max_value=40_000), days=st.integers(min_value=1, max_value=5))
    def open_contract(self, price, days):
        project_id = projects.post(self.client, "Site", "A site", ["python"], 1, 100_000, "EUR")[1]["id"]
        projects.propose(self.contractor, project_id, price, days, "Me")
        try:
            self.deals.append(projects.select(self.client, project_id, self.contractor.user_id)[1]["id"])
        except (Conflict, PaymentRequired) as refused:  # too little money: refused, or a card top-up offered
            assert refused.code == "insufficient_funds"

    @precondition(lambda self: self.deals)
    @rule(data=st.data(), fitting=st.sampled_from([True, True, True, False]))
    def act(self, data, fitting):
        """Mostly a move that fits the deal's state (as last stored) by one of its actors; sometimes anything."""
        deal_id = data.draw(st.sampled_from(self.deals))
        status = DealModel.get(deal_id, consistent_read=True).status
        enabled = [name for name in self.ACTIONS if status in self.process.transitions[name].source]
        if status == project.IN_PROGRESS:
            enabled.append("upload")
        transition = data.draw(st.sampled_from(enabled if enabled and fitting else [*self.ACTIONS, "upload"]))
        actors = ["contractor"] if transition == "upload" else sorted(self.process.transitions[transition].actors)
        self._move(data, deal_id, transition, data.draw(st.sampled_from(actors if fitting else WHO)))

    FORWARD: ClassVar[dict[str, list[tuple[str, str]]]] = {
        project.AWAITING: [("accept", "contractor")],
        project.IN_PROGRESS: [("upload", "contractor"), ("submit", "contractor"), ("fund_rest", "client")],
        project.DELIVERED: [("fund_rest", "client"), ("approve", "client"), ("open_dispute", "contractor")],
        project.DISPUTED: [("resolve_dispute", "operator")]}

    @precondition(lambda self: self.deals)
    @rule(data=st.data(), steps=st.integers(min_value=1, max_value=4))
    def push_forward(self, data, steps):
        """Push a contract a few steps along its main path, so that delivery, funding and disputes are reached."""
        deal_id = data.draw(st.sampled_from(self.deals))
        for _ in range(steps):
            status = DealModel.get(deal_id, consistent_read=True).status
            if status not in self.FORWARD:
                return
            transition, who = data.draw(st.sampled_from(self.FORWARD[status]))
            self._move(data, deal_id, transition, who)

    def _move(self, data, deal_id: str, transition: str, who: str) -> None:
        principal = getattr(self, who)
        if transition == "upload":
            self._fire(deal_id, who, transition, lambda: projects.upload(principal, deal_id, _uploaded_zip(principal)))
            return
        payload = {}
        if transition == "resolve_dispute":
            escrow = escrow_of(DealModel.get(deal_id))
            refund = data.draw(st.integers(min_value=0, max_value=escrow))
            payload = {"refund": refund, "release": escrow - refund, "operator_id": principal.user_id}
        self._fire(deal_id, who, transition,
                   lambda: projects.act(principal, deal_id, transition, message="m", payload=payload))

    def _read(self, deal_id: str) -> dict:
        return projects.get_contract(self.client, deal_id)


class OfferMachine(_Machine):
    process = custom_offer.PROCESS

    def __init__(self) -> None:
        super().__init__()
        profiles.update(self.contractor, True, None)
        self.gig = gigs.publish(self.contractor, "Logo", "", 5_000, "EUR", 3)[1]["id"]
        talk = conversations.start(self.client, self.contractor.user_id)[1]["id"]
        conversations.send(self.client, talk, "Can you help?", [])
        self.orders: dict[str, str] = {}

    def _open_escrow(self) -> int:
        orders = [DealModel.get(i, consistent_read=True) for i in self.orders.values()]
        return sum(int(o.amount) for o in orders if o.status in OPEN_ORDER_STATES)

    @rule(amount=st.integers(min_value=1, max_value=40_000), days=st.integers(min_value=1, max_value=3))
    def make_offer(self, amount, days):
        last_date = clock.iso(clock.now().replace(microsecond=0) + timedelta(days=days))
        try:
            created = offers.create(self.contractor, self.client.user_id, self.gig, "Custom", amount, "EUR", 3, None,
                                    last_date)
        except Unprocessable as refused:
            assert refused.code == "gig_not_active"
            return
        except Conflict as refused:  # at most 3 offers wait for one client's answer
            assert refused.code == "too_many_pending_offers"
            assert sum(DealModel.get(d).status == "pending" for d in self.deals) >= 3
            return
        self.deals.append(created[1]["id"])

    @rule(active=st.booleans())
    def pause_or_activate_the_gig(self, active):
        gigs.set_status(self.contractor, self.gig, gigs.ACTIVE if active else gigs.PAUSED)

    @precondition(lambda self: self.deals)
    @rule(data=st.data(), transition=st.sampled_from(["accept", "accept", "reject", "withdraw"]),
          fitting=st.sampled_from([True, True, True, False]))
    def act(self, data, transition, fitting):
        offer_id = data.draw(st.sampled_from(self.deals))
        who = data.draw(st.sampled_from(sorted(self.process.transitions[transition].actors) if fitting else WHO))
        self._move(data, offer_id, transition, who)

    def _move(self, data, offer_id: str, transition: str, who: str) -> None:
        principal = getattr(self, who)

        def attempt():
            if transition == "accept":
                order = offers.accept(principal, offer_id)[1]
                self.orders[offer_id] = order["id"]
            else:
                offers.close(principal, offer_id, transition, "r")

        self._fire(offer_id, who, transition, attempt)

    @invariant()
    def accepted_offers_have_one_order_made_in_time(self):
        for offer_id in self.deals:
            offer = DealModel.get(offer_id, consistent_read=True)
            if offer.status == custom_offer.ACCEPTED:
                assert self.orders[offer_id] == offer.related_id
                accepted_at = offer.history[-1]["at"]
                assert accepted_at < offer.accept_by, "accepted after its last date"
            else:
                assert offer_id not in self.orders

    def _read(self, deal_id: str) -> dict:
        return offers.get(self.client, deal_id)


_SETTINGS = settings(max_examples=12, stateful_step_count=25, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
ContractMachine.TestCase.settings = _SETTINGS
OfferMachine.TestCase.settings = _SETTINGS
test_project_contract_keeps_its_promises = ContractMachine.TestCase
test_custom_offer_keeps_its_promises = OfferMachine.TestCase

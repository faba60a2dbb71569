"""Deal lifecycles as data: one module per flow, each a `Process` the engine runs.

A process lists its states, its transitions (which actors may fire each, the money it moves, which
notification both parties get, what else it changes, how often a deal may repeat it) and its timers:
each state may arm timed transitions whose due time is read off the deal's own data, and the
earliest armed one is the deal's pending timer. It fires as the `system` actor once it is due —
by the scheduled job, or by whichever request touches the deal first, so a due timer always wins
over a late action. After every transition the timers of the deal's state are armed again from
its data: one without a target (an extra offered, a cancellation asked for) keeps them unless it
changes what they count from (the rest of a project's price escrowed after delivery).

Two promises are checked over every process by the tests: every state that holds money has a
timer or a transition of the payer or an operator that leaves it, and every way of going round in
circles passes a transition with a `limit`, so no sequence of requests grows a deal's item without
bound — or, for a process that goes round by design (a subscription's months), the deal keeps only
its last `history_kept` steps and its loops only overwrite fixed-size attributes.

Most deals have two parties; a process names the ones its notifications go to (`parties`: a
subscription has no contractor, the platform itself serves it). A transition may write other items
in its transaction (`writes`: a service invoice and its number's claim), and a process may read what
its timed transitions need besides the deal before they fire (`prepare`: the tariff a month is
billed at), so the job and a request that fires a due timer give it the same input, and may ask the
outside world for something once a timed transition committed (`after`: a card charge), idempotently,
since a crash between the two is made good by firing again. `after` only says what to ask, as data
(`Charge`, `Refund`); the use case that fired the transition sends it through the adapter, so no process
imports the outside world.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from chalicelib.money.amounts import Money
from chalicelib.money.ledger import Transfer
from chalicelib.platform import clock
from chalicelib.platform.errors import Conflict
from chalicelib.store.models import DealModel
from chalicelib.store.uow import UnitOfWork

Actor = Literal["client", "contractor", "operator", "system"]


@dataclass(frozen=True)
class Context:
    """What a transition sees besides the deal: when, who, and what they sent."""

    now: datetime
    actor: Actor
    message: str | None = None
    reason: str | None = None
    payload: dict = field(default_factory=dict)  # what else the transition needs: an extra's id, a split


@dataclass(frozen=True)
class Timer:
    """While the deal is in the state, `fires` is due at `due(deal)`; None: not armed now."""

    fires: str
    due: Callable[[DealModel], datetime | None]


@dataclass(frozen=True)
class Transition:
    name: str
    source: frozenset[str]
    target: str | None  # None: the deal stays where it is
    actors: frozenset[Actor]
    # (deal, ctx, transfer id) → transfer; None when, this time, there is nothing to move
    money: Callable[[DealModel, Context, str], Transfer | None] | None = None
    notify: str | None = None  # the notification kind both parties get
    notify_operators: bool = False
    effects: Callable[[DealModel, Context], dict] | None = None  # attribute name → new value
    guard: Callable[[DealModel, Context], None] | None = None  # raises a DomainError to refuse
    contractor_score: str | None = None  # the contractor's profile counter this transition adds one to
    limit: int | None = None  # how many times one deal may go through it (bounds the deal's item)
    writes: Callable[[UnitOfWork, DealModel, Context], None] | None = None  # other items of its transaction


@dataclass(frozen=True)
class Charge:
    """Ask the acquirer to charge a saved card (the same `idempotency_key` is charged once: the attempt,
    `<invoice id>:<n>`)."""

    payment_id: str
    card_token: str
    amount: Money
    description: str
    idempotency_key: str


@dataclass(frozen=True)
class Refund:
    """Ask the acquirer to refund a payment (asked twice, it refunds once); `acquirer_id` is the acquirer's
    own id of the payment, when known."""

    payment_id: str
    amount: Money
    acquirer_id: str | None = None


OutsideRequest = Charge | Refund


@dataclass(frozen=True)
class Process:
    name: str
    noun: str  # how errors name the deal: "order", "offer"
    states: frozenset[str]
    terminal: frozenset[str]
    transitions: dict[str, Transition]
    notification: Callable[[DealModel, Context, str, str], dict]  # (deal, ctx, kind, recipient role) → params
    timers: dict[str, tuple[Timer, ...]] = field(default_factory=dict)  # state → the timers it arms
    holding: frozenset[str] = frozenset()  # states in which the deal's money is held (escrow)
    parties: tuple[Actor, ...] = ("client", "contractor")  # who the transitions' notifications go to
    history_kept: int | None = None  # keep only the last N steps (a process that loops by design)
    # (deal, timed transition, now) → the Context payload it fires with, read before it fires
    prepare: Callable[[DealModel, str, datetime], dict] | None = None
    # (deal as a timed transition left it, its context) → what to ask of the outside world once its
    # transaction committed (a card charge); each request must be safe to ask twice
    after: Callable[[DealModel, Context], list[OutsideRequest]] | None = None
    # the operators' queue a deal is listed in by its state (`by_queue`: sites by status), if any
    queue: Callable[[str], str | None] | None = None
    # whose account holds a holding deal's money, and how much, where that is not the client's escrow (a
    # contested B2B task holds what its contractor was paid, as far as he still had it: possibly nothing)
    held_by: Callable[[DealModel], tuple[str, int]] | None = None
    # every step is also an entry of the deal's thread (ThreadEntryModel), written with it; the deal counts them
    thread: bool = False

    def __post_init__(self) -> None:
        for transition in self.transitions.values():
            assert transition.source <= self.states, transition.name
            assert transition.target is None or transition.target in self.states, transition.name
            assert not transition.source & self.terminal, f"{transition.name} leaves a terminal state"
        for state, timers in self.timers.items():
            for timer in timers:
                assert state in self.states and self.transitions[timer.fires].source >= {state}, state
                assert "system" in self.transitions[timer.fires].actors, timer.fires
        assert self.holding <= self.states - self.terminal, "a terminal state holds money"

    def timed(self, transition: str) -> bool:
        """Whether `transition` is one of the process's timed transitions."""
        return any(timer.fires == transition for timers in self.timers.values() for timer in timers)


def past_deadline(deal: DealModel, ctx: Context) -> None:
    """A guard: the deal's deadline has passed (a client may then cancel it in one click)."""
    if deal.deadline_at is None or ctx.now <= clock.parse_iso(deal.deadline_at):
        raise Conflict("not_late", "This can be cancelled this way only after its deadline has passed")

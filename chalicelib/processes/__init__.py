"""Deal lifecycles as data: one module per flow, each a `Process` the engine runs.

A process lists its states, its transitions (which actors may fire each, the money it moves, which
notification both parties get, what else it changes) and its timers: entering a state with a timer
schedules a timed transition, which the scheduled job fires as the `system` actor once it is due.
A transition without a target keeps the deal in its state (an extra offered, a cancellation asked
for) and leaves its pending timer as it was.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from chalicelib.ledger import Transfer
from chalicelib.store.models import DealModel

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
    """Entering the state schedules `fires` at `due(deal, now)`."""

    fires: str
    due: Callable[[DealModel, datetime], datetime]


@dataclass(frozen=True)
class Transition:
    name: str
    source: frozenset[str]
    target: str | None  # None: the deal stays where it is
    actors: frozenset[Actor]
    money: Callable[[DealModel, Context, str], Transfer] | None = None  # (deal, ctx, transfer id) → transfer
    notify: str | None = None  # the notification kind both parties get
    notify_operators: bool = False
    effects: Callable[[DealModel, Context], dict] | None = None  # attribute name → new value
    guard: Callable[[DealModel, Context], None] | None = None  # raises a DomainError to refuse
    contractor_score: str | None = None  # the contractor's profile counter this transition adds one to


@dataclass(frozen=True)
class Process:
    name: str
    noun: str  # how errors name the deal: "order", "offer"
    states: frozenset[str]
    terminal: frozenset[str]
    transitions: dict[str, Transition]
    notification: Callable[[DealModel, Context, str, str], dict]  # (deal, ctx, kind, recipient role) → params
    timers: dict[str, Timer] = field(default_factory=dict)
    holding: frozenset[str] = frozenset()  # states in which the deal's money is held (escrow)

    def __post_init__(self) -> None:
        for transition in self.transitions.values():
            assert transition.source <= self.states, transition.name
            assert transition.target is None or transition.target in self.states, transition.name
            assert not transition.source & self.terminal, f"{transition.name} leaves a terminal state"
        for state, timer in self.timers.items():
            assert state in self.states and self.transitions[timer.fires].source >= {state}, state
            assert "system" in self.transitions[timer.fires].actors, timer.fires

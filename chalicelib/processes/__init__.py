"""Deal lifecycles as data: one module per flow, each a `Process` the engine runs.

A process lists its states, its transitions (which actors may fire each, the money it moves, whom
it notifies, what else it changes) and its timers: entering a state with a timer schedules a timed
transition, which the scheduled job fires as the `system` actor once it is due.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from chalicelib.ledger import Transfer
from chalicelib.store.models import DealModel

Actor = Literal["client", "contractor", "operator", "system"]
Party = Literal["client", "contractor"]


@dataclass(frozen=True)
class Context:
    """What a transition sees besides the deal: when, who, and what they sent."""

    now: datetime
    actor: Actor
    message: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Timer:
    """Entering the state schedules `fires` at `due(deal, now)`."""

    fires: str
    due: Callable[[DealModel, datetime], datetime]


@dataclass(frozen=True)
class Transition:
    name: str
    source: frozenset[str]
    target: str
    actors: frozenset[Actor]
    money: Callable[[DealModel, str], Transfer] | None = None  # (deal, transfer id) → transfer
    notify: tuple[tuple[Party, str], ...] = ()
    effects: Callable[[DealModel, Context], dict] | None = None  # attribute name → new value
    guard: Callable[[DealModel, Context], None] | None = None  # raises a DomainError to refuse


@dataclass(frozen=True)
class Process:
    name: str
    states: frozenset[str]
    terminal: frozenset[str]
    transitions: dict[str, Transition]
    timers: dict[str, Timer] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for transition in self.transitions.values():
            assert transition.source <= self.states and transition.target in self.states, transition.name
            assert not transition.source & self.terminal, f"{transition.name} leaves a terminal state"
        for state, timer in self.timers.items():
            assert state in self.states and self.transitions[timer.fires].source >= {state}, state
            assert "system" in self.transitions[timer.fires].actors, timer.fires

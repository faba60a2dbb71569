"""The process engine: applies one transition of a deal's process as one transaction.

It checks that the actor may fire the transition and that the deal is in a source state, runs
the transition's guard and effects, then writes — in one unit of work — the new status and
version (conditional on the status and version it read), the transition's money, both parties'
notifications, the contractor's rating counter and the next timer. A timed transition fired
late, twice or concurrently fails that condition and changes nothing.
"""
from __future__ import annotations

import zlib

from chalicelib import clock, ledger
from chalicelib.config import settings
from chalicelib.errors import Conflict, Forbidden
from chalicelib.processes import Context, Process, Transition
from chalicelib.services import notifications
from chalicelib.store.models import DealModel, ProfileModel
from chalicelib.store.uow import UnitOfWork

_ATTRIBUTES = {name: getattr(DealModel, name) for name in DealModel.get_attributes()}


def timer_shard(deal_id: str) -> str:
    return f"timer#{zlib.crc32(deal_id.encode()) % settings.timer_shards}"


def create(uow: UnitOfWork, process: Process, deal: DealModel, initial: str, ctx: Context,
           transfer: ledger.Transfer | None, notify: str | None) -> None:
    """Open a deal in its initial state: its item, its money, both parties' notification, its first timer."""
    deal.process, deal.status, deal.version = process.name, initial, 1
    deal.client_key, deal.contractor_key = f"{process.noun}#{deal.client_id}", f"{process.noun}#{deal.contractor_id}"
    deal.history = [{"transition": "create", "to": initial, "actor": ctx.actor, "at": clock.iso(ctx.now)}]
    _schedule(process, deal, ctx)
    uow.put(deal, condition=DealModel.id.does_not_exist())
    if transfer is not None:
        ledger.record(uow, transfer, at=ctx.now)
    if notify:
        _notify(uow, process, deal, ctx, notify, operators=False)


def apply(uow: UnitOfWork, process: Process, deal: DealModel, name: str, ctx: Context) -> Transition:
    """Add transition `name` of `deal` to the unit of work; raises if the actor or state forbids it."""
    transition = process.transitions.get(name)
    if transition is None:
        raise Conflict("unknown_transition", f"{process.name} has no transition {name!r}")
    if ctx.actor not in transition.actors:
        raise Forbidden("not_your_move", f"Only the {' or '.join(sorted(transition.actors))} may {_words(name)}")
    if deal.status not in transition.source:
        raise Conflict("invalid_state", f"Cannot {_words(name)} this {process.noun}: it is {_words(deal.status)}")
    if transition.guard:
        transition.guard(deal, ctx)
    read_status, read_version = deal.status, int(deal.version)
    changes = dict(transition.effects(deal, ctx)) if transition.effects else {}
    for attribute, value in changes.items():
        setattr(deal, attribute, value)
    deal.status, deal.version = transition.target or read_status, read_version + 1
    deal.history = [*deal.history, {"transition": name, "to": deal.status, "actor": ctx.actor,
                                    "at": clock.iso(ctx.now)}]
    if transition.target is not None:
        _schedule(process, deal, ctx)
    uow.update(deal, _actions(deal, changes), condition=(DealModel.status == read_status) &
               (DealModel.version == read_version),
               on_fail=Conflict("state_changed", f"The {process.noun} changed meanwhile; reload it and try again"))
    if transition.money:
        ledger.record(uow, transition.money(deal, ctx, f"{deal.id}:{name}:{read_version}"), at=ctx.now)
    if transition.contractor_score:
        uow.update(ProfileModel(deal.contractor_id),
                   [getattr(ProfileModel, transition.contractor_score).add(1)])
    if transition.notify:
        _notify(uow, process, deal, ctx, transition.notify, operators=transition.notify_operators)
    return transition


def _words(name: str) -> str:
    return name.replace("_", " ")


def _schedule(process: Process, deal: DealModel, ctx: Context) -> None:
    timer = process.timers.get(deal.status)
    if timer is None:
        deal.timer_shard = deal.timer_due_at = deal.timer_transition = None
        return
    deal.timer_shard = timer_shard(deal.id)
    deal.timer_due_at = clock.iso(timer.due(deal, ctx.now))
    deal.timer_transition = timer.fires


def _actions(deal: DealModel, changes: dict) -> list:
    names = {"status", "version", "history", "timer_shard", "timer_due_at", "timer_transition", *changes}
    actions = []
    for name in sorted(names):
        value = getattr(deal, name)
        attribute = _ATTRIBUTES[name]
        actions.append(attribute.remove() if value is None else attribute.set(value))
    return actions


def _notify(uow: UnitOfWork, process: Process, deal: DealModel, ctx: Context, kind: str, *, operators: bool) -> None:
    recipients = [(deal.client_id, "client"), (deal.contractor_id, "contractor")]
    if operators:
        recipients.append((notifications.OPERATORS, "operator"))
    for recipient, role in recipients:
        notifications.enqueue(uow, recipient, kind, process.notification(deal, ctx, kind, role))

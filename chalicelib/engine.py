"""The process engine: applies one transition of a deal's process as one transaction.

It checks that the actor may fire the transition, that the deal is in a source state and has not
used up the transition's `limit`, runs the transition's guard and effects, then writes — in one
unit of work — the new status and version (conditional on the status and version it read), the
transition's money, both parties' notifications, the contractor's rating counter (and with it the
catalog rows of his gigs, re-ranked) and the timer the deal's state arms next. A timed transition fired
late, twice or concurrently fails that condition and changes nothing. A party refused because a timer
already decided the deal is told what the timer did (409 `order_auto_cancelled`, `offer_expired`, ...),
whoever fired it.
"""
from __future__ import annotations

import zlib
from datetime import datetime

from chalicelib.money import ledger
from chalicelib.notify import outbox
from chalicelib.platform import clock
from chalicelib.platform.config import settings
from chalicelib.platform.errors import Conflict, Forbidden
from chalicelib.processes import Context, Process, Transition
from chalicelib.store import catalog
from chalicelib.store.models import DealModel, ProfileModel, ThreadEntryModel
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
    if process.history_kept is not None:
        deal.history = deal.history[-process.history_kept:]
    _schedule(process, deal)
    if process.queue is not None:
        deal.queue = process.queue(initial)
    if process.thread:
        deal.thread_count = 0
        _thread(uow, deal, "placed", ctx)
    uow.put(deal, condition=DealModel.id.does_not_exist())
    if transfer is not None:
        ledger.record(uow, transfer, at=ctx.now)
    if notify:
        _notify(uow, process, deal, ctx, notify, operators=False)


def check(process: Process, deal: DealModel, name: str, ctx: Context) -> Transition:
    """The transition `name` if the actor may fire it on the deal now; raises the refusal otherwise."""
    transition = process.transitions.get(name)
    if transition is None:
        raise Conflict("unknown_transition", f"{process.name} has no transition {name!r}")
    if ctx.actor not in transition.actors:
        raise Forbidden("not_your_move", f"Only the {' or '.join(sorted(transition.actors))} may {_words(name)}")
    if deal.status not in transition.source:
        raise _refusal(process, deal, name)
    if transition.limit is not None and times(deal, name) >= transition.limit:
        raise Conflict("limit_reached", f"A {process.noun} allows '{_words(name)}' at most {transition.limit} times")
    if transition.guard:
        transition.guard(deal, ctx)
    return transition


def apply(uow: UnitOfWork, process: Process, deal: DealModel, name: str, ctx: Context) -> Transition:
    """Add transition `name` of `deal` to the unit of work; raises if the actor or state forbids it."""
    transition = check(process, deal, name, ctx)
    read_status, read_version = deal.status, int(deal.version)
    changes = dict(transition.effects(deal, ctx)) if transition.effects else {}
    for attribute, value in changes.items():
        setattr(deal, attribute, value)
    deal.status, deal.version = transition.target or read_status, read_version + 1
    if process.queue is not None and deal.status != read_status:
        deal.queue = process.queue(deal.status)
        changes["queue"] = deal.queue
    deal.history = [*deal.history, {"transition": name, "to": deal.status, "actor": ctx.actor,
                                    "at": clock.iso(ctx.now)}]
    if process.history_kept is not None:
        deal.history = deal.history[-process.history_kept:]
    _schedule(process, deal)
    if process.thread:
        _thread(uow, deal, name, ctx)
        changes["thread_count"] = deal.thread_count
    uow.update(deal, _actions(deal, changes), condition=(DealModel.status == read_status) &
               (DealModel.version == read_version),
               on_fail=Conflict("state_changed", f"The {process.noun} changed meanwhile; reload it and try again"))
    transfer = transition.money(deal, ctx, f"{deal.id}:{name}:{read_version}") if transition.money else None
    if transfer is not None:
        ledger.record(uow, transfer, at=ctx.now)
    if transition.writes:
        transition.writes(uow, deal, ctx)
    if transition.contractor_score:
        _score(uow, deal.contractor_id, transition.contractor_score)
    if transition.notify:
        _notify(uow, process, deal, ctx, transition.notify, operators=transition.notify_operators)
    return transition


def _score(uow: UnitOfWork, contractor_id: str, counter: str) -> None:
    """Count the deal against (or for) its contractor. A counter behind his responsibility rating moves the
    catalog rows of his listed gigs in this same transaction when it changes what they show (his percent, the
    levels he reaches): the rating change re-ranks them at once, and a count that changes neither writes only
    his profile."""
    action = getattr(ProfileModel, counter).add(1)
    if counter not in catalog.RANKED_COUNTERS:
        uow.update(ProfileModel(contractor_id), [action])
        return
    try:
        profile = ProfileModel.get(contractor_id, consistent_read=True)
    except ProfileModel.DoesNotExist:
        profile = ProfileModel(contractor_id)
    was = catalog.standing(profile, catalog.joined(profile))
    setattr(profile, counter, int(getattr(profile, counter) or 0) + 1)
    catalog.restand(uow, profile, [action], was=was)


def rearm(uow: UnitOfWork, process: Process, deal: DealModel, refused: str, now: datetime) -> bool:
    """Re-arm a deal whose due timer `refused` its transition: its earliest other timer (the refused one
    again only once it falls due later than `now`), written conditional on the status and version read.
    False if that changes nothing."""
    read = (deal.timer_shard, deal.timer_due_at, deal.timer_transition)
    armed = [(due, timer.fires) for timer in process.timers.get(deal.status, ())
             if (due := timer.due(deal)) and not (timer.fires == refused and due <= now)]
    if armed:
        due, fires = min(armed)
        deal.timer_shard, deal.timer_due_at, deal.timer_transition = timer_shard(deal.id), clock.iso(due), fires
    else:
        deal.timer_shard = deal.timer_due_at = deal.timer_transition = None
    if (deal.timer_shard, deal.timer_due_at, deal.timer_transition) == read:
        return False
    uow.update(deal, _actions(deal, {}, ("timer_shard", "timer_due_at", "timer_transition")),
               condition=(DealModel.status == deal.status) & (DealModel.version == int(deal.version)),
               on_fail=Conflict("state_changed", f"The {process.noun} changed meanwhile"))
    return True


def rearmed(process: Process, deal: DealModel) -> list:
    """The update actions that arm a deal's timers afresh from its data, changed outside its process (a
    draft's contractor); the caller writes them with its own change, conditional on what it read."""
    _schedule(process, deal)
    return _actions(deal, {}, ("timer_shard", "timer_due_at", "timer_transition"))


def due_timer(deal: DealModel, now: datetime) -> str | None:
    """The deal's timed transition if it is due at `now`."""
    if deal.timer_transition is None or deal.timer_due_at is None:
        return None
    return deal.timer_transition if clock.parse_iso(deal.timer_due_at) <= now else None


def times(deal: DealModel, name: str) -> int:
    """How many times the deal went through transition `name`."""
    return sum(1 for step in deal.history if step["transition"] == name)


def _refusal(process: Process, deal: DealModel, name: str) -> Conflict:
    """Why `name` cannot fire now: what the timer that decided the deal did, or its state."""
    last = deal.history[-1] if deal.history else {}
    decided = process.transitions.get(last.get("transition", ""))
    if decided is not None and decided.notify and decided.target is not None and process.timed(decided.name):
        return Conflict(decided.notify, f"Cannot {_words(name)} this {process.noun}: its time ran out and it was "
                                        f"{_words(decided.target or deal.status)} ({_words(decided.name)}) at "
                                        f"{last['at']}")
    return Conflict("invalid_state", f"Cannot {_words(name)} this {process.noun}: it is {_words(deal.status)}")


def _thread(uow: UnitOfWork, deal: DealModel, kind: str, ctx: Context) -> None:
    """The step as the next entry of the deal's thread: numbered after the deal's count, which the caller writes
    with the deal (conditional on the version it read, so two steps never take one number)."""
    deal.thread_count = int(deal.thread_count or 0) + 1
    details: dict = {}
    if ctx.payload.get("files"):
        details["files"] = [{k: v for k, v in f.items() if k not in ("key", "thumbnail_key")}
                            for f in ctx.payload["files"]]
    if ctx.payload.get("links"):
        details["links"] = ctx.payload["links"]
    extra_id = ctx.payload.get("extra_id")
    if extra_id:
        details["extra"] = next((e for e in deal.extras if e["id"] == extra_id), None)
    if "cancellation" in kind and deal.cancellation:
        details["cancellation"] = deal.cancellation
    if "refund" in ctx.payload and "release" in ctx.payload:
        details["split"] = {"refund": ctx.payload["refund"], "release": ctx.payload["release"]}
    entry = ThreadEntryModel(deal.id, deal.thread_count, kind=kind, actor=ctx.actor, status=deal.status,
                             at=clock.iso(ctx.now), message=ctx.message or None, reason=ctx.reason or None,
                             details=details or None)
    uow.put(entry, condition=ThreadEntryModel.seq.does_not_exist())


def _words(name: str) -> str:
    return name.replace("_", " ")


def _schedule(process: Process, deal: DealModel) -> None:
    """Arm the earliest timer of the deal's state, reading its due time off the deal."""
    armed = [(due, timer.fires) for timer in process.timers.get(deal.status, ()) if (due := timer.due(deal))]
    if not armed:
        deal.timer_shard = deal.timer_due_at = deal.timer_transition = None
        return
    due, fires = min(armed)
    deal.timer_shard = timer_shard(deal.id)
    deal.timer_due_at = clock.iso(due)
    deal.timer_transition = fires


def _actions(deal: DealModel, changes: dict,
             fixed: tuple[str, ...] = ("status", "version", "history", "timer_shard", "timer_due_at",
                                       "timer_transition")) -> list:
    names = {*fixed, *changes}
    actions = []
    for name in sorted(names):
        value = getattr(deal, name)
        attribute = _ATTRIBUTES[name]
        actions.append(attribute.remove() if value is None else attribute.set(value))
    return actions


def _notify(uow: UnitOfWork, process: Process, deal: DealModel, ctx: Context, kind: str, *, operators: bool) -> None:
    parties = {"client": deal.client_id, "contractor": deal.contractor_id}
    recipients = [(parties[role], role) for role in process.parties]
    if operators:
        recipients.append((outbox.OPERATORS, "operator"))
    actor = parties.get(ctx.actor)  # a party's own move; None when a timer, an operator or the system moved
    for recipient, role in recipients:
        outbox.enqueue(uow, recipient, kind, process.notification(deal, ctx, kind, role), actor=actor)

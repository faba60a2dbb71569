"""Payouts: a user withdraws available money to a bank card (Luhn) or an IBAN (checksum and
country format, by python-stdnum). The amount moves to held at once, with the payout and the
open-payout counter in one transaction; the request then goes to the bank. The bank's signed
answer settles it: `payout.paid` sends the held money to the outside world, `payout.failed`
returns it to available. At most `PAYOUT_MAX_OPEN` payouts per currency are open at a time.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib.access.auth import Principal
from chalicelib.adapters.payout_bank import get_bank
from chalicelib.money import ledger
from chalicelib.money.amounts import Money, require_positive
from chalicelib.notify import outbox
from chalicelib.platform import clock, ids
from chalicelib.platform.config import settings
from chalicelib.platform.errors import Conflict, NotFound, Unprocessable
from chalicelib.platform.observability import logger
from chalicelib.services import idempotency, views
from chalicelib.services.pagination import page
from chalicelib.store import lookup
from chalicelib.store.models import KeyModel, PayoutModel
from chalicelib.store.uow import UnitOfWork, run_with_retries

PENDING, PAID, FAILED = "pending", "paid", "failed"
# the payouts' `queue` (the sparse `by_queue` index): not taken by the bank yet, taken and not answered (on one of
# `SENT_SHARDS` keys `sent#<n>` by a hash of the payout id: every payout passes through it), refused
UNSENT, SENT = "unsent", "sent"
SENT_SHARDS = 8  # only ever raise it: a payout keyed under a smaller count is on a shard that is still read
TROUBLED_LIMIT = 200  # the most payouts of each kind (failed, stuck, not taken) the console lists
RESEND_AFTER = timedelta(minutes=1)


class _AlreadySettled(Exception):
    pass


def _open_counter(owner_id: str, currency: str) -> KeyModel:
    return KeyModel(f"payouts_open#{owner_id}#{currency}")


def validate_destination(method: str, number: str) -> str:
    """The destination, normalised; a bad card number or IBAN is a 422."""
    from stdnum import iban as iban_numbers
    from stdnum import luhn

    compact = "".join(number.split()).replace("-", "").upper()
    if method == "card":
        if not compact.isdigit() or not 12 <= len(compact) <= 19 or not luhn.is_valid(compact):
            raise Unprocessable("invalid_card", "This is not a valid card number", field="destination.number")
        return compact
    if method == "iban":
        if not iban_numbers.is_valid(compact):
            raise Unprocessable("invalid_iban", "This is not a valid IBAN", field="destination.number")
        return compact
    raise Unprocessable("validation_error", "destination.type must be card or iban", field="destination.type")


def request(principal: Principal, amount_minor: int, currency: str, method: str, number: str) -> tuple[int, dict]:
    from chalicelib.services import accounts  # with the first payout, not with the app (it loads payouts)

    accounts.require_confirmed_email(principal.user or accounts.get_user(principal.user_id))  # a proven address
    money = require_positive(amount_minor, currency)
    minimum = settings.payout_min_amount.get(currency)
    if minimum is None:
        raise Unprocessable("currency_not_allowed", f"Payouts in {currency} are not offered", field="currency")
    if amount_minor < minimum:
        raise Unprocessable("below_minimum", f"The smallest payout in {currency} is {minimum} (minor units)",
                            field="amount")
    destination = validate_destination(method, number)
    now = clock.iso(clock.now())
    payout = PayoutModel(ids.new_id("po"), owner_id=principal.user_id, amount=amount_minor, currency=currency,
                         method=method, destination=destination, status=PENDING, created_at=now, queue=UNSENT)
    counter = _open_counter(principal.user_id, currency)
    uow = UnitOfWork()
    uow.put(payout, condition=PayoutModel.id.does_not_exist())
    ledger.record(uow, ledger.hold(f"{payout.id}:hold", principal.user_id, money, ref=payout.id, kind="payout_hold"))
    uow.update(counter, [KeyModel.seq.add(1)],
               condition=KeyModel.seq.does_not_exist() | (KeyModel.seq < settings.payout_max_open),
               on_fail=Conflict("payout_open", f"A payout in {currency} is already on its way; wait for it"))
    outbox.enqueue(uow, principal.user_id, "payout_requested", views.payout_notification(payout),
                   actor=principal.user_id)
    result = idempotency.commit(uow, 201, views.payout(payout))
    _send(payout)
    return result


def sent_key(payout_id: str) -> str:
    import zlib

    return f"{SENT}#{zlib.crc32(payout_id.encode()) % SENT_SHARDS}"


def _send(payout: PayoutModel) -> bool:
    """Ask the bank; on success move the payout from the unsent queue to the sent one (the job retries the rest),
    unless the bank's answer came first and settled it."""
    from pynamodb.exceptions import UpdateError

    try:
        get_bank().request_payout(payout)
    except Exception:
        logger.exception("payout request did not reach the bank", extra={"payout_id": payout.id})
        return False
    try:
        payout.update(actions=[PayoutModel.sent_at.set(clock.iso(clock.now())),
                               PayoutModel.queue.set(sent_key(payout.id))],
                      condition=PayoutModel.status == PENDING)
    except UpdateError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise
    return True


def resend_unsent(now: datetime) -> dict:
    """The job: requests the bank did not get (an error or a crash after the commit) are sent again."""
    cutoff = clock.iso(now - RESEND_AFTER)
    outcome = {"sent": 0, "failed": 0}
    for payout in PayoutModel.by_queue.query(UNSENT, PayoutModel.created_at <= cutoff):
        outcome["sent" if _send(payout) else "failed"] += 1
    return outcome


def settle(event_id: str, payout_id: str, paid: bool, reason: str) -> dict:
    """The bank's answer: paid → the held money leaves; failed → it returns to available. Once."""
    try:
        payout = PayoutModel.get(payout_id, consistent_read=True)
    except PayoutModel.DoesNotExist:
        logger.warning("bank answered for an unknown payout", extra={"payout_id": payout_id, "event_id": event_id})
        return {"received": True, "ignored": True}
    if payout.status != PENDING:
        return {"received": True, "duplicate": True, "payout": views.payout(payout)}
    try:
        return run_with_retries(lambda: _settle(payout, event_id, paid, reason))
    except _AlreadySettled:
        pass
    except Conflict as error:
        # The same answer delivered twice at once: the loser's transaction fails on the journal entry
        # (reported first) as well as on the payout's status. Found by the bank workload.
        if error.code != "already_applied":
            raise
    return {"received": True, "duplicate": True, "payout": views.payout(PayoutModel.get(payout_id,
                                                                                        consistent_read=True))}


def _settle(payout: PayoutModel, event_id: str, paid: bool, reason: str) -> dict:
    money = Money(int(payout.amount), payout.currency)
    payout.status, payout.decided_at = (PAID if paid else FAILED), clock.iso(clock.now())
    payout.failure_reason, payout.bank_event_id = (None if paid else reason or "rejected by the bank"), event_id
    uow = UnitOfWork()
    uow.update(payout, [PayoutModel.status.set(payout.status), PayoutModel.decided_at.set(payout.decided_at),
                        PayoutModel.bank_event_id.set(event_id)]
               + ([PayoutModel.queue.remove()] if paid
                  else [PayoutModel.failure_reason.set(payout.failure_reason), PayoutModel.queue.set(FAILED)]),
               condition=PayoutModel.status == PENDING, on_fail=_AlreadySettled())
    if paid:
        ledger.record(uow, ledger.pay_out(f"{payout.id}:paid", payout.owner_id, money, ref=payout.id))
    else:
        ledger.record(uow, ledger.refund(f"{payout.id}:failed", payout.owner_id, money, ref=payout.id,
                                         kind="payout_failed"))
    uow.update(_open_counter(payout.owner_id, payout.currency), [KeyModel.seq.add(-1)])
    outbox.enqueue(uow, payout.owner_id, "payout_paid" if paid else "payout_failed",
                          views.payout_notification(payout))
    uow.commit()
    return {"received": True, "payout": views.payout(payout)}


def get(principal: Principal, payout_id: str) -> dict:
    payout = lookup.load(PayoutModel, payout_id, what="payout")
    if payout.owner_id != principal.user_id:
        raise NotFound("not_found", "No such payout")
    return views.payout(payout)


def list_mine(principal: Principal, limit: int, cursor: str | None) -> dict:
    return page(lambda **kw: PayoutModel.by_owner.query(principal.user_id, scan_index_forward=False, **kw),
                limit, cursor, views.payout)


def troubled(principal: Principal, now: datetime) -> list[dict]:
    """Operators: the payouts that need a look, oldest first. Failed ones (the bank refused: the money went back
    to the owner's available balance with the answer, so there is nothing to undo) and stuck ones: pending and
    sent to the bank longer than `PAYOUT_STUCK_AFTER_HOURS` ago with no answer, or not yet taken by the bank
    that long after they were asked for (the job keeps resending those). Each with its owner's e-mail, its
    state, since when and the last error."""
    from chalicelib.services import accounts

    principal.require_operator()
    cutoff = clock.iso(now - timedelta(hours=settings.payout_stuck_after_hours))
    rows = []
    # Queries of the sparse `by_queue` index, never a scan: the newest failed ones, and those of the sent queue's
    # shards and the unsent queue asked for before the cutoff (a payout is sent after it is asked for).
    listed = [*PayoutModel.by_queue.query(FAILED, scan_index_forward=False, limit=TROUBLED_LIMIT)]
    for queue in [*(f"{SENT}#{shard}" for shard in range(SENT_SHARDS)), UNSENT]:
        listed += PayoutModel.by_queue.query(queue, PayoutModel.created_at <= cutoff, limit=TROUBLED_LIMIT)
    for payout in listed:
        if payout.status == FAILED:
            state, since, error = FAILED, payout.decided_at or payout.created_at, payout.failure_reason
        elif payout.status != PENDING:
            continue
        elif payout.sent_at and payout.sent_at <= cutoff:
            state, since, error = "stuck", payout.sent_at, None
        elif not payout.sent_at and payout.created_at <= cutoff:
            state, since, error = UNSENT, payout.created_at, None
        else:
            continue
        try:
            owner_email = accounts.get_user(payout.owner_id).email
        except NotFound:
            owner_email = payout.owner_id
        rows.append({**views.payout(payout), "owner_id": payout.owner_id, "owner_email": owner_email,
                     "state": state, "since": since, "last_error": error})
    rows.sort(key=lambda row: (row["since"] or "", row["id"]))
    return rows

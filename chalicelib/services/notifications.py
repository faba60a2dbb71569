"""Notifications: the outbox written inside each state change, the in-cabinet feed, and
e-mail delivery driven by the notifications table's stream.

A notification addressed to a role (`role:operator`) is a broadcast: delivering it fans it out
into one notification per member, each with an id derived from the broadcast, so a retry adds
no second copy; each copy is then e-mailed like any other.

The table's stream is the only feed of the sending. Delivery claims a record (`pending` → `sending`)
with a condition before sending, so a retried stream batch or a second runner never sends one record
twice, and marks it sent after: one write each, and a notification that goes out at the first try
writes nothing else. Only what the stream could not settle enters the sharded retry queue
(`by_email_queue`): a failed send, which the job retries after five minutes, and a claim whose sender
died, which the job gives up on once stale (its e-mail may have gone out).

Rendering (jinja2, babel) and the senders load with the first message rendered, not with the app:
most requests only add notifications to their unit of work.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING

from pynamodb.exceptions import PutError, UpdateError
from pynamodb.expressions.update import Action

from chalicelib.notify import preferences
from chalicelib.notify.links import SEED, with_link
from chalicelib.notify.outbox import NOT_EMAILED, OPERATORS, PENDING, pending_record, queue_key, queue_keys
from chalicelib.platform import clock
from chalicelib.platform.observability import logger, metrics
from chalicelib.services import views
from chalicelib.services.pagination import page
from chalicelib.store import lookup
from chalicelib.store.models import KeyModel, NotificationModel, SiteModel, UserModel

if TYPE_CHECKING:
    from chalicelib.adapters.mail import Sender

SENDING, SENT, FAILED = "sending", "sent", "failed"
OPERATORS_KEY = "operators"
EMAIL_PREFIX = "email:"
RETRY_AFTER = timedelta(minutes=5)
GIVE_UP_AFTER = timedelta(minutes=30)




def list_for(user_id: str, limit: int, cursor: str | None) -> dict:
    user = UserModel.get(user_id)
    return page(lambda **kw: NotificationModel.query(user_id, scan_index_forward=False, **kw), limit, cursor,
                lambda record: _present(record, user))


def get_sender() -> Sender:
    from chalicelib.adapters.mail import get_sender as configured_sender

    return configured_sender()


def _present(record: NotificationModel, user: UserModel) -> dict:
    from chalicelib.notify.links import link_for
    from chalicelib.notify.render import render_summary

    title, body = render_summary(record.kind, user.locale, {"name": user.name, **record.params},
                                 timezone=user.timezone)
    return views.notification(record, title, body, link_for(record.kind, record.params).url)


def mark_read(user_id: str, notification_id: str) -> dict:
    record = lookup.load(NotificationModel, user_id, notification_id, what="notification")
    if record.read_at is None:
        record.update(actions=[NotificationModel.read_at.set(clock.iso(clock.now()))])
    return _present(record, UserModel.get(user_id))


def deliver(user_id: str, notification_id: str, seen: NotificationModel | None = None) -> str:
    """Send the e-mail of one notification at most once; returns what happened. `seen`: the notification as the
    caller has it already (the stream's new image, the retry job's read), else it is read here.

    One write when all goes well: the claim (`pending` → `sending`, on condition) before sending and the sent
    mark after it are each one, and a notification its recipient does not want e-mailed gets its `not_emailed`
    mark alone, unclaimed. A notification of the recipient's own move was written `not_emailed` by the outbox:
    it costs no write here unless he asked for his own moves too, and then it is claimed from `not_emailed`.
    Only a failed send puts it in the retry queue (`email_queue`)."""
    from chalicelib.notify.render import render

    if user_id.startswith("role:"):
        return _fan_out(user_id, notification_id)
    record = NotificationModel(user_id, notification_id)
    try:
        seen = seen or NotificationModel.get(user_id, notification_id, consistent_read=True)
        user = None if user_id.startswith(EMAIL_PREFIX) else UserModel.get(user_id)
    except Exception:
        logger.exception("e-mail delivery failed", extra={"notification_id": notification_id})
        return queue_for_retry(record)
    own = seen.actor_id == user_id
    wanted = user is None or preferences.emailed(seen.kind, user.email_choices, own=own)
    held_back = seen.email_state == NOT_EMAILED and own  # his own move, written `not_emailed` by the outbox
    if held_back and not wanted:
        if seen.email_queue is not None:  # queued when its first delivery failed to read: out of the queue
            _settled(record, [NotificationModel.email_queue.remove()], NOT_EMAILED)
        return NOT_EMAILED
    if not wanted:
        unwanted: list[Action] = [NotificationModel.email_state.set(NOT_EMAILED),
                                  NotificationModel.email_queue.remove()]
        return NOT_EMAILED if _settled(record, unwanted) else queue_for_retry(record)
    claimed_from = NOT_EMAILED if held_back else PENDING
    if not _settled(record, [NotificationModel.email_state.set(SENDING)], claimed_from):  # the claim
        return "already_claimed" if held_back else queue_for_retry(record)
    try:
        address, locale, timezone, name = _recipient(user_id, user, record.kind, record.params)
        unsubscribe = (preferences.unsubscribe_url(user_id, record.kind)
                       if user is not None and preferences.optional(record.kind) else None)
        params = {"name": name, **with_link(record.kind, record.params)}
        if unsubscribe:
            params["unsubscribe_url"] = unsubscribe
        message = render(record.kind, locale, params, timezone=timezone)
        if unsubscribe:
            message = replace(message, headers=preferences.unsubscribe_headers(unsubscribe))
        get_sender().send(to=address, message=message, message_id=notification_id)
    except Exception:
        logger.exception("e-mail delivery failed", extra={"notification_id": notification_id})
        record.update(actions=[NotificationModel.email_state.set(PENDING),
                               NotificationModel.email_queue.set(queue_key(notification_id))])
        return "failed_will_retry"
    sent: list[Action] = [NotificationModel.email_state.set(SENT), NotificationModel.email_queue.remove()]
    if SEED in record.params:  # the link was rendered once, into the e-mail: nothing is left to make it again
        sent.append(NotificationModel.params.set({k: v for k, v in record.params.items() if k != SEED}))
    record.update(actions=sent)
    metrics.add_metric(name="EmailSent", unit="Count", value=1)
    return "sent"


def _settled(record: NotificationModel, actions: list[Action], state: str = PENDING) -> bool:
    """Apply `actions` if the notification is still in `state` (its attributes then read back into `record`);
    False if it is not."""
    try:
        record.update(actions=actions, condition=NotificationModel.email_state == state)
    except UpdateError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def queue_for_retry(record: NotificationModel) -> str:
    """Put a notification the stream could not settle in the retry queue, unless it is settled or queued
    already: still `pending` (its delivery failed before the claim), or a party's own move still as the outbox
    wrote it (`not_emailed`: whether he wants it was never read), the job delivers it; `sending` (a claim its
    sender never finished: the function died or timed out, and Lambda hands the batch over again), the job
    gives it up once stale, since its e-mail may have gone out. One write, on these paths only."""
    own_move = (NotificationModel.email_state == NOT_EMAILED) & (NotificationModel.actor_id == record.user_id)
    try:
        record.update(actions=[NotificationModel.email_queue.set(queue_key(record.id))],
                      condition=(NotificationModel.email_state.is_in(PENDING, SENDING) | own_move)
                      & NotificationModel.email_queue.does_not_exist())
    except UpdateError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            return "already_claimed"
        raise
    return "queued_for_retry"


def _recipient(user_id: str, user: UserModel | None, kind: str, params: dict) -> tuple[str, str, str | None, str]:
    """(address, locale, time zone, name): a user's own, or for `email:<address>` (someone without an
    account yet, e.g. an invitee) the address itself, in the params' locale and time zone, greeted by the
    name the params give (none for an invitee: never by his address). A site's billing e-mail goes to the
    site's contact person as the site names it when it is sent (a changed contact gets the next one), in
    the contact's language; the account holder keeps the notice in the cabinet feed."""
    if user is None:
        address = user_id.removeprefix(EMAIL_PREFIX)
        return address, params.get("locale", "en"), params.get("timezone"), params.get("name", "")
    contact = _site_contact(params.get("site_id")) if kind in SITE_BILLING_KINDS else None
    if contact:
        return contact["email"], contact.get("locale") or user.locale, user.timezone, contact.get("name", "")
    return user.email, user.locale, user.timezone, user.name


# What seed 003 sends to the site's contact person ("счета, напоминания об оплате"): invoices, payments,
# reminders, dunning, cards and acts.
SITE_BILLING_KINDS = frozenset({
    "service_invoice_issued", "service_invoice_paid", "service_invoice_due_soon", "service_invoice_overdue",
    "service_invoice_written_off", "site_blocked", "site_unblocked", "card_charge_succeeded", "card_charge_declined",
    "card_saved", "card_verification_refunded", "autopay_stopped", "act_sent", "service_invoice_part_paid",
    "site_credit_added", "site_credit_refunded"})


def _site_contact(site_id: str | None) -> dict | None:
    if not site_id:
        return None
    try:
        site = SiteModel.get(site_id, consistent_read=True)
    except SiteModel.DoesNotExist:
        return None
    contact = dict(site.contact or {})
    return contact if contact.get("email") else None


def _fan_out(role: str, broadcast_id: str) -> str:
    """Copy a broadcast to every member of the role; running it twice adds nothing."""
    broadcast = NotificationModel.get(role, broadcast_id, consistent_read=True)
    if broadcast.email_state != PENDING:
        return "already_fanned_out"
    for member_id in _members(role):
        copy = pending_record(member_id, f"{broadcast_id}.{member_id}", broadcast.kind, broadcast.params,
                              broadcast.created_at, actor=broadcast.actor_id)
        try:
            copy.save(condition=NotificationModel.id.does_not_exist())
        except PutError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise
    broadcast.update(actions=[NotificationModel.email_state.set(SENT), NotificationModel.email_queue.remove()])
    return "fanned_out"


def _members(role: str) -> list[str]:
    assert role == OPERATORS, f"unknown role {role!r}"
    try:
        return [str(member) for member in KeyModel.get(OPERATORS_KEY, consistent_read=True).members or []]
    except KeyModel.DoesNotExist:
        return []


def deliver_stream_records(records: list) -> dict:
    """Stream trigger, the only feed of the sending: every newly inserted notification gets its e-mail, read
    from the record's new image. A notification whose delivery raised is put in the retry queue instead of
    failing the batch (a failing batch holds its shard up until it passes); the batch fails only when that
    write does too, and is then handed over again."""
    outcome: dict[str, int] = {}
    for record in records:
        if record.event_name != "INSERT":
            continue
        keys = record.keys or {}
        user_id, notification_id = keys["user_id"]["S"], keys["id"]["S"]
        seen = NotificationModel.from_raw_data(record.new_image) if record.new_image else None
        try:
            result = deliver(user_id, notification_id, seen)
        except Exception:
            logger.exception("e-mail delivery failed", extra={"notification_id": notification_id})
            result = queue_for_retry(NotificationModel(user_id, notification_id))
        outcome[result] = outcome.get(result, 0) + 1
    return outcome


def retry_unsent(now) -> dict:
    """Job: retry the e-mails in the retry queue — those that failed at their first try, and broadcasts not
    fanned out — once they are `RETRY_AFTER` old; give up on claims that never finished. It reads every shard
    of the e-mail queue index, oldest first within each. What the stream delivered at the first try was never
    queued: the job reads only what failed."""
    due = clock.iso(now - RETRY_AFTER)
    stale = clock.iso(now - GIVE_UP_AFTER)
    outcome = {"sent": 0, "failed": 0, "skipped": 0}
    for key in (key for queue in queue_keys()
                for key in NotificationModel.by_email_queue.query(queue, NotificationModel.created_at <= due)):
        record = NotificationModel.get(key.user_id, key.id)
        if record.email_state == PENDING or (record.email_state == NOT_EMAILED and record.actor_id == record.user_id):
            result = deliver(record.user_id, record.id, record)
            outcome["sent" if result == "sent" else "skipped"] += 1  # skipped: claimed elsewhere, failed or not wanted
        elif record.email_state == SENDING and record.created_at <= stale:
            try:
                record.update(actions=[NotificationModel.email_state.set(FAILED),
                                       NotificationModel.email_queue.remove()],
                              condition=NotificationModel.email_state == SENDING)
            except UpdateError as error:
                if error.cause_response_code != "ConditionalCheckFailedException":
                    raise
                outcome["skipped"] += 1  # a concurrent run (or the late sender) settled it first
                continue
            outcome["failed"] += 1
    return outcome

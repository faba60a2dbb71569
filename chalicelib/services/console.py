"""The operator console's use cases: log-in with a password and a TOTP code, the TOTP enrolment every operator
goes through at his first log-in, and the audit log read back.

Log-in is the API's (`accounts.check_login`): the same limits, charged before the password is checked; the
TOTP code is checked after it, and a wrong code keeps the attempt charged. An operator without an enrolled
TOTP gets a new secret offered (kept encrypted on his record until a code confirms it), and his session starts
only when a code from it is right. Both are operators' acts in the audit log (`subject` = `user#<id>`).
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pynamodb.expressions.condition import Condition

from chalicelib.access import auth, totp
from chalicelib.platform import clock
from chalicelib.platform.errors import Conflict, Forbidden, Unauthorized
from chalicelib.services import accounts, pagination, views
from chalicelib.store import audit_log
from chalicelib.store.models import AuditLogModel, UserModel
from chalicelib.store.uow import UnitOfWork

AUDIT_PAGE = 50  # the records one page of the audit log shows
_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


def user_subject(user_id: str) -> str:
    return f"user#{user_id}"


def _wrong_code() -> Unauthorized:
    return Unauthorized("wrong_totp_code", "The code from the authenticator app is wrong or was already used")


@dataclass(frozen=True)
class LogIn:
    user: UserModel
    enrol: bool  # no TOTP enrolled yet: a secret is offered (`user.totp_pending`), no session starts


def _last_step(user: UserModel) -> int | None:
    return int(user.totp_last_step) if user.totp_last_step is not None else None


def _last_step_unchanged(user: UserModel) -> Condition:
    return (UserModel.totp_last_step == user.totp_last_step if user.totp_last_step is not None
            else UserModel.totp_last_step.does_not_exist())


def log_in(email: str, password: str, code: str, source_ip: str) -> LogIn:
    accepted: dict[str, int] = {}

    def second_factor(user: UserModel) -> None:
        if auth.OPERATOR not in user.roles:
            raise Forbidden("operator_only", "Only platform operators may use the console")
        if user.totp_enrolled_at and user.totp_secret:
            secret = totp.decrypt(user.totp_secret)
            step = totp.matching_step(secret, code, _last_step(user)) if secret else None
            if step is None:
                raise _wrong_code()
            accepted["step"] = step

    user = accounts.check_login(email, password, source_ip, second_factor)
    if "step" not in accepted:
        sealed = totp.encrypt(totp.new_secret())
        user.update(actions=[UserModel.totp_pending.set(sealed)], condition=UserModel.totp_enrolled_at.does_not_exist())
        return LogIn(user, enrol=True)
    uow = UnitOfWork()
    uow.update(user, [UserModel.totp_last_step.set(accepted["step"])], condition=_last_step_unchanged(user),
               on_fail=_wrong_code())
    audit_log.record(uow, subject=user_subject(user.id), actor_id=user.id, action="console_login", reason="",
                     before=None, after=None)
    uow.commit()
    return LogIn(user, enrol=False)


def pending_secret(user_id: str, epoch: int) -> tuple[UserModel, str]:
    """The operator who is enrolling and the secret offered to him, while his password has not changed since."""
    user = accounts.get_user(user_id)
    secret = totp.decrypt(user.totp_pending) if user.totp_pending else None
    if int(user.token_epoch or 0) != epoch or user.totp_enrolled_at or secret is None:
        raise Conflict("enrolment_ended", "This enrolment has ended; log in again")
    return user, secret


def confirm_enrolment(user_id: str, epoch: int, code: str) -> UserModel:
    """A right code from the offered secret makes it the operator's: enrolled, and the code used up."""
    user, secret = pending_secret(user_id, epoch)
    step = totp.matching_step(secret, code, _last_step(user))
    if step is None:
        raise _wrong_code()
    now = clock.iso(clock.now())
    uow = UnitOfWork()
    uow.update(user, [UserModel.totp_secret.set(user.totp_pending), UserModel.totp_pending.remove(),
                      UserModel.totp_enrolled_at.set(now), UserModel.totp_last_step.set(step)],
               condition=(UserModel.totp_pending == user.totp_pending) & UserModel.totp_enrolled_at.does_not_exist()
               & _last_step_unchanged(user),
               on_fail=Conflict("enrolment_ended", "This enrolment has ended; log in again"))
    audit_log.record(uow, subject=user_subject(user.id), actor_id=user.id, action="enrol_totp", reason="",
                     before={"totp": "none"}, after={"totp": "enrolled"})
    uow.commit()
    return accounts.get_user(user.id)


def _object_subject(subject: str) -> str:
    """What the audit page's object filter names: `site#<id>` or `user#<id>` as given, a bare user id
    (`usr…`), or a bare site id."""
    subject = subject.strip()
    if "#" in subject:
        return subject
    return user_subject(subject) if subject.startswith("usr") else audit_log.site_subject(subject)


def _key(record: AuditLogModel, index: str = "") -> dict[str, dict[str, str]]:
    """The record's key as DynamoDB gives it back (a query's start key): the table's, plus the index's hash key."""
    key = {"subject": {"S": record.subject}, "sk": {"S": record.sk}}
    if index == "by_actor":
        key["actor_id"] = {"S": record.actor_id}
    elif index == "by_month":
        key["month"] = {"S": record.month}
    return key


def _one_list(query: Callable[..., Any], size: int, start: dict | None) -> tuple[list[AuditLogModel], bool]:
    """Up to `size` records from one query, from `start` on, and whether more follow."""
    found = list(query(limit=size + 1, last_evaluated_key=start))
    return found[:size], len(found) > size


def audit_records(principal: auth.Principal, operator: str = "", subject: str = "", cursor: str | None = None,
                  size: int = AUDIT_PAGE) -> dict:
    """Operators: a page of operators' acts, newest first, optionally only one operator's (his e-mail or id) or only
    those on one object (`site#<id>`, `user#<id>`, or a bare site or user id), each with its operator's e-mail;
    and the cursor of the next page. Every read is a query: an object's records (the table, filtered by operator
    when both are asked), an operator's (`by_actor`), or everybody's (`by_month`, the newest month first, back to
    the log's first month). The cursor is signed for the list it came from (the caller sets `list_scope`)."""
    principal.require_operator()
    actor_id = ""
    if operator.strip():
        found = accounts.find_by_email(operator) if "@" in operator else None
        actor_id = found.id if found else operator.strip()
    state = pagination.decode_cursor(cursor) or {}
    start = state.get("key") if isinstance(state.get("key"), dict) else None
    records: list[AuditLogModel]
    if subject.strip():
        condition = AuditLogModel.actor_id == actor_id if actor_id else None
        records, more = _one_list(lambda **page: AuditLogModel.query(
            _object_subject(subject), filter_condition=condition, scan_index_forward=False, **page), size, start)
        following = {"key": _key(records[-1])} if more else None
    elif actor_id:
        records, more = _one_list(lambda **page: AuditLogModel.by_actor.query(
            actor_id, scan_index_forward=False, **page), size, start)
        following = {"key": _key(records[-1], "by_actor")} if more else None
    else:
        records, following = _everybodys(size, state, start)
    emails: dict[str, str] = {}
    for record in records:
        if record.actor_id not in emails:
            try:
                emails[record.actor_id] = UserModel.get(record.actor_id).email
            except UserModel.DoesNotExist:
                emails[record.actor_id] = record.actor_id
    return {"records": [{**views.audit_record(record), "subject": record.subject,
                         "actor_email": emails[record.actor_id]} for record in records],
            "next_cursor": pagination.encode_cursor(following)}


def _everybodys(size: int, state: dict, start: dict | None) -> tuple[list[AuditLogModel], dict | None]:
    """A page of every operator's acts: the month partitions of `by_month`, newest first, from the cursor's month
    (or this month) back to the log's first, until the page and one record more are found; the next page's state
    (the month and the last record shown) when that one more exists."""
    asked = state.get("month")
    month = asked if isinstance(asked, str) and _MONTH.fullmatch(asked) else clock.iso(clock.now())[:7]
    records: list[AuditLogModel] = []
    while month >= audit_log.FIRST_MONTH and len(records) <= size:
        records += AuditLogModel.by_month.query(month, scan_index_forward=False, limit=size + 1 - len(records),
                                                last_evaluated_key=start)
        month, start = audit_log.previous_month(month), None
    if len(records) <= size:
        return records, None
    last = records[size - 1]
    return records[:size], {"month": last.month, "key": _key(last, "by_month")}

"""Sign-up, log-in and log-out, passwords (change, and reset by e-mail), profiles and operators.

Log-in is limited per e-mail address and per source address (`chalicelib.access.limits`): past the limit it
answers 429 whatever the password, and it does the same work — two reads and one password hash —
whether or not the account exists. A password reset is a one-time link e-mailed to the address
(only its SHA-256 is stored), with the same answer whether or not an account uses it. Changing or
resetting the password ends every session (`chalicelib.access.sessions`)."""
from __future__ import annotations

import contextlib
import hashlib
import secrets
from collections.abc import Callable
from datetime import timedelta

from pynamodb.exceptions import UpdateError
from pynamodb.expressions.update import Action

from chalicelib.access import auth, limits, sessions
from chalicelib.notify import outbox
from chalicelib.platform import clock, i18n, ids
from chalicelib.platform.config import settings
from chalicelib.platform.errors import Conflict, Forbidden, NotFound, Unauthorized
from chalicelib.services import idempotency, notifications, views
from chalicelib.store import lookup
from chalicelib.store.models import KeyModel, UserModel
from chalicelib.store.uow import UnitOfWork

_NO_USER = "usr_none"  # read when no account has the address, so that both answers cost two reads


def login_failures_by_email() -> limits.Window:
    return limits.Window("login-email", settings.login_max_failures_per_email, settings.login_window_seconds)


def login_failures_by_address() -> limits.Window:
    return limits.Window("login-ip", settings.login_max_failures_per_ip, settings.login_window_seconds)


def resets_by_email() -> limits.Window:
    return limits.Window("reset-email", settings.password_resets_per_email, 3600)


def resets_by_address() -> limits.Window:
    return limits.Window("reset-ip", settings.password_resets_per_ip, 3600)


def _email_key(email: str) -> str:
    return f"email#{email.strip().lower()}"


def signup(email: str, password: str, name: str, locale: str, timezone: str | None = None) -> tuple[int, dict]:
    """Everyone who signs up may act as a client and as a contractor."""
    return _create_user(email, password, name, locale, roles=[auth.CLIENT, auth.CONTRACTOR], timezone=timezone)


def create_operator(email: str, password: str, name: str = "Operator", locale: str = "en") -> dict:
    """Operators are made here (CLI, configuration), never through sign-up."""
    return _create_user(email, password, name, locale, roles=[auth.OPERATOR])[1]


def signup_invited(email: str, password: str, name: str, locale: str,
                   join: Callable[[UnitOfWork, UserModel], None], timezone: str | None = None) -> tuple[int, dict]:
    """Sign-up through an invitation: `join` adds the joining (team, invitation) to the same transaction."""
    return _create_user(email, password, name, locale, roles=[auth.CLIENT, auth.CONTRACTOR], join=join,
                        timezone=timezone)


def _create_user(email: str, password: str, name: str, locale: str, roles: list[str],
                 join: Callable[[UnitOfWork, UserModel], None] | None = None,
                 timezone: str | None = None) -> tuple[int, dict]:
    user = UserModel(ids.new_id("usr"), email=email.strip().lower(), name=name.strip(), locale=locale,
                     timezone=timezone or i18n.default_zone(locale), password_hash=auth.hash_password(password),
                     roles=roles, created_at=clock.iso(clock.now()))
    uow = UnitOfWork()
    uow.put(user, condition=UserModel.id.does_not_exist())
    uow.put(KeyModel(_email_key(email), target_id=user.id), condition=KeyModel.key.does_not_exist(),
            on_fail=Conflict("email_taken", "An account with this e-mail already exists"))
    if auth.OPERATOR in roles:
        uow.update(KeyModel(notifications.OPERATORS_KEY),
                   [KeyModel.members.set((KeyModel.members | []).append([user.id]))])
    outbox.enqueue(uow, user.id, "welcome", {})
    if join is not None:
        join(uow, user)
    status, body = idempotency.commit(uow, 201, {"user": views.user(user)})  # its record keeps no token
    return status, {**body, "token": sessions.issue(user)}


def login(email: str, password: str, source_ip: str) -> dict:
    by_email, by_address = login_failures_by_email(), login_failures_by_address()
    limits.check(by_email, email, "too_many_attempts", "Too many failed log-ins for this e-mail; wait and retry")
    limits.check(by_address, source_ip, "too_many_attempts", "Too many failed log-ins from your address; wait "
                                                              "and retry")
    user = find_by_email(email)
    if not auth.verify_password(user.password_hash if user else None, password) or user is None:
        limits.hit(by_email, email)
        limits.hit(by_address, source_ip)
        raise Unauthorized("invalid_credentials", "E-mail or password is wrong")
    _rehash_if_weaker(user, password)
    return {"token": sessions.issue(user)}


def _rehash_if_weaker(user: UserModel, password: str) -> None:
    """A hash made with older, weaker argon2 parameters is replaced while the password is at hand. The
    sessions stay: nothing about the password changed. A concurrent password change wins."""
    if user.password_hash and auth.needs_rehash(user.password_hash):
        with contextlib.suppress(UpdateError):
            user.update(actions=[UserModel.password_hash.set(auth.hash_password(password))],
                        condition=UserModel.password_hash == user.password_hash)


def log_out(principal: auth.Principal) -> dict:
    sessions.log_out(principal)
    return {"status": "logged_out"}


def change_password(principal: auth.Principal, current: str, new: str) -> dict:
    """With the current password: every session ends, and the caller gets a token for a new one."""
    user: UserModel = principal.user or get_user(principal.user_id)
    by_email = login_failures_by_email()
    limits.check(by_email, user.email, "too_many_attempts", "Too many wrong passwords; wait and retry")
    if not auth.verify_password(user.password_hash, current):
        limits.hit(by_email, user.email)
        raise Forbidden("wrong_password", "The current password is wrong", field="current_password")
    _set_password(user, new)
    return {"token": sessions.issue(user)}


def _set_password(user: UserModel, password: str, uow: UnitOfWork | None = None) -> None:
    actions = [UserModel.password_hash.set(auth.hash_password(password)), *sessions.revoke_all_actions(user)]
    same_epoch = (UserModel.token_epoch == user.token_epoch if user.token_epoch is not None
                  else UserModel.token_epoch.does_not_exist())
    if uow is None:
        user.update(actions=actions, condition=same_epoch)
    else:
        uow.update(user, actions, condition=same_epoch)


def _reset_key(token: str) -> str:
    return "reset#" + hashlib.sha256(token.encode()).hexdigest()


def request_password_reset(email: str, source_ip: str) -> tuple[int, dict]:
    """E-mail a one-time link to set a new password, if an account uses the address. The answer is the
    same either way; the limits count requests, not accounts, so they say nothing either."""
    by_email, by_address = resets_by_email(), resets_by_address()
    limits.check(by_email, email, "too_many_requests", "A reset link was sent to this address recently; check "
                                                       "the mailbox or wait")
    limits.check(by_address, source_ip, "too_many_requests", "Too many reset requests from your address; wait")
    limits.hit(by_email, email)
    limits.hit(by_address, source_ip)
    user = find_by_email(email)
    if user is not None:
        token = secrets.token_urlsafe(32)
        expires_at = clock.now() + timedelta(minutes=settings.password_reset_ttl_minutes)
        uow = UnitOfWork()
        uow.put(KeyModel(_reset_key(token), target_id=user.id, data={"expires_at": clock.iso(expires_at)}))
        # To the address, not the user's feed: whoever holds a session must not find a way to take the account.
        outbox.enqueue(uow, f"{notifications.EMAIL_PREFIX}{user.email}", "password_reset", {
            "name": user.name, "locale": user.locale, "timezone": i18n.zone_name(user.timezone, user.locale),
            "expires_at": clock.iso(expires_at),
            "link": f"{settings.app_url}/web/password-reset/{token}"})
        uow.commit()
    return 202, {"status": "sent", "message": "If an account uses this address, a link to set a new password is "
                                              "on its way"}


def reset_link(token: str) -> tuple[KeyModel, UserModel]:
    """The reset link's record and its user, or why it cannot be used."""
    try:
        key = KeyModel.get(_reset_key(token), consistent_read=True)
    except KeyModel.DoesNotExist:
        raise NotFound("invalid_reset_link", "This password reset link is not valid") from None
    if key.seq:
        raise Conflict("reset_link_used", "This password reset link was already used; ask for a new one")
    if clock.parse_iso((key.data or {})["expires_at"]) < clock.now():
        raise Conflict("reset_link_expired", "This password reset link has expired; ask for a new one")
    return key, get_user(str(key.target_id))


def reset_password(token: str, password: str) -> dict:
    """Set a new password with a reset link, once: every session ends; the address's failed log-ins are forgotten."""
    key, user = reset_link(token)
    uow = UnitOfWork()
    uow.update(key, [KeyModel.seq.set(1)], condition=KeyModel.seq.does_not_exist(),
               on_fail=Conflict("reset_link_used", "This password reset link was already used; ask for a new one"))
    _set_password(user, password, uow)
    uow.commit()
    limits.clear(login_failures_by_email(), user.email)
    return {"status": "password_changed"}


def find_by_email(email: str) -> UserModel | None:
    """The account using `email`, if any, in two reads either way (an answer's timing tells nothing)."""
    try:
        target = KeyModel.get(_email_key(email), consistent_read=True).target_id
    except KeyModel.DoesNotExist:
        target = None
    try:
        return UserModel.get(target or _NO_USER, consistent_read=True)
    except UserModel.DoesNotExist:
        return None


def get_user(user_id: str) -> UserModel:
    return lookup.load(UserModel, user_id, what="user")


def me(principal: auth.Principal) -> dict:
    return views.user(principal.user or get_user(principal.user_id))


def update_me(principal: auth.Principal, *, locale: str | None, timezone: str | None) -> dict:
    """A new language or time zone, for everything the user is shown from now on."""
    user = principal.user or get_user(principal.user_id)
    changes = ((UserModel.locale, locale), (UserModel.timezone, timezone))
    actions: list[Action] = [attribute.set(value) for attribute, value in changes if value is not None]
    if actions:
        user.update(actions=actions)
    return views.user(user)

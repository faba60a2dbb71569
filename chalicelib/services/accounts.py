"""Sign-up, log-in and log-out, passwords (change, and reset by e-mail), the address's confirmation,
profiles and operators.

Every limit is charged before the work it limits (`chalicelib.access.limits.take`), so a burst gets no more
password checks than the limit allows. Log-in counts attempts per (account, source address) and per source
address; nobody can lock a user out from elsewhere. Only a much higher count per account, from addresses
that never logged in to it, slows the account down for everyone — and not for an address that did. Past a
limit log-in answers 429 whatever the password, and it does the same work — two reads and one password
hash — whether or not the account exists. Password change has its own counter per account: it needs a session.

A password reset is a one-time link e-mailed to the address (only its SHA-256 is stored; the e-mail is made
from a seed, `chalicelib.notify.links`), with the same answer and the same writes whether or not an account
uses it. A reset link works only in the token epoch it was sent in: using one, or changing the password, kills
the others. Changing or resetting the password ends every session (`chalicelib.access.sessions`).

A new account's address is unproven until the one-time link e-mailed at sign-up is used (`confirm_email`);
until then it may do everything but join a team as an existing account and withdraw money
(`require_confirmed_email`). An account made by an invitation link is confirmed by that link."""
from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable
from datetime import timedelta

from pynamodb.exceptions import UpdateError
from pynamodb.expressions.update import Action

from chalicelib.access import auth, limits, sessions
from chalicelib.notify import links, outbox
from chalicelib.platform import clock, i18n, ids
from chalicelib.platform.config import settings
from chalicelib.platform.errors import Conflict, Forbidden, NotFound, Unauthorized
from chalicelib.services import idempotency, notifications, views
from chalicelib.store import lookup
from chalicelib.store.models import KeyModel, LimitModel, UserModel
from chalicelib.store.uow import UnitOfWork

_NO_USER = "usr_none"  # read when no account has the address, so that both answers cost two reads
KNOWN_ADDRESS = "login-known"  # (account, address) pairs that logged in: they pass the account-wide limit
KNOWN_ADDRESS_SECONDS = 90 * 24 * 3600
CONFIRM_RESEND = "POST /v1/me/email-confirmation"


def login_attempts_by_pair() -> limits.Window:
    """Log-in attempts for one account from one source address."""
    return limits.Window("login-pair", settings.login_max_failures_per_email, settings.login_window_seconds)


def login_failures_by_address() -> limits.Window:
    return limits.Window("login-ip", settings.login_max_failures_per_ip, settings.login_window_seconds)


def login_attempts_by_account() -> limits.Window:
    """Log-in attempts for one account from addresses that never logged in to it, from anywhere."""
    return limits.Window("login-account", settings.login_max_attempts_per_account,
                         settings.login_account_window_seconds)


def password_changes() -> limits.Window:
    return limits.Window("password-change", settings.password_changes_per_user, settings.login_window_seconds)


def signups_by_address() -> limits.Window:
    return limits.Window("signup-ip", settings.signups_per_ip_per_hour, 3600)


def resets_by_email() -> limits.Window:
    return limits.Window("reset-email", settings.password_resets_per_email, 3600)


def resets_by_address() -> limits.Window:
    return limits.Window("reset-ip", settings.password_resets_per_ip, 3600)


def confirmations_by_email() -> limits.Window:
    return limits.Window("confirm-email", settings.password_resets_per_email, 3600)


def confirmations_by_address() -> limits.Window:
    return limits.Window("confirm-ip", settings.password_resets_per_ip, 3600)


def _pair(email: str, source_ip: str) -> str:
    return f"{email.strip().lower()}|{source_ip}"


def _email_key(email: str) -> str:
    return f"email#{email.strip().lower()}"


def signup(email: str, password: str, name: str, locale: str, timezone: str | None = None,
           source_ip: str = "unknown") -> tuple[int, dict]:
    """Everyone who signs up may act as a client and as a contractor. Sign-ups are limited per source
    address where SIGNUPS_PER_IP_PER_HOUR is set, so that "this address is taken" cannot be harvested at scale."""
    if settings.signups_per_ip_per_hour > 0:
        limits.take(signups_by_address(), source_ip, "too_many_signups", "Too many sign-ups from your address; "
                                                                         "wait and retry")
    return _create_user(email, password, name, locale, roles=[auth.CLIENT, auth.CONTRACTOR], timezone=timezone)


def create_operator(email: str, password: str, name: str = "Operator", locale: str = "en") -> dict:
    """Operators are made here (CLI, configuration), never through sign-up."""
    return _create_user(email, password, name, locale, roles=[auth.OPERATOR], confirmed=True)[1]


def signup_invited(email: str, password: str, name: str, locale: str,
                   join: Callable[[UnitOfWork, UserModel], None], timezone: str | None = None) -> tuple[int, dict]:
    """Sign-up through an invitation: `join` adds the joining (team, invitation) to the same transaction. The
    invitation link came to the address, so the address is proven."""
    return _create_user(email, password, name, locale, roles=[auth.CLIENT, auth.CONTRACTOR], join=join,
                        timezone=timezone, confirmed=True)


def _create_user(email: str, password: str, name: str, locale: str, roles: list[str],
                 join: Callable[[UnitOfWork, UserModel], None] | None = None,
                 timezone: str | None = None, confirmed: bool = False) -> tuple[int, dict]:
    now = clock.iso(clock.now())
    user = UserModel(ids.new_id("usr"), email=email.strip().lower(), name=name.strip(), locale=locale,
                     timezone=timezone or i18n.default_zone(locale), password_hash=auth.hash_password(password),
                     roles=roles, created_at=now, email_confirmed_at=now if confirmed else None)
    uow = UnitOfWork()
    uow.put(user, condition=UserModel.id.does_not_exist())
    uow.put(KeyModel(_email_key(email), target_id=user.id), condition=KeyModel.key.does_not_exist(),
            on_fail=Conflict("email_taken", "An account with this e-mail already exists"))
    if auth.OPERATOR in roles:
        uow.update(KeyModel(notifications.OPERATORS_KEY),
                   [KeyModel.members.set((KeyModel.members | []).append([user.id]))])
    outbox.enqueue(uow, user.id, "welcome", {})
    if not confirmed:
        _add_confirmation(uow, user)
    if join is not None:
        join(uow, user)
    status, body = idempotency.commit(uow, 201, {"user": views.user(user)})  # its record keeps no token
    return status, {**body, "token": sessions.issue(user)}


def login(email: str, password: str, source_ip: str) -> dict:
    """Each attempt is charged before the password is checked; a right password gives its charges back."""
    return {"token": sessions.issue(check_login(email, password, source_ip))}


def check_login(email: str, password: str, source_ip: str,
                second_factor: Callable[[UserModel], None] | None = None) -> UserModel:
    """The account whose e-mail and password these are, charged to the log-in limits first. A
    `second_factor` check runs after the password: if it refuses, the attempt stays charged."""
    pair = _pair(email, source_ip)
    limits.take(login_attempts_by_pair(), pair, "too_many_attempts",
                "Too many failed log-ins for this e-mail from your address; wait and retry")
    limits.take(login_failures_by_address(), source_ip, "too_many_attempts",
                "Too many failed log-ins from your address; wait and retry")
    known = limits.marked(KNOWN_ADDRESS, pair)
    if not known:
        limits.take(login_attempts_by_account(), email, "too_many_attempts",
                    "Too many failed log-ins for this account from many places; wait and retry, or log in from "
                    "where you logged in before")
    user = find_by_email(email)
    if not auth.verify_password(user.password_hash if user else None, password) or user is None:
        raise Unauthorized("invalid_credentials", "E-mail or password is wrong")
    if second_factor is not None:
        second_factor(user)
    _rehash_if_weaker(user, password)
    limits.clear(login_attempts_by_pair(), pair)
    limits.give_back(login_failures_by_address(), source_ip)
    if not known:
        limits.give_back(login_attempts_by_account(), email)
    limits.mark(KNOWN_ADDRESS, pair, KNOWN_ADDRESS_SECONDS)
    return user


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
    """With the current password: every session ends, and the caller gets a token for a new one. Its own
    counter, per account, is charged first: it shares nothing with log-in's, which others can reach."""
    user: UserModel = principal.user or get_user(principal.user_id)
    limits.take(password_changes(), user.id, "too_many_attempts", "Too many wrong passwords; wait and retry")
    if not auth.verify_password(user.password_hash, current):
        raise Forbidden("wrong_password", "The current password is wrong", field="current_password")
    _set_password(user, new)
    limits.clear(password_changes(), user.id)
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
    same either way, and so is the work: two reads, then one transaction of two puts (the link and its
    e-mail, or two short-lived decoys). The limits count requests, not accounts, so they say nothing either."""
    limits.take(resets_by_email(), email, "too_many_requests", "A reset link was sent to this address recently; "
                                                               "check the mailbox or wait")
    limits.take(resets_by_address(), source_ip, "too_many_requests", "Too many reset requests from your address; "
                                                                     "wait")
    user = find_by_email(email)
    expires_at = clock.now() + timedelta(minutes=settings.password_reset_ttl_minutes)
    seed = links.new_seed()
    uow = UnitOfWork()
    if user is not None:
        # The link works only in the epoch it was sent in: a reset or password change kills every other one.
        uow.put(KeyModel(_reset_key(links.one_time_token(seed)), target_id=user.id,
                         data={"expires_at": clock.iso(expires_at), "epoch": int(user.token_epoch or 0)}))
        # To the address, not the user's feed: whoever holds a session must not find a way to take the account.
        outbox.enqueue(uow, f"{notifications.EMAIL_PREFIX}{user.email}", "password_reset", {
            "name": user.name, "locale": user.locale, "timezone": i18n.zone_name(user.timezone, user.locale),
            "expires_at": clock.iso(expires_at), links.SEED: seed})
    else:
        ends = int(expires_at.timestamp())
        for _ in range(2):
            uow.put(LimitModel(f"reset-decoy#{links.new_seed()}", hits=0, window_ends=ends, expires_at=ends))
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
    data = key.data or {}
    if clock.parse_iso(data["expires_at"]) < clock.now():
        raise Conflict("reset_link_expired", "This password reset link has expired; ask for a new one")
    user = get_user(str(key.target_id))
    if int(data.get("epoch", 0)) != int(user.token_epoch or 0):
        raise Conflict("reset_link_used", "The password was set since this link was sent, which ends every "
                                          "other link; ask for a new one")
    return key, user


def reset_password(token: str, password: str, source_ip: str | None = None) -> dict:
    """Set a new password with a reset link, once: every session ends, and with them every other reset link;
    the account's failed log-ins (from everywhere, and from the address that used the link) are forgotten."""
    key, user = reset_link(token)
    uow = UnitOfWork()
    uow.update(key, [KeyModel.seq.set(1)], condition=KeyModel.seq.does_not_exist(),
               on_fail=Conflict("reset_link_used", "This password reset link was already used; ask for a new one"))
    _set_password(user, password, uow)
    uow.commit()
    limits.clear(login_attempts_by_account(), user.email)
    if source_ip is not None:
        limits.clear(login_attempts_by_pair(), _pair(user.email, source_ip))
    return {"status": "password_changed"}


# The address's confirmation -------------------------------------------------------------------------------------

def _confirmation_key(token: str) -> str:
    return "confirm#" + hashlib.sha256(token.encode()).hexdigest()


def _add_confirmation(uow: UnitOfWork, user: UserModel) -> None:
    """A one-time link to prove the address: its hash stored, expiring; its e-mail to the account's feed."""
    seed = links.new_seed()
    expires_at = clock.iso(clock.now() + timedelta(hours=settings.email_confirmation_ttl_hours))
    uow.put(KeyModel(_confirmation_key(links.one_time_token(seed)), target_id=user.id,
                     data={"expires_at": expires_at, "email": user.email}))
    outbox.enqueue(uow, user.id, "email_confirmation", {"expires_at": expires_at, "resend": CONFIRM_RESEND,
                                                        links.SEED: seed})


def is_confirmed(user: UserModel) -> bool:
    return user.email_confirmed_at is not None


def require_confirmed_email(user: UserModel) -> None:
    if not is_confirmed(user):
        raise Forbidden("email_not_confirmed", "Confirm your e-mail address first: open the link we e-mailed you, "
                                               f"or ask for a new one ({CONFIRM_RESEND})")


def resend_confirmation(principal: auth.Principal, source_ip: str) -> tuple[int, dict]:
    """A new confirmation link, limited like reset e-mails."""
    user: UserModel = principal.user or get_user(principal.user_id)
    if is_confirmed(user):
        raise Conflict("email_already_confirmed", "Your e-mail address is already confirmed")
    limits.take(confirmations_by_email(), user.email, "too_many_requests", "A confirmation link was sent "
                "recently; check the mailbox or wait")
    limits.take(confirmations_by_address(), source_ip, "too_many_requests", "Too many requests from your "
                                                                            "address; wait")
    uow = UnitOfWork()
    _add_confirmation(uow, user)
    return idempotency.commit(uow, 202, {"status": "sent", "message": "A link to confirm your address is on its "
                                                                      "way"})


def confirmation_link(token: str) -> tuple[KeyModel, UserModel]:
    """The confirmation link's record and its user, or why it cannot be used: once the address is confirmed,
    by any of its links, every other link is spent."""
    try:
        key = KeyModel.get(_confirmation_key(token), consistent_read=True)
    except KeyModel.DoesNotExist:
        raise NotFound("invalid_confirmation_link", "This confirmation link is not valid") from None
    user = get_user(str(key.target_id))
    data = key.data or {}
    if key.seq or is_confirmed(user) or data.get("email") != user.email:
        raise Conflict("confirmation_link_used", "This address is already confirmed")
    if clock.parse_iso(data["expires_at"]) < clock.now():
        raise Conflict("confirmation_link_expired", "This confirmation link has expired; ask for a new one")
    return key, user


def confirm_without_link(user_id: str) -> dict:
    """The local stage's tools only (`/dev/...`): mark the address confirmed, as its link would."""
    user = get_user(user_id)
    if not is_confirmed(user):
        user.update(actions=[UserModel.email_confirmed_at.set(clock.iso(clock.now()))])
    return {"status": "email_confirmed", "message": f"{user.email} is confirmed"}


def confirm_email(token: str) -> dict:
    key, user = confirmation_link(token)
    used = Conflict("confirmation_link_used", "This address is already confirmed")
    uow = UnitOfWork()
    uow.update(key, [KeyModel.seq.set(1)], condition=KeyModel.seq.does_not_exist(), on_fail=used)
    uow.update(user, [UserModel.email_confirmed_at.set(clock.iso(clock.now()))],
               condition=UserModel.email_confirmed_at.does_not_exist() & (UserModel.email == user.email),
               on_fail=used)
    uow.commit()
    return {"status": "email_confirmed", "message": f"{user.email} is confirmed"}


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

"""Sessions: a bearer token is good only while the user record it names says so.

Every authenticated request reads the user once (consistently): the token's epoch must be the
user's `token_epoch` (a password change or reset moves it on, revoking every token issued before),
its session must not be among the user's logged-out sessions, and the caller's roles are the
record's — an operator who is demoted loses access with his next request, whatever his token says.
The record rides along on the `Principal`, so use cases that need the user do not read it again.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

from pynamodb.exceptions import UpdateError
from pynamodb.expressions.update import Action

from chalicelib.access import auth
from chalicelib.platform import clock, secret_store
from chalicelib.platform.errors import Conflict, Unauthorized
from chalicelib.store.models import UserModel

# Logged-out sessions kept on the user record until their tokens expire; past this many at once, a
# log-out revokes every session instead (the epoch moves on), so the record stays small.
MAX_REVOKED_SESSIONS = 50


def authenticate(header: str | None) -> auth.Principal:
    claims = auth.claims_from_header(header)
    try:
        user = UserModel.get(claims.user_id, consistent_read=True)
    except UserModel.DoesNotExist:
        raise Unauthorized("invalid_token", "The token is not valid") from None
    if claims.epoch != int(user.token_epoch or 0) or claims.session in (user.revoked_sessions or {}):
        raise Unauthorized("token_revoked", "This session has ended (logged out, or the password changed); "
                                            "log in again")
    return auth.Principal(user.id, tuple(str(role) for role in user.roles), claims.session, claims.expires, user)


def issue(user: UserModel) -> str:
    """A token for a new session of `user`, in his current epoch."""
    return auth.issue_token(user.id, int(user.token_epoch or 0))


def log_out(principal: auth.Principal) -> None:
    """End the caller's session: its token is refused from now on; his other sessions go on."""
    assert principal.session is not None and principal.user is not None
    user: UserModel = principal.user
    for _ in range(5):
        now = int(clock.wall().timestamp())
        revoked = {sid: int(until) for sid, until in (user.revoked_sessions or {}).items() if int(until) > now}
        revoked[principal.session] = principal.expires
        unchanged = (UserModel.revoked_sessions == user.revoked_sessions if user.revoked_sessions is not None
                     else UserModel.revoked_sessions.does_not_exist())
        epoch = UserModel.token_epoch == user.token_epoch if user.token_epoch is not None else (
            UserModel.token_epoch.does_not_exist())
        actions: list[Action]
        if len(revoked) > MAX_REVOKED_SESSIONS:
            actions = [UserModel.token_epoch.set(int(user.token_epoch or 0) + 1), UserModel.revoked_sessions.remove()]
        else:
            actions = [UserModel.revoked_sessions.set(revoked)]
        try:
            user.update(actions=actions, condition=unchanged & epoch)
            return
        except UpdateError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise
        time.sleep(0.01)
        user = UserModel.get(user.id, consistent_read=True)
    raise Conflict("busy", "The account changed meanwhile; log out again")


def revoke_all_actions(user: UserModel) -> list[Action]:
    """Update actions that end every session of `user` (with a password change or reset)."""
    return [UserModel.token_epoch.set(int(user.token_epoch or 0) + 1), UserModel.revoked_sessions.remove()]


# The pages' sessions: the operator console's and the site owners' billing section ------------------------------
# A page session is a signed cookie value naming the user, his token epoch, a session id, his roles (as a digest)
# and a CSRF token, for a fixed time. It is checked against the user record on every page like a bearer token: a
# password change moves the epoch on, a log-out revokes the session id, and any change of his roles ends it (the
# digest no longer matches). A console session also ends when he is no longer an operator. The MAC names what the
# session is for, so a billing cookie never opens the console.
CONSOLE_SESSION_SECONDS = 8 * 3600
WEB_SESSION_SECONDS = 12 * 3600


@dataclass(frozen=True)
class ConsoleSession:
    principal: auth.Principal
    csrf: str


WebSession = ConsoleSession  # the same facts: who, and his forms' CSRF token


def _roles_digest(user: UserModel) -> str:
    return hashlib.sha256("|".join(sorted(str(role) for role in user.roles)).encode()).hexdigest()[:16]


def _session_mac(key: str, purpose: str, payload: str) -> str:
    return hmac.new(key.encode(), f"{purpose}-session:".encode() + payload.encode(), hashlib.sha256).hexdigest()


def _open(user: UserModel, purpose: str, seconds: int) -> str:
    expires = int(clock.wall().timestamp()) + seconds
    payload = base64.urlsafe_b64encode(json.dumps(
        {"u": user.id, "ep": int(user.token_epoch or 0), "sid": secrets.token_urlsafe(12), "r": _roles_digest(user),
         "c": secrets.token_urlsafe(24), "e": expires}, separators=(",", ":")).encode()).decode()
    kid, key = secret_store.signing_key()  # the jwt keyring's: the cookie names its key, as bearer tokens do
    return f"{payload}.{kid}.{_session_mac(key, purpose, payload)}"


def _read(value: str | None, purpose: str, ended: Unauthorized) -> tuple[ConsoleSession, UserModel]:
    if not value or len(value) > 2048:
        raise ended
    if value.count(".") != 2:
        raise ended
    payload, kid, mac = value.split(".")
    key = secret_store.verifying_key(kid)
    if key is None or not payload.isascii() or not hmac.compare_digest(
            mac.encode(), _session_mac(key, purpose, payload).encode()):
        raise ended
    try:
        data = json.loads(base64.urlsafe_b64decode(payload.encode()))
        user_id, epoch, sid, roles, csrf, expires = (str(data["u"]), int(data["ep"]), str(data["sid"]),
                                                     str(data["r"]), str(data["c"]), int(data["e"]))
    except (ValueError, KeyError, TypeError):
        raise ended from None
    if expires <= clock.wall().timestamp():
        raise ended
    try:
        user = UserModel.get(user_id, consistent_read=True)
    except UserModel.DoesNotExist:
        raise ended from None
    if epoch != int(user.token_epoch or 0) or sid in (user.revoked_sessions or {}) or roles != _roles_digest(user):
        raise ended
    principal = auth.Principal(user.id, tuple(str(role) for role in user.roles), sid, expires, user)
    return ConsoleSession(principal, csrf), user


def open_console(user: UserModel) -> str:
    """The cookie value of a new console session of `user`."""
    return _open(user, "console", CONSOLE_SESSION_SECONDS)


def console(value: str | None) -> ConsoleSession:
    """The console session a cookie value stands for, while the user record says it goes on."""
    ended = Unauthorized("console_session_ended", "The console session has ended; log in again")
    session, user = _read(value, "console", ended)
    if auth.OPERATOR not in user.roles:
        raise ended
    return session


def open_web(user: UserModel) -> str:
    """The cookie value of a new session in the site owners' pages (the billing section)."""
    return _open(user, "web", WEB_SESSION_SECONDS)


def web(value: str | None) -> WebSession:
    """The owner's pages' session a cookie value stands for, while the user record says it goes on."""
    return _read(value, "web", Unauthorized("web_session_ended", "The session has ended; log in again"))[0]

"""Passwords (argon2id via argon2-cffi), bearer tokens (HS256 JWTs via PyJWT) and webhooks' signatures.

A token names the key that signed it in its `kid` header; it verifies while the JWT keyring holds that key, so a
rotation signs no one out (chalicelib/platform/secret_store.py). A webhook is checked against its secret's current
value and, within the overlap after a rotation, the previous one.

argon2 and PyJWT load on first use, not with the app: a cold start that serves a webhook needs neither.
PyJWT imports `cryptography` when it is installed, for the asymmetric algorithms; HS256 is the standard
library's HMAC, and the Lambda bundle (requirements.txt) carries no `cryptography`, so there it never loads.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

from chalicelib.platform import clock, secret_store
from chalicelib.platform.config import settings
from chalicelib.platform.errors import Forbidden, Unauthorized

if TYPE_CHECKING:
    from argon2 import PasswordHasher

CLIENT, CONTRACTOR, OPERATOR = "client", "contractor", "operator"
_ALGORITHM = "HS256"
MAX_TIMESTAMP_DIGITS = 12  # unix seconds until the year 33658


@dataclass(frozen=True)
class Principal:
    """Who calls. Built from the user record the token names (`chalicelib.access.sessions`): the roles are the
    record's, never the token's; `user` is that record, so a use case needs no second read of it."""

    user_id: str
    roles: tuple[str, ...]
    session: str | None = None
    expires: int = 0
    user: Any = field(default=None, compare=False, repr=False)

    @property
    def is_operator(self) -> bool:
        return OPERATOR in self.roles

    def require_operator(self) -> None:
        if not self.is_operator:
            raise Forbidden("operator_only", "Only platform operators may do this")


@cache
def _hasher(time_cost: int, memory_kib: int, parallelism: int) -> PasswordHasher:
    from argon2 import PasswordHasher

    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)


def _configured() -> PasswordHasher:
    return _hasher(settings.password_time_cost, settings.password_memory_kib, settings.password_parallelism)


def hash_password(password: str) -> str:
    return _configured().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches; with no hash (no such account) the same work is done against a decoy,
    so the answer takes as long whether or not the account exists."""
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return _configured().verify(password_hash or _decoy_hash(
            settings.password_time_cost, settings.password_memory_kib, settings.password_parallelism), password) and (
            password_hash is not None)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether a hash was made with other parameters than today's (weaker ones, or another variant): the
    next successful log-in stores a new one."""
    return _configured().check_needs_rehash(password_hash)


@cache
def _decoy_hash(time_cost: int, memory_kib: int, parallelism: int) -> str:
    return _hasher(time_cost, memory_kib, parallelism).hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class TokenClaims:
    user_id: str
    epoch: int  # the user's token epoch when it was issued
    session: str
    expires: int


def issue_token(user_id: str, epoch: int = 0) -> str:
    """A bearer token for one new session. It names the user, his token epoch and the session, nothing
    he may do: roles are read from the user record on each request."""
    import jwt

    # Tokens are checked against the real clock: moving the local test clock must not expire them.
    issued = int(clock.wall().timestamp())
    claims = {"sub": user_id, "ep": epoch, "sid": secrets.token_urlsafe(12), "iat": issued,
              "exp": issued + settings.token_ttl_seconds}
    kid, key = secret_store.signing_key()
    return jwt.encode(claims, key, algorithm=_ALGORITHM, headers={"kid": kid})


def claims_from_header(header: str | None) -> TokenClaims:
    if not header or not header.startswith("Bearer "):
        raise Unauthorized("unauthorized", "Send Authorization: Bearer <token>")
    import jwt

    token = header[len("Bearer "):].strip()
    try:
        key = secret_store.verifying_key(jwt.get_unverified_header(token).get("kid"))
        if key is None:  # signed by a key the ring no longer holds, or by none of ours
            raise Unauthorized("invalid_token", "The token is not valid")
        claims = jwt.decode(token, key, algorithms=[_ALGORITHM], options={"require": ["sub", "exp", "sid"]})
    except jwt.ExpiredSignatureError:
        raise Unauthorized("token_expired", "The token has expired; log in again") from None
    except jwt.PyJWTError:
        raise Unauthorized("invalid_token", "The token is not valid") from None
    epoch = claims.get("ep", 0)
    if not isinstance(epoch, int) or not isinstance(claims["sub"], str) or not isinstance(claims["sid"], str):
        raise Unauthorized("invalid_token", "The token is not valid")
    return TokenClaims(claims["sub"], epoch, claims["sid"], int(claims["exp"]))


def verify_bank_signature(header: str | None, raw_body: bytes) -> None:
    """The bank's webhooks: X-Bank-Signature with BANK_WEBHOOK_SECRET."""
    _verify_webhook(header, raw_body, "bank-webhook", "X-Bank-Signature")


def verify_acquirer_signature(header: str | None, raw_body: bytes) -> None:
    """The card acquirer's webhooks: the bank's scheme, X-Acquirer-Signature with ACQUIRER_WEBHOOK_SECRET."""
    _verify_webhook(header, raw_body, "acquirer-webhook", "X-Acquirer-Signature")


def _verify_webhook(header: str | None, raw_body: bytes, secret: str, name: str) -> None:
    """A signature that matches none of the secret's values this function holds is checked once more against the
    secret read again: the party may sign with a value rotated in after this function cached the secret."""
    try:
        verify_signature(header, raw_body, secret_store.webhook_secrets(secret), name)
    except Unauthorized as refused:
        if refused.code != "invalid_signature" or not secret_store.may_refresh(secret):
            raise
        verify_signature(header, raw_body, secret_store.webhook_secrets(secret, fresh=True), name)


def verify_signature(header: str | None, raw_body: bytes, secrets_now: list[str], name: str) -> None:
    """`t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, judged by the real wall clock, under any of the
    secret's values honoured now."""
    if not header:
        raise Unauthorized("invalid_signature", f"{name} is missing")
    fields: dict[str, list[str]] = {}
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        fields.setdefault(key, []).append(value)
    timestamp = (fields.get("t") or [""])[0]
    # "²" is a digit to isdigit(), not to int(); and int() of thousands of digits is itself an error
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= MAX_TIMESTAMP_DIGITS):
        raise Unauthorized("invalid_signature", f"{name} has no valid timestamp")
    if abs(clock.wall().timestamp() - int(timestamp)) > settings.webhook_tolerance_seconds:
        raise Unauthorized("stale_signature", f"{name} timestamp is outside the tolerance")
    expected = [hmac.new(secret.encode(), timestamp.encode() + b"." + raw_body, hashlib.sha256).hexdigest().encode()
                for secret in secrets_now]
    # as bytes: compare_digest refuses a str with non-ASCII in it (a TypeError, not a refusal)
    if not any(hmac.compare_digest(mac, candidate.encode()) for mac in expected for candidate in fields.get("v1", [])):
        raise Unauthorized("invalid_signature", f"{name} does not match")

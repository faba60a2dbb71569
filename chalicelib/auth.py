"""Passwords (argon2id via argon2-cffi) and bearer tokens (HS256 JWTs via PyJWT)."""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from functools import cache

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from chalicelib import clock
from chalicelib.config import settings
from chalicelib.errors import Forbidden, Unauthorized

CLIENT, CONTRACTOR, OPERATOR = "client", "contractor", "operator"
_ALGORITHM = "HS256"
MAX_TIMESTAMP_DIGITS = 12  # unix seconds until the year 33658


@dataclass(frozen=True)
class Principal:
    user_id: str
    roles: tuple[str, ...]

    @property
    def is_operator(self) -> bool:
        return OPERATOR in self.roles

    def require_operator(self) -> None:
        if not self.is_operator:
            raise Forbidden("operator_only", "Only platform operators may do this")


@cache
def _hasher(time_cost: int, memory_kib: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)


def hash_password(password: str) -> str:
    return _hasher(settings.password_time_cost, settings.password_memory_kib).hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher(settings.password_time_cost, settings.password_memory_kib).verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def issue_token(user_id: str, roles: list[str] | tuple[str, ...]) -> str:
    # Tokens are checked against the real clock: moving the local test clock must not expire them.
    issued = int(clock.wall().timestamp())
    claims = {"sub": user_id, "roles": list(roles), "iat": issued, "exp": issued + settings.token_ttl_seconds}
    return jwt.encode(claims, settings.jwt_secret, algorithm=_ALGORITHM)


def principal_from_header(header: str | None) -> Principal:
    if not header or not header.startswith("Bearer "):
        raise Unauthorized("unauthorized", "Send Authorization: Bearer <token>")
    try:
        claims = jwt.decode(header[len("Bearer "):].strip(), settings.jwt_secret, algorithms=[_ALGORITHM],
                            options={"require": ["sub", "exp"]})
    except jwt.ExpiredSignatureError:
        raise Unauthorized("token_expired", "The token has expired; log in again") from None
    except jwt.PyJWTError:
        raise Unauthorized("invalid_token", "The token is not valid") from None
    return Principal(str(claims["sub"]), tuple(claims.get("roles", ())))


def verify_bank_signature(header: str | None, raw_body: bytes) -> None:
    """`t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, judged by the real wall clock."""
    if not header:
        raise Unauthorized("invalid_signature", "X-Bank-Signature is missing")
    fields: dict[str, list[str]] = {}
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        fields.setdefault(name, []).append(value)
    timestamp = (fields.get("t") or [""])[0]
    # "²" is a digit to isdigit(), not to int(); and int() of thousands of digits is itself an error
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= MAX_TIMESTAMP_DIGITS):
        raise Unauthorized("invalid_signature", "X-Bank-Signature has no valid timestamp")
    if abs(clock.wall().timestamp() - int(timestamp)) > settings.webhook_tolerance_seconds:
        raise Unauthorized("stale_signature", "X-Bank-Signature timestamp is outside the tolerance")
    expected = hmac.new(settings.bank_webhook_secret.encode(), timestamp.encode() + b"." + raw_body,
                        hashlib.sha256).hexdigest()
    if not any(hmac.compare_digest(expected, candidate) for candidate in fields.get("v1", [])):
        raise Unauthorized("invalid_signature", "X-Bank-Signature does not match")

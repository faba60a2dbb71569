"""Idempotency-Key handling for every POST.

A request with a key gets a *claim* (scope + key + hash of the request). If a record for it
exists, its first response is replayed, or 409 `idempotency_conflict` is raised for a different
request. Otherwise the claim rides along with the request: a unit of work that commits a state
change writes the record inside the same transaction (kept forever when money moved, with a
TTL otherwise); a request that wrote nothing stores its record afterwards. A record never keeps a
bearer token (`token`) nor a key shown once (`key`): a replay of an answer that carried a token answers
without one, and a replay of a key's issue is refused (`api/http.py`). The answer is stored compressed, so a
record stays within one write unit (1 KB) even for an order's whole answer.
"""
from __future__ import annotations

import contextvars
import hashlib
from dataclasses import dataclass, field

from pynamodb.exceptions import PutError

from chalicelib.platform import clock
from chalicelib.platform.errors import Conflict, Unprocessable
from chalicelib.store.models import IdempotencyModel
from chalicelib.store.uow import UnitOfWork

TTL_SECONDS = 7 * 24 * 3600
SECRETS = ("token", "key")  # answer fields a record never keeps: a bearer token, a site's usage key
MAX_KEY_LENGTH = 255


@dataclass
class Claim:
    record_id: str
    request_hash: str
    stored: bool = field(default=False)


class ReplayRace(Exception):
    """Another request with the same key committed first; replay its response."""


_current: contextvars.ContextVar[Claim | None] = contextvars.ContextVar("idempotency_claim", default=None)


def make_claim(scope: str, key: str, method: str, path: str, body: bytes) -> Claim:
    if not key or len(key) > MAX_KEY_LENGTH or not (key.isascii() and key.isprintable()):
        raise Unprocessable("invalid_idempotency_key", f"Idempotency-Key must be 1..{MAX_KEY_LENGTH} printable "
                                                       "ASCII characters", field="Idempotency-Key")
    digest = hashlib.sha256(b"\n".join([method.encode(), path.encode(), body or b""])).hexdigest()
    return Claim(record_id=f"{scope}#{key}", request_hash=digest)


def previous_response(claim: Claim) -> tuple[int, dict] | None:
    try:
        record = IdempotencyModel.get(claim.record_id, consistent_read=True)
    except IdempotencyModel.DoesNotExist:
        return None
    if record.request_hash != claim.request_hash:
        raise Conflict("idempotency_conflict", "This Idempotency-Key was used with a different request")
    return int(record.status_code), record.answer()


def activate(claim: Claim | None) -> contextvars.Token:
    return _current.set(claim)


def deactivate(token: contextvars.Token) -> None:
    _current.reset(token)


def commit(uow: UnitOfWork, status: int, body: dict) -> tuple[int, dict]:
    """Commit the unit of work with the request's idempotency record in the same transaction."""
    claim = _current.get()
    if claim is not None and not claim.stored:
        uow.put(_record(claim, status, body, durable=uow.moves_money),
                condition=IdempotencyModel.id.does_not_exist(), on_fail=ReplayRace(), first=True)
    uow.commit()
    if claim is not None:
        claim.stored = True
    return status, body


def store_after(claim: Claim, status: int, body: dict) -> None:
    """For requests that wrote nothing of their own: store the record on its own."""
    try:
        _record(claim, status, body, durable=False).save(condition=IdempotencyModel.id.does_not_exist())
    except PutError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise
        raise ReplayRace() from None


def _record(claim: Claim, status: int, body: dict, *, durable: bool) -> IdempotencyModel:
    now = clock.wall()
    kept = {name: value for name, value in body.items() if name not in SECRETS}
    return IdempotencyModel(
        claim.record_id, request_hash=claim.request_hash, status_code=status,
        answer_z=IdempotencyModel.compress(kept), created_at=clock.iso(now),
        expires_at=None if durable else int(now.timestamp()) + TTL_SECONDS,
    )

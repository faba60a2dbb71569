"""Opaque list cursors: DynamoDB's LastEvaluatedKey as base64url JSON, signed with HMAC so a client
can only hand back a cursor we issued. The MAC also covers the list it came from — who asked, the
route, its path parameters and filters (`list_scope`, set by the HTTP adapter for each request) — so
another user's cursor, or one from another list, is a clear 400 `invalid_cursor`, never a query with
a start key that does not belong to it. A cursor names the key that signed it (`<payload>.<kid>.<mac>`), so it
still pages after the key rotates, while the keyring holds the key (chalicelib/platform/secret_store.py)."""
from __future__ import annotations

import base64
import binascii
import contextlib
import contextvars
import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from typing import Any

from pynamodb.pagination import ResultIterator

from chalicelib.platform import secret_store
from chalicelib.platform.errors import BadRequest, Unprocessable

MAX_LIMIT = 100
DEFAULT_LIMIT = 20
MAX_CURSOR_LENGTH = 2048

_scope: contextvars.ContextVar[str] = contextvars.ContextVar("cursor_scope", default="")


@contextlib.contextmanager
def list_scope(scope: str) -> Iterator[None]:
    """Cursors issued or accepted inside belong to `scope` (the caller and the list)."""
    token = _scope.set(scope)
    try:
        yield
    finally:
        _scope.reset(token)


def _mac(key: str, payload: str) -> str:
    message = b"cursor:" + _scope.get().encode() + b"\n" + payload.encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()[:24]


def _invalid() -> BadRequest:
    return BadRequest("invalid_cursor", "cursor is not valid for this list", field="cursor")


def encode_cursor(key: dict | None) -> str | None:
    if not key:
        return None
    payload = base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode().rstrip("=")
    kid, signing = secret_store.signing_key()
    return f"{payload}.{kid}.{_mac(signing, payload)}"


def decode_cursor(cursor: str | None) -> dict | None:
    if not cursor:
        return None
    if len(cursor) > MAX_CURSOR_LENGTH or not cursor.isascii() or cursor.count(".") != 2:
        raise _invalid()
    payload, kid, mac = cursor.split(".")
    key = secret_store.verifying_key(kid)
    if key is None or not hmac.compare_digest(mac, _mac(key, payload)):
        raise _invalid()
    try:
        key = json.loads(base64.urlsafe_b64decode((payload + "=" * (-len(payload) % 4)).encode()))
    except (binascii.Error, ValueError):
        raise _invalid() from None
    if not isinstance(key, dict):
        raise _invalid()
    return key


def parse_limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 3) or not 1 <= int(raw) <= MAX_LIMIT:
        raise Unprocessable("invalid_limit", f"limit must be an integer from 1 to {MAX_LIMIT}", field="limit")
    return int(raw)


def page(query: Callable[..., ResultIterator], limit: int, cursor: str | None,
         present: Callable[[Any], dict], *, load: Callable[[list], list] | None = None) -> dict:
    """Run a PynamoDB query/scan for one page and shape it as `{"items", "next_cursor"}`. `load` turns what a
    keys-only index gave into the whole items (`lookup.in_order`)."""
    results = query(limit=limit, last_evaluated_key=decode_cursor(cursor))
    items = list(results)
    if load is not None:
        items = load(items)
    return {"items": [present(item) for item in items], "next_cursor": encode_cursor(results.last_evaluated_key)}

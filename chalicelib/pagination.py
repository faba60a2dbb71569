"""Opaque list cursors: DynamoDB's LastEvaluatedKey as base64url JSON, signed with HMAC so a
client can only hand back a cursor we issued (a forged one is a clear 422, never a query)."""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

from pynamodb.pagination import ResultIterator

from chalicelib.config import settings
from chalicelib.errors import Unprocessable

MAX_LIMIT = 100
DEFAULT_LIMIT = 20


def _mac(payload: str) -> str:
    return hmac.new(settings.jwt_secret.encode(), b"cursor:" + payload.encode(), hashlib.sha256).hexdigest()[:24]


def encode_cursor(key: dict | None) -> str | None:
    if not key:
        return None
    payload = base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode().rstrip("=")
    return f"{payload}.{_mac(payload)}"


def decode_cursor(cursor: str | None) -> dict | None:
    if not cursor:
        return None
    payload, _, mac = cursor.partition(".")
    if not cursor.isascii() or not hmac.compare_digest(mac, _mac(payload)):
        raise Unprocessable("invalid_cursor", "cursor is not valid", field="cursor")
    try:
        return json.loads(base64.urlsafe_b64decode((payload + "=" * (-len(payload) % 4)).encode()))
    except (binascii.Error, ValueError):
        raise Unprocessable("invalid_cursor", "cursor is not valid", field="cursor") from None


def parse_limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_LIMIT:
        raise Unprocessable("invalid_limit", f"limit must be an integer from 1 to {MAX_LIMIT}", field="limit")
    return int(raw)


def page(query: Callable[..., ResultIterator], limit: int, cursor: str | None,
         present: Callable[[Any], dict]) -> dict:
    """Run a PynamoDB query/scan for one page and shape it as `{"items", "next_cursor"}`."""
    results = query(limit=limit, last_evaluated_key=decode_cursor(cursor))
    items = list(results)
    return {"items": [present(item) for item in items], "next_cursor": encode_cursor(results.last_evaluated_key)}

"""Opaque list cursors: DynamoDB's LastEvaluatedKey, base64url-encoded JSON."""
from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable
from typing import Any

from pynamodb.exceptions import QueryError, ScanError
from pynamodb.pagination import ResultIterator

from chalicelib.errors import Unprocessable

MAX_LIMIT = 100
DEFAULT_LIMIT = 20


def decode_cursor(cursor: str | None) -> dict | None:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise Unprocessable("invalid_cursor", "cursor is not valid", field="cursor") from None
    if not isinstance(value, dict):
        raise Unprocessable("invalid_cursor", "cursor is not valid", field="cursor")
    return value


def encode_cursor(key: dict | None) -> str | None:
    if not key:
        return None
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode().rstrip("=")


def parse_limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise Unprocessable("invalid_limit", f"limit must be an integer from 1 to {MAX_LIMIT}", field="limit")
    return int(raw)


def page(query: Callable[..., ResultIterator], limit: int, cursor: str | None,
         present: Callable[[Any], dict]) -> dict:
    """Run a PynamoDB query/scan for one page and shape it as `{"items", "next_cursor"}`."""
    results = query(limit=limit, last_evaluated_key=decode_cursor(cursor))
    try:
        items: Iterable[Any] = list(results)
    except (QueryError, ScanError) as error:
        if cursor and error.cause_response_code == "ValidationException":
            raise Unprocessable("invalid_cursor", "cursor is not valid for this list", field="cursor") from None
        raise
    return {"items": [present(item) for item in items], "next_cursor": encode_cursor(results.last_evaluated_key)}

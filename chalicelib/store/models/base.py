"""What every table model shares: the JSON attribute kept compact, the Meta every model starts from, and its
logical table name."""
from __future__ import annotations

import json
from typing import Any

from pynamodb.attributes import JSONAttribute as _JSONAttribute
from pynamodb.models import Model

DEFAULT_POOL_CONNECTIONS = 10  # PynamoDB's own default


class JSONAttribute(_JSONAttribute):
    """JSON stored as UTF-8, compact: PynamoDB's own escapes every non-ASCII character as `\\uXXXX`,
    six bytes for each letter of a Russian, Ukrainian or Persian text, which would bring a deal's item
    three times closer to DynamoDB's 400 KB limit."""

    def serialize(self, value: Any) -> str | None:
        return None if value is None else json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class BaseMeta:
    region = "eu-central-1"
    host = None
    max_retry_attempts = 3
    max_pool_connections = DEFAULT_POOL_CONNECTIONS


def logical_name(model: type[Model]) -> str:
    """The table's name without the stage prefix (kept on each model's Meta)."""
    return model.Meta.logical_name  # type: ignore[attr-defined]


"""Strongly consistent reads by key, where a missing item is the caller's 404."""
from __future__ import annotations

from typing import Any

from pynamodb.models import Model

from chalicelib.platform.errors import NotFound


def load[M: Model](model: type[M], hash_key: Any, range_key: Any = None, *, what: str) -> M:
    try:
        return model.get(hash_key, range_key, consistent_read=True)
    except model.DoesNotExist:
        raise NotFound("not_found", f"No such {what}") from None

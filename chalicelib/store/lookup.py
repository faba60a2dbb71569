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


def in_order[M: Model](model: type[M], listed: list[M]) -> list[M]:
    """The whole items of `listed` (what a keys-only index gave), read in one batch and kept in the index's
    order; an item gone since the index was read is left out."""
    if not listed:
        return []
    hash_name = str(model._hash_keyname)
    range_name: str | None = model._range_keyname

    def key(item: M) -> Any:
        if range_name is None:
            return getattr(item, hash_name)
        return getattr(item, hash_name), getattr(item, range_name)

    keys = [key(item) for item in listed]
    found = {key(item): item for item in model.batch_get(keys)}
    return [found[k] for k in keys if k in found]

"""Opaque, time-sortable ids with a type prefix (`usr_`, `inv_`, `pay_`, ...)."""
from __future__ import annotations

import hashlib

from chalicelib.platform import clock


def new_id(prefix: str) -> str:
    from ulid import ULID  # on first use: a cold start that only reads makes no id

    return f"{prefix}_{str(ULID.from_datetime(clock.now())).lower()}"


def derived_id(prefix: str, *parts: str) -> str:
    """A deterministic id for something that must exist once per outside fact (a bank event)."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:26]
    return f"{prefix}_{digest}"

"""SnapStart's restore hooks (the prod stack's `SnapStart=true`, infra/snapstart.py): Lambda restores many
environments from one snapshot of an initialized one, so what was made during the import must not be
shared between them. After a restore: a new DynamoDB connection (the snapshot's HTTP connections are dead,
and its botocore client would be shared), a new seed for `random` (the retries' jitter would otherwise be
the same in every restored environment), and the clock file's cached offset read again."""
from __future__ import annotations

import random

from chalicelib.platform import clock, config
from chalicelib.store import models


def renew_after_restore() -> None:
    random.seed()
    clock.forget_cached_offset()
    models.bind(config.settings)


def register() -> None:
    """Register the hooks with Lambda's runtime, which provides `snapshot_restore_py` on SnapStart runtimes."""
    try:
        from snapshot_restore_py import register_after_restore
    except ImportError:  # not on Lambda (or a runtime without SnapStart): nothing is ever restored
        return
    register_after_restore(renew_after_restore)

"""The long checks (`make check-long`, part of `make test`): each module runs against its own local
stage, started as `make run` starts it (see tests/e2e/conftest.py), over real HTTP."""
from __future__ import annotations

from tests.e2e.conftest import local_stack, start_local_stack  # noqa: F401  (fixtures)

"""Modules a route needs, loaded when the route first runs rather than with the app.

`accounts, balances = lazy_modules("chalicelib.services", "accounts", "balances")` gives stand-ins
whose first attribute lookup imports the module (the import system's lock makes that thread-safe);
each lookup after that is a dictionary read. A cold start that serves the bank's webhook so never
loads the billing services, the pages or the marketplace's use cases. Modules declare the real
imports under `TYPE_CHECKING`, so mypy checks every call as before."""
from __future__ import annotations

import importlib
import sys
from typing import Any


class LazyModule:
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        return getattr(importlib.import_module(self._name), attribute)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"


def lazy_modules(package: str, *names: str) -> tuple[Any, ...]:
    """One stand-in per `package.name` (the module itself when it is loaded already)."""
    return tuple(sys.modules.get(f"{package}.{name}") or LazyModule(f"{package}.{name}") for name in names)

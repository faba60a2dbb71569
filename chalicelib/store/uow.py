"""The unit of work: everything one state change writes goes into ONE TransactWriteItems.

Each item carries the domain error its condition stands for, so a cancelled transaction is
translated by its cancellation reasons: a failed condition is a business rejection (raised as
that item's error), a `TransactionConflict` or throttling is a lost race (raised as
`Retryable`, and `run_with_retries` runs the whole use case again after a jittered backoff).
"""
from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.models import Model

from chalicelib.platform.errors import Conflict, Retryable, Unavailable

# Top-level error codes and transaction cancellation reasons that mean "too much load": nothing written.
THROTTLING_CODES = {"ThrottlingException", "ProvisionedThroughputExceededException", "RequestLimitExceeded",
                    "ThrottlingError", "ProvisionedThroughputExceeded"}
_RETRYABLE_CODES = THROTTLING_CODES | {"TransactionConflict", "TransactionInProgressException"}

_connections: dict[tuple[str | None, str | None], Connection] = {}


def connection_for(model: type[Model]) -> Connection:
    """A connection with the same region and host as the models (PynamoDB needs both to match)."""
    key = (model.Meta.region, model.Meta.host)
    if key not in _connections:
        _connections[key] = Connection(region=model.Meta.region, host=model.Meta.host,
                                       max_retry_attempts=model.Meta.max_retry_attempts,
                                       max_pool_connections=model.Meta.max_pool_connections)
    return _connections[key]


# What a failed condition means: an exception, or a function that finds out (reading what it needs) when
# the meaning depends on more than the item, e.g. a missing balance vs a low one.
OnFail = Exception | Callable[[], Exception]


@dataclass
class _Item:
    kwargs: dict[str, Any]
    on_fail: OnFail


@dataclass
class UnitOfWork:
    """Collects puts, updates, deletes and condition checks, then commits them atomically."""

    checks: list[_Item] = field(default_factory=list)
    deletes: list[_Item] = field(default_factory=list)
    puts: list[_Item] = field(default_factory=list)
    updates: list[_Item] = field(default_factory=list)
    moves_money: bool = False
    consumed_capacity: list[dict] = field(default_factory=list)
    # what the ledger has netted per account so far: a transaction touches an item once, so a second transfer
    # over the same account (a card top-up and the escrow it pays) replaces the first one's update
    account_deltas: dict[Any, dict[str, int]] = field(default_factory=dict)
    _keyed: dict[Any, int] = field(default_factory=dict)
    _model: type[Model] | None = None

    def put(self, item: Model, *, condition: Condition | None = None,
            on_fail: OnFail | None = None, first: bool = False) -> None:
        entry = _Item(item.get_save_kwargs_from_instance(condition=condition), on_fail or _state_changed())
        self.puts.insert(0 if first else len(self.puts), entry)
        self._model = self._model or type(item)

    def update(self, item: Model, actions: list, *, condition: Condition | None = None,
               on_fail: OnFail | None = None) -> None:
        kwargs = item.get_update_kwargs_from_instance(actions=actions, condition=condition,
                                                      add_version_condition=False)
        self.updates.append(_Item(kwargs, on_fail or _state_changed()))
        self._model = self._model or type(item)

    def update_keyed(self, key: Any, item: Model, actions: list, *, condition: Condition | None = None,
                     on_fail: OnFail | None = None) -> None:
        """An update that replaces the one added under the same `key` before (the item's netted change)."""
        kwargs = item.get_update_kwargs_from_instance(actions=actions, condition=condition,
                                                      add_version_condition=False)
        entry = _Item(kwargs, on_fail or _state_changed())
        if key in self._keyed:
            self.updates[self._keyed[key]] = entry
        else:
            self._keyed[key] = len(self.updates)
            self.updates.append(entry)
        self._model = self._model or type(item)

    def delete(self, item: Model, *, condition: Condition | None = None, on_fail: OnFail | None = None) -> None:
        self.deletes.append(_Item(item.get_delete_kwargs_from_instance(condition=condition),
                                  on_fail or _state_changed()))
        self._model = self._model or type(item)

    def check(self, model: type[Model], hash_key: Any, range_key: Any = None, *, condition: Condition,
              on_fail: OnFail | None = None) -> None:
        kwargs = model.get_operation_kwargs_from_class(hash_key, range_key=range_key, condition=condition)
        self.checks.append(_Item(kwargs, on_fail or _state_changed()))
        self._model = self._model or model

    def __len__(self) -> int:
        return len(self.checks) + len(self.deletes) + len(self.puts) + len(self.updates)

    def commit(self) -> None:
        if not len(self):
            return
        ordered = [*self.checks, *self.deletes, *self.puts, *self.updates]  # PynamoDB's order
        if len(ordered) > 100:
            raise ValueError("a transaction holds at most 100 items")
        assert self._model is not None
        try:
            response = connection_for(self._model).transact_write_items(
                condition_check_items=[i.kwargs for i in self.checks],
                delete_items=[i.kwargs for i in self.deletes],
                put_items=[i.kwargs for i in self.puts],
                update_items=[i.kwargs for i in self.updates],
                return_consumed_capacity="TOTAL",
            )
        except TransactWriteError as error:
            raise _translate(error, ordered) from error
        self.consumed_capacity = response.get("ConsumedCapacity", [])


def _state_changed() -> Conflict:
    return Conflict("state_changed", "The resource changed meanwhile; reload it and try again")


def _translate(error: TransactWriteError, ordered: list[_Item]) -> Exception:
    if error.cause_response_code in _RETRYABLE_CODES:
        return Retryable(error.cause_response_code)
    reasons = error.cancellation_reasons or []
    codes = [reason.code if reason else None for reason in reasons]
    if any(code in _RETRYABLE_CODES for code in codes):
        return Retryable(next(code for code in codes if code in _RETRYABLE_CODES))
    for item, code in zip(ordered, codes, strict=False):
        if code == "ConditionalCheckFailed":
            return item.on_fail if isinstance(item.on_fail, BaseException) else item.on_fail()
    return error


def run_with_retries[T](use_case: Callable[[], T], *, attempts: int = 6, base_delay_s: float = 0.01) -> T:
    """Run a read-decide-commit use case, again from its reads if it lost a race."""
    for attempt in range(attempts):
        try:
            return use_case()
        except Retryable as lost:
            if attempt == attempts - 1:
                if str(lost) in THROTTLING_CODES:
                    raise Unavailable() from None
                raise Conflict("busy", "The resource is busy; retry the request") from None
            time.sleep(random.uniform(0, base_delay_s * 2**attempt))
    raise AssertionError("unreachable")


def reset_connections() -> None:
    _connections.clear()

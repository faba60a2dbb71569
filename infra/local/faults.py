"""Fault injection for the local stage: `LOCAL_FAULTS=throttle=0.02,conflict=0.03,crash=0.02 make run`.

While the API serves a request, its DynamoDB calls sometimes fail the way DynamoDB fails them,
decided in botocore's client call (under PynamoDB, so the service sees exactly what AWS would send):

- `throttle`: a `ProvisionedThroughputExceededException` (a transaction's, or at half the rate a read's)
  that outlasts the SDK's own retries;
- `conflict`: a transaction cancelled with `TransactionConflict`, as when another writer holds an item;
- `crash`: the transaction commits, then the function dies before it answers: the caller gets a 500
  and must retry with the same Idempotency-Key.

Only the API's request threads are touched (not the stream poller, the scheduler or table setup), so a
fault is always one a client can see and retry. The bank workload runs with faults on to show that
retried requests converge with nothing lost or doubled.
"""
from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

from botocore.client import BaseClient
from botocore.exceptions import ClientError

KINDS = ("throttle", "conflict", "crash")
_serving = threading.local()
injected: Counter = Counter()


class InjectedCrash(Exception):
    """The function died after DynamoDB committed its transaction and before it could answer."""


def parse(spec: str) -> dict[str, float]:
    """`throttle=0.02,conflict=0.03,crash=0.02` → rates; an unknown kind or a rate outside 0..1 is an error."""
    rates = dict.fromkeys(KINDS, 0.0)
    for part in filter(None, (piece.strip() for piece in spec.split(","))):
        kind, _, value = part.partition("=")
        if kind not in rates:
            raise ValueError(f"LOCAL_FAULTS: unknown fault {kind!r}; expected {', '.join(KINDS)}")
        rate = float(value)
        if not 0 <= rate <= 1:
            raise ValueError(f"LOCAL_FAULTS: {kind} must be a rate from 0 to 1, not {value!r}")
        rates[kind] = rate
    if sum(rates.values()) > 1:
        raise ValueError("LOCAL_FAULTS: the rates add up to more than 1")
    return rates


def serving(on: bool) -> None:
    """Mark the current thread as serving an API request (faults apply) or not."""
    _serving.on = on


def install(rates: dict[str, float], *, seed: int | None = None) -> Callable[[], None]:
    """Patch botocore's client call; returns the function that takes the patch out again."""
    original = BaseClient._make_api_call
    rng = random.Random(seed)
    lock = threading.Lock()

    def make_api_call(client: BaseClient, operation: str, params: dict) -> Any:
        if not getattr(_serving, "on", False) or client.meta.service_model.service_name != "dynamodb":
            return original(client, operation, params)
        with lock:
            roll = rng.random()
        if operation == "TransactWriteItems":
            if roll < rates["throttle"]:
                _fail("throttle", _throttled(operation))
            roll -= rates["throttle"]
            if roll < rates["conflict"]:
                _fail("conflict", _conflict(operation, len(params.get("TransactItems", [])) or 1))
            roll -= rates["conflict"]
            if roll < rates["crash"]:
                answer = original(client, operation, params)
                _fail("crash", InjectedCrash(f"died after {operation} committed ({sorted(answer)})"))
        elif operation in ("GetItem", "Query") and roll < rates["throttle"] / 2:
            _fail("throttle", _throttled(operation))
        return original(client, operation, params)

    BaseClient._make_api_call = make_api_call  # type: ignore[method-assign]

    def uninstall() -> None:
        BaseClient._make_api_call = original  # type: ignore[method-assign]

    return uninstall


def _fail(kind: str, error: Exception) -> None:
    injected[kind] += 1
    raise error


def _throttled(operation: str) -> ClientError:
    return ClientError({"Error": {"Code": "ProvisionedThroughputExceededException",
                                  "Message": "The level of configured provisioned throughput was exceeded "
                                             "(injected by LOCAL_FAULTS)"}}, operation)


def _conflict(operation: str, items: int) -> ClientError:
    reasons = [{"Code": "None"}] * (items - 1) + [{"Code": "TransactionConflict",
                                                   "Message": "Transaction is ongoing for the item (injected)"}]
    return ClientError({"Error": {"Code": "TransactionCanceledException",
                                  "Message": "Transaction cancelled, please refer cancellation reasons"},
                        "CancellationReasons": reasons}, operation)

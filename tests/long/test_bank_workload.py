"""Jepsen-style bank workload (bench/bank_workload.py) against the local stage: many concurrent
clients, contractors, the bank, two job runners and a moving clock, with retries that reuse the
Idempotency-Key. Afterwards no invariant may be violated — and the checker itself must notice a
broken book when one is made on purpose."""
from __future__ import annotations

from bench import bank_workload

SECONDS = 20
AT_MOST = 120  # on a busy machine the load goes on until it has done every kind below once, at most this long
KINDS = ("webhook", "place order", "start", "deliver", "accept delivery", "pay extra", "complete task",
         "ask payout", "payout answer", "run jobs", "move clock", "card top-up", "read top-up", "acquirer webhook")


def test_the_books_hold_under_a_concurrent_workload_with_retries_and_moving_time(local_stack):
    dynamodb = f"http://127.0.0.1:{local_stack.dynamodb_port}"
    printed: list[str] = []
    result = bank_workload.run(local_stack.url, dynamodb, seconds=SECONDS, clients=6, contractors=4, seed=7,
                               out=printed.append, until=KINDS, at_most=AT_MOST)
    print("\n".join(printed))
    assert result["violations"] == [], "\n".join(printed)
    done = result["by_kind"]
    for kind in KINDS:
        assert done.get(kind, 0) > 0, f"the workload never did {kind!r}: {done}"
    assert result["ops"] > 300

    # the checker is not vacuous: one unit of money made out of nothing is found at once
    from chalicelib.store.models import AccountModel

    account = next(a for a in AccountModel.scan() if not a.owner_id.startswith("sys:") and a.available > 0)
    account.update(actions=[AccountModel.available.add(1)])
    world = bank_workload.World(local_stack.url, bank_workload.Stats())
    found = bank_workload.check(world, dynamodb, "escrowdesk-local-")
    assert any("sums to 1, not 0" in v for v in found), found
    assert any("journal lines sum to" in v for v in found), found


def test_the_books_hold_when_dynamodb_throttles_conflicts_and_the_function_crashes_after_commit(
        start_local_stack):
    """The same workload on a stage started with LOCAL_FAULTS (infra/local/faults.py): some of the API's
    transactions are throttled or conflict, some commit and then "crash" before answering (a 500). The
    clients retry with the same Idempotency-Key; nothing may be lost or doubled."""
    stack = start_local_stack(extra_env={"LOCAL_FAULTS": "throttle=0.03,conflict=0.05,crash=0.03"})
    printed: list[str] = []
    result = bank_workload.run(stack.url, f"http://127.0.0.1:{stack.dynamodb_port}", seconds=SECONDS, clients=6,
                               contractors=4, seed=11, out=printed.append, faults=True)
    print("\n".join(printed))
    assert result["violations"] == [], "\n".join(printed)
    assert result["failures"].get("500", 0) > 0, f"no crash after commit reached a client: {result['failures']}"
    assert result["ops"] > 300

"""What one password check costs at each argon2id parameter set we might choose: the log-in's latency budget.

Run from the repository root:

    python -m bench.passwords [--repeats R]

For each candidate (memory KiB, passes, lanes) — OWASP's minimum, RFC 9106's second recommended option
(the default of `chalicelib.platform.config`) and two steps around it — it hashes a password once and then
times R verifications (`argon2.PasswordHasher.verify`, the call a log-in makes), printing the median and the
slowest in milliseconds, and the process's peak resident memory. The figures depend on the machine: run it
where the functions run (1024 MB of Lambda memory gives a little more than half of one vCPU, so lanes
beyond one give no speed there) or on a machine of the same class.
"""
from __future__ import annotations

import argparse
import resource
import statistics
import time

from argon2 import PasswordHasher

CANDIDATES = (
    ("OWASP minimum", 19456, 2, 1),
    ("RFC 9106 second option (default)", 65536, 3, 4),
    ("RFC 9106 second option, one lane", 65536, 3, 1),
    ("128 MiB, t=3, p=4", 131072, 3, 4),
)
BUDGET_MS = 500  # a log-in answers within half a second at the median, with DynamoDB's reads beside it


def measure(memory_kib: int, time_cost: int, parallelism: int, repeats: int) -> list[float]:
    hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)
    stored = hasher.hash("correct horse battery staple")
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        hasher.verify(stored, "correct horse battery staple")
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args(argv)
    print(f"{'parameters':36} {'m KiB':>7} {'t':>2} {'p':>2} {'median ms':>10} {'max ms':>8}  within {BUDGET_MS} ms")
    for name, memory_kib, time_cost, parallelism in CANDIDATES:
        timings = measure(memory_kib, time_cost, parallelism, args.repeats)
        median = statistics.median(timings)
        print(f"{name:36} {memory_kib:>7} {time_cost:>2} {parallelism:>2} {median:>10.1f} {max(timings):>8.1f}  "
              f"{'yes' if median <= BUDGET_MS else 'no'}")
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory of this process: {peak_mib:.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

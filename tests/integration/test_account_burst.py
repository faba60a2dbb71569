"""On real DynamoDB (Local): a burst of log-ins for one account sent at the same instant gets no more
password checks than the limit allows — each attempt is charged, by a conditional add, before the check."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from chalicelib.access import auth
from chalicelib.platform.errors import TooManyRequests, Unauthorized
from chalicelib.services import accounts

ATTEMPTS, THREADS = 60, 20
ATTACKER = "203.0.113.66"


def test_sixty_concurrent_wrong_log_ins_for_one_account_get_at_most_five_password_checks(monkeypatch):
    accounts.signup("ann@example.com", "correct horse", "Ann", "en")
    checks, lock, start = [0], threading.Lock(), threading.Barrier(THREADS)
    verify = auth.verify_password

    def counted(password_hash, password):
        with lock:
            checks[0] += 1
        return verify(password_hash, password)

    monkeypatch.setattr(auth, "verify_password", counted)

    def attempt(n: int) -> str:
        if n < THREADS:
            start.wait()  # the first wave leaves together
        try:
            accounts.login("ann@example.com", f"guess {n}", ATTACKER)
        except TooManyRequests as refused:
            return refused.code
        except Unauthorized as wrong:
            return wrong.code
        return "logged_in"

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        answers = list(pool.map(attempt, range(ATTEMPTS)))

    assert checks[0] <= 5
    assert answers.count("invalid_credentials") == checks[0]
    assert answers.count("too_many_attempts") == ATTEMPTS - checks[0]

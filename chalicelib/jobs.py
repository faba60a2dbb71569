"""Scheduled jobs, by name. EventBridge runs them every minute on AWS; the local runner and
`POST /dev/jobs/run` run the same functions. Each is safe to run twice, late or concurrently."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from chalicelib.services import notifications, payouts, timers

JOBS: dict[str, Callable[[datetime], dict]] = {
    "fire_due_timers": timers.fire_due,
    "retry_unsent_email": notifications.retry_unsent,
    "resend_payout_requests": payouts.resend_unsent,
}


def run_all(now: datetime) -> dict[str, dict]:
    return {name: job(now) for name, job in JOBS.items()}

"""Scheduled jobs, by name. EventBridge runs them every minute on AWS; the local runner and
`POST /dev/jobs/run` run the same functions. Each is safe to run twice, late or concurrently."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from chalicelib.platform.observability import logger
from chalicelib.services import health, notifications, payouts, timers, uploads

JOBS: dict[str, Callable[[datetime], dict]] = {
    "fire_due_timers": timers.fire_due,
    "retry_unsent_email": notifications.retry_unsent,
    "resend_payout_requests": payouts.resend_unsent,
    "resend_card_refunds": lambda now: _card_payments().resend_refunds(now),  # a top-up refund not yet confirmed
    "report_queues": health.report_queues,
    "sweep_local_uploads": uploads.sweep,  # the local stage's bucket events and lifecycle rule; nothing on AWS
}


def _card_payments():  # type: ignore[no-untyped-def]
    """Imported when the job runs: with it come the bank's and the sites' use cases, which the API's cold start
    leaves to their routes' first request."""
    from chalicelib.services import card_payments

    return card_payments


class JobsFailed(Exception):
    """One or more jobs failed; the others still ran. The schedule's invocation fails (and alarms)."""


def run_all(now: datetime) -> dict[str, dict]:
    """Every job, each on its own: one failing does not keep the others from running."""
    results: dict[str, dict] = {}
    failed = []
    for name, job in JOBS.items():
        try:
            results[name] = job(now)
        except Exception:
            logger.exception("job failed", extra={"job": name})
            failed.append(name)
    if failed:
        raise JobsFailed(", ".join(failed))
    return results

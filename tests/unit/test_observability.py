"""Metrics are published once per handler run, and never break the request that added them."""
from __future__ import annotations

import json
import threading

from aws_lambda_powertools.metrics import MetricUnit

from chalicelib.platform import observability


def test_a_handler_s_metrics_are_published_as_one_emf_record_after_it_runs(capsys):
    @observability.log_metrics
    def handler(event, context):
        observability.metrics.add_metric(name="OrdersPlaced", unit=MetricUnit.Count, value=2)
        return {"ok": event}

    assert handler("x", None) == {"ok": "x"}
    (record,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert record["OrdersPlaced"] == [2.0]
    assert not observability.metrics.metric_set


def test_handlers_on_many_threads_sharing_the_metrics_never_fail_while_publishing(capsys):
    """The local stage serves requests, schedules and streams on threads that share one Metrics: one
    thread's flush between another's "anything to publish?" and its serializing used to raise."""
    start = threading.Barrier(8)
    failures: list[BaseException] = []

    @observability.log_metrics
    def handler(event, context):
        observability.metrics.add_metric(name="EmailSent", unit=MetricUnit.Count, value=1)
        return event

    def serve() -> None:
        start.wait()
        for n in range(150):
            try:
                handler(n, None)
            except BaseException as failure:  # every failure is the finding
                failures.append(failure)

    threads = [threading.Thread(target=serve) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    published = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    emf = [{"Name": "EmailSent", "Unit": "Count"}]
    assert published and all(record["_aws"]["CloudWatchMetrics"][0]["Metrics"] == emf for record in published)

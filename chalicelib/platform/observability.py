"""One Powertools Logger and Metrics for the whole service, and Powertools' Tracer only where it is asked for.

Tracing on AWS is Lambda's active tracing (the prod stage's `xray`): Lambda records each invocation's
segment — initialization, invocation, overhead — and API Gateway's segment joins it, with no SDK in the
function. Powertools' Tracer adds subsegments (the handler, each DynamoDB and HTTP call), but its X-Ray
SDK adds ~35 ms to every cold start, past the budget on its own (`python -m bench.import_time`), so it
is imported only when `XRAY_SDK` is on, e.g. while chasing a slow request.
"""
from __future__ import annotations

import threading
import warnings
from collections.abc import Callable
from functools import cache, wraps
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

SERVICE = "escrowdesk"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace="Escrowdesk", service=SERVICE)

# Most requests publish no business metric; Powertools warns about each of them otherwise.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)


# Lambda runs one request at a time in an environment, but the local stage serves requests, schedules and
# streams on threads that share this one Metrics: Powertools checks "anything to publish?" and then
# serializes, and another thread's flush in between empties the set and raised "Must contain at least one
# metric" as a 500. Flushing under one lock makes the check and the flush one step.
_flush_lock = threading.Lock()


def log_metrics(handler: Callable[..., Any]) -> Callable[..., Any]:
    """Run a Lambda handler, then publish the metrics it added as one EMF record (Powertools' log_metrics)."""

    @wraps(handler)
    def run(event: Any, context: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return handler(event, context, *args, **kwargs)
        finally:
            with _flush_lock:
                metrics.flush_metrics()

    return run


@cache
def tracer() -> Tracer:
    """Powertools' Tracer, which imports the X-Ray SDK and patches botocore: call it only when `XRAY_SDK` is on."""
    from aws_lambda_powertools import Tracer

    return Tracer(service=SERVICE)

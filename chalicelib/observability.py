"""One Powertools Logger, Tracer and Metrics for the whole service."""
from __future__ import annotations

import warnings

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE = "escrowdesk"

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE)
metrics = Metrics(namespace="Escrowdesk", service=SERVICE)

# Most requests publish no business metric; Powertools warns about each of them otherwise.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)

"""One Powertools Logger, Tracer and Metrics for the whole service."""
from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE = "escrowdesk"

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE)
metrics = Metrics(namespace="Escrowdesk", service=SERVICE)

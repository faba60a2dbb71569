"""What a person running the stack looks at and is woken by: one CloudWatch dashboard, and an alarm (to
the stack's `AlarmTopic`, which e-mails `AlarmEmail`) for each thing that needs a person. Merged into the
template by infra/template.py, beside its alarms on every function (errors, throttles), the API's 5XX, the
stream's iterator age, the timer queue's age and a schedule that stops running.

The service's own figures are the metrics `chalicelib/services/health.py` emits (namespace `Escrowdesk`,
dimension `service`): every minute the timer lag, the e-mail queue's age and the unmatched payments,
every hour the books audit's imbalances and the card charges pending.
"""
from __future__ import annotations

import json
from typing import Any

from chalicelib.platform.observability import SERVICE
from chalicelib.services import health

NAMESPACE = "Escrowdesk"
DIMENSIONS = {"service": SERVICE}
TIMER_QUEUE = "TimerQueue"

# metric → (what a person must do, statistic, threshold, period in seconds): alarm when above the threshold.
ALARMS: dict[str, tuple[str, str, float, int]] = {
    health.TIMER_LAG: ("timers lag: a due timer has waited over 5 minutes", "Maximum", 300, 300),
    health.EMAIL_QUEUE_AGE: ("e-mail lags: a notification's e-mail has waited over 15 minutes", "Maximum", 900, 300),
    health.UNMATCHED_PAYMENT_AGE: ("a bank payment has waited over 2 hours for an operator (credited within "
                                   "2 hours is the promise)", "Maximum", 7200, 300),
    health.BOOKS_IMBALANCES: ("the hourly books audit found an imbalance: see the AuditBooks log", "Maximum", 0, 3600),
}
ALARM_IDS = {health.TIMER_LAG: "TimerLagAlarm", health.EMAIL_QUEUE_AGE: "EmailQueueAgeAlarm",
             health.UNMATCHED_PAYMENT_AGE: "UnmatchedPaymentWaitingAlarm",
             health.BOOKS_IMBALANCES: "BooksImbalanceAlarm"}


def _alarm(metric: str) -> dict[str, Any]:
    description, statistic, threshold, period = ALARMS[metric]
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmDescription": {"Fn::Sub": f"${{AWS::StackName}}: {description}"},
            "Namespace": NAMESPACE, "MetricName": metric,
            "Dimensions": [{"Name": name, "Value": value} for name, value in DIMENSIONS.items()],
            "Statistic": statistic, "Period": period, "EvaluationPeriods": 1, "Threshold": threshold,
            "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": "notBreaching",
            "AlarmActions": [{"Ref": "AlarmTopic"}], "OKActions": [{"Ref": "AlarmTopic"}],
        },
    }


def _ours(metric: str, stat: str = "Maximum", label: str | None = None) -> list[Any]:
    return [NAMESPACE, metric, *(x for pair in DIMENSIONS.items() for x in pair),
            {"stat": stat, "label": label or metric}]


def _widget(title: str, metrics: list[list[Any]], *, x: int, y: int, threshold: float | None = None,
            period: int = 60) -> dict[str, Any]:
    properties: dict[str, Any] = {"title": title, "region": "${AWS::Region}", "view": "timeSeries",
                                  "stacked": False, "period": period, "metrics": metrics}
    if threshold is not None:
        properties["annotations"] = {"horizontal": [{"label": "alarm", "value": threshold}]}
    return {"type": "metric", "x": x, "y": y, "width": 12, "height": 6, "properties": properties}


def dashboard_body(api_name: str, api_stage: str) -> dict[str, Any]:
    """The dashboard's widgets; `${...}` are filled in by CloudFormation (`Fn::Sub`)."""
    api = ["ApiName", api_name, "Stage", api_stage]
    queue = ["QueueName", f"${{{TIMER_QUEUE}.QueueName}}"]
    return {"widgets": [
        _widget("API requests, 4XX and 5XX", [
            ["AWS/ApiGateway", "Count", *api, {"stat": "Sum", "label": "requests"}],
            ["AWS/ApiGateway", "4XXError", *api, {"stat": "Sum", "label": "4XX"}],
            ["AWS/ApiGateway", "5XXError", *api, {"stat": "Sum", "label": "5XX"}],
        ], x=0, y=0),
        _widget("API latency (ms)", [
            ["AWS/ApiGateway", "Latency", *api, {"stat": "p50", "label": "p50"}],
            ["AWS/ApiGateway", "Latency", *api, {"stat": "p99", "label": "p99"}],
        ], x=12, y=0),
        _widget("Timer lag: the oldest due timer's age (s)", [_ours(health.TIMER_LAG)], x=0, y=6,
                threshold=ALARMS[health.TIMER_LAG][2]),
        _widget("Queue ages (s): e-mail, timer queue", [
            _ours(health.EMAIL_QUEUE_AGE, label="e-mail queue"),
            ["AWS/SQS", "ApproximateAgeOfOldestMessage", *queue, {"stat": "Maximum", "label": "timer queue"}],
        ], x=12, y=6, threshold=ALARMS[health.EMAIL_QUEUE_AGE][2]),
        _widget("Unmatched payments waiting (count; oldest's age in s)", [
            _ours(health.UNMATCHED_PAYMENTS, label="waiting"),
            _ours(health.UNMATCHED_PAYMENT_AGE, label="oldest (s)"),
        ], x=0, y=12),
        _widget("Card charges pending at the acquirer", [_ours(health.PENDING_CARD_CHARGES)], x=12, y=12,
                period=3600),
        _widget("Books audit (hourly): imbalances, entries audited", [
            _ours(health.BOOKS_IMBALANCES, label="imbalances"),
            _ours(health.BOOKS_AUDITED_ENTRIES, label="entries audited"),
        ], x=0, y=18, period=3600),
    ]}


def resources(api: tuple[str, str]) -> dict[str, Any]:
    """The dashboard and the alarms; `api` is the REST API's (name, stage)."""
    body = json.dumps(dashboard_body(*api), separators=(",", ":"))
    return {
        "OperationsDashboard": {"Type": "AWS::CloudWatch::Dashboard", "Properties": {
            "DashboardName": {"Fn::Sub": "${AWS::StackName}-operations"},
            "DashboardBody": {"Fn::Sub": body},
        }},
        **{ALARM_IDS[metric]: _alarm(metric) for metric in ALARMS},
    }

"""escrowdesk entrypoints: routes, the schedule, the timer queue, the stream trigger; each translates and delegates."""
from __future__ import annotations

import os

from chalice import Chalice, ConvertToMiddleware

from chalicelib.adapters.files import UPLOAD_TYPES
from chalicelib.entrypoints import jobs, snapshot
from chalicelib.entrypoints.api import (
    accounts,
    bank,
    cards,
    catalog,
    dev,
    invoices,
    offers,
    openapi,
    orders,
    projects,
    sites,
    tasks,
    uploads,
)
from chalicelib.entrypoints.api.http import refuse_other_methods, secure_headers
from chalicelib.entrypoints.web import assets, billing, console, pages
from chalicelib.platform import clock, config, observability
from chalicelib.platform.observability import logger
from chalicelib.services import health, notifications, timers
from chalicelib.store import models

config.settings.check()
models.bind(config.settings)
snapshot.register()

app = Chalice(app_name="escrowdesk")
app.api.binary_types.extend(["application/pdf", "application/zip", "application/octet-stream", "multipart/form-data"])
app.api.binary_types.extend(sorted(set(UPLOAD_TYPES) - set(app.api.binary_types)))  # downloads of uploads
app.register_middleware(ConvertToMiddleware(logger.inject_lambda_context))
if config.settings.xray_sdk:  # Lambda's active tracing needs no SDK; see chalicelib/platform/observability.py
    app.register_middleware(ConvertToMiddleware(observability.tracer().capture_lambda_handler))
app.register_middleware(ConvertToMiddleware(observability.log_metrics))
for blueprint in (accounts.bp, invoices.bp, bank.bp, orders.bp, offers.bp, projects.bp, tasks.bp, sites.bp, cards.bp,
                  catalog.bp, uploads.bp, dev.bp, openapi.bp, pages.bp, console.bp, billing.bp,
                  assets.bp):
    app.register_blueprint(blueprint)
refuse_other_methods(app)  # after every route: each path's other methods are a 405 in the API's shape

NOTIFICATIONS_STREAM_ARN = os.environ.get(
    "NOTIFICATIONS_STREAM_ARN",
    "arn:aws:dynamodb:eu-central-1:000000000000:table/escrowdesk-local-notifications/stream/local",
)
# A placeholder: the stack points the trigger at its own timer queue (infra/template.py); locally there is none.
TIMER_QUEUE_ARN = "arn:aws:sqs:eu-central-1:000000000000:escrowdesk-timers"
# Likewise the queue the files bucket tells of new uploads (S3 event notifications): `chalice package` cannot
# package `on_s3_event` (CloudFormation cannot add notifications to a bucket it did not create with them), so the
# bucket, which the stack creates, notifies this queue instead.
UPLOADS_QUEUE_ARN = "arn:aws:sqs:eu-central-1:000000000000:escrowdesk-uploads"


@app.middleware("http")
def correlate(event, get_response):
    """Every log line of a request carries its API Gateway request id."""
    logger.set_correlation_id(event.context.get("requestId"))
    return get_response(event)


@app.middleware("http")
def harden(event, get_response):
    """Every answer, the API's and the web pages': HSTS on deployed stages, no-store on answers with secrets."""
    return secure_headers(get_response(event))


@app.schedule("rate(1 minute)")
def run_scheduled_jobs(event):
    """EventBridge: every minute, run each job at the application clock."""
    return jobs.run_all(clock.now())


@app.schedule("rate(1 hour)")
def audit_books(event):
    """EventBridge: every hour, audit the latest money movements and report what the books show."""
    return health.audit_recent_books(clock.now())


@app.on_sqs_message(queue_arn=TIMER_QUEUE_ARN, batch_size=1)
def fire_timer_shards(event):
    """The timer queue (fed by the schedule on AWS): fire the due timers of the shards a message names."""
    return timers.fire_messages([record.body for record in event], clock.now(),
                                seconds_left=event.context.get_remaining_time_in_millis() / 1000)


@app.on_sqs_message(queue_arn=UPLOADS_QUEUE_ARN, batch_size=10)
def on_upload_stored(event):
    """The files bucket's events: make each new uploaded image's thumbnail and record its pixel size."""
    from chalicelib.services import uploads as stored  # Pillow's first user: loaded by this function only

    return stored.on_stored(stored.keys_of([record.body for record in event]))


@app.on_dynamodb_record(stream_arn=NOTIFICATIONS_STREAM_ARN, batch_size=50, starting_position="TRIM_HORIZON")
def on_notification_record(event):
    """The notifications table's stream: e-mail each new notification once."""
    return notifications.deliver_stream_records(list(event))

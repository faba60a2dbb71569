"""What 1,000 completed gig orders cost on AWS, from the client's top-up to the release of the money,
and what 1,000 site-months of subscription billing cost.

Run from the repository root:

    python -m bench.cost [--orders N] [--sites N]

How it measures
- DynamoDB Local (in memory, a free port) holds the `bench-*` tables; the app is driven through
  `chalice.test.Client` on them, as the API's Lambda function would run it. Set-up (clients,
  contractors, their gigs) is not billed.
- Each order is one client's whole story, every POST with an Idempotency-Key as a careful client sends
  it: an invoice (`POST /v1/invoices`), the bank's signed webhook paying it (`POST /v1/webhooks/bank`),
  the order into escrow (`POST /v1/orders`), the contractor's `start` and `deliver`, the client's
  `accept` (the release, less commission). After each order the notifications table's stream is
  handed to the stream handler as Lambda would (`infra.local.streams`, batches of up to 50 records).
- Every DynamoDB request's consumed capacity is recorded (`ReturnConsumedCapacity=INDEXES`: the same
  total as TOTAL, which includes the indexes' writes, with its split by table and index), and every
  written item's key is counted, to show the hottest keys and index partitions. Transactional writes count at
  DynamoDB's double rate: a probe at start shows whether DynamoDB Local reports them doubled already (it
  does, since 2.x) and doubles them here only if not. A read is billed at least 0.5 RRU (1 if strongly
  consistent), as DynamoDB does for an empty Query; DynamoDB Local reports 0 for it.
- Lambda invocations are the API requests and the stream handler's batches, each timed in this
  process and billed, rounded up to the millisecond, at the prod stage's memory size; CPU here is not
  Lambda's (1,024 MB is about 0.6 vCPU), nor is DynamoDB Local's latency DynamoDB's, so durations are
  indicative. Log bytes are what the functions print (Powertools' JSON lines and metrics) plus Lambda's
  own START/END/REPORT lines. E-mails are the messages the mail sink received.
- A site-month (business accounts' billing, after the orders, on the same tables): sites on the `start`
  tariff, created as set-up (not billed), then one billing month of each: the shop platform reports
  usage once a day with the site's key (`POST /v1/sites/{id}/usage`), each night the timer function
  fires the site's counters refresh (`timers.fire_shards` over every shard group, each group one
  invocation of `FireTimerShards`), on the 1st the same run issues the month's service invoice, and
  the owner looks at the invoices and pays the month's by a signed bank transfer. `--sites` sites are
  measured (default 100) and the bill scaled to 1,000 site-months.
- The bill uses one region's published on-demand list prices (`PRICES`, the one table of them).
  The scheduled jobs and alarms cost the same whatever the traffic: they are shown per month apart.

Why one file of this size: a benchmark is read top to bottom beside the bill it prints; the prices, the
scenarios and the report belong to one run."""
from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.api_ops import (
    APP_PREFIX,
    READS,
    REGION,
    ROOT,
    Request,
    Tap,
    configure_environment,
    redirected_output,
    scratch_dynamodb,
)

REGION_PRICED = "us-east-1 (N. Virginia)"
PRICE_DATE = "2025-01 (DynamoDB on-demand as cut on 2024-11-01)"
# Published on-demand list prices, USD, first pricing tier, no free tier.
PRICES: dict[str, float] = {
    "dynamodb_write_request_unit": 0.625 / 1e6,
    "dynamodb_read_request_unit": 0.125 / 1e6,
    "dynamodb_stream_read_by_lambda": 0.0,  # GetRecords by a Lambda trigger is free
    "dynamodb_storage_gb_month": 0.25,
    "api_gateway_rest_request": 3.50 / 1e6,
    "lambda_request": 0.20 / 1e6,
    "lambda_gb_second": 0.0000166667,  # x86_64
    "ses_email": 0.10 / 1000,
    "sqs_request": 0.40 / 1e6,
    "cloudwatch_logs_ingested_gb": 0.50,
    "cloudwatch_alarm_month": 0.10,  # standard resolution, one metric
    "cloudwatch_custom_metric_month": 0.30,  # Powertools' EMF metrics are custom metrics
    "xray_trace_recorded": 5.00 / 1e6,
}
XRAY_SAMPLED = 0.05  # X-Ray's default rule: the first request each second, then 5 % (the busy case)
LAMBDA_LOG_BYTES_PER_INVOCATION = 280  # Lambda's START, END and REPORT lines
MINUTES_PER_MONTH = 30 * 24 * 60
GIG_PRICE = 10000  # 100.00 USD
CLIENTS, CONTRACTORS = 50, 10
PASSWORD = "correct horse battery"
USAGE_REPORTS_PER_DAY = 1  # the shop platform's report of the day's orders (one event a day)


# Measuring ------------------------------------------------------------------------------------


@dataclass
class Usage:
    """What a workload consumed."""

    write_units: float = 0.0
    read_units: float = 0.0
    requests: Counter[str] = field(default_factory=Counter)  # DynamoDB requests by operation
    api_requests: int = 0
    lambda_invocations: Counter[str] = field(default_factory=Counter)  # by function
    lambda_ms: Counter[str] = field(default_factory=Counter)  # billed milliseconds, by function
    stream_records: Counter[str] = field(default_factory=Counter)  # by event name
    emails: int = 0
    log_bytes: int = 0
    metrics: set[str] = field(default_factory=set)
    stored_bytes: int = 0
    order: int = 0  # the order being run
    index_units: Counter[str] = field(default_factory=Counter)  # "table.index" -> write units
    table_units: Counter[str] = field(default_factory=Counter)  # table -> write units, its indexes' included
    seconds: float = 0.0
    step: str = ""  # what is running: an API route, the stream function, a job
    modelled: float = 0.0  # write units as DynamoDB bills them, item by item (`WriteModel`)
    key_units: Counter[str] = field(default_factory=Counter)  # "table key" or "table.index key" -> write units
    unit_orders: dict[str, set[int]] = field(default_factory=dict)  # those keys -> the orders that wrote them
    step_units: Counter[tuple[str, str]] = field(default_factory=Counter)  # (step, table or table.index) -> units
    alternatives: Counter[str] = field(default_factory=Counter)  # another design (`ALTERNATIVES`) -> its write units


class IndexTap(Tap):
    """`Tap`, asking each request for its capacity split by table and index, and keeping that split; with a
    `WriteModel`, each written item's image just before and just after the write, for the model to bill."""

    def __init__(self, writes: WriteModel | None = None) -> None:
        super().__init__()
        self.writes = writes

    def _called(self, params: dict, model: Any, **kwargs: Any) -> None:
        if "ReturnConsumedCapacity" in model.input_shape.members:
            params["ReturnConsumedCapacity"] = "INDEXES"
        super()._called(params, model, **kwargs)
        if self.writes is not None:
            self.requests[-1].images = self.writes.images(model.name, params)  # type: ignore[attr-defined]

    def _answered(self, parsed: dict, **kwargs: Any) -> None:
        super()._answered(parsed, **kwargs)
        consumed = parsed.get("ConsumedCapacity") or []
        request = self.requests[-1]
        request.consumed = consumed if isinstance(consumed, list) else [consumed]  # type: ignore[attr-defined]
        if self.writes is not None:
            request.after = self.writes.images(request.operation, request.params)  # type: ignore[attr-defined]

    @contextmanager
    def installed(self) -> Iterator[IndexTap]:
        """The hooks on every DynamoDB client made inside, and on none made after."""
        import botocore.session

        original = botocore.session.Session.create_client
        self.install()
        try:
            yield self
        finally:
            botocore.session.Session.create_client = original  # type: ignore[method-assign]

    def untapped(self, client: Any) -> Any:
        """`client` without the hooks: the model's own reads are not the app's."""
        client.meta.events.unregister("before-parameter-build.dynamodb", self._called)
        client.meta.events.unregister("before-send.dynamodb", self._sent)
        client.meta.events.unregister("after-call.dynamodb", self._answered)
        return client


# The write model --------------------------------------------------------------------------------
#
# DynamoDB bills a write item by item: 1 write unit per started KB of the larger of the item's images
# before and after (2 in a transaction, a transaction's ConditionCheck included), plus, for each global
# secondary index the write touches, the index entry's own units: none if the entry is unchanged (a
# keys-only index when its keys stay), one write where it changes, a delete and a put where its key
# changes. DynamoDB Local reports a transaction's units per table, as if the table had one item in it
# (three journal entries billed as one); the model counts every item, so its totals are higher and are
# the ones the figures use. It runs the same on moto, which reports no capacity at all.

TRANSACTION_FACTOR = 2.0
# What the deals' lists show (services/views: order, offer, contract, task) and what `deals.settle` reads: an
# INCLUDE projection of the list indexes would have to hold all of it.
LISTS_SHOW = ("process,status,version,client_id,contractor_id,subject_id,related_id,title,amount,escrowed,currency,"
              "commission_bps,delivery_days,deadline_at,remaining_seconds,review_due_at,fund_due_at,accept_by,"
              "last_message,closed_reason,revisions,extras,cancellation,dispute,terms,terms_hash,reviewed_at,data,"
              "timer_due_at,timer_transition,history")
# The other designs billed from the same run's images: the list indexes projecting everything (as before),
# or what the lists show; the timer index projecting the whole deal (as before).
ALTERNATIVES = {
    "list indexes ALL": {f"deals.{index}": "ALL" for index in ("by_client", "by_contractor", "by_queue")},
    "list indexes INCLUDE what lists show": {f"deals.{index}": f"INCLUDE:{LISTS_SHOW}"
                                             for index in ("by_client", "by_contractor", "by_queue")},
    "timer index ALL (as before)": {"deals.by_due": "ALL"},
}
WRITES = ("PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems")


@dataclass(frozen=True)
class IndexShape:
    name: str
    hash_key: str
    range_key: str | None
    projection: str  # ALL | KEYS_ONLY | INCLUDE
    include: frozenset[str] = frozenset()


@dataclass(frozen=True)
class TableShape:
    name: str  # without the stage's prefix
    hash_key: str
    range_key: str | None
    indexes: tuple[IndexShape, ...]

    def key(self, item: dict) -> dict:
        return {name: item[name] for name in (self.hash_key, self.range_key) if name}


def table_shapes(projections: dict[str, str] | None = None) -> dict[str, TableShape]:
    """Every table by its bound name, from the models; `projections` ("table.index" -> ALL, KEYS_ONLY or
    INCLUDE:a,b) replaces an index's projection, to bill another design from the same run."""
    from chalicelib.store.models import ALL_MODELS, logical_name

    shapes = {}
    for model in ALL_MODELS:
        name = logical_name(model)
        indexes = []
        for index_name, index in getattr(model, "_indexes", {}).items():
            attributes = index.Meta.attributes.values()
            projection = (projections or {}).get(f"{name}.{index_name}") or index.Meta.projection.projection_type
            kind, _, included = projection.partition(":")
            indexes.append(IndexShape(
                index_name, next(a.attr_name for a in attributes if a.is_hash_key),
                next((a.attr_name for a in attributes if a.is_range_key), None), kind,
                frozenset(filter(None, included.split(","))) | frozenset(index.Meta.projection.non_key_attributes or ())
                if kind == "INCLUDE" else frozenset()))
        shapes[model.Meta.table_name] = TableShape(name, model._hash_keyname, model._range_keyname, tuple(indexes))
    return shapes


def item_size(item: dict) -> int:
    """An item's size as DynamoDB counts it: names and values, in bytes."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _value_size(value: dict) -> int:
    kind, body = next(iter(value.items()))
    if kind == "S":
        return len(body.encode())
    if kind == "N":
        digits = body.lstrip("-").replace(".", "").strip("0") or "0"
        return 1 + (len(digits) + 1) // 2
    if kind == "B":
        return len(body)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(1 + len(name.encode()) + _value_size(inner) for name, inner in body.items())
    if kind == "L":
        return 3 + sum(1 + _value_size(inner) for inner in body)
    return sum(len(str(element).encode()) for element in body)  # SS, NS, BS


def units(size: int) -> int:
    return max(1, math.ceil(size / 1024))


@dataclass(frozen=True)
class Charge:
    target: str  # "table" or "table.index"
    key: str  # the partition key's value written
    units: float


class WriteModel:
    """Bills write requests item by item from the items' images before and after each write."""

    def __init__(self, reader: Any, shapes: dict[str, TableShape]) -> None:
        self.reader, self.shapes = reader, shapes
        self.seconds = 0.0  # spent reading images: not the functions' time

    def images(self, operation: str, params: dict) -> list[dict | None]:
        """The current image of every item `params` writes (a consistent read each)."""
        start = time.perf_counter()
        try:
            return [self._get(table, key) for table, key, _ in self._written(operation, params)]
        finally:
            self.seconds += time.perf_counter() - start

    def charges(self, request: Request) -> list[Charge]:
        before, after = getattr(request, "images", None), getattr(request, "after", None)
        if request.operation not in WRITES or before is None or after is None:
            return []
        factor = TRANSACTION_FACTOR if request.operation == "TransactWriteItems" else 1.0
        failed = request.error is not None
        charges = []
        for (table, key, kind), old, new in zip(self._written(request.operation, request.params), before, after,
                                                strict=True):
            shape = self.shapes[table]
            if failed or kind == "ConditionCheck":  # a refused write, a condition checked: the item's units
                if not (failed and request.operation == "TransactWriteItems"):
                    charges.append(Charge(shape.name, _hash(key, shape), units(item_size(old or key)) * factor))
                continue
            charges.append(Charge(shape.name, _hash(key, shape),
                                  units(max(item_size(old or {}), item_size(new or {}))) * factor))
            for index in shape.indexes:
                charges += [Charge(f"{shape.name}.{index.name}", entry_key, n * factor)
                            for entry_key, n in _index_writes(shape, index, old, new)]
        return charges

    def _written(self, operation: str, params: dict) -> list[tuple[str, dict, str]]:
        """(table, key, kind) of every item the request writes or checks."""
        if operation == "TransactWriteItems":
            bodies = [(kind, body) for item in params["TransactItems"] for kind, body in item.items()]
        elif operation in ("PutItem", "UpdateItem", "DeleteItem"):
            bodies = [(operation.removesuffix("Item"), params)]
        else:
            return []
        return [(body["TableName"], body["Key"] if "Key" in body else self.shapes[body["TableName"]].key(body["Item"]),
                 kind) for kind, body in bodies]

    def _get(self, table: str, key: dict) -> dict | None:
        return self.reader.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")


def _hash(key: dict, shape: TableShape) -> str:
    return str(next(iter(key[shape.hash_key].values())))


def _index_writes(shape: TableShape, index: IndexShape, old: dict | None, new: dict | None) -> list[tuple[str, int]]:
    """(the index partition's key, units) of what a write does to one index entry."""
    def entry(image: dict | None) -> dict | None:
        if image is None or index.hash_key not in image or (index.range_key and index.range_key not in image):
            return None
        if index.projection == "ALL":
            return image
        keep = {shape.hash_key, shape.range_key, index.hash_key, index.range_key} | index.include
        return {name: value for name, value in image.items() if name in keep}

    def place(image: dict) -> tuple:
        return image[index.hash_key], image.get(index.range_key or "")

    was, now = entry(old), entry(new)
    if was is None and now is None:
        return []
    if was is not None and now is not None and place(was) == place(now):
        return [] if was == now else [(str(next(iter(now[index.hash_key].values()))), units(item_size(now)))]
    return [(str(next(iter(image[index.hash_key].values()))), units(item_size(image)))
            for image in (was, now) if image is not None]


class Meter:
    """Turns each DynamoDB request's reported capacity into billed request units, and its written items into
    the write model's units, by key and by step."""

    def __init__(self, transaction_factor: float, writes: WriteModel | None = None,
                 alternatives: dict[str, dict[str, TableShape]] | None = None) -> None:
        self.transaction_factor, self.writes = transaction_factor, writes
        self.alternatives = {name: WriteModel(writes.reader, shapes)
                             for name, shapes in (alternatives or {}).items()} if writes is not None else {}

    def add(self, usage: Usage, requests: list[Request]) -> None:
        for request in requests:
            usage.requests[request.operation] += 1
            for name, alternative in self.alternatives.items():
                usage.alternatives[name] += sum(charge.units for charge in alternative.charges(request))
            for charge in self.writes.charges(request) if self.writes is not None else []:
                usage.modelled += charge.units
                name = f"{charge.target} {charge.key}"
                usage.key_units[name] += charge.units
                usage.unit_orders.setdefault(name, set()).add(usage.order)
                usage.step_units[(usage.step, charge.target)] += charge.units
            if request.operation in READS:
                minimum = 1.0 if request.params.get("ConsistentRead") else 0.5
                usage.read_units += max(request.capacity, minimum)
                continue
            factor = self.transaction_factor if request.operation == "TransactWriteItems" else 1.0
            usage.write_units += request.capacity * factor
            for consumed in getattr(request, "consumed", []):
                table = consumed.get("TableName", "").removeprefix(APP_PREFIX)
                usage.table_units[table] += consumed.get("CapacityUnits", 0.0) * factor
                for index, units in consumed.get("GlobalSecondaryIndexes", {}).items():
                    usage.index_units[f"{table}.{index}"] += units["CapacityUnits"] * factor


def transaction_factor(endpoint: str) -> float:
    """2.0 if DynamoDB Local reports a transactional write at the same rate as a plain one, else 1.0."""
    import boto3

    client = boto3.client("dynamodb", endpoint_url=endpoint, region_name=REGION)
    table = f"cost-probe-{uuid.uuid4().hex[:8]}"
    client.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
    item = {"id": {"S": "probe"}, "pad": {"S": "x" * 100}}
    plain = client.put_item(TableName=table, Item=item, ReturnConsumedCapacity="TOTAL")["ConsumedCapacity"]
    transacted = client.transact_write_items(TransactItems=[{"Put": {"TableName": table, "Item": item}}],
                                             ReturnConsumedCapacity="TOTAL")["ConsumedCapacity"][0]
    client.delete_table(TableName=table)
    return 1.0 if transacted["CapacityUnits"] >= 2 * plain["CapacityUnits"] else 2.0


@contextmanager
def captured_output(path: Path) -> Iterator[Callable[[], int]]:
    """File descriptors 1 and 2 into `path` (what the functions would log); yields the bytes written so far."""
    with redirected_output(path):
        yield lambda: (sys.stdout.flush(), sys.stderr.flush(), path.stat().st_size)[2]


def billed_ms(seconds: float) -> int:
    return max(1, math.ceil(seconds * 1000))


# The workload ---------------------------------------------------------------------------------


class Driver:
    """The API's Lambda function and the stream's, as one order's story calls them; what they consume
    goes into `usage`."""

    def __init__(self, app_module: Any, endpoint: str | None, tap: Tap, meter: Meter) -> None:
        """On DynamoDB Local (`endpoint`) the notifications table's stream is polled as Lambda polls it; on
        moto (no endpoint) the stream function is handed the new notifications' records instead."""
        from chalice.test import Client

        from infra.local.streams import StreamPoller

        self.http = Client(app_module.app, stage_name="local", project_dir=str(ROOT)).http
        self.tap, self.meter, self.usage = tap, meter, Usage()
        self.handler = self._stream_handler(app_module)
        self.poller = None if endpoint is None else StreamPoller(
            endpoint_url=endpoint, region=REGION, table_name=APP_PREFIX + "notifications", handler=self.handler,
            function_name="on_notification_record", batch_size=50)
        self.handed: set[tuple[str, str]] = set()

    def call(self, method: str, path: str, body: Any = None, *, token: str = "", raw: bytes | None = None,
             headers: dict | None = None, status: int = 200) -> dict:
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        if method == "POST":
            all_headers["Idempotency-Key"] = uuid.uuid4().hex
        payload = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
        self.tap.drain()
        self.usage.step = f"{method} {re.sub(r'/[a-z]+_[0-9a-z]{20,}', '/{id}', path)}"
        start, modelling = time.perf_counter(), self._modelling()
        response = self.http.request(method, path, headers=all_headers, body=payload)
        self.usage.lambda_ms["api"] += billed_ms(time.perf_counter() - start - (self._modelling() - modelling))
        if response.status_code != status:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.body[:300]!r}")
        self.usage.api_requests += 1
        self.usage.lambda_invocations["api"] += 1
        self.meter.add(self.usage, self.tap.drain())
        return response.json_body

    def _modelling(self) -> float:
        """Seconds the write model has spent reading images so far (taken out of the functions' durations)."""
        writes = self.meter.writes
        return writes.seconds if writes is not None else 0.0

    def fire_timers(self) -> dict:
        """One night's timer work (`fire_timer_groups`), its DynamoDB requests billed."""
        from chalicelib.platform import clock

        self.tap.drain()
        fired = fire_timer_groups(self.usage, clock.now())
        self.meter.add(self.usage, self.tap.drain())
        return fired

    def drain_stream(self) -> None:
        """Hand the notifications stream to the stream handler until nothing new is in it."""
        if self.poller is not None:
            while self.poller.poll_once():
                pass
            return
        from chalicelib.store.models import NotificationModel
        from infra.local.streams import LambdaContext

        while new := [(n.user_id, n.id) for n in NotificationModel.scan() if (n.user_id, n.id) not in self.handed]:
            self.handed.update(new)
            for start in range(0, len(new), 50):
                self.handler({"Records": [_insert_record(user_id, notification_id)
                                          for user_id, notification_id in new[start:start + 50]]},
                             LambdaContext("on_notification_record", REGION))

    def _stream_handler(self, app_module: Any) -> Callable[[dict, Any], Any]:
        """The app's stream handler, counted and timed as its own Lambda function."""
        from infra.local.streams import dynamodb_handlers

        handler = next(handler for source, handler in dynamodb_handlers(app_module.app)
                       if source.name == "on_notification_record")

        def counted(event: dict, context: Any) -> Any:
            self.tap.drain()
            self.usage.step = "stream: e-mail"
            start, modelling = time.perf_counter(), self._modelling()
            try:
                return handler(event, context)
            finally:
                self.usage.lambda_ms["stream"] += billed_ms(time.perf_counter() - start
                                                            - (self._modelling() - modelling))
                self.usage.lambda_invocations["stream"] += 1
                self.usage.stream_records.update(record["eventName"] for record in event["Records"])
                self.meter.add(self.usage, self.tap.drain())

        return counted


def _insert_record(user_id: str, notification_id: str) -> dict:
    """A notification's INSERT as the table's stream hands it to Lambda (its keys are what the handler reads)."""
    return {"eventID": notification_id, "eventName": "INSERT", "eventSource": "aws:dynamodb", "awsRegion": REGION,
            "eventSourceARN": f"arn:aws:dynamodb:{REGION}:000000000000:table/notifications/stream/1",
            "dynamodb": {"Keys": {"user_id": {"S": user_id}, "id": {"S": notification_id}},
                         "ApproximateCreationDateTime": time.time(), "SequenceNumber": "1", "SizeBytes": 100,
                         "StreamViewType": "NEW_IMAGE"}}


@dataclass
class People:
    clients: list[tuple[str, str]]  # (token, user id)
    contractors: list[tuple[str, str]]  # (token, gig id)


def cast(client_count: int = CLIENTS, contractor_count: int = CONTRACTORS) -> People:
    """Clients and contractors with a gig each, made through the services (not billed)."""
    from chalicelib.access.auth import Principal
    from chalicelib.services import accounts, gigs

    clients, contractors = [], []
    for n in range(client_count):
        body = accounts.signup(f"client{n}@example.com", PASSWORD, f"Client {n}", "en")[1]
        clients.append((body["token"], body["user"]["id"]))
    for n in range(contractor_count):
        body = accounts.signup(f"seller{n}@example.com", PASSWORD, f"Seller {n}", "en")[1]
        principal = Principal(body["user"]["id"], ("contractor",))
        contractors.append((body["token"], gigs.publish(principal, f"Gig {n}", "", GIG_PRICE, "USD", 3)[1]["id"]))
    return People(clients, contractors)


def gig_order(driver: Driver, people: People, n: int) -> None:
    """One client's top-up by invoice and bank transfer, one gig order started, delivered and accepted."""
    from tests.support import sign, transfer_event

    client, _ = people.clients[n % len(people.clients)]
    contractor, gig_id = people.contractors[n % len(people.contractors)]
    invoice = driver.call("POST", "/v1/invoices", {"amount": GIG_PRICE, "currency": "USD"}, token=client, status=201)
    transfer = transfer_event(f"evt-{uuid.uuid4()}", GIG_PRICE, "USD", f"Payment {invoice['payment_details']}")
    driver.call("POST", "/v1/webhooks/bank", raw=transfer, headers={"X-Bank-Signature": sign(transfer)})
    order = driver.call("POST", "/v1/orders", {"gig_id": gig_id}, token=client, status=201)
    driver.call("POST", f"/v1/orders/{order['id']}/start", token=contractor)
    driver.call("POST", f"/v1/orders/{order['id']}/deliver", {"message": "Here it is"}, token=contractor)
    accepted = driver.call("POST", f"/v1/orders/{order['id']}/accept", token=client)
    if accepted["status"] != "completed":
        raise RuntimeError(f"order {order['id']} ended {accepted['status']}")
    driver.drain_stream()


WORKLOADS: dict[str, Callable[[Driver, People, int], None]] = {"gig order": gig_order}


@dataclass
class Site:
    token: str  # the owner's
    id: str
    key: str  # the usage key the shop platform reports with


def open_sites(driver: Driver, people: People, count: int) -> list[Site]:
    """Set-up, not billed: an operator's two tariffs, then `count` sites on `start`, each with its usage
    key, created on the 1st of a month (their first invoice, the whole month, is issued at once)."""
    from chalicelib.money import tariffs
    from chalicelib.services import accounts
    from tests.billing_support import BUSINESS, OWNER, START, at

    accounts.create_operator("ops@example.com", PASSWORD)
    operator = driver.call("POST", "/v1/auth/login", {"email": "ops@example.com", "password": PASSWORD})["token"]
    for tariff in (START, BUSINESS):
        driver.call("POST", "/v1/operator/tariffs", tariff, token=operator, status=201)
    tariffs.forget()
    at(2027, 1, 1, 0, 30)
    sites = []
    for n in range(count):
        token, _ = people.clients[n % len(people.clients)]
        site = driver.call("POST", "/v1/sites", {"name": f"Shop {n}", "domains": [f"shop{n}.example.ua"],
                                                 "owner": OWNER, "tariff": "start"}, token=token, status=201)
        key = driver.call("POST", f"/v1/sites/{site['id']}/keys", token=token, status=201)["key"]
        sites.append(Site(token, site["id"], key))
    driver.fire_timers()
    driver.drain_stream()
    return sites


def site_month(driver: Driver, sites: list[Site]) -> int:
    """One billing month of every site (January 2027, paid on 1 February); the timers fired."""
    from datetime import timedelta

    from chalicelib.platform import clock
    from tests.billing_support import KYIV, at
    from tests.support import sign, transfer_event

    fired = 0
    for day in range(1, 32):
        at(2027, 1, day, 10)
        for site in sites:
            for _ in range(USAGE_REPORTS_PER_DAY):
                driver.call("POST", f"/v1/sites/{site.id}/usage", {"event_id": uuid.uuid4().hex, "orders": 3},
                            headers={"X-Site-Key": site.key})
        night = (clock.now().astimezone(KYIV) + timedelta(days=1)).replace(hour=0, minute=10)
        at(night.year, night.month, night.day, 0, 10)
        fired += driver.fire_timers()["fired"]
        driver.drain_stream()
    for site in sites:
        invoices = driver.call("GET", f"/v1/sites/{site.id}/invoices", token=site.token)["items"]
        month = next(i for i in invoices if i["period"] == "2027-02" and i["status"] == "open")
        transfer = transfer_event(f"evt-{uuid.uuid4()}", month["amount"], "UAH", f"Оплата {month['number']}")
        driver.call("POST", "/v1/webhooks/bank", raw=transfer, headers={"X-Bank-Signature": sign(transfer)})
        paid = driver.call("GET", f"/v1/sites/{site.id}/invoices/{month['id']}", token=site.token)
        if paid["status"] != "paid":
            raise RuntimeError(f"invoice {month['number']} ended {paid['status']}")
    driver.drain_stream()
    return fired


def stored_bytes(endpoint: str) -> int:
    """The tables' size as DynamoDB Local reports it (DescribeTable's TableSizeBytes, indexes included)."""
    import boto3

    client = boto3.client("dynamodb", endpoint_url=endpoint, region_name=REGION)
    total = 0
    for name in client.list_tables()["TableNames"]:
        if name.startswith(APP_PREFIX):
            table = client.describe_table(TableName=name)["Table"]
            total += table.get("TableSizeBytes", 0)
            total += sum(index.get("IndexSizeBytes", 0) for index in table.get("GlobalSecondaryIndexes", []))
    return total


def run(args: argparse.Namespace, endpoint: str, scratch: Path) -> tuple[Usage, Usage, float, Usage | None]:
    """(the orders' usage, one idle run of the scheduled jobs' usage, the transaction factor, the
    site-months' usage)."""
    configure_environment(endpoint, scratch, cheap_passwords=True)
    factor = transaction_factor(endpoint)
    tap = IndexTap()
    with tap.installed():  # and off after: the e-mails' count that follows makes clients on a DynamoDB of its own
        return _measure(args, endpoint, scratch, factor, tap)


def _measure(args: argparse.Namespace, endpoint: str, scratch: Path, factor: float,
             tap: IndexTap) -> tuple[Usage, Usage, float, Usage | None]:
    import importlib

    import boto3

    from chalicelib.platform import clock, config
    from chalicelib.store import models
    from chalicelib.store.tables import create_tables

    settings = config.reload()
    models.bind(settings)
    create_tables(endpoint_url=endpoint, region=REGION, prefix=APP_PREFIX)
    clock.reset()
    app_module = importlib.import_module("app")
    reader = tap.untapped(boto3.client("dynamodb", endpoint_url=endpoint, region_name=REGION))
    tap.writes = WriteModel(reader, table_shapes())
    meter = Meter(factor, tap.writes, {name: table_shapes(design) for name, design in ALTERNATIVES.items()})
    log_path = scratch / "functions.log"
    with captured_output(log_path) as written:
        people = cast()
        driver = Driver(app_module, endpoint, tap, meter)
        driver.drain_stream()  # the sign-ups' notifications, if any: set-up, not billed
        usage = driver.usage = Usage()
        mail_before = len(list((scratch / "mail").glob("*.eml")))
        stored_before = stored_bytes(endpoint)
        before = written()
        print(f"  {args.orders} gig orders ...", file=sys.__stderr__, flush=True)
        started = time.perf_counter()
        for n in range(args.orders):
            usage.order = n
            for workload in WORKLOADS.values():
                workload(driver, people, n)
        usage.seconds = time.perf_counter() - started
        usage.log_bytes = written() - before
        idle = idle_jobs(meter, tap)
        usage.emails = len(list((scratch / "mail").glob("*.eml"))) - mail_before
        usage.stored_bytes = stored_bytes(endpoint) - stored_before
        months = None
        if args.sites:
            print(f"  {args.sites} site-months ...", file=sys.__stderr__, flush=True)
            driver.usage = Usage()  # set-up, not billed: the gig orders' bill is complete
            sites = open_sites(driver, people, args.sites)
            months = driver.usage = Usage()
            mail_before = len(list((scratch / "mail").glob("*.eml")))
            stored_before = stored_bytes(endpoint)
            before = written()
            started = time.perf_counter()
            fired = site_month(driver, sites)
            if fired < 31 * args.sites:  # each day's refresh, and the month's invoice on the 1st
                raise RuntimeError(f"{fired} timers fired for {args.sites} site-months")
            months.seconds = time.perf_counter() - started
            months.log_bytes = written() - before
            months.emails = len(list((scratch / "mail").glob("*.eml"))) - mail_before
            months.stored_bytes = stored_bytes(endpoint) - stored_before
    usage.metrics = set(re.findall(r'"Name":\s*"(\w+)"', log_path.read_text(encoding="utf-8", errors="replace")))
    return usage, idle, factor, months


def idle_jobs(meter: Meter, tap: Tap) -> Usage:
    """One minute's scheduled work with nothing due: the schedule's own jobs, and each shard group's
    timer invocation (on AWS each is one Lambda invocation; the schedule's SQS send is not timed here)."""
    from chalicelib.platform import clock
    from chalicelib.services import notifications, payouts

    usage = Usage()
    now = clock.now()
    tap.drain()
    start = time.perf_counter()
    notifications.retry_unsent(now)
    payouts.resend_unsent(now)
    usage.lambda_ms["schedule"] += billed_ms(time.perf_counter() - start)
    usage.lambda_invocations["schedule"] += 1
    fire_timer_groups(usage, now)
    meter.add(usage, tap.drain())
    return usage


def fire_timer_groups(usage: Usage, now: Any) -> dict:
    """Each shard group fired as its own `FireTimerShards` invocation, timed and counted in `usage`;
    the due, fired and skipped timers summed."""
    from chalicelib.services import timers

    totals = {"due": 0, "fired": 0, "skipped": 0}
    for group in timers.shard_groups():
        start = time.perf_counter()
        outcome = timers.fire_shards(group, now)
        usage.lambda_ms["timers"] += billed_ms(time.perf_counter() - start)
        usage.lambda_invocations["timers"] += 1
        totals = {key: totals[key] + outcome[key] for key in totals}
    return totals


# The bill -------------------------------------------------------------------------------------


def memory_gb() -> float:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text(encoding="utf-8"))
    return config["stages"]["prod"].get("lambda_memory_size", 128) / 1024


@dataclass
class Line:
    item: str
    quantity: float
    unit: str
    price: float

    @property
    def cost(self) -> float:
        return self.quantity * self.price


def order_lines(usage: Usage, orders: int, what: str = "orders") -> list[Line]:
    per = 1000 / orders  # to 1,000 orders (or site-months)
    invocations = sum(usage.lambda_invocations.values())
    gb_seconds = sum(usage.lambda_ms.values()) / 1000 * memory_gb()
    log_gb = (usage.log_bytes + invocations * LAMBDA_LOG_BYTES_PER_INVOCATION) / 1e9
    return [
        Line("DynamoDB writes (the write model: item by item, indexes included)", usage.modelled * per, "WRU",
             PRICES["dynamodb_write_request_unit"]),
        Line("DynamoDB reads", usage.read_units * per, "RRU", PRICES["dynamodb_read_request_unit"]),
        Line("DynamoDB stream records read by the stream function", sum(usage.stream_records.values()) * per,
             "records", PRICES["dynamodb_stream_read_by_lambda"]),
        Line("API Gateway REST requests", usage.api_requests * per, "requests", PRICES["api_gateway_rest_request"]),
        Line(f"Lambda invocations ({_by_function(usage.lambda_invocations, per)})", invocations * per, "requests",
             PRICES["lambda_request"]),
        Line(f"Lambda duration at {memory_gb() * 1024:.0f} MB ({_by_function(usage.lambda_ms, per, 'ms')})",
             gb_seconds * per, "GB-s", PRICES["lambda_gb_second"]),
        Line("SES e-mails", usage.emails * per, "e-mails", PRICES["ses_email"]),
        Line("CloudWatch Logs ingested", log_gb * per, "GB", PRICES["cloudwatch_logs_ingested_gb"]),
        Line(f"X-Ray traces ({XRAY_SAMPLED:.0%} of invocations sampled)", invocations * XRAY_SAMPLED * per,
             "traces", PRICES["xray_trace_recorded"]),
        Line(f"DynamoDB storage for a month (items and indexes the {what} left)", usage.stored_bytes / 1e9 * per,
             "GB-month", PRICES["dynamodb_storage_gb_month"]),
    ]


def monthly_lines(idle: Usage, groups: int, alarms: int, metrics: int) -> list[Line]:
    minutes = MINUTES_PER_MONTH
    invocations = sum(idle.lambda_invocations.values())
    # The schedule sends the groups in SendMessageBatch requests of 10; Lambda's SQS trigger long-polls
    # (about 5 pollers, a ReceiveMessage each per 20 s) and deletes each message.
    sqs = minutes * (math.ceil(groups / 10) + groups) + 5 * 3 * minutes
    return [
        Line(f"Lambda invocations: the schedule and {groups} timer groups a minute", invocations * minutes,
             "requests", PRICES["lambda_request"]),
        Line("Lambda duration of those runs, nothing due", sum(idle.lambda_ms.values()) / 1000 * memory_gb()
             * minutes, "GB-s", PRICES["lambda_gb_second"]),
        Line("DynamoDB reads of those runs (queries of the timer and e-mail indexes)", idle.read_units * minutes,
             "RRU", PRICES["dynamodb_read_request_unit"]),
        Line("SQS requests of the timer queue", sqs, "requests", PRICES["sqs_request"]),
        Line("CloudWatch alarms (infra/template.py)", alarms, "alarms", PRICES["cloudwatch_alarm_month"]),
        Line("CloudWatch custom metrics (Powertools' EMF, seen in this run)", metrics, "metrics",
             PRICES["cloudwatch_custom_metric_month"]),
    ]


def _by_function(counts: Counter[str], scale: float, unit: str = "") -> str:
    return ", ".join(f"{name} {value * scale:,.0f}{(' ' + unit) if unit else ''}" for name, value in counts.items())


def bill(lines: list[Line]) -> list[str]:
    total = sum(line.cost for line in lines)
    width = max(len(line.item) for line in lines)
    rows = [f"| {'item':{width}} | {'quantity':>14} | {'unit':9} | {'USD per unit':>12} | {'USD':>9} | share |",
            f"|{'-' * (width + 2)}|{'-' * 16}|{'-' * 11}|{'-' * 14}|{'-' * 11}|-------|"]
    for line in sorted(lines, key=lambda line: line.cost, reverse=True):
        share = line.cost / total if total else 0
        quantity = f"{line.quantity:,.2f}" if line.quantity >= 10 else f"{line.quantity:.3g}"
        rows.append(f"| {line.item:{width}} | {quantity:>14} | {line.unit:9} | {line.price:12.8f} "
                    f"| {line.cost:9.4f} | {share:5.1%} |")
    rows.append(f"| {'total':{width}} | {'':>14} | {'':9} | {'':>12} | {total:9.4f} | 100 % |")
    return rows


ORDERS_PER_SECOND = 1000  # the rate the scale plan is made for
PARTITION_WCU = 1000  # what one partition (one key of a table or an index) takes a second
HOT_SHARE = 0.5  # no key may take more of a partition at ORDERS_PER_SECOND
AIM_PER_ORDER = 100  # write units per completed order
SHOWN_KEYS = 16
USERS_OWN = ("usr_", "gig_", "email:")  # keys of one user (his items, his lists, his gig): hot only if he is


@dataclass(frozen=True)
class KeyRate:
    key: str  # "table key" or "table.index key"
    wcu_per_second: float  # at ORDERS_PER_SECOND
    share: float  # of a partition's PARTITION_WCU


def platform_keys(usage: Usage, orders: int) -> list[KeyRate]:
    """Every key more than one order wrote that belongs to no user (counters, system accounts' shards, the
    e-mail queue's and the timers' shards), with its write units a second at `ORDERS_PER_SECOND`, busiest first.
    An order's own items (its deal, its invoice) see one order's writes whatever the rate; a shard is shared
    even when one order of the run wrote it."""
    rates = [KeyRate(key, units / orders * ORDERS_PER_SECOND, units / orders * ORDERS_PER_SECOND / PARTITION_WCU)
             for key, units in usage.key_units.items()
             if (len(usage.unit_orders[key]) > 1 or _sharded(key)) and not any(mark in key for mark in USERS_OWN)]
    return sorted(rates, key=lambda rate: -rate.wcu_per_second)


SHARD_SETTINGS = {"timer#": "timer_shards", "pending#": "email_queue_shards", "sys:": "system_account_shards",
                  "catalog.": "catalog_listing_shards", "by_open_due": "open_invoice_shards"}


def shard_families(rates: list[KeyRate]) -> list[tuple[str, list[KeyRate], int, float]]:
    """Keys grouped by family (`pending#<n>`): (family, its keys written, its shards as configured, the write
    units a second each shard takes on average). A shard is picked by a hash, so at 1,000 orders a second each
    takes its family's average; a run of a few hundred orders puts a few more on some shards by chance."""
    from chalicelib.platform.config import settings

    families: dict[str, list[KeyRate]] = {}
    for rate in rates:
        families.setdefault(re.sub(r"#\d+$", "#<n>", rate.key), []).append(rate)
    found = []
    for family, members in families.items():
        setting = next((name for mark, name in SHARD_SETTINGS.items() if mark in family and family.endswith("<n>")),
                       None)
        shards = max(len(members), getattr(settings, setting)) if setting else len(members)
        found.append((family, members, shards, sum(rate.wcu_per_second for rate in members) / shards))
    return sorted(found, key=lambda item: -item[3])


def _sharded(key: str) -> bool:
    return re.search(r"#\d+$", key) is not None and any(mark in key for mark in SHARD_SETTINGS)


def busiest_user_key(usage: Usage) -> tuple[str, float]:
    """A user's key with the most write units per order of his: (key, units per order)."""
    per_order = {key: units / len(usage.unit_orders[key]) for key, units in usage.key_units.items()
                 if any(mark in key for mark in USERS_OWN)}
    return max(per_order.items(), key=lambda item: item[1], default=("", 0.0))


def hot_keys(usage: Usage, orders: int) -> list[str]:
    """The hot-key table at `ORDERS_PER_SECOND`, and where a user's own keys would get hot."""
    rates = platform_keys(usage, orders)
    rows = [f"| key (table or index, partition key) | WCU/s at {ORDERS_PER_SECOND:,} orders/s "
            f"| % of a partition's {PARTITION_WCU:,} WCU/s |", "|---|---|---|"]
    rows += [f"| {rate.key} | {rate.wcu_per_second:,.0f} | {rate.share:.0%} |" for rate in rates[:SHOWN_KEYS]]
    if len(rates) > SHOWN_KEYS:
        rows.append(f"| {len(rates) - SHOWN_KEYS} more keys, each at most | {rates[SHOWN_KEYS].wcu_per_second:,.0f} "
                    f"| {rates[SHOWN_KEYS].share:.0%} |")
    rows += ["", "| key family | shards (written here) | WCU/s a shard at 1,000 orders/s, on average "
             "| % of a partition | busiest shard here |", "|---|---|---|---|---|"]
    for family, members, shards, average in shard_families(rates):
        rows.append(f"| {family} | {shards} ({len(members)}) | {average:,.0f} | {average / PARTITION_WCU:.0%} "
                    f"| {members[0].wcu_per_second:,.0f} |")
    key, per_order = busiest_user_key(usage)
    if key:
        rows += ["", f"A user's own keys see only his orders: the busiest here, {key}, takes {per_order:.1f} WCU per "
                 f"order of his, so one user would reach {HOT_SHARE:.0%} of a partition at "
                 f"{HOT_SHARE * PARTITION_WCU / per_order:,.0f} orders a second of his own."]
    return rows


def breakdown(usage: Usage, orders: int) -> list[str]:
    """Where each write unit of an order goes: by step (an API request, the stream function), then by table
    or index."""
    steps: dict[str, list[tuple[str, float]]] = {}
    for (step, target), units in usage.step_units.items():
        steps.setdefault(step, []).append((target, units / orders))
    rows = ["| step | WCU per order | tables and indexes (WCU per order) |", "|---|---|---|"]
    for step, targets in sorted(steps.items(), key=lambda item: -sum(units for _, units in item[1])):
        parts = ", ".join(f"{target} {units:.1f}" for target, units in sorted(targets, key=lambda t: -t[1]))
        rows.append(f"| {step} | {sum(units for _, units in targets):.1f} | {parts} |")
    by_target: Counter[str] = Counter()
    for (_, target), units in usage.step_units.items():
        by_target[target] += units
    rows += ["", "| table or index | WCU per order | WCU/s at 1,000 orders/s |", "|---|---|---|"]
    rows += [f"| {target} | {units / orders:.1f} | {units / orders * ORDERS_PER_SECOND:,.0f} |"
             for target, units in by_target.most_common()]
    return rows


def verdict(usage: Usage, orders: int) -> tuple[float, float]:
    """(write units per order, the busiest shared key's share of a partition at `ORDERS_PER_SECOND`, a sharded
    family's keys at their average)."""
    families = shard_families(platform_keys(usage, orders))
    return usage.modelled / orders, max((average / PARTITION_WCU for *_, average in families), default=0.0)


def site_report(months: Usage, sites: int) -> list[str]:
    lines = order_lines(months, sites, "site-months")
    dominant = max(lines, key=lambda line: line.cost)
    total = sum(line.cost for line in lines)
    requests = ", ".join(f"{n / sites:.1f} {operation}" for operation, n in months.requests.most_common())
    return [
        "",
        f"the bill for 1,000 site-months (measured on {sites} sites, {REGION_PRICED}, the same prices): "
        f"{USAGE_REPORTS_PER_DAY} usage report a day, the nightly counters refresh, the month's invoice "
        "issued on the 1st and paid by bank transfer",
        "",
        *bill(lines),
        "",
        f"dominant item: {dominant.item} ({dominant.cost / total:.0%} of {total:.4f} USD per 1,000 site-months)",
        f"per site-month: {months.api_requests / sites:.1f} API requests, "
        f"{months.lambda_invocations['timers'] / sites:.2f} timer invocations, DynamoDB {requests}; "
        f"{months.modelled / sites:.1f} WRU, {months.read_units / sites:.1f} RRU; "
        f"{months.emails / sites:.1f} e-mails",
    ]


def report(usage: Usage, idle: Usage, factor: float, orders: int, months: Usage | None = None,
           sites: int = 0) -> str:
    from chalicelib.services import timers
    from infra import template

    alarms = sum(1 for resource in template.template()["Resources"].values()
                 if resource.get("Type") == "AWS::CloudWatch::Alarm")
    per_order = order_lines(usage, orders)
    dominant = max(per_order, key=lambda line: line.cost)
    total = sum(line.cost for line in per_order)
    requests = ", ".join(f"{n / orders:.1f} {operation}" for operation, n in usage.requests.most_common())
    return "\n".join([
        f"escrowdesk: the bill for 1,000 completed gig orders (measured on {orders}), top-up to release",
        f"prices: {REGION_PRICED}, published on-demand list prices as of {PRICE_DATE}, USD",
        "",
        *bill(per_order),
        "",
        f"dominant item: {dominant.item} ({dominant.cost / total:.0%} of {total:.4f} USD per 1,000 orders)",
        f"per order: {usage.api_requests / orders:.1f} API requests, DynamoDB {requests}; "
        f"{usage.modelled / orders:.1f} WRU, {usage.read_units / orders:.1f} RRU; "
        f"{usage.emails / orders:.1f} e-mails; stream records {dict(usage.stream_records)} in "
        f"{usage.lambda_invocations['stream']} stream invocations for {orders} orders; "
        f"{usage.log_bytes / usage.api_requests:.0f} log bytes per API request",
        "DynamoDB Local reports transactional writes at the double rate already" if factor == 1.0 else
        "transactional writes doubled here (DynamoDB Local reported them at the plain rate)",
        "",
        f"write units per order, item by item as DynamoDB bills them (the write model): "
        f"{usage.modelled / orders:.1f} (aim {AIM_PER_ORDER}); DynamoDB Local reported "
        f"{usage.write_units / orders:.1f}",
        *[f"  the same run with {name}: {units / orders:.1f}" for name, units in usage.alternatives.items()],
        "",
        *breakdown(usage, orders),
        "",
        f"hot keys at {ORDERS_PER_SECOND:,} orders a second (measured: {orders} orders in {usage.seconds:.1f} s; "
        f"{CLIENTS} clients, {CONTRACTORS} contractors); aim: none over {HOT_SHARE:.0%} of a partition:",
        *hot_keys(usage, orders),
        "",
        f"busiest shared key at {ORDERS_PER_SECOND:,} orders a second (shards at their average): "
        f"{verdict(usage, orders)[1]:.0%} of a partition (aim at most {HOT_SHARE:.0%})",
        "",
        "whatever the traffic, per month (the every-minute schedule with nothing due, alarms, metrics):",
        *bill(monthly_lines(idle, len(timers.shard_groups()), alarms, len(usage.metrics))),
        *(site_report(months, sites) if months is not None else []),
    ])


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1000, help="orders to run (default 1000)")
    parser.add_argument("--sites", type=int, default=100,
                        help="sites whose month to run, the bill scaled to 1,000 site-months (default 100; 0: none)")
    args = parser.parse_args(argv)
    if args.orders < 1:
        parser.error("--orders must be >= 1")
    if args.sites < 0:
        parser.error("--sites must be >= 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with scratch_dynamodb("escrowdesk-bench-cost-") as (endpoint, scratch):
        usage, idle, factor, months = run(args, endpoint, scratch)
        text = report(usage, idle, factor, args.orders, months, args.sites)
    print(text)
    return 0


# E-mails per completed order ------------------------------------------------------------------------------------

EMAIL_ORDERS = 20  # orders measured for each figure


def emails_per_order(orders: int = EMAIL_ORDERS) -> tuple[float, float, float]:
    """(before, after, feed): e-mails per completed gig order (the same story as the bill's) when every
    notification was e-mailed — every user asking for every kind and for his own moves too, as all were sent
    before the e-mail settings — and with every user's default settings; and the notifications each order
    leaves in the parties' feeds, the same either way. Measured on a DynamoDB Local of its own."""
    import importlib

    from chalicelib.platform import clock, config
    from chalicelib.store import models
    from chalicelib.store.models import NotificationModel, UserModel
    from chalicelib.store.tables import create_tables

    with scratch_dynamodb("escrowdesk-bench-emails-") as (endpoint, scratch):
        configure_environment(endpoint, scratch, cheap_passwords=True)
        models.bind(config.reload())
        create_tables(endpoint_url=endpoint, region=REGION, prefix=APP_PREFIX)
        clock.reset()
        app_module = importlib.import_module("app")
        mail = scratch / "mail"

        def counted(n: int) -> tuple[int, int]:
            """(e-mails, notifications) of `orders` orders, the n-th set of them."""
            mails, notices = len(list(mail.glob("*.eml"))), sum(1 for _ in NotificationModel.scan())
            for order in range(orders):
                gig_order(driver, people, n * orders + order)
            return (len(list(mail.glob("*.eml"))) - mails, sum(1 for _ in NotificationModel.scan()) - notices)

        with captured_output(scratch / "functions.log"):
            people = cast()
            driver = Driver(app_module, endpoint, Tap(), Meter(1.0))
            driver.drain_stream()  # the sign-ups' e-mails: set-up
            every = {"kinds": {}, "own_actions": True}
            for user in UserModel.scan():
                user.update(actions=[UserModel.email_choices.set(every)])
            before, feed = counted(0)
            for user in UserModel.scan():
                user.update(actions=[UserModel.email_choices.remove()])
            after, _ = counted(1)
    return before / orders, after / orders, feed / orders


def emails_report(orders: int = EMAIL_ORDERS) -> str:
    before, after, feed = emails_per_order(orders)
    return (f"\ne-mails per completed gig order (measured on {orders} orders each): {before:.1f} when every "
            f"notification was e-mailed, {after:.1f} with the default e-mail settings (no e-mail of a user's own "
            f"moves; security and must-act kinds always); the parties' feeds keep all {feed:.1f}")


if __name__ == "__main__":
    code = main()
    print(emails_report())
    sys.exit(code)


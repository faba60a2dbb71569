"""Feeds a DynamoDB Local table's stream to an `@app.on_dynamodb_record` handler, the way Lambda's
event source mapping does on AWS: records in shard order, in batches, in Lambda's event shape.

Shard positions live in memory: a batch the handler took is never handed over again; a batch it
failed on is retried a few times, then logged and skipped. Shards that appear later (DynamoDB
rolls them over) are read from their start, each after its parent shard is finished.

DynamoDB Local spends sequence numbers on cancelled transactions; when the first numbers of a
shard were spent so, a position before them reads as "trimmed". The poller then restarts at the
trim horizon, which is exactly the next record it has not delivered (it was before the horizon).
"""
from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import boto3
from botocore.exceptions import ClientError
from chalice.app import Chalice, DynamoDBEventConfig

from infra.local.events import LambdaContext

log = logging.getLogger(__name__)

Handler = Callable[[dict, LambdaContext], Any]


@dataclass
class _Shard:
    shard_id: str
    parent_id: str | None
    start: str  # TRIM_HORIZON or LATEST, until something was delivered
    iterator: str | None = None
    last_sequence: str | None = None
    closed: bool = False


class StreamPoller:
    """Reads one table's stream and calls `handler(event, context)` with each batch."""

    def __init__(self, *, endpoint_url: str, region: str, table_name: str, handler: Handler, function_name: str,
                 batch_size: int = 100, starting_position: str = "TRIM_HORIZON", max_attempts: int = 3) -> None:
        self.table_name = table_name
        self.function_name = function_name
        self._handler = handler
        self._region = region
        self._batch_size = batch_size
        self._starting_position = starting_position
        self._max_attempts = max_attempts
        self._dynamodb = boto3.client("dynamodb", endpoint_url=endpoint_url, region_name=region)
        self._streams = boto3.client("dynamodbstreams", endpoint_url=endpoint_url, region_name=region)
        self._stream_arn: str | None = None
        self._shards: dict[str, _Shard] = {}

    def run(self, stop: threading.Event, interval: float = 0.5) -> None:
        """Poll until `stop` is set; sleeps only when a round found nothing."""
        while not stop.is_set():
            try:
                delivered = self.poll_once()
            except Exception:
                log.exception("stream poller for %s failed; retrying", self.table_name)
                delivered = 0
            if not delivered:
                stop.wait(interval)

    def poll_once(self) -> int:
        """One round over every readable shard; returns how many records were delivered."""
        self._discover_shards()
        return sum(self._read(shard) for shard in self._readable_shards())

    @property
    def stream_arn(self) -> str:
        if self._stream_arn is None:
            table = self._dynamodb.describe_table(TableName=self.table_name)["Table"]
            if "LatestStreamArn" not in table:
                raise RuntimeError(f"table {self.table_name} has no stream")
            self._stream_arn = table["LatestStreamArn"]
        return self._stream_arn

    def _discover_shards(self) -> None:
        first_look = not self._shards
        kwargs: dict[str, Any] = {"StreamArn": self.stream_arn}
        while True:
            description = self._streams.describe_stream(**kwargs)["StreamDescription"]
            for shard in description["Shards"]:
                if shard["ShardId"] not in self._shards:
                    start = self._starting_position if first_look else "TRIM_HORIZON"
                    self._shards[shard["ShardId"]] = _Shard(shard["ShardId"], shard.get("ParentShardId"), start)
            if "LastEvaluatedShardId" not in description:
                return
            kwargs["ExclusiveStartShardId"] = description["LastEvaluatedShardId"]

    def _readable_shards(self) -> list[_Shard]:
        def parent_done(shard: _Shard) -> bool:
            parent = self._shards.get(shard.parent_id or "")
            return parent is None or parent.closed

        return [shard for shard in self._shards.values() if not shard.closed and parent_done(shard)]

    def _read(self, shard: _Shard) -> int:
        if shard.iterator is None:
            shard.iterator = self._iterator(shard)
        try:
            page = self._streams.get_records(ShardIterator=shard.iterator, Limit=self._batch_size)
        except ClientError as error:
            code = error.response["Error"]["Code"]
            if code == "ExpiredIteratorException":
                shard.iterator = None  # taken again after the last delivered record
            elif code == "TrimmedDataAccessException":
                shard.iterator = self._iterator(shard, "TRIM_HORIZON")
            else:
                raise
            return 0
        records = page["Records"]
        if records:
            self._deliver(records)
            shard.last_sequence = records[-1]["dynamodb"]["SequenceNumber"]
        shard.iterator = page.get("NextShardIterator")
        shard.closed = shard.iterator is None
        return len(records)

    def _iterator(self, shard: _Shard, kind: str | None = None) -> str:
        kwargs: dict[str, Any] = {"StreamArn": self.stream_arn, "ShardId": shard.shard_id}
        if kind is not None or shard.last_sequence is None:
            kwargs["ShardIteratorType"] = kind or shard.start
        else:
            kwargs.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=shard.last_sequence)
        return self._streams.get_shard_iterator(**kwargs)["ShardIterator"]

    def _deliver(self, records: list[dict]) -> None:
        event = {"Records": [lambda_record(record, self.stream_arn, self._region) for record in records]}
        for attempt in range(1, self._max_attempts + 1):
            try:
                self._handler(event, LambdaContext(self.function_name, self._region))
                return
            except Exception:
                log.exception("%s failed on %d stream records (attempt %d of %d)",
                              self.function_name, len(records), attempt, self._max_attempts)
                time.sleep(0.5 * attempt)
        log.error("%s: skipping %d stream records after %d failed attempts",
                  self.function_name, len(records), self._max_attempts)


def lambda_record(record: dict, stream_arn: str, region: str) -> dict:
    """A DynamoDB Streams API record as Lambda delivers it: JSON types, plus source ARN and region."""
    converted = _as_json(record)
    converted["eventSourceARN"] = stream_arn
    converted["awsRegion"] = region
    return converted


def _as_json(value: Any) -> Any:
    """boto3 decodes timestamps and binary values; Lambda sends epoch seconds and base64 text."""
    if isinstance(value, dict):
        return {key: _as_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_json(item) for item in value]
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, datetime):
        return value.timestamp()
    return value


def dynamodb_handlers(app: Chalice) -> list[tuple[DynamoDBEventConfig, Handler]]:
    """Every `@app.on_dynamodb_record` handler of the app, with its registration."""
    return [(source, app.handler_map[source.name]) for source in app.event_sources
            if isinstance(source, DynamoDBEventConfig)]


def table_for(stream_arn: str, streamed_tables: dict[str, str]) -> str:
    """The local table whose stream stands for `stream_arn` (`streamed_tables`: logical name → table name).

    The ARN's table is taken if it exists locally, else the table with the same logical name
    (`escrowdesk-prod-notifications` → `<local prefix>notifications`), else the only streamed table.
    """
    arn_table = stream_arn.split(":table/", 1)[-1].split("/", 1)[0]
    for logical, name in streamed_tables.items():
        if arn_table in (name, logical) or arn_table.endswith("-" + logical):
            return name
    if len(streamed_tables) == 1:
        return next(iter(streamed_tables.values()))
    raise LookupError(f"no local table with a stream matches {stream_arn}")

"""DynamoDB requests, latency and consumed capacity of each API operation, beside the raw boto3 floor.

Run from the repository root:

    python -m bench.api_ops [--iterations N] [--warmup N] [--cheap-passwords]

How it measures
- DynamoDB Local (`infra.local.dynamodb_local`, in memory, a free port) holds the `bench-*` tables.
- Every DynamoDB client botocore makes (PynamoDB's, the unit of work's, ours) gets hooks (`Tap`): one
  counts each API call and keeps its parameters, one counts HTTP attempts (retries), one sums the
  response's ConsumedCapacity (ReturnConsumedCapacity=TOTAL is asked for where a caller did not).
- The app is driven through `chalice.test.Client`; each request is timed alone, its body and
  signature built beforehand. Set-up (invoices to pay, payments to resolve) happens untimed.
- The floor: a bare boto3 client replays exactly the requests the iteration made (same operations,
  items, conditions) on twin tables (`bench-floor-*`). Every request the app makes, set-up included,
  is replayed in order, so the twins go through the same states and each replayed request meets the
  same conditions. App and floor alternate per iteration, so noise from other processes hits both.
- Time spent in argon2 (password hashing, deliberately slow) is measured inside each request, so
  sign-up and log-in are also shown without it.
- Gig orders (place, start, deliver, accept, paying an extra, accepting a custom offer) come last,
  so the operations before them see the same data as without them. A contractor and a gig are made
  once; each iteration acts on its own order or offer, brought to the right state beforehand
  (client funded by an invoice and a signed bank webhook, order placed, started, delivered, extra
  or offer made as needed), untimed.
- Aims (from the issue): a money-moving operation makes one TransactWriteItems, at most two reads
  and no other write; every operation's median is at most 1.5x its floor's.

DynamoDB Local reports capacity units without splitting reads from writes (transactional writes at
DynamoDB's double rate, indexes included; `bench.cost` probes it); RCU is summed over read requests,
WCU over the others.

Why one file of this size: a benchmark is read top to bottom beside the figures it prints, and its
measuring hooks, scenarios and report belong to one run."""
from __future__ import annotations

import argparse
import functools
import importlib
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import argon2
import boto3
import botocore.session
from botocore import xform_name
from botocore.config import Config
from botocore.exceptions import ClientError
from chalice.test import Client

from infra.local import dynamodb_local

ROOT = Path(__file__).resolve().parents[1]
REGION = "eu-central-1"
APP_PREFIX = "bench-"
FLOOR_PREFIX = "bench-floor-"
PASSWORD = "correct horse battery"
AMOUNT = 150000
GIG_PRICE = 10000  # 100.00 USD; accepting releases it less 20% commission
READS = frozenset({"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"})
TRANSACTION = "TransactWriteItems"
MAX_READS = 2
MAX_RATIO = 1.5


# DynamoDB requests ---------------------------------------------------------------------------


@dataclass
class Request:
    operation: str
    params: dict
    attempts: int = 0
    capacity: float = 0.0
    error: str | None = None
    seq: int = -1  # its place among the requests of a run, where a replay needs their order (bench.timers)

    @property
    def is_read(self) -> bool:
        return self.operation in READS


class Tap:
    """Botocore event hooks on every DynamoDB client: what each request was and what it cost."""

    def __init__(self) -> None:
        self.requests: list[Request] = []

    def install(self) -> None:
        """Attach the hooks to every DynamoDB client created from now on (PynamoDB makes its own lazily)."""
        original = botocore.session.Session.create_client
        attach = self.attach

        @functools.wraps(original)
        def create_client(session: botocore.session.Session, service_name: str, *args: Any, **kwargs: Any) -> Any:
            client = original(session, service_name, *args, **kwargs)
            if service_name == "dynamodb":
                attach(client)
            return client

        botocore.session.Session.create_client = create_client

    def attach(self, client: Any) -> None:
        client.meta.events.register("before-parameter-build.dynamodb", self._called)
        client.meta.events.register("before-send.dynamodb", self._sent)
        client.meta.events.register("after-call.dynamodb", self._answered)

    def drain(self) -> list[Request]:
        """The requests made since the last drain."""
        requests, self.requests = self.requests, []
        return requests

    def _called(self, params: dict, model: Any, **_: Any) -> None:
        if "ReturnConsumedCapacity" in model.input_shape.members:
            params.setdefault("ReturnConsumedCapacity", "TOTAL")
        self.requests.append(Request(model.name, params))

    def _sent(self, **_: Any) -> None:
        self.requests[-1].attempts += 1

    def _answered(self, parsed: dict, **_: Any) -> None:
        request = self.requests[-1]
        request.capacity = capacity_units(parsed.get("ConsumedCapacity"))
        request.error = parsed.get("Error", {}).get("Code")


def capacity_units(consumed: dict | list | None) -> float:
    if consumed is None:
        return 0.0
    items = consumed if isinstance(consumed, list) else [consumed]
    return sum(float(item.get("CapacityUnits", 0.0)) for item in items)


def twin(value: Any) -> Any:
    """A deep copy of request parameters aimed at the floor's tables."""
    if isinstance(value, dict):
        return {key: _twin_entry(key, item) for key, item in value.items() if key != "ClientRequestToken"}
    if isinstance(value, list):
        return [twin(item) for item in value]
    return value


def _twin_entry(key: str, value: Any) -> Any:
    if key == "TableName":
        return FLOOR_PREFIX + value.removeprefix(APP_PREFIX)
    if key == "RequestItems":
        return {FLOOR_PREFIX + name.removeprefix(APP_PREFIX): twin(item) for name, item in value.items()}
    return twin(value)


class Stopwatch:
    """Milliseconds spent inside wrapped functions (argon2's hash and verify) since the last `take()`."""

    def __init__(self) -> None:
        self.ms = 0.0

    def wrap(self, owner: Any, name: str) -> None:
        original = getattr(owner, name)

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.ms += (time.perf_counter() - start) * 1000

        setattr(owner, name, timed)

    def take(self) -> float:
        ms, self.ms = self.ms, 0.0
        return ms


def call_all(calls: list[tuple[Callable[..., Any], dict]]) -> list[str | None]:
    """Make each call in turn: its error code, or None for a success."""
    outcomes: list[str | None] = []
    for method, params in calls:
        try:
            method(**params)
            outcomes.append(None)
        except ClientError as error:
            outcomes.append(error.response.get("Error", {}).get("Code"))
    return outcomes


class Floor:
    """A bare boto3 client replaying the app's requests on the twin tables, timed."""

    def __init__(self, endpoint: str, tap: Tap) -> None:
        self.client = boto3.client("dynamodb", endpoint_url=endpoint, region_name=REGION,
                                   config=Config(parameter_validation=False))  # as PynamoDB configures it
        self.tap = tap
        self.divergences = 0

    def replay(self, requests: list[Request]) -> float:
        """Make the same requests; returns the milliseconds they took. Outcomes must match the app's."""
        calls = [(getattr(self.client, xform_name(r.operation)), twin(r.params)) for r in requests]
        start = time.perf_counter()
        outcomes = call_all(calls)
        elapsed_ms = (time.perf_counter() - start) * 1000
        self.tap.drain()
        self.divergences += sum(outcome != r.error for outcome, r in zip(outcomes, requests, strict=True))
        return elapsed_ms


# Operations ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class HttpCall:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""


@dataclass
class Op:
    name: str
    prepare: Callable[[int], list[HttpCall]]  # untimed: one call per iteration
    status: int = 200
    money: bool = False
    replayed: bool = False  # the response must be an idempotent replay


@dataclass
class Result:
    op: Op
    app_ms: list[float] = field(default_factory=list)
    argon2_ms: list[float] = field(default_factory=list)
    floor_ms: list[float] = field(default_factory=list)
    mixes: Counter[str] = field(default_factory=Counter)
    rcu: list[float] = field(default_factory=list)
    wcu: list[float] = field(default_factory=list)
    breaches: set[str] = field(default_factory=set)
    retries: int = 0

    def add(self, app_ms: float, argon2_ms: float, floor_ms: float, requests: list[Request]) -> None:
        self.app_ms.append(app_ms)
        self.argon2_ms.append(argon2_ms)
        self.floor_ms.append(floor_ms)
        self.mixes[mix(requests)] += 1
        self.rcu.append(sum(r.capacity for r in requests if r.is_read))
        self.wcu.append(sum(r.capacity for r in requests if not r.is_read))
        self.retries += sum(max(r.attempts - 1, 0) for r in requests)
        if self.op.money:
            self.breaches |= money_breaches(requests)


def mix(requests: list[Request]) -> str:
    """`1 TransactWriteItems[8] + 2 GetItem`: requests by operation, a transaction's item count in brackets."""
    counts = Counter(r.operation for r in requests)
    sizes = [len(r.params.get("TransactItems", [])) for r in requests if r.operation == TRANSACTION]
    parts = [f"{n} {op}" + (f"[{','.join(map(str, sizes))}]" if op == TRANSACTION else "")
             for op, n in counts.items()]
    return " + ".join(parts) or "none"


def money_breaches(requests: list[Request]) -> set[str]:
    reads = sum(r.is_read for r in requests)
    transactions = sum(r.operation == TRANSACTION for r in requests)
    writes = len(requests) - reads - transactions
    breaches = set()
    if transactions != 1:
        breaches.add(f"{transactions} TransactWriteItems (aim: 1)")
    if reads > MAX_READS:
        breaches.add(f"{reads} reads (aim: <= {MAX_READS})")
    if writes:
        breaches.add(f"{writes} write(s) outside the transaction")
    return breaches


class Bench:
    """Drives the app through chalice's test client and times it against the floor."""

    def __init__(self, http: Any, tap: Tap, floor: Floor, argon2: Stopwatch) -> None:
        self.http, self.tap, self.floor, self.argon2 = http, tap, floor, argon2
        self.user_email = "bench-user@example.com"
        self.user_token = self.operator_token = self.invoice_id = self.invoice_number = ""
        self.contractor_token = self.gig_id = ""

    # requests --

    @staticmethod
    def call(method: str, path: str, body: Any = None, *, token: str = "", headers: dict | None = None,
             raw: bytes | None = None) -> HttpCall:
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        payload = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
        return HttpCall(method, path, all_headers, payload)

    def send(self, call: HttpCall, status: int = 200) -> Any:
        response = self.http.request(call.method, call.path, headers=call.headers, body=call.body)
        if response.status_code != status:
            raise RuntimeError(f"{call.method} {call.path}: {response.status_code} {response.body[:300]!r}")
        return response

    def sync(self) -> None:
        """Replay, untimed, what the app did since the last iteration, so the floor's tables keep up."""
        self.floor.replay(self.tap.drain())

    # set-up --

    def setup(self) -> None:
        from chalicelib.services import accounts

        signup = {"email": self.user_email, "password": PASSWORD, "name": "Bench User", "locale": "en"}
        self.user_token = self.send(self.call("POST", "/v1/auth/signup", signup), 201).json_body["token"]
        accounts.create_operator("bench-operator@example.com", PASSWORD)
        login = {"email": "bench-operator@example.com", "password": PASSWORD}
        self.operator_token = self.send(self.call("POST", "/v1/auth/login", login)).json_body["token"]
        invoice = self.new_invoice(AMOUNT)
        self.invoice_id, self.invoice_number = invoice["id"], invoice["number"]
        self.sync()

    def new_invoice(self, amount: int) -> dict:
        body = {"amount": amount, "currency": "USD"}
        return self.send(self.call("POST", "/v1/invoices", body, token=self.user_token), 201).json_body

    def webhook(self, amount: int, purpose: str) -> HttpCall:
        from tests.support import sign, transfer_event

        body = transfer_event(f"evt-{uuid.uuid4()}", amount, "USD", purpose)
        return self.call("POST", "/v1/webhooks/bank", raw=body, headers={"X-Bank-Signature": sign(body)})

    def unmatched_payment(self, amount: int) -> str:
        response = self.send(self.webhook(amount, "Top-up, see e-mail"))
        return response.json_body["payment"]["id"]

    # one list of calls per operation --

    @staticmethod
    def repeat(call: HttpCall) -> Callable[[int], list[HttpCall]]:
        return lambda n: [call] * n

    def signups(self, n: int) -> list[HttpCall]:
        return [self.call("POST", "/v1/auth/signup", {"email": f"bench-{uuid.uuid4().hex}@example.com",
                                                      "password": PASSWORD, "name": "Signup", "locale": "en"})
                for _ in range(n)]

    def matched_webhooks(self, n: int) -> list[HttpCall]:
        invoices = [self.new_invoice(AMOUNT) for _ in range(n)]
        return [self.webhook(AMOUNT, f"Payment {invoice['payment_details']}") for invoice in invoices]

    def mismatched_webhooks(self, n: int) -> list[HttpCall]:
        return [self.webhook(AMOUNT + 1, f"Payment for {self.invoice_number}") for _ in range(n)]

    def keyed_invoices(self, n: int) -> list[HttpCall]:
        return [self.call("POST", "/v1/invoices", {"amount": AMOUNT, "currency": "USD"}, token=self.user_token,
                          headers={"Idempotency-Key": uuid.uuid4().hex}) for _ in range(n)]

    def replayed_invoices(self, n: int) -> list[HttpCall]:
        calls = self.keyed_invoices(n)
        for call in calls:
            self.send(call, 201)
        return calls

    def applications(self, n: int) -> list[HttpCall]:
        amount = AMOUNT + 7
        pairs = [(self.unmatched_payment(amount), self.new_invoice(amount)["id"]) for _ in range(n)]
        return [self.call("POST", f"/v1/operator/payments/{payment}/apply", {"invoice_id": invoice},
                          token=self.operator_token, headers={"Idempotency-Key": uuid.uuid4().hex})
                for payment, invoice in pairs]

    def returns(self, n: int) -> list[HttpCall]:
        payments = [self.unmatched_payment(AMOUNT + 9) for _ in range(n)]
        return [self.call("POST", f"/v1/operator/payments/{payment}/return", token=self.operator_token)
                for payment in payments]

    # gig orders: the user is the client; a contractor and a gig are made on first use --

    def gig(self) -> str:
        if not self.gig_id:
            signup = {"email": "bench-contractor@example.com", "password": PASSWORD, "name": "Bench Contractor",
                      "locale": "en"}
            self.contractor_token = self.send(self.call("POST", "/v1/auth/signup", signup), 201).json_body["token"]
            body = {"title": "Bench gig", "description": "", "amount": GIG_PRICE, "currency": "USD",
                    "delivery_days": 3}
            gig = self.send(self.call("POST", "/v1/gigs", body, token=self.contractor_token), 201)
            self.gig_id = gig.json_body["id"]
        return self.gig_id

    def fund(self, orders: int) -> None:
        """Top the client up by the price of `orders` orders: an invoice paid by a signed bank webhook."""
        invoice = self.new_invoice(GIG_PRICE * orders)
        self.send(self.webhook(GIG_PRICE * orders, f"Payment {invoice['payment_details']}"))

    def place_calls(self, n: int) -> list[HttpCall]:
        gig = self.gig()
        self.fund(n)
        return [self.call("POST", "/v1/orders", {"gig_id": gig}, token=self.user_token) for _ in range(n)]

    def order_calls(self, n: int, steps: tuple[tuple[str, str, dict | None], ...], action: str,
                    token: str, body: dict | None = None) -> list[HttpCall]:
        """`n` placed orders taken through `steps` (path, token, body) untimed; then one `action` call each."""
        ids = [self.send(call, 201).json_body["id"] for call in self.place_calls(n)]
        for order_id in ids:
            for path, step_token, step_body in steps:
                self.send(self.call("POST", f"/v1/orders/{order_id}/{path}", step_body, token=step_token))
        return [self.call("POST", f"/v1/orders/{order_id}/{action}", body, token=token) for order_id in ids]

    def starts(self, n: int) -> list[HttpCall]:
        self.gig()
        return self.order_calls(n, (), "start", self.contractor_token)

    def deliveries(self, n: int) -> list[HttpCall]:
        self.gig()
        return self.order_calls(n, (("start", self.contractor_token, None),), "deliver", self.contractor_token,
                                {"message": "Here it is"})

    def acceptances(self, n: int) -> list[HttpCall]:
        self.gig()
        contractor = self.contractor_token
        steps = (("start", contractor, None), ("deliver", contractor, {"message": "Here it is"}))
        return self.order_calls(n, steps, "accept", self.user_token)

    def extra_payments(self, n: int) -> list[HttpCall]:
        """`n` started orders, each with an extra offered (untimed); then the client pays each extra."""
        self.gig()
        contractor = self.contractor_token
        ids = [self.send(call, 201).json_body["id"] for call in self.place_calls(n)]
        self.fund(n)
        paths = []
        for order_id in ids:
            self.send(self.call("POST", f"/v1/orders/{order_id}/start", token=contractor))
            extra = {"title": "Extra", "amount": GIG_PRICE, "extra_days": 1}
            offered = self.send(self.call("POST", f"/v1/orders/{order_id}/extras", extra, token=contractor), 201)
            paths.append(f"/v1/orders/{order_id}/extras/{offered.json_body['extras'][0]['id']}/pay")
        return [self.call("POST", path, token=self.user_token) for path in paths]

    def offer_acceptances(self, n: int) -> list[HttpCall]:
        """`n` custom offers made to the client (untimed); then the client accepts each: order + escrow."""
        gig = self.gig()
        contractor = self.contractor_token
        client_id = self.send(self.call("GET", "/v1/me", token=self.user_token)).json_body["id"]
        self.send(self.call("PATCH", "/v1/me/profile", {"custom_offers": True}, token=contractor))
        talk = self.send(self.call("POST", "/v1/conversations", {"user_id": client_id}, token=contractor), 201)
        self.send(self.call("POST", f"/v1/conversations/{talk.json_body['id']}/messages", {"text": "Help?"},
                            token=self.user_token), 201)
        self.fund(n)
        body = {"client_id": client_id, "gig_id": gig, "description": "Bench offer", "amount": GIG_PRICE,
                "currency": "USD", "delivery_days": 3}
        offers = [self.send(self.call("POST", "/v1/offers", body, token=contractor), 201).json_body["id"]
                  for _ in range(n)]
        return [self.call("POST", f"/v1/offers/{offer_id}/accept", token=self.user_token) for offer_id in offers]

    def operations(self) -> list[Op]:
        user = self.user_token
        login = {"email": self.user_email, "password": PASSWORD}
        return [
            Op("GET /dev/clock (no DynamoDB: harness)", self.repeat(self.call("GET", "/dev/clock"))),
            Op("POST /v1/auth/signup", self.signups, status=201),
            Op("POST /v1/auth/login", self.repeat(self.call("POST", "/v1/auth/login", login))),
            Op("GET /v1/me", self.repeat(self.call("GET", "/v1/me", token=user))),
            Op("POST /v1/invoices", self.repeat(self.call("POST", "/v1/invoices", {"amount": AMOUNT, "currency": "USD"},
                                                          token=user)), status=201),
            Op("GET /v1/invoices/{id}", self.repeat(self.call("GET", f"/v1/invoices/{self.invoice_id}", token=user))),
            Op("POST /v1/webhooks/bank (matched top-up)", self.matched_webhooks, money=True),
            Op("POST /v1/webhooks/bank (unmatched: amount)", self.mismatched_webhooks, money=True),
            Op("POST /v1/invoices + Idempotency-Key (first)", self.keyed_invoices, status=201),
            Op("POST /v1/invoices + Idempotency-Key (replay)", self.replayed_invoices, status=201, replayed=True),
            Op("POST /v1/operator/payments/{id}/apply + Idem-Key", self.applications, money=True),
            Op("POST /v1/operator/payments/{id}/return", self.returns, money=True),
            Op("GET /v1/balances", self.repeat(self.call("GET", "/v1/balances", token=user))),
            Op("GET /v1/ledger", self.repeat(self.call("GET", "/v1/ledger", token=user))),
            Op("GET /v1/notifications", self.repeat(self.call("GET", "/v1/notifications", token=user))),
            Op("POST /v1/orders (place: into escrow)", self.place_calls, status=201, money=True),
            Op("POST /v1/orders/{id}/start", self.starts, money=True),
            Op("POST /v1/orders/{id}/deliver", self.deliveries, money=True),
            Op("POST /v1/orders/{id}/accept (release less commission)", self.acceptances, money=True),
            Op("POST /v1/orders/{id}/extras/{id}/pay (into escrow)", self.extra_payments, money=True),
            Op("POST /v1/offers/{id}/accept (order + escrow)", self.offer_acceptances, status=201, money=True),
        ]

    # measuring --

    def measure(self, op: Op, iterations: int, warmup: int) -> Result:
        calls = op.prepare(iterations + warmup)
        self.sync()
        result = Result(op)
        for index, call in enumerate(calls):
            self.argon2.take()
            start = time.perf_counter()
            response = self.http.request(call.method, call.path, headers=call.headers, body=call.body)
            app_ms = (time.perf_counter() - start) * 1000
            self.check(op, response)
            requests = self.tap.drain()
            floor_ms = self.floor.replay(requests)
            if index >= warmup:
                result.add(app_ms, self.argon2.take(), floor_ms, requests)
        return result

    @staticmethod
    def check(op: Op, response: Any) -> None:
        if response.status_code != op.status:
            raise RuntimeError(f"{op.name}: {response.status_code} {response.body[:300]!r}")
        if op.replayed and response.headers.get("Idempotent-Replayed") != "true":
            raise RuntimeError(f"{op.name}: not a replay")


# Running -------------------------------------------------------------------------------------


def configure_environment(endpoint: str, scratch: Path, *, cheap_passwords: bool) -> None:
    """What the app reads at import: local stage, DynamoDB Local, dummy credentials, mail to a sink."""
    os.environ.update({
        "STAGE": "local", "DYNAMODB_HOST": endpoint, "TABLE_PREFIX": APP_PREFIX,
        "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION, "MAIL_TRANSPORT": "sink", "MAIL_SINK_DIR": str(scratch / "mail"),
        "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_SERVICE_NAME": "escrowdesk",
        "POWERTOOLS_METRICS_NAMESPACE": "Escrowdesk",
    })
    os.environ.pop("CLOCK_FILE", None)
    if cheap_passwords:
        os.environ.update({"PASSWORD_TIME_COST": "1", "PASSWORD_MEMORY_KIB": "64"})
    else:
        os.environ.pop("PASSWORD_TIME_COST", None)
        os.environ.pop("PASSWORD_MEMORY_KIB", None)


@contextmanager
def redirected_output(path: str | Path) -> Iterator[None]:
    """File descriptors 1 and 2 appended to `path` for the block (what the code under test prints)."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(path, "ab") as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


@contextmanager
def quiet() -> Iterator[None]:
    """Send file descriptors 1 and 2 to /dev/null: Powertools writes a metrics line per request."""
    with redirected_output(os.devnull):
        yield


def run(args: argparse.Namespace, endpoint: str, scratch: Path) -> tuple[list[Result], Floor]:
    configure_environment(endpoint, scratch, cheap_passwords=args.cheap_passwords)
    tap = Tap()
    tap.install()
    from chalicelib.store.tables import create_tables

    for prefix in (APP_PREFIX, FLOOR_PREFIX):
        create_tables(endpoint_url=endpoint, region=REGION, prefix=prefix)
    app_module = importlib.import_module("app")
    stopwatch = Stopwatch()
    for name in ("hash", "verify"):
        stopwatch.wrap(argon2.PasswordHasher, name)
    floor = Floor(endpoint, tap)
    tap.drain()
    bench = Bench(Client(app_module.app, stage_name="local", project_dir=str(ROOT)).http, tap, floor, stopwatch)
    with quiet():
        bench.setup()
    results = []
    for op in bench.operations():
        print(f"  {op.name} ...", file=sys.stderr, flush=True)
        with quiet():
            results.append(bench.measure(op, args.iterations, args.warmup))
    return results, floor


# Report --------------------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def row(result: Result) -> list[str]:
    app, floor = statistics.median(result.app_ms), statistics.median(result.floor_ms)
    has_floor = result.mixes.most_common(1)[0][0] != "none"
    ratio = app / floor if has_floor else None
    breaches = sorted(result.breaches)
    if ratio is not None and ratio > MAX_RATIO:
        breaches.append(f"ratio > {MAX_RATIO}")
    requests = result.mixes.most_common(1)[0][0] + (" (varies)" if len(result.mixes) > 1 else "")
    return [result.op.name, requests, f"{app:.2f}", f"{percentile(result.app_ms, 0.95):.2f}",
            f"{floor:.2f}" if has_floor else "-", f"{ratio:.2f}" if ratio is not None else "-",
            f"{statistics.mean(result.rcu):.1f}", f"{statistics.mean(result.wcu):.1f}",
            "; ".join(breaches) or ("ok" if has_floor else "")]


HEADER = ["operation", "DynamoDB requests per call", "median ms", "p95 ms", "floor median ms", "ratio",
          "RCU", "WCU", "aims"]


def table(rows: list[list[str]]) -> str:
    widths = [max(len(line[i]) for line in [HEADER, *rows]) for i in range(len(HEADER))]
    numeric = {2, 3, 4, 5, 6, 7}

    def fmt(line: list[str]) -> str:
        pairs = enumerate(zip(line, widths, strict=True))
        cells = [cell.rjust(w) if i in numeric else cell.ljust(w) for i, (cell, w) in pairs]
        return "| " + " | ".join(cells) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([fmt(HEADER), rule, *(fmt(line) for line in rows)])


def report(results: list[Result], floor: Floor, args: argparse.Namespace) -> str:
    lines = [f"escrowdesk API operations against DynamoDB Local: {args.iterations} timed iterations each "
             f"(after {args.warmup} warm-up), app via chalice.test.Client, floor = the same requests by bare boto3",
             "", table([row(result) for result in results]), ""]
    cost = "the test suite's cost (time 1, 64 KiB)" if args.cheap_passwords else "production cost (time 2, 19456 KiB)"
    lines.append(f"argon2 at {cost}, timed inside each request:")
    for result in results:
        if not any(result.argon2_ms):
            continue
        rest = statistics.median(a - b for a, b in zip(result.app_ms, result.argon2_ms, strict=True))
        lines.append(f"  {result.op.name}: argon2 median {statistics.median(result.argon2_ms):.2f} ms; without it "
                     f"median {rest:.2f} ms, ratio {rest / statistics.median(result.floor_ms):.2f}")
    retries = sum(result.retries for result in results)
    lines.append(f"HTTP retries seen: {retries}; floor replays whose outcome differed from the app's: "
                 f"{floor.divergences} (both should be 0).")
    lines.append("RCU/WCU: DynamoDB Local's CapacityUnits, mean per call (reads -> RCU, other requests -> WCU); "
                 "transactional writes at DynamoDB's double rate, indexes' writes included.")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=200, help="timed calls per operation (default 200)")
    parser.add_argument("--warmup", type=int, default=10, help="untimed calls first (default 10)")
    parser.add_argument("--cheap-passwords", action="store_true",
                        help="argon2 at the test suite's cost instead of production's")
    args = parser.parse_args(argv)
    if args.iterations < 2 or args.warmup < 0:
        parser.error("--iterations must be >= 2 and --warmup >= 0")
    return args


@contextmanager
def scratch_dynamodb(prefix: str) -> Iterator[tuple[str, Path]]:
    """A DynamoDB Local of the benchmark's own, with a scratch directory for its log and mail."""
    with (
        tempfile.TemporaryDirectory(prefix=prefix) as scratch,
        open(Path(scratch) / "dynamodb-local.log", "wb") as log,
        dynamodb_local.running(log=log) as ddb,
    ):
        print(f"DynamoDB Local at {ddb.endpoint}", file=sys.stderr, flush=True)
        yield ddb.endpoint, Path(scratch)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with scratch_dynamodb("escrowdesk-bench-") as (endpoint, scratch):
        results, floor = run(args, endpoint, scratch)
    print(report(results, floor, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())

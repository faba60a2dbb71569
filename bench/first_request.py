"""What the first request of a fresh Lambda process costs: the import, the first DynamoDB client and
connection, and the request itself, beside the same request once warm.

Run from the repository root:

    python -m bench.first_request [--runs N]

How it measures
- DynamoDB Local (in memory, a free port) holds the `bench-*` tables. This process seeds them through
  the services: a client with a token and money, a contractor's gig, an open invoice.
- For each route, N fresh interpreters run with the prod stage's environment as a function sees it
  (`bench.import_time`'s, pointed at DynamoDB Local). Each imports `app`, then calls `app.app` — the
  APIHandler's Lambda handler, middleware included — with an API Gateway proxy event for the route,
  then again with a second event of the same kind (the warm request). It reports, in-process:
  the import; the first request, and of it the time spent creating botocore clients (PynamoDB's and
  the unit of work's: the DynamoDB service model is loaded then) and the packages the request imported
  first (what `import app` left to the routes); the warm request.
- Interpreter start-up (~15-20 ms here) and Lambda's own (the runtime, fetching the code) are outside
  the figures: the Lambda console's Init Duration adds to the import what the runtime itself takes.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass

from bench.api_ops import APP_PREFIX, REGION, configure_environment, quiet, scratch_dynamodb
from bench.import_time import ON_LAMBDA, ROOT, SECRET_ARNS, stage_variables
from tests.support import sign, transfer_event

PRICE = 10000
CHILD = r"""
import json, sys, time

sys.modules["cryptography"] = None  # as in the Lambda bundle, which has none (tests/unit/test_cold_start.py)

class Context:
    function_name = "escrowdesk-prod-APIHandler"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:eu-central-1:000000000000:function:escrowdesk-prod-APIHandler"
    aws_request_id = "bench"
    @staticmethod
    def get_remaining_time_in_millis():
        return 30000

first_event, warm_event = json.loads(sys.stdin.read())
start = time.perf_counter()
import app
imported = time.perf_counter()

import botocore.session  # imported by app already; timing the clients made from now on

spent = {"clients_ms": 0.0}
original = botocore.session.Session.create_client

def create_client(*args, **kwargs):
    started = time.perf_counter()
    try:
        return original(*args, **kwargs)
    finally:
        spent["clients_ms"] += (time.perf_counter() - started) * 1000

botocore.session.Session.create_client = create_client
imported_at = time.perf_counter()
before = {name.split(".")[0] for name in sys.modules}
first = app.app(first_event, Context())
answered = time.perf_counter() - (imported_at - imported)
first_imports = sorted({name.split(".")[0] for name in sys.modules} - before)
clients_ms = spent["clients_ms"]
warm_start = time.perf_counter()
warm = app.app(warm_event, Context())
warm_ms = (time.perf_counter() - warm_start) * 1000
print(json.dumps({"import_ms": (imported - start) * 1000, "first_ms": (answered - imported) * 1000,
                  "clients_ms": clients_ms, "first_imports": first_imports, "warm_ms": warm_ms,
                  "statuses": [first["statusCode"], warm["statusCode"]]}))
"""


def event(method: str, resource: str, path: str, *, headers: dict | None = None, body: bytes | None = None,
          params: dict | None = None) -> dict:
    """An API Gateway (REST, proxy) event as Lambda hands it to the APIHandler."""
    return {
        "resource": resource, "path": path, "httpMethod": method,
        "headers": {"content-type": "application/json", **(headers or {})},
        "multiValueHeaders": {}, "queryStringParameters": None, "multiValueQueryStringParameters": None,
        "pathParameters": params, "stageVariables": None,
        "requestContext": {"resourcePath": resource, "httpMethod": method, "path": f"/v1{path}", "stage": "v1",
                           "requestId": str(uuid.uuid4()), "identity": {"sourceIp": "203.0.113.7"}},
        "body": body.decode() if body is not None else None, "isBase64Encoded": False,
    }


@dataclass
class Route:
    name: str
    events: list[tuple[dict, dict]]  # (first, warm) per run


def seed(runs: int) -> list[Route]:
    """A client with money and a token, a contractor's gig, open invoices; events for each route and run."""
    from chalicelib.access.auth import Principal
    from chalicelib.money import ledger
    from chalicelib.money.amounts import Money
    from chalicelib.services import accounts, gigs, invoices
    from chalicelib.store.uow import UnitOfWork

    signed_up = accounts.signup("bench-client@example.com", "correct horse battery", "Client", "en")[1]
    token, client = signed_up["token"], Principal(signed_up["user"]["id"], ("client",))
    contractor = Principal(accounts.signup("bench-seller@example.com", "correct horse battery", "Seller",
                                           "en")[1]["user"]["id"], ("contractor",))
    uow = UnitOfWork()
    ledger.record(uow, ledger.bank_top_up("bench-fund", client.user_id, Money(PRICE * 4 * runs, "USD"), ref="bench"))
    uow.commit()
    gig_id = gigs.publish(contractor, "Logo", "", PRICE, "USD", 3)[1]["id"]
    bearer = {"authorization": f"Bearer {token}"}

    def order() -> dict:
        return event("POST", "/v1/orders", "/v1/orders", headers=bearer,
                     body=json.dumps({"gig_id": gig_id}).encode())

    def webhook() -> dict:
        invoice = invoices.create(client, PRICE, "USD")[1]
        body = transfer_event(f"evt-{uuid.uuid4()}", PRICE, "USD", f"Payment {invoice['payment_details']}")
        signature = sign(body, secret=os.environ["BANK_WEBHOOK_SECRET"])
        return event("POST", "/v1/webhooks/bank", "/v1/webhooks/bank", headers={"x-bank-signature": signature},
                     body=body)

    me_event = event("GET", "/v1/me", "/v1/me", headers=bearer)
    return [
        Route("GET /v1/me (token, 1 GetItem)", [(me_event, me_event) for _ in range(runs)]),
        Route("POST /v1/orders (token, body, 1 GetItem + 1 transaction)", [(order(), order()) for _ in range(runs)]),
        Route("POST /v1/webhooks/bank (HMAC, body, 2 GetItem + 1 transaction)",
              [(webhook(), webhook()) for _ in range(runs)]),
    ]


def child_environment(endpoint: str, pycache: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "POWERTOOLS_"))}
    env.update({"AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION, "AWS_ACCESS_KEY_ID": "bench",
                "AWS_SECRET_ACCESS_KEY": "bench", **stage_variables("prod"), **ON_LAMBDA,
                "TABLE_PREFIX": APP_PREFIX, "DYNAMODB_HOST": endpoint, "PYTHONPYCACHEPREFIX": pycache,
                "JWT_SECRET": os.environ["JWT_SECRET"], "BANK_WEBHOOK_SECRET": os.environ["BANK_WEBHOOK_SECRET"],
                "ACQUIRER_WEBHOOK_SECRET": os.environ["ACQUIRER_WEBHOOK_SECRET"]})
    # There is no Secrets Manager beside DynamoDB Local: the secrets are the local values, so the child is not
    # "inside Lambda" (which refuses them) and a deployed function's one GetSecretValue per secret is not measured.
    for name in ("PYTHONDONTWRITEBYTECODE", "CLOCK_FILE", "XRAY_SDK", "AWS_LAMBDA_FUNCTION_NAME", *SECRET_ARNS):
        env.pop(name, None)
    return env


def fresh_process(events: tuple[dict, dict], env: dict[str, str]) -> dict:
    completed = subprocess.run([sys.executable, "-c", CHILD], input=json.dumps(events), cwd=ROOT, env=env,
                               capture_output=True, text=True, check=True)
    return json.loads(completed.stdout.strip().splitlines()[-1])


def report(results: dict[str, list[dict]], runs: int) -> str:
    lines = [f"the first request of a fresh process, prod stage's environment, DynamoDB Local; median of {runs} "
             "fresh interpreters per route (in-process ms)", "",
             "| route | import app | first request | of which: DynamoDB clients | import + first | warm request |",
             "|---|---|---|---|---|---|"]
    notes = []
    for name, samples in results.items():
        median = {key: statistics.median(s[key] for s in samples) for key in ("import_ms", "first_ms",
                                                                            "clients_ms", "warm_ms")}
        total = statistics.median(s["import_ms"] + s["first_ms"] for s in samples)
        lines.append(f"| {name} | {median['import_ms']:.0f} | {median['first_ms']:.0f} | {median['clients_ms']:.0f} "
                     f"| {total:.0f} | {median['warm_ms']:.1f} |")
        statuses = {tuple(s["statuses"]) for s in samples}
        notes.append(f"{name}: statuses {sorted(statuses)}; first imported: {', '.join(samples[0]['first_imports'])}")
    return "\n".join([*lines, "", *notes])


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="fresh interpreters per route (default 7)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with scratch_dynamodb("escrowdesk-bench-first-") as (endpoint, scratch), \
            tempfile.TemporaryDirectory(prefix="escrowdesk-pycache-") as pycache:
        configure_environment(endpoint, scratch, cheap_passwords=True)
        os.environ.update({"JWT_SECRET": "bench-jwt-secret-" + "x" * 16, "BANK_WEBHOOK_SECRET": "b" * 32,
                           "ACQUIRER_WEBHOOK_SECRET": "a" * 32})
        from chalicelib.platform import config
        from chalicelib.store import models
        from chalicelib.store.tables import create_tables

        settings = config.reload()
        models.bind(settings)
        create_tables(endpoint_url=endpoint, region=REGION, prefix=APP_PREFIX)
        with quiet():
            routes = seed(args.runs + 1)
        env = child_environment(endpoint, pycache)
        results: dict[str, list[dict]] = {}
        for route in routes:
            print(f"  {route.name} ...", file=sys.stderr, flush=True)
            fresh_process(route.events[0], env)  # compiles byte code into the scratch cache
            results[route.name] = [fresh_process(events, env) for events in route.events[1:]]
    print(report(results, args.runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`python -m infra.local.runner` (what `make run` starts): the whole local stage in one command.

DynamoDB Local (in memory, so every run starts empty) with every table, a bootstrap operator, the
API on chalice's local server, the schedule and the notifications stream. All of it runs in this
process except Java; one Ctrl-C or SIGTERM stops everything.

Settings, from the environment: HOST (127.0.0.1), PORT (8000), DYNAMODB_PORT (8766),
CLOCK_FILE (var/clock.json), MAIL_SINK_DIR (var/mail), OPERATOR_EMAIL, OPERATOR_PASSWORD,
SCHEDULE_INTERVAL_SECONDS (60), STREAM_POLL_SECONDS (0.5).

The app sees the `local` stage's environment from .chalice/config.json, as `chalice local` would
give it, with the runner's values on top (see `app_environment`).
"""
from __future__ import annotations

import contextlib
import functools
import importlib.util
import json
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chalice.app import Chalice
from chalice.cli.factory import CLIFactory
from chalice.config import Config
from chalice.deploy.validate import validate_routes
from chalice.local import ChaliceRequestHandler, ForbiddenError, LocalDevServer, LocalGatewayException

from infra.local import dynamodb_local, faults
from infra.local.scheduler import Scheduler
from infra.local.streams import StreamPoller, dynamodb_handlers, table_for

ROOT = Path(__file__).resolve().parents[2]
STAGE = "local"
TABLE_PREFIX = "escrowdesk-local-"
DEFAULT_REGION = "eu-central-1"
# Never let a shell's real AWS identity reach the local stage.
FOREIGN_AWS_VARIABLES = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")

log = logging.getLogger("escrowdesk.local")


@dataclass(frozen=True)
class Options:
    host: str
    port: int
    dynamodb_port: int
    clock_file: Path
    mail_sink_dir: Path
    operator_email: str
    operator_password: str
    schedule_interval: float
    stream_poll_interval: float
    faults: dict[str, float]

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Options:
        return cls(
            host=env.get("HOST") or "127.0.0.1",
            port=int(env.get("PORT") or 8000),
            dynamodb_port=int(env.get("DYNAMODB_PORT") or dynamodb_local.DEFAULT_PORT),
            clock_file=ROOT / (env.get("CLOCK_FILE") or "var/clock.json"),
            mail_sink_dir=ROOT / (env.get("MAIL_SINK_DIR") or "var/mail"),
            operator_email=env.get("OPERATOR_EMAIL") or "operator@escrowdesk.local",
            operator_password=env.get("OPERATOR_PASSWORD") or "local-operator-pass",
            schedule_interval=float(env.get("SCHEDULE_INTERVAL_SECONDS") or 60),
            stream_poll_interval=float(env.get("STREAM_POLL_SECONDS") or 0.5),
            faults=faults.parse(env.get("LOCAL_FAULTS") or ""),
        )

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.port}"


def app_environment(options: Options, dynamodb_endpoint: str, stage_env: Mapping[str, str],
                    inherited: Mapping[str, str]) -> dict[str, str]:
    """The stage's variables from config.json, then the runner's, which always win."""
    region = stage_env.get("AWS_REGION") or inherited.get("AWS_REGION") or inherited.get("AWS_DEFAULT_REGION")
    region = region or DEFAULT_REGION
    return {
        **stage_env,
        "STAGE": STAGE,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "DYNAMODB_HOST": dynamodb_endpoint,
        "TABLE_PREFIX": TABLE_PREFIX,
        "CLOCK_FILE": str(options.clock_file),
        "MAIL_TRANSPORT": "sink",
        "MAIL_SINK_DIR": str(options.mail_sink_dir),
        "APP_URL": options.api_url,  # links in e-mail open the pages on the port this stage serves
        "AWS_CHALICE_CLI_MODE": "true",
    }


def main() -> int:
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(message)s")
    for chatty in ("botocore", "pynamodb"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    for signum in (signal.SIGINT, signal.SIGTERM):  # also when started in the background, SIGINT ignored
        signal.signal(signum, _interrupt)
    options = Options.from_env(os.environ)
    try:
        with contextlib.ExitStack() as stack:
            _run(options, stack)
    except KeyboardInterrupt:
        pass
    except (RuntimeError, FileNotFoundError) as error:
        print(f"escrowdesk local: {error}", file=sys.stderr)
        return 1
    print("escrowdesk local: stopped", flush=True)
    return 0


def _run(options: Options, stack: contextlib.ExitStack) -> None:
    """Start everything, each piece's shutdown registered on `stack`, and wait for a stop."""
    if dynamodb_local.port_in_use(options.port):
        raise RuntimeError(f"port {options.port} is taken (set PORT to use another)")
    ddb = stack.enter_context(dynamodb_local.running(options.dynamodb_port))
    config = _configure_environment(options, ddb.endpoint)
    _reset_state(options)
    streamed_tables = _create_tables(ddb.endpoint)
    has_operator = _create_operator(options)
    app = config.chalice_app  # imports app.py, which reads the environment set above
    validate_routes(app.routes)
    app.__class__ = _PerThreadChalice
    region = os.environ["AWS_REGION"]
    scheduler = Scheduler(app, region=region, stage=STAGE, interval=options.schedule_interval)
    pollers = _stream_pollers(app, ddb.endpoint, region, streamed_tables)
    for poller in pollers:
        poller.poll_once()  # take the stream positions before the API can write anything
    server = _bind_server(app, config, options)
    stack.callback(server.server.server_close)
    if any(options.faults.values()):
        stack.callback(faults.install(options.faults))
        stack.callback(lambda: print(f"escrowdesk local: faults injected: {dict(faults.injected)}", flush=True))
        log.info("LOCAL_FAULTS: %s", ", ".join(f"{kind} {rate:.0%}" for kind, rate in options.faults.items()))

    from infra.local import acquirer  # imports chalicelib: only once the environment above is set

    stop = threading.Event()
    workers = [
        _start_worker("api", server.server.serve_forever, stop, on_stop=server.shutdown),
        _start_worker("scheduler", functools.partial(scheduler.run, stop), stop),
        _start_worker("acquirer", functools.partial(acquirer.deliver_forever, options.api_url, stop), stop),
        *(_start_worker(f"stream {poller.table_name}",
                        functools.partial(poller.run, stop, options.stream_poll_interval), stop)
          for poller in pollers),
    ]
    stack.callback(_stop_workers, stop, workers)
    stack.callback(_ignore_signals)
    _print_banner(options, ddb.endpoint, scheduler, pollers, has_operator)
    stop.wait()


def _configure_environment(options: Options, dynamodb_endpoint: str) -> Config:
    """Put the app's environment into ours (before anything imports chalicelib) and return the stage config."""
    config = CLIFactory(str(ROOT)).create_config_obj(chalice_stage_name=STAGE)
    for name in FOREIGN_AWS_VARIABLES:
        os.environ.pop(name, None)
    os.environ.update(app_environment(options, dynamodb_endpoint, config.environment_variables, os.environ))
    return config


def _reset_state(options: Options) -> None:
    """A fresh database gets a fresh clock; the mail sink keeps earlier runs' mail."""
    options.clock_file.unlink(missing_ok=True)
    options.mail_sink_dir.mkdir(parents=True, exist_ok=True)


def _create_tables(endpoint: str) -> dict[str, str]:
    """Create every table; returns those with a stream, logical name → table name."""
    from chalicelib.store import tables

    tables.create_tables(endpoint_url=endpoint, region=os.environ["AWS_REGION"], prefix=TABLE_PREFIX)
    streamed = {}
    for resource in tables.load_template()["Resources"].values():
        props = resource["Properties"]
        if props.get("StreamSpecification"):
            logical = props["TableName"]["Fn::Sub"].removeprefix("${TablePrefix}")
            streamed[logical] = TABLE_PREFIX + logical
    return streamed


def _create_operator(options: Options) -> bool:
    """`python -m chalicelib.entrypoints.cli create-operator`, when the project has that command; True if it ran."""
    if importlib.util.find_spec("chalicelib.entrypoints.cli") is None:
        return False
    result = subprocess.run(
        [sys.executable, "-m", "chalicelib.entrypoints.cli", "create-operator",
         "--email", options.operator_email, "--password", options.operator_password],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )
    output = result.stdout + result.stderr
    if result.returncode != 0 and "already exists" not in output.lower():
        raise RuntimeError(f"create-operator failed ({result.returncode}):\n{output}")
    return True


def _stream_pollers(app: Chalice, endpoint: str, region: str, streamed_tables: dict[str, str]) -> list[StreamPoller]:
    return [
        StreamPoller(
            endpoint_url=endpoint,
            region=region,
            table_name=table_for(source.stream_arn, streamed_tables),
            handler=handler,
            function_name=f"{app.app_name}-{STAGE}-{source.name}",
            batch_size=source.batch_size,
            starting_position=source.starting_position,
        )
        for source, handler in dynamodb_handlers(app)
    ]


def _per_thread(name: str) -> Any:
    """An attribute whose value each thread keeps for itself."""
    return property(lambda self: getattr(self._thread_state, name, None),
                    lambda self, value: setattr(self._thread_state, name, value))


class _PerThreadChalice(Chalice):
    """The app with its current request (and Lambda context) kept per thread.

    Chalice keeps `current_request` on the app object, which is right on Lambda (one request per
    process at a time) but not on the local server, which serves each request on its own thread:
    two concurrent requests would read each other's body and token. The bank workload found that
    (an invoice created for the wrong client, a webhook answered with another event's result)."""

    _thread_state = threading.local()
    current_request = _per_thread("request")
    lambda_context = _per_thread("context")


class _RequestHandler(ChaliceRequestHandler):
    """chalice's local handler, answering in the API's error shape where chalice or http.server would
    not: an unknown path is a 404 (chalice says 403 "Missing Authentication Token", or echoes a bearer
    token back in its message, as API Gateway would without the stack's gateway responses), and the
    methods no route has (HEAD, OPTIONS, TRACE, CONNECT, any other) a 405, where http.server would send
    its own 501 page. The app itself answers a path's other methods (GET, POST, PUT, PATCH, DELETE)."""

    def handle(self) -> None:
        faults.serving(True)  # LOCAL_FAULTS apply to this thread's DynamoDB calls, and only to API threads
        try:
            super().handle()
        except (BrokenPipeError, ConnectionResetError):
            # The caller gave up (a client's timeout) before the answer was written: the request has run, and
            # a traceback per dropped answer would bury the log a person reads.
            self.close_connection = True

    def _send_json_error(self, status: int, code: str, message: str) -> None:
        body = json.dumps({"error": {"code": code, "message": message}}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_error_response(self, error: LocalGatewayException) -> None:  # the body was read already
        if isinstance(error, ForbiddenError):  # no route matched the path (we have no authorizers)
            self._send_json_error(404, "not_found", "No such route")
        else:
            super()._send_error_response(error)

    def _refuse_method(self) -> None:
        self._parse_payload()  # read the body it came with, or it would be read as the next request
        self._send_json_error(405, "method_not_allowed", f"{self.command} is not served")

    do_HEAD = do_OPTIONS = _refuse_method

    def __getattr__(self, name: str) -> Any:
        if name.startswith("do_"):  # TRACE, CONNECT, QUERY, anything else http.server would 501
            return self._refuse_method
        raise AttributeError(name)


def _bind_server(app: Chalice, config: Config, options: Options) -> LocalDevServer:
    try:
        return LocalDevServer(app, config, options.host, options.port, handler_cls=_RequestHandler)
    except OSError as error:
        raise RuntimeError(f"cannot serve on {options.api_url}: {error}") from error


def _start_worker(name: str, target: Callable[[], Any], stop: threading.Event,
                  on_stop: Callable[[], None] | None = None) -> tuple[threading.Thread, Callable[[], None] | None]:
    """Run `target` in a daemon thread; if it ever returns or fails, the whole stack stops."""
    def body() -> None:
        try:
            target()
        except Exception:
            log.exception("%s stopped unexpectedly", name)
        finally:
            stop.set()

    thread = threading.Thread(target=body, name=name, daemon=True)
    thread.start()
    return thread, on_stop


def _stop_workers(stop: threading.Event, workers: list[tuple[threading.Thread, Callable[[], None] | None]]) -> None:
    stop.set()
    print("escrowdesk local: stopping", flush=True)
    for thread, on_stop in workers:
        if on_stop is not None and thread.is_alive():
            on_stop()
        thread.join(timeout=10)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _ignore_signals() -> None:
    """Once shutting down, a second Ctrl-C must not cut the cleanup short."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def _print_banner(options: Options, dynamodb_endpoint: str, scheduler: Scheduler,
                  pollers: list[StreamPoller], has_operator: bool) -> None:
    operator = (f"{options.operator_email} / {options.operator_password}" if has_operator
                else "none (no chalicelib.entrypoints.cli)")
    schedules = ", ".join(scheduler.handlers) or "none"
    streams = ", ".join(f"{p.table_name} -> {p.function_name}" for p in pollers) or "none"
    lines = [
        "",
        "escrowdesk local stage is up",
        f"  API         {options.api_url}/",
        f"  OpenAPI     {options.api_url}/openapi.json",
        f"  Mail sink   {options.mail_sink_dir / 'index.html'}",
        f"  Clock       {options.clock_file}  (POST /dev/clock moves it, POST /dev/jobs/run runs the jobs)",
        "  Acquirer    the local fake: python -m infra.local.acquirer pay|fail|refund <payment_id>,",
        "              refuse-next|timeout-next <card token or site id>",
        f"  DynamoDB    {dynamodb_endpoint}  (in memory, tables {TABLE_PREFIX}*)",
        f"  Operator    {operator}",
        f"  Schedules   {schedules}, every {options.schedule_interval:g} s",
        f"  Streams     {streams}",
        "Ctrl-C stops everything.",
        "",
    ]
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    sys.exit(main())

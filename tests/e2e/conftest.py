"""The end-to-end suite runs the real local stage (`python -m infra.local.runner`, what `make run`
starts) as a child process on free ports, with its clock file and mail sink in a temporary folder,
and talks to it over HTTP. The schedule is set to an hour so that only the stream sends e-mail.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from infra.local import dynamodb_local

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 120


@dataclass
class Stack:
    process: subprocess.Popen
    url: str
    port: int
    dynamodb_port: int
    mail_dir: Path
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def children(self) -> dict[int, str]:
        """The runner's child processes, pid → command name, read from /proc."""
        found = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                pid, rest = stat.read_text().split(" (", 1)
                name, fields = rest.rsplit(") ", 1)
            except (OSError, ValueError):
                continue
            if int(fields.split()[1]) == self.process.pid:
                found[int(pid)] = name
        return found

    def stop(self, sig: signal.Signals, timeout: float = 30) -> int:
        """Send `sig` to the runner alone (as `kill` would) and wait for it to exit."""
        self.process.send_signal(sig)
        return self.process.wait(timeout)


def start_stack(folder: Path, *, port: int | None = None, dynamodb_port: int | None = None,
                extra_env: dict[str, str] | None = None) -> Stack:
    folder.mkdir(parents=True, exist_ok=True)
    port = port or dynamodb_local.free_port()
    dynamodb_port = dynamodb_port or dynamodb_local.free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "DYNAMODB_PORT": str(dynamodb_port),
        "CLOCK_FILE": str(folder / "clock.json"),
        "MAIL_SINK_DIR": str(folder / "mail"),
        "ACQUIRER_LOCAL_DIR": str(folder / "acquirer"),
        "SCHEDULE_INTERVAL_SECONDS": "3600",
        "PYTHONUNBUFFERED": "1",
        **(extra_env or {}),
    }
    log_path = folder / "runner.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "infra.local.runner"], cwd=ROOT, env=env,
                                   stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    stack = Stack(process, f"http://127.0.0.1:{port}", port, dynamodb_port, folder / "mail", log_path)
    try:
        _wait_for_api(stack)
    except BaseException:
        _kill(stack)
        raise
    return stack


def _wait_for_api(stack: Stack) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if stack.process.poll() is not None:
            pytest.fail(f"the runner exited with {stack.process.returncode}:\n{stack.log()}")
        try:
            if requests.get(f"{stack.url}/openapi.json", timeout=2).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):  # not up yet, or a loaded machine's first answer
            pass
        time.sleep(0.25)
    pytest.fail(f"the API did not come up in {START_TIMEOUT_S} s:\n{stack.log()}")


def _kill(stack: Stack) -> None:
    """Stop a runner a test left running: politely, then its whole process group."""
    if stack.process.poll() is not None:
        return
    stack.process.send_signal(signal.SIGINT)
    try:
        stack.process.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(stack.process.pid, signal.SIGKILL)
        stack.process.wait()


@pytest.fixture(scope="module")
def start_local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Stack]]:
    """Starts stacks (`start_local_stack(port=..., dynamodb_port=...)`); any still running at the end are stopped."""
    started: list[Stack] = []

    def start(**options) -> Stack:
        started.append(start_stack(tmp_path_factory.mktemp("local-stack"), **options))
        return started[-1]

    yield start
    for stack in started:
        _kill(stack)


@pytest.fixture(scope="module")
def local_stack(start_local_stack: Callable[..., Stack]) -> Stack:
    return start_local_stack()


CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser() -> Iterator:
    """A fresh headless Chromium (Debian's, driven by Playwright: nothing downloaded) with its own profile folder,
    for one module's tests."""
    if not CHROMIUM.exists():
        pytest.fail("chromium is missing: run `make browser` (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="escrowdesk-chromium-")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=str(CHROMIUM), headless=True, args=FLAGS, locale="en-US")
        context.set_default_timeout(20_000)
        try:
            yield context
        finally:
            _close(context, profile)
    shutil.rmtree(profile, ignore_errors=True)


BROWSER_CLOSE_S = 60


def _close(context, profile: str) -> None:  # type: ignore[no-untyped-def]
    """Close the module's browser; one still open after a minute (a hung renderer) is killed, so that a run never
    waits on it: closing is the one Playwright call without a timeout of its own."""
    from playwright.sync_api import Error

    watchdog = threading.Timer(BROWSER_CLOSE_S, _kill_browser, (profile,))
    watchdog.start()
    try:
        context.close()
    except Error as error:  # killed: the connection went with the process
        print(f"chromium did not close within {BROWSER_CLOSE_S} s and was killed: {error}", file=sys.stderr)
    finally:
        watchdog.cancel()


def _kill_browser(profile: str) -> None:
    """SIGKILL every process of the browser started with this profile folder."""
    marker = f"--user-data-dir={profile}".encode()
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and marker in (entry / "cmdline").read_bytes():
                os.kill(int(entry.name), signal.SIGKILL)
        except OSError:  # gone meanwhile
            continue


SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
WIDTHS = (360, 1280)


@pytest.fixture(scope="session")
def check_page() -> Callable[..., None]:
    """`check_page(page, "billing-site-fa")`: no serious or critical axe-core violation on the page as it is, no
    sideways scrolling at 360 px and 1280 px, and a screenshot at each width in build/screenshots/ for a person to
    look at. axe-core comes from node_modules (`make install`), or from AXE_CORE_JS."""
    path = Path(os.environ.get("AXE_CORE_JS") or Path(__file__).resolve().parents[2] / "node_modules" / "axe-core"
                / "axe.min.js")
    if not path.exists():
        pytest.fail(f"axe-core is missing at {path}: run `make install` (npm ci), or set AXE_CORE_JS")
    axe = path.read_text(encoding="utf-8")

    def check(page, name: str) -> None:  # type: ignore[no-untyped-def]
        page.evaluate(axe)  # through the DevTools protocol: the page's CSP allows no script of its own
        result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        bad = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"]
               if v["impact"] in ("serious", "critical")]
        assert bad == [], f"{name}: {bad}"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
            overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, f"{name} is wider than {width} px by {overflow} px"

    return check

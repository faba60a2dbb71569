"""Cold import time of app.py against the floor any DynamoDB Lambda pays, and against its dependencies alone.

Run from the repository root:

    python -m bench.import_time [--runs N]

1. Each configuration is a stage's environment as a function sees it: the `prod` stage's variables from
   `.chalice/config.json`, the ones the stack sets (placeholder secrets, the timer queue), Lambda's own
   (`AWS_LAMBDA_FUNCTION_NAME`, `LAMBDA_TASK_ROOT`), tracing as deployed (Lambda's active tracing, no
   X-Ray SDK in the function); the same with `XRAY_SDK=true` (Powertools' Tracer, for comparison); and
   the local stage.
2. `python -X importtime -c "import app"` gives the import tree. The dependencies are the modules that
   our own modules (app, chalicelib.*) import directly, in that order; this includes imports made while
   our module bodies run.
3. Fresh interpreters then time, in turn, `import app`, the floor (`boto3`, `pynamodb.models`, `chalice`:
   what any Lambda on DynamoDB with Chalice imports), those direct dependencies alone, and all the
   dependencies the app imported at cold start before it loaded per-route ones lazily: every
   third-party module our code imports anywhere (at module level or inside a function, found in the
   source), plus the X-Ray SDK (Powertools' Tracer imports it), but not the PDF stack, which only the
   PDF routes ever loaded. Median of N runs each; all measure inside the process, so interpreter
   start-up is left out.
4. For the prod configuration the importtime tree also gives each of our modules' self time (its body,
   not its imports) and the dependencies each of them pulls in first.

Byte code goes to a scratch PYTHONPYCACHEPREFIX, warmed by a first untimed run, so the repository
gets no __pycache__ and every timed run reads compiled byte code.
Aims (from the issues): app's import at most 1.5x the floor's on the prod stage, and our own modules
adding at most 0.2x to what they import directly.

    python -m bench.import_time --bundle build/cloudformation/deployment.zip [--runs N]

times the bundle `make template` built, as Lambda loads it instead: unpacked (as /var/task), imported
by this interpreter with no site-packages and no byte code written (Lambda's task directory is
read-only), the prod stage's variables; `import app` and the floor, both from the bundle, once with the
byte code it ships and once with the bundle's `.pyc` files left out (what a bundle without byte code
costs: every module compiled at each cold start). Aims: app at most 1.5x the floor in each case, and
app with shipped byte code at most a third of app without.
"""
from __future__ import annotations

import argparse
import ast
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OURS = ("app", "chalicelib")
FLOOR = ("boto3", "pynamodb.models", "chalice")
MAX_FLOOR_RATIO = 1.5
MAX_DEPS_RATIO = 1.2
PDF_STACK = ("fpdf", "uharfbuzz", "num2words")  # loaded by the PDF routes only, today as before
INDIRECT = ("aws_xray_sdk.core",)  # Powertools' Tracer imports it when constructed
COMMON = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_REGION": "eu-central-1",
          "AWS_DEFAULT_REGION": "eu-central-1"}
# What the stack gives a deployed function instead of its secrets' values: each secret's ARN (infra/template.py).
SECRET_ARNS = {variable: f"arn:aws:secretsmanager:eu-central-1:123456789012:secret:escrowdesk-prod-{variable.lower()}"
               for variable in ("JWT_SECRET_ARN", "BANK_WEBHOOK_SECRET_ARN", "ACQUIRER_WEBHOOK_SECRET_ARN",
                                "TOTP_ENCRYPTION_KEY_ARN")}
ON_LAMBDA = {  # what Lambda and the stack (infra/template.py) add to the stage's own variables
    "AWS_LAMBDA_FUNCTION_NAME": "escrowdesk-prod-APIHandler", "LAMBDA_TASK_ROOT": str(ROOT),
    "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13", **SECRET_ARNS,
    "BANK_PAYOUT_URL": "https://bank.example/payouts", "APP_URL": "https://api.example",
    "MAIL_FROM": "escrowdesk <no-reply@example.com>", "FILES_BUCKET": "bench-files",
    "TIMER_QUEUE_URL": "https://sqs.eu-central-1.amazonaws.com/000000000000/bench-timers",
}
TIMED = """
import importlib, sys, time
modules = sys.argv[1:]
start = time.perf_counter()
for name in modules:
    try:
        importlib.import_module(name)
    except ImportError:  # tried and missed by the app too (e.g. the X-Ray SDK's patches for absent libraries)
        pass
print(time.perf_counter() - start)
"""


def stage_variables(stage: str) -> dict[str, str]:
    """The variables `.chalice/config.json` gives a stage's functions."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text(encoding="utf-8"))
    return {**config.get("environment_variables", {}), **config["stages"][stage].get("environment_variables", {})}


def configurations() -> dict[str, dict[str, str]]:
    prod = {**COMMON, **stage_variables("prod"), **ON_LAMBDA}
    return {
        "prod, as deployed (Lambda's active tracing, XRAY_SDK off)": prod,
        "prod with XRAY_SDK=true (Powertools' Tracer and the X-Ray SDK)": {**prod, "XRAY_SDK": "true"},
        "local": {**COMMON, **stage_variables("local"), "MAIL_TRANSPORT": "sink"},
    }


@dataclass
class Node:
    name: str
    self_us: int
    cumulative_us: int
    children: list[Node] = field(default_factory=list)

    @property
    def ours(self) -> bool:
        return is_ours(self.name)

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()


def is_ours(name: str) -> bool:
    return name.split(".")[0] in OURS


def environment(variables: dict[str, str], pycache: Path) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "POWERTOOLS_"))}
    env.update({**variables, "PYTHONPYCACHEPREFIX": str(pycache)})
    for name in ("PYTHONDONTWRITEBYTECODE", "DYNAMODB_HOST", "XRAY_SDK", "STAGE", "CLOCK_FILE"):
        if name not in variables:
            env.pop(name, None)
    return env


def import_tree(env: dict[str, str]) -> Node:
    """The `app` subtree of `python -X importtime -c "import app"`."""
    completed = subprocess.run([sys.executable, "-X", "importtime", "-c", "import app"], cwd=ROOT, env=env,
                               capture_output=True, text=True, check=True)
    return parse_tree(completed.stderr, "app")


def parse_tree(text: str, root: str) -> Node:
    """Rebuild the tree from importtime's lines (a module's line comes after its children's, one level deeper)."""
    pending: dict[int, list[Node]] = defaultdict(list)
    for line in text.splitlines():
        if not line.startswith("import time:") or "imported package" in line:
            continue
        head, cumulative_us, label = line.split("|", 2)
        self_us = head.removeprefix("import time:")
        depth = (len(label) - len(label.lstrip()) - 1) // 2
        node = Node(label.strip(), int(self_us), int(cumulative_us), pending.pop(depth + 1, []))
        pending[depth].append(node)
    roots = [node for node in pending[0] if node.name == root]
    if not roots:
        raise RuntimeError(f"`{root}` not found in the importtime output")
    return roots[-1]


def dependencies(tree: Node) -> list[str]:
    """Modules our modules import directly that are not ours, in import order."""
    found: dict[str, None] = {}
    for node in tree.walk():
        if node.ours:
            for child in node.children:
                if not child.ours:
                    found.setdefault(child.name)
    return list(found)


def all_dependencies() -> list[str]:
    """Every third-party module app.py and chalicelib/ import anywhere, but the PDF stack; and `INDIRECT`."""
    found: dict[str, None] = {}
    for path in [ROOT / "app.py", *sorted((ROOT / "chalicelib").rglob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                # `from stdnum import iban` imports a module; `from pydantic import BaseModel` misses, harmlessly
                names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in (*OURS, *PDF_STACK, "__future__") and top not in sys.stdlib_module_names:
                    found.setdefault(name)
    return [*found, *INDIRECT]


def time_import(modules: list[str], env: dict[str, str]) -> float:
    """Seconds a fresh interpreter takes to import `modules` in order."""
    completed = subprocess.run([sys.executable, "-c", TIMED, *modules], cwd=ROOT, env=env,
                               capture_output=True, text=True, check=True)
    return float(completed.stdout.strip().splitlines()[-1])


@dataclass
class Timings:
    """Seconds per fresh interpreter: app, the floor, the app's direct dependencies, all its dependencies."""

    app: list[float] = field(default_factory=list)
    floor: list[float] = field(default_factory=list)
    deps: list[float] = field(default_factory=list)
    everything: list[float] = field(default_factory=list)


def measure(deps: list[str], everything: list[str], env: dict[str, str], runs: int) -> Timings:
    """Alternate the four kinds of run so machine noise hits all alike."""
    timings = Timings()
    for _ in range(runs):
        timings.app.append(time_import(["app"], env))
        timings.floor.append(time_import(list(FLOOR), env))
        timings.deps.append(time_import(deps, env))
        timings.everything.append(time_import(everything, env))
    return timings


def own_modules(trees: list[Node]) -> list[tuple[str, float, float, str]]:
    """Our modules by median self time: (name, self ms, cumulative ms, heaviest dependency it imports first)."""
    selves: dict[str, list[int]] = defaultdict(list)
    cumulatives: dict[str, list[int]] = defaultdict(list)
    heaviest: dict[str, str] = {}
    for tree in trees:
        for node in tree.walk():
            if not node.ours:
                continue
            selves[node.name].append(node.self_us)
            cumulatives[node.name].append(node.cumulative_us)
            foreign = [child for child in node.children if not child.ours]
            if foreign and node.name not in heaviest:
                top = max(foreign, key=lambda child: child.cumulative_us)
                heaviest[node.name] = f"{top.name} {top.cumulative_us / 1000:.0f} ms"
    rows = [(name, statistics.median(values) / 1000, statistics.median(cumulatives[name]) / 1000,
             heaviest.get(name, "")) for name, values in selves.items()]
    return sorted(rows, key=lambda row: row[1], reverse=True)


def heavy_dependencies(trees: list[Node], limit: int = 10) -> list[tuple[str, str, float]]:
    """Which of our modules first pulls in which dependency, by the dependency's cumulative time."""
    costs: dict[tuple[str, str], list[int]] = defaultdict(list)
    for tree in trees:
        for node in tree.walk():
            if node.ours:
                for child in node.children:
                    if not child.ours:
                        costs[(node.name, child.name)].append(child.cumulative_us)
    rows = [(ours, dep, statistics.median(values) / 1000) for (ours, dep), values in costs.items()]
    return sorted(rows, key=lambda row: row[2], reverse=True)[:limit]


def _ms(values: list[float]) -> str:
    return (f"{statistics.median(values) * 1000:8.1f} ms   "
            f"(min {min(values) * 1000:.1f}, max {max(values) * 1000:.1f})")


def _verdict(ratio: float, aim: float) -> str:
    return f"aim <= {aim}x: " + ("ok" if ratio <= aim else "MISSED")


def summary(name: str, timings: Timings, deps: list[str], everything: list[str]) -> list[str]:
    app_ms = statistics.median(timings.app) * 1000
    floor_ratio = app_ms / (statistics.median(timings.floor) * 1000)
    deps_ms = statistics.median(timings.deps) * 1000
    all_ratio = app_ms / (statistics.median(timings.everything) * 1000)
    return [
        f"{name}:",
        f"  import app                                {_ms(timings.app)}",
        f"  {' + '.join(FLOOR):40}  {_ms(timings.floor)}   app / floor       {floor_ratio:5.2f}x  "
        f"{_verdict(floor_ratio, MAX_FLOOR_RATIO)}",
        f"  all {len(everything):3d} dependency modules (eager)  {_ms(timings.everything)}   "
        f"app / all deps    {all_ratio:5.2f}x",
        f"  the {len(deps):3d} it imports directly alone      {_ms(timings.deps)}   "
        f"app / direct deps {app_ms / deps_ms:5.2f}x  {_verdict(app_ms / deps_ms, MAX_DEPS_RATIO)}; "
        f"our own modules add {app_ms - deps_ms:.1f} ms",
    ]


def attribution(deps: list[str], trees: list[Node], top: int) -> list[str]:
    lines = [
        f"dependencies imported directly by our modules: {', '.join(deps)}",
        "",
        f"our modules by self time (median of {len(trees)} -X importtime runs; importtime inflates times):",
        f"  {'module':40} {'self ms':>8} {'cumul ms':>9}  heaviest dependency it imports first",
    ]
    for name, self_ms, cumulative_ms, heaviest in own_modules(trees)[:top]:
        lines.append(f"  {name:40} {self_ms:8.1f} {cumulative_ms:9.1f}  {heaviest}")
    lines += ["", "heaviest dependencies and the module of ours that first imports each:"]
    for ours, dep, cumulative_ms in heavy_dependencies(trees):
        lines.append(f"  {dep:40} {cumulative_ms:8.1f} ms  <- {ours}")
    return lines


MAX_SHIPPED_RATIO = 1 / 3


def time_bundle_import(modules: list[str], task: Path, env: dict[str, str]) -> float:
    """Seconds a fresh interpreter without site-packages takes to import `modules` from the unpacked bundle."""
    code = f"import sys; sys.path.insert(0, {str(task)!r})\n{TIMED}"
    completed = subprocess.run([sys._base_executable, "-S", "-c", code, *modules], cwd=task.parent, env=env,  # type: ignore[attr-defined]
                               capture_output=True, text=True, check=True)
    return float(completed.stdout.strip().splitlines()[-1])


def bundle_main(bundle: Path, runs: int) -> int:
    from infra.bundle import Sizes, unpack

    variables = {**COMMON, **stage_variables("prod"), **ON_LAMBDA, "PYTHONDONTWRITEBYTECODE": "1"}
    env = {"PATH": os.environ.get("PATH", ""), **variables}
    sizes = Sizes.of(bundle)
    timings: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory(prefix="escrowdesk-task-") as scratch:
        for kind, without in (("shipped byte code", ()), ("no byte code", (".pyc",))):
            task = Path(scratch) / "task"
            unpack(bundle, task, without=without)
            env["LAMBDA_TASK_ROOT"] = str(task)
            print(f"  {kind} ...", file=sys.stderr, flush=True)
            rows: dict[str, list[float]] = {"app": [], "floor": []}
            for _ in range(runs):  # alternate, so machine noise hits both alike
                rows["app"].append(time_bundle_import(["app"], task, env))
                rows["floor"].append(time_bundle_import(list(FLOOR), task, env))
            timings[kind] = rows
    lines = [f"cold import from the unpacked bundle {bundle} ({sizes.files} files, "
             f"{sizes.unpacked / 1e6:.1f} MB, {sizes.pyc} .pyc), median of {runs} fresh interpreters, no "
             "site-packages, no byte code written", ""]
    for kind, rows in timings.items():
        ratio = statistics.median(rows["app"]) / statistics.median(rows["floor"])
        lines += [f"{kind}:", f"  import app                                {_ms(rows['app'])}",
                  f"  {' + '.join(FLOOR):40}  {_ms(rows['floor'])}   app / floor {ratio:5.2f}x  "
                  f"{_verdict(ratio, MAX_FLOOR_RATIO)}", ""]
    shipped = statistics.median(timings["shipped byte code"]["app"])
    compiled = statistics.median(timings["no byte code"]["app"])
    lines.append(f"import app with shipped byte code / without: {shipped * 1000:.1f} ms / {compiled * 1000:.1f} ms "
                 f"= {shipped / compiled:.2f}  {_verdict(round(shipped / compiled, 2), round(MAX_SHIPPED_RATIO, 2))}")
    print("\n".join(lines))
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="timed interpreters per side (default 9)")
    parser.add_argument("--trees", type=int, default=3, help="-X importtime runs for attribution (default 3)")
    parser.add_argument("--top", type=int, default=10, help="own modules to list (default 10)")
    parser.add_argument("--bundle", type=Path, help="time this deployment.zip unpacked, as Lambda loads it")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.bundle:
        return bundle_main(args.bundle, args.runs)
    lines = [f"cold import, median of {args.runs} fresh interpreters per row (in-process, start-up excluded)", ""]
    first: tuple[list[str], list[Node]] | None = None
    with tempfile.TemporaryDirectory(prefix="escrowdesk-pycache-") as pycache:
        for name, variables in configurations().items():
            print(f"  {name} ...", file=sys.stderr, flush=True)
            env = environment(variables, Path(pycache))
            trees = [import_tree(env) for _ in range(args.trees + 1)][1:]  # the first run only compiles
            deps = dependencies(trees[0])
            everything = all_dependencies()
            for modules in (deps, list(FLOOR), everything):  # compile anything these reach that app did not
                time_import(modules, env)
            lines += [*summary(name, measure(deps, everything, env, args.runs), deps, everything), ""]
            first = first or (deps, trees)
    assert first is not None
    lines += ["prod, as deployed:", *attribution(*first, args.top)]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())

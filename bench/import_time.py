"""Cold import time of app.py against importing its dependencies alone.

Run from the repository root:

    python -m bench.import_time [--runs N]

1. `python -X importtime -c "import app"` gives the import tree. The dependencies are the modules
   that our own modules (app, chalicelib.*) import directly, in that order; this includes imports
   made while our module bodies run (e.g. Powertools' Tracer() importing aws_xray_sdk).
2. Fresh interpreters then time `import app` and, alternately, importing those dependencies alone
   (median of N runs each); both measure inside the process, so interpreter start-up is left out.
3. The importtime tree also gives each of our modules' self time (its body, not its imports) and the
   dependencies each of them pulls in first, to show where our own code spends import time.

Byte code goes to a scratch PYTHONPYCACHEPREFIX, warmed by a first untimed run, so the repository
gets no __pycache__ and every timed run reads compiled byte code.
Aim (from the issue): app's import at most 1.2x its dependencies'.
"""
from __future__ import annotations

import argparse
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
MAX_RATIO = 1.2
ENVIRONMENT = {  # what app.py reads at import, as on the local stage
    "STAGE": "local", "TABLE_PREFIX": "bench-", "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_REGION": "eu-central-1", "AWS_DEFAULT_REGION": "eu-central-1", "MAIL_TRANSPORT": "sink",
    "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_SERVICE_NAME": "escrowdesk",
    "POWERTOOLS_METRICS_NAMESPACE": "Escrowdesk",
}
TIMED = """
import importlib, sys, time
modules = sys.argv[1:]
start = time.perf_counter()
for name in modules:
    importlib.import_module(name)
print(time.perf_counter() - start)
"""


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


def environment(pycache: Path) -> dict[str, str]:
    env = {**os.environ, **ENVIRONMENT, "PYTHONPYCACHEPREFIX": str(pycache)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("DYNAMODB_HOST", None)
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


def time_import(modules: list[str], env: dict[str, str]) -> float:
    """Seconds a fresh interpreter takes to import `modules` in order."""
    completed = subprocess.run([sys.executable, "-c", TIMED, *modules], cwd=ROOT, env=env,
                               capture_output=True, text=True, check=True)
    return float(completed.stdout.strip().splitlines()[-1])


def measure(deps: list[str], env: dict[str, str], runs: int) -> tuple[list[float], list[float]]:
    """Alternate app and dependencies-only runs so machine noise hits both alike."""
    app_s, deps_s = [], []
    for _ in range(runs):
        app_s.append(time_import(["app"], env))
        deps_s.append(time_import(deps, env))
    return app_s, deps_s


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


def report(app_s: list[float], deps_s: list[float], deps: list[str], trees: list[Node], top: int) -> str:
    app_ms, deps_ms = statistics.median(app_s) * 1000, statistics.median(deps_s) * 1000
    ratio = app_ms / deps_ms
    verdict = "ok" if ratio <= MAX_RATIO else f"above the aim of {MAX_RATIO}x"
    lines = [
        f"cold import, median of {len(app_s)} fresh interpreters (in-process, start-up excluded):",
        f"  import app                    {app_ms:8.1f} ms   "
        f"(min {min(app_s) * 1000:.1f}, max {max(app_s) * 1000:.1f})",
        f"  its {len(deps):3d} dependencies alone  {deps_ms:8.1f} ms   "
        f"(min {min(deps_s) * 1000:.1f}, max {max(deps_s) * 1000:.1f})",
        f"  ratio                         {ratio:8.2f}x     {verdict}; our own code adds {app_ms - deps_ms:.1f} ms",
        "",
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
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="timed interpreters per side (default 7)")
    parser.add_argument("--trees", type=int, default=3, help="-X importtime runs for attribution (default 3)")
    parser.add_argument("--top", type=int, default=10, help="own modules to list (default 10)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="escrowdesk-pycache-") as pycache:
        env = environment(Path(pycache))
        trees = [import_tree(env) for _ in range(args.trees + 1)][1:]  # the first run only compiles
        deps = dependencies(trees[0])
        time_import(deps, env)  # compile anything the dependency list reaches differently
        app_s, deps_s = measure(deps, env, args.runs)
    print(report(app_s, deps_s, deps, trees, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())

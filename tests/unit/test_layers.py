"""The tree's layers, top to bottom: a module may import its own layer and the layers below it, never one above.
Every import counts, a function's lazy one and a type checker's too, so no shortcut up the stack hides.

Given every module of app.py and chalicelib/, when their imports are read, then none points upwards."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Top to bottom; a layer is the package prefixes of its modules.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("entrypoints", ("app", "chalicelib.entrypoints")),
    ("use cases", ("chalicelib.services",)),
    # the outside world is reached by use cases only: a process says what to ask, as data
    ("access and adapters", ("chalicelib.access", "chalicelib.adapters")),
    ("engine", ("chalicelib.engine", "chalicelib.processes")),
    ("notifications and documents", ("chalicelib.notify", "chalicelib.documents")),
    ("money core", ("chalicelib.money",)),
    ("storage", ("chalicelib.store",)),
    ("platform", ("chalicelib.platform", "chalicelib")),
)


def layer_of(module: str) -> int:
    matches = [(len(prefix), index) for index, (_, prefixes) in enumerate(LAYERS) for prefix in prefixes
               if module == prefix or module.startswith(prefix + ".")]
    assert matches, f"{module} belongs to no layer: add it to LAYERS"
    return max(matches)[1]


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every chalicelib module `path` imports; `from chalicelib.x import y` counts as `chalicelib.x.y` when y
    is a module of its own."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                is_module = any((ROOT / candidate.replace(".", "/")).with_suffix(suffix).exists()
                                for suffix in (".py", "")) and candidate.startswith("chalicelib")
                found.add(candidate if is_module else node.module)
    return {name for name in found if name == "app" or name.split(".")[0] == "chalicelib"}


def sources() -> list[Path]:
    return [ROOT / "app.py", *sorted((ROOT / "chalicelib").rglob("*.py"))]


def test_every_module_belongs_to_a_layer():
    for path in sources():
        layer_of(module_name(path))


def test_no_module_imports_a_layer_above_its_own():
    upward = []
    for path in sources():
        importer = module_name(path)
        for imported in sorted(imports(path)):
            if layer_of(imported) < layer_of(importer):
                upward.append(f"{importer} ({LAYERS[layer_of(importer)][0]}) imports {imported} "
                              f"({LAYERS[layer_of(imported)][0]})")
    assert upward == []


def test_the_check_sees_an_upward_import():
    """The test above would catch the engine reaching into a use case, or a process into an adapter."""
    assert layer_of("chalicelib.services.notifications") < layer_of("chalicelib.engine")
    assert layer_of("chalicelib.adapters.acquirer") < layer_of("chalicelib.processes.subscription")

"""The tables in README.md and docs/ that describe code, generated from the code so the docs cannot drift.

A generated section sits between two markers in a Markdown file:

    <!-- generated: transitions gig_order -->
    ...written by this module...
    <!-- end generated -->

and the marker names what goes in it:

  transitions <process>  a process of `chalicelib.processes.registry.PROCESSES`: its states (which hold money,
                         which end the deal, the timers each arms and when they fall due) and its transitions
                         (from, to, who, money, notification, limit, guard and other writes)
  settings               every field of `chalicelib.platform.config.Settings`: its environment variable(s) and
                         default, grouped under the comment that explains them
  emails                 every notification kind's e-mail class (`chalicelib.notify.preferences.KINDS`) and
                         whether it can be turned off
  errors                 every error code the code raises (a `DomainError` subclass called with a code, found
                         by reading chalicelib's source), with its HTTP status and the modules that raise it

`python -m tools.docs` (`make docs`) rewrites every section; `python -m tools.docs --check` lists the stale ones
and exits 1. tests/unit/test_docs.py runs the same check. The output depends on the source only — orders are
the code's own or sorted — so running it twice changes nothing.
"""
from __future__ import annotations

import ast
import functools
import inspect
import json
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CHALICELIB = ROOT / "chalicelib"
CONFIG = CHALICELIB / "platform" / "config.py"
SECTION = re.compile(r"(?P<open><!-- generated: (?P<spec>[^>]*?) -->\n)(?P<body>.*?)(?P<close><!-- end generated -->)",
                     re.S)


def documents() -> list[Path]:
    """Every Markdown file that may hold generated sections."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


@functools.cache  # the code does not change while this process runs
def render(spec: str) -> str:
    """The body of the section a marker names (without the markers)."""
    kind, _, argument = spec.strip().partition(" ")
    renderers: dict[str, Callable[[str], str]] = {
        "transitions": transitions,
        "settings": lambda _: settings(),
        "errors": lambda _: errors(),
        "emails": lambda _: emails(),
    }
    if kind not in renderers:
        raise ValueError(f"unknown generated section {spec!r}: one of {', '.join(renderers)}")
    return "\n" + renderers[kind](argument.strip()).rstrip("\n") + "\n\n"


def rewrite(text: str) -> str:
    return SECTION.sub(lambda match: match["open"] + render(match["spec"]) + match["close"], text)


def sections(text: str) -> list[str]:
    """The specs of the generated sections in `text`, in order."""
    return [match["spec"].strip() for match in SECTION.finditer(text)]


def stale() -> list[Path]:
    """The documents whose generated sections differ from what the code says now."""
    return [path for path in documents() if rewrite(path.read_text()) != path.read_text()]


def main(argv: list[str]) -> int:
    if argv == ["--check"]:
        behind = stale()
        for path in behind:
            print(f"{path.relative_to(ROOT)}: generated sections differ from the code; run make docs")
        return 1 if behind else 0
    if argv:
        print("usage: python -m tools.docs [--check]", file=sys.stderr)
        return 2
    for path in documents():
        text = path.read_text()
        fresh = rewrite(text)
        if fresh != text:
            path.write_text(fresh)
            print(f"rewrote {path.relative_to(ROOT)}")
    return 0


def _code(text: str) -> str:
    return f"`{text}`" if text else ""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


# --- processes ---------------------------------------------------------------------------------------------------


def _first_line(doc: str | None) -> str:
    return (doc or "").strip().split("\n\n")[0].replace("\n", " ")


def _function_source(function: Callable) -> tuple[ast.AST, str] | None:
    """The AST node of a function or lambda and its module's source, read from the file it was defined in."""
    try:
        path = inspect.getsourcefile(function)
    except TypeError:
        return None
    if path is None:
        return None
    source = Path(path).read_text()
    line = function.__code__.co_firstlineno
    wanted = (ast.Lambda,) if function.__name__ == "<lambda>" else (ast.FunctionDef,)
    nodes = [node for node in ast.walk(ast.parse(source)) if isinstance(node, wanted) and node.lineno == line
             and (isinstance(node, ast.Lambda) or node.name == function.__name__)]
    return (nodes[0], source) if len(nodes) == 1 else None


def describe_due(function: Callable) -> str:
    """When a timer falls due, as its code says: a lambda's or a one-line function's expression, else the
    function's docstring or name."""
    found = _function_source(function)
    if found is not None:
        node, _ = found
        if isinstance(node, ast.Lambda):
            return _code(ast.unparse(node.body))
        assert isinstance(node, ast.FunctionDef)
        doc = ast.get_docstring(node)
        body = node.body[1:] if doc else node.body
        if doc:
            return _first_line(doc)
        if len(body) == 1 and isinstance(body[0], ast.Return) and body[0].value is not None:
            return _code(ast.unparse(body[0].value))
    return f"see {_code(function.__name__)}"


def _name(function: Callable | None) -> str:
    return "" if function is None else _code(function.__name__)


def transitions(name: str) -> str:
    from chalicelib.processes.registry import PROCESSES

    if name not in PROCESSES:
        raise ValueError(f"no process {name!r}: one of {', '.join(sorted(PROCESSES))}")
    process = PROCESSES[name]
    order: list[str] = []
    for transition in process.transitions.values():
        for state in [*sorted(transition.source), transition.target]:
            if state is not None and state not in order:
                order.append(state)
    order += sorted(process.states - set(order))

    def states(names: frozenset[str]) -> str:
        return ", ".join(_code(state) for state in order if state in names)

    state_rows = []
    for state in order:
        timers = "; ".join(f"{_code(timer.fires)} at {describe_due(timer.due)}"
                           for timer in process.timers.get(state, ()))
        state_rows.append((_code(state), "yes" if state in process.holding else "",
                           "yes" if state in process.terminal else "", timers))

    rows = []
    for transition in process.transitions.values():
        who = ", ".join(sorted(transition.actors)) + (" (timer)" if process.timed(transition.name) else "")
        notification = _code(transition.notify or "") + (" + operators" if transition.notify_operators else "")
        also = [f"guard {_name(transition.guard)}" if transition.guard else "",
                f"writes {_name(transition.writes)}" if transition.writes else "",
                f"rating {_code(transition.contractor_score)}" if transition.contractor_score else ""]
        rows.append((_code(transition.name), states(transition.source),
                     _code(transition.target) if transition.target else "(stays)", who, _name(transition.money),
                     notification, "" if transition.limit is None else str(transition.limit),
                     "; ".join(part for part in also if part)))

    facts = [f"Process `{process.name}` (its deals are {process.noun}s); notifications go to "
             f"{' and '.join(process.parties)}"]
    if process.history_kept is not None:
        facts.append(f"it keeps its last {process.history_kept} steps")
    if process.prepare is not None:
        facts.append(f"timed transitions read {_name(process.prepare)} first")
    if process.after is not None:
        facts.append(f"after a timed transition commits, {_name(process.after)} says what to ask the outside world")
    return ("; ".join(facts) + ".\n\n"
            + _table(("state", "holds money", "ends the deal", "timers it arms (fires, due at)"), state_rows) + "\n"
            + _table(("transition", "from", "to", "who", "money", "notification", "limit", "also"), rows))


# --- settings ----------------------------------------------------------------------------------------------------

_ENV_READERS = {"_env", "_timezone", "_days", "_flag"}


@dataclass(frozen=True)
class Setting:
    attribute: str
    variables: tuple[str, ...]
    default: str
    group: str


def _env_calls(node: ast.AST) -> Iterator[ast.Call]:
    for call in ast.walk(node):
        if not isinstance(call, ast.Call) or not call.args or not isinstance(call.args[0], ast.Constant):
            continue
        func = call.func
        if (isinstance(func, ast.Name) and func.id in _ENV_READERS) or ast.unparse(func) == "os.environ.get":
            yield call


def _show(value: Any) -> str:
    if value is None or value == "":
        return "(empty)"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    return _code(text)


def _default(factory: ast.AST, functions: dict[str, ast.FunctionDef], namespace: dict[str, Any]) -> tuple[
        tuple[str, ...], str]:
    """The environment variables a field's default_factory reads, and the default it falls back to."""
    scope = functions[factory.id] if isinstance(factory, ast.Name) and factory.id in functions else factory
    calls = list(_env_calls(scope))
    variables = tuple(dict.fromkeys(str(call.args[0].value) for call in calls))  # type: ignore[attr-defined]
    default: Any = None
    for call in calls:  # the innermost literal default wins: `_env("A", _env("B", "x"))` falls back to "x"
        if len(call.args) > 1 and not any(True for _ in _env_calls(call.args[1])):
            # config.py's own expression (`str(5 * 2**20)`, `LOCAL_BANK_SECRET`) in config's namespace
            default = eval(compile(ast.Expression(call.args[1]), str(CONFIG), "eval"), namespace)
        elif isinstance(call.func, ast.Name) and call.func.id == "_flag":
            default = "false"
    if default is None:
        names = sorted({node.id for node in ast.walk(scope) if isinstance(node, ast.Name)
                        and node.id.startswith("DEFAULT_") and node.id in namespace})
        if names:
            value = namespace[names[0]]
            shown = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
            return variables, _code(shown) if len(shown) <= 80 else f"{_code(names[0])} in `config.py`"
    return variables, _show(default)


def read_settings() -> list[Setting]:
    """Every field of Settings, in its order, with the comment block above it (or the last one before it)."""
    from chalicelib.platform import config

    source = CONFIG.read_text()
    lines = source.splitlines()
    tree = ast.parse(source)
    functions = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    cls = next(node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == "Settings")
    found, group = [], ""
    for node in cls.body:
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
                and isinstance(node.value, ast.Call)):
            continue
        comment: list[str] = []
        line = node.lineno - 2
        while line >= 0 and lines[line].strip().startswith("#"):
            comment.insert(0, lines[line].strip().lstrip("#").strip())
            line -= 1
        if comment:
            group = " ".join(comment)
        factory = next((keyword.value for keyword in node.value.keywords if keyword.arg == "default_factory"), None)
        if factory is None:
            continue
        variables, default = _default(factory, functions, vars(config))
        found.append(Setting(node.target.id, variables, default, group))
    return found


def settings() -> str:
    out: list[str] = []
    group = None
    for setting in read_settings():
        if setting.group != group:
            group = setting.group
            out.append(("\n" if out else "") + (group or "Ungrouped settings.") + "\n")
        names = " (else ".join(_code(name) for name in setting.variables) + ")" * (len(setting.variables) - 1)
        out.append(f"- {names or '(no variable)'}: {setting.default} (`settings.{setting.attribute}`)")
    return "\n".join(out) + "\n"


# --- errors ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ErrorClass:
    status: int
    default_code: str
    code_index: int | None  # where the code sits among __init__'s positional arguments; None: always the default


def _sources() -> list[tuple[str, ast.Module]]:
    return [(path.relative_to(CHALICELIB).as_posix(), ast.parse(path.read_text()))
            for path in sorted(CHALICELIB.rglob("*.py"))]


def error_classes(modules: list[tuple[str, ast.Module]]) -> dict[str, ErrorClass]:
    """DomainError and its subclasses anywhere in chalicelib, with what each inherits."""
    defined = {node.name: node for _, tree in modules for node in ast.walk(tree) if isinstance(node, ast.ClassDef)}
    known: dict[str, ErrorClass] = {}
    changed = True
    while changed:
        changed = False
        for name, node in defined.items():
            bases = [base.id for base in node.bases if isinstance(base, ast.Name)]
            parent = next((known[base] for base in bases if base in known), None)
            if name in known or (name != "DomainError" and parent is None):
                continue
            status, code = (parent.status, parent.default_code) if parent else (400, "bad_request")
            index = parent.code_index if parent else 0
            for item in node.body:
                if isinstance(item, ast.Assign) and isinstance(item.value, ast.Constant):
                    for target in item.targets:
                        if isinstance(target, ast.Name) and target.id == "status":
                            status = int(str(item.value.value))
                        elif isinstance(target, ast.Name) and target.id == "default_code":
                            code = str(item.value.value)
                if isinstance(item, ast.FunctionDef) and item.name == "__init__":
                    names = [arg.arg for arg in item.args.args[1:]]
                    index = names.index("code") if "code" in names else None
            known[name] = ErrorClass(status, code, index)
            changed = True
    return known


def _called(call: ast.Call) -> str | None:
    return call.func.id if isinstance(call.func, ast.Name) else call.func.attr if isinstance(
        call.func, ast.Attribute) else None


def _calls(call: ast.Call, where: str, defined_in: str, name: str) -> bool:
    """Whether `call`, in module `where`, calls function `name` of module `defined_in`: by its bare name within
    that module, or as `<module>.name` elsewhere."""
    if isinstance(call.func, ast.Name):
        return call.func.id == name and where == defined_in
    return (isinstance(call.func, ast.Attribute) and call.func.attr == name and isinstance(call.func.value, ast.Name)
            and call.func.value.id == Path(defined_in).stem)


def _argument(call: ast.Call, index: int | None, name: str) -> ast.expr | None:
    if index is not None and len(call.args) > index and not isinstance(call.args[index], ast.Starred):
        return call.args[index]
    return next((keyword.value for keyword in call.keywords if keyword.arg == name), None)


def _parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


def _timed_notifications() -> list[str]:
    """The codes the engine refuses a late move with: the notification of the timed transition that decided it."""
    from chalicelib.processes.registry import PROCESSES

    return sorted({transition.notify for process in PROCESSES.values() for transition in process.transitions.values()
                   if transition.notify and process.timed(transition.name)})


def error_codes() -> dict[tuple[str, int], set[str]]:
    """(code, HTTP status) → the modules (relative to chalicelib) that raise it."""
    modules = _sources()
    classes = error_classes(modules)
    found: dict[tuple[str, int], set[str]] = {}
    # (module, function, its parameter index holding the code, status): a helper that takes the code as a parameter
    forwarded: list[tuple[str, str, int, int]] = []

    def add(code: str, status: int, where: str) -> None:
        found.setdefault((code, status), set()).add(where)

    for where, tree in modules:
        parents = _parents(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Name) and node.exc.id in classes:
                add(classes[node.exc.id].default_code, classes[node.exc.id].status, where)
            if not isinstance(node, ast.Call) or _called(node) not in classes:
                continue
            error = classes[str(_called(node))]
            argument = _argument(node, error.code_index, "code")
            if argument is None or (isinstance(argument, ast.Constant) and argument.value is None):
                add(error.default_code, error.status, where)
            elif isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                add(argument.value, error.status, where)
            elif isinstance(argument, ast.Attribute) and argument.attr == "notify" and where == "engine.py":
                for code in _timed_notifications():
                    add(code, error.status, where)
            elif isinstance(argument, ast.Name):
                function = parents.get(node)
                while function is not None and not isinstance(function, ast.FunctionDef):
                    function = parents.get(function)
                parameters = [arg.arg for arg in function.args.args] if function is not None else []
                if function is None or argument.id not in parameters:
                    add(f"(computed: {ast.unparse(argument)})", error.status, where)
                else:
                    forwarded.append((where, function.name, parameters.index(argument.id), error.status))
            else:
                add(f"(computed: {ast.unparse(argument)})", error.status, where)

    for defined_in, name, index, status in forwarded:  # its callers name the code
        for where, tree in modules:
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and _calls(node, where, defined_in, name):
                    argument = _argument(node, index, "code")
                    if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                        add(argument.value, status, where)
    return found


def errors() -> str:
    rows = [(_code(code) if not code.startswith("(") else code, str(status),
             ", ".join(_code(where) for where in sorted(modules)))
            for (code, status), modules in sorted(error_codes().items(), key=lambda item: (item[0][1], item[0][0]))]
    return _table(("code", "HTTP status", "raised in (under chalicelib/)"), rows)


# --- e-mails -----------------------------------------------------------------------------------------------------


def emails() -> str:
    from chalicelib.notify.preferences import CLASSES, KINDS

    rows = [(_code(group), CLASSES[group],
             ", ".join(_code(kind) for kind, mail in KINDS.items() if mail.group == group)) for group in CLASSES]
    return _table(("class", "e-mail", "kinds"), rows)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

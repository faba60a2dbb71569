"""The docs say what the code does, lead where they point, and explain rules rather than tickets.

- Given the tables generated from the code (`tools/docs.py`: transitions, settings, error codes), when the code
  changes, then the generated sections of README.md and docs/ must be rewritten (`make docs`).
- Given every relative link and `#anchor` in README.md and docs/, then its file exists and its anchor is a
  heading of that file (GitHub's slugs).
- Given the README, the docs, the code, the infrastructure, the benchmarks and the tests, then none names a
  tracker's issue number: a rule is explained by what it is, never by the ticket that brought it."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from tools import docs

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = docs.documents()
INLINE_LINK = re.compile(r"(?<!!)\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
ISSUE_NUMBER = re.compile(r"\bissues? #?\d+\b", re.IGNORECASE)


@pytest.fixture(autouse=True)
def store():
    """These tests read files and code, not tables: no fresh moto store per test."""
    yield None


def _prose(text: str) -> str:
    """The Markdown outside fenced code blocks and code spans, where links are links."""
    text = re.sub(r"^(```|~~~).*?^\1[^\n]*$", "", text, flags=re.S | re.M)
    return re.sub(r"(`+)(?:(?!\1).)+?\1", "", text)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: its rendered text in lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link reads as its text
    text = re.sub(r"[`*_~]|<[^>]+>", lambda m: "_" if m.group() == "_" else "", text)
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    found: set[str] = set()
    seen: dict[str, int] = {}
    text = re.sub(r"^(```|~~~).*?^\1[^\n]*$", "", path.read_text(), flags=re.S | re.M)
    for line in text.splitlines():
        match = HEADING.match(line)
        if match:
            base = slug(match[2])
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
    found |= set(re.findall(r"<a (?:name|id)=\"([^\"]+)\"", text))
    return found


def links(path: Path) -> list[str]:
    return INLINE_LINK.findall(_prose(path.read_text()))


def test_the_docs_folder_holds_a_file_per_topic():
    assert (ROOT / "docs").is_dir()
    for topic in ("architecture", "deals", "billing", "api", "pages", "languages", "operations", "security",
                  "performance", "development"):
        assert (ROOT / "docs" / f"{topic}.md").is_file(), topic


def test_the_readme_stays_short():
    assert len((ROOT / "README.md").read_text().splitlines()) <= 260


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda path: path.name)
def test_generated_sections_match_the_code(path):
    text = path.read_text()
    assert docs.rewrite(text) == text, f"{path.relative_to(ROOT)} is behind the code: run make docs"


def test_every_table_that_describes_code_is_generated_somewhere():
    from chalicelib.processes.registry import PROCESSES

    specs = {spec for path in DOCUMENTS for spec in docs.sections(path.read_text())}
    wanted = {f"transitions {name}" for name in PROCESSES} | {"settings", "errors"}
    assert wanted <= specs, f"no generated section for {sorted(wanted - specs)}"


def test_generating_twice_changes_nothing():
    for path in DOCUMENTS:
        once = docs.rewrite(path.read_text())
        assert docs.rewrite(once) == once


def test_a_generated_section_is_rewritten_from_the_code():
    stale = "<!-- generated: transitions custom_offer -->\nan old table\n<!-- end generated -->\n"
    fresh = docs.rewrite(stale)
    assert "an old table" not in fresh and "| `expire` | `pending` | `expired` | system (timer) |" in fresh
    with pytest.raises(ValueError):
        docs.render("no_such_table")


def test_error_codes_come_with_their_status():
    codes = docs.error_codes()
    assert ("insufficient_funds", 409) in codes and ("idempotency_conflict", 409) in codes
    assert ("too_many_attempts", 429) in codes  # named by the callers of the limits' helper
    assert ("order_auto_cancelled", 409) in codes  # the engine's refusal after a timer decided the deal
    assert not [code for code, _ in codes if code.startswith("(computed")], "a code the scan cannot name"


def test_settings_name_their_variables_and_defaults():
    by_attribute = {setting.attribute: setting for setting in docs.read_settings()}
    shards = by_attribute["timer_shards"]
    assert shards.variables == ("TIMER_SHARDS",) and shards.default == "`64`"
    assert by_attribute["region"].variables == ("AWS_REGION", "AWS_DEFAULT_REGION")
    assert all(setting.variables and setting.group for setting in by_attribute.values())


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda path: path.name)
def test_relative_links_and_anchors_resolve(path):
    broken = []
    for target in links(path):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):  # https:, mailto:
            continue
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            broken.append(f"{target}: no heading with that anchor in {linked.relative_to(ROOT)}")
    assert not broken, f"{path.relative_to(ROOT)}: " + "; ".join(broken)


def test_the_readme_maps_every_doc():
    readme_links = {(ROOT / target.partition("#")[0]).resolve() for target in links(ROOT / "README.md")}
    assert not [path.name for path in (ROOT / "docs").glob("*.md") if path.resolve() not in readme_links]


def test_slugs_follow_github():
    assert slug("Scale plan: 1,000 orders a second") == "scale-plan-1000-orders-a-second"
    assert slug("The `subscription` process") == "the-subscription-process"
    assert slug("Adding a language") == "adding-a-language"


def _scanned() -> list[Path]:
    files = [ROOT / "README.md", ROOT / "app.py", ROOT / "Makefile", *sorted((ROOT / "docs").glob("*.md"))]
    for folder, patterns in (("chalicelib", ("*.py", "*.j2", "*.po")), ("infra", ("*.py", "*.json")),
                             ("bench", ("*.py",)), ("tests", ("*.py",)), ("tools", ("*.py",))):
        for pattern in patterns:
            files += sorted((ROOT / folder).rglob(pattern))
    return [path for path in files if path.is_file()]


def test_no_issue_numbers_anywhere():
    found = [f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
             for path in _scanned() for number, line in enumerate(path.read_text().splitlines(), 1)
             if ISSUE_NUMBER.search(line)]
    assert not found, "explain the rule, not the ticket:\n" + "\n".join(found)

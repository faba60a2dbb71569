"""Rendering: one notification kind + locale + params → subject, plain text and HTML.

Templates live in `templates/<locale>/<kind>.{subject,txt,html}.j2`; every HTML body extends `templates/base.html.j2`,
which sets the language and the text direction. A kind exists when its English templates exist; a locale that lacks
any of a kind's three templates (or is not known at all) falls back to English as a whole, so one message never
mixes languages.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from babel.dates import format_date
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context

from chalicelib.clock import parse_iso
from chalicelib.money import format_amount

TEMPLATES_DIR = Path(__file__).parent / "templates"
DEFAULT_LOCALE = "en"
RTL_LOCALES = frozenset({"fa"})
PARTS = frozenset({"subject", "txt", "html"})


@dataclass(frozen=True)
class RenderedMessage:
    subject: str
    text: str
    html: str


@pass_context
def _money(context: Context, value: dict) -> str:
    """`{"amount": 150000, "currency": "USD"}` → `$1,500.00`, in the template's locale."""
    return format_amount(value["amount"], value["currency"], context["locale"])


@pass_context
def _date(context: Context, value: str) -> str:
    """ISO 8601 timestamp → a long date in the template's locale, e.g. `February 17, 2025`."""
    return format_date(parse_iso(value), format="long", locale=context["locale"])


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # templates ship with the code; skip a stat per lookup
    )
    env.filters["money"] = _money
    env.filters["date"] = _date
    return env


def _complete_locales(env: Environment) -> dict[str, frozenset[str]]:
    """kind → the locales that have all three of its templates."""
    parts: dict[tuple[str, str], set[str]] = defaultdict(set)
    for name in env.list_templates(filter_func=lambda name: name.count("/") == 1):
        locale, filename = name.split("/")
        kind, part, _ = filename.rsplit(".", 2)
        parts[(kind, locale)].add(part)
    locales: dict[str, set[str]] = defaultdict(set)
    for (kind, locale), found in parts.items():
        if found >= PARTS:
            locales[kind].add(locale)
    return {kind: frozenset(found) for kind, found in locales.items()}


_env = _environment()
_LOCALES_BY_KIND = _complete_locales(_env)
KINDS: frozenset[str] = frozenset(kind for kind, found in _LOCALES_BY_KIND.items() if DEFAULT_LOCALE in found)


def render(kind: str, locale: str, params: dict) -> RenderedMessage:
    """Render `kind` for a recipient; `params` always carries `name`, the recipient's display name."""
    locale, context = _context(kind, locale, params)
    subject, text = _summary(kind, locale, context)
    html = _render_part(kind, locale, "html", {**context, "subject": subject})
    return RenderedMessage(subject=subject, text=text, html=html)


def render_summary(kind: str, locale: str, params: dict) -> tuple[str, str]:
    """Subject and plain text only, for the in-cabinet feed (no HTML is needed there)."""
    locale, context = _context(kind, locale, params)
    return _summary(kind, locale, context)


def _context(kind: str, locale: str, params: dict) -> tuple[str, dict]:
    if kind not in KINDS:
        raise ValueError(f"no templates for notification kind {kind!r}")
    locale = _resolve_locale(kind, locale)
    return locale, {**params, "locale": locale, "direction": "rtl" if locale in RTL_LOCALES else "ltr"}


def _summary(kind: str, locale: str, context: dict) -> tuple[str, str]:
    subject = " ".join(_render_part(kind, locale, "subject", context).split())
    text = _render_part(kind, locale, "txt", context).strip() + "\n"
    return subject, text


def render_sink_index(messages: list[dict]) -> str:
    """The local mail sink's `index.html`; each message is a dict of sent_at, to, subject, eml, html."""
    return _env.get_template("sink_index.html.j2").render(messages=messages)


def _resolve_locale(kind: str, requested: str) -> str:
    """`ru`, `ru_RU` and `ru-RU` all mean ru; anything without a full set of templates means English."""
    language = requested.replace("_", "-").split("-")[0].lower()
    return language if language in _LOCALES_BY_KIND[kind] else DEFAULT_LOCALE


def _render_part(kind: str, locale: str, part: str, context: dict) -> str:
    return _env.get_template(f"{locale}/{kind}.{part}.j2").render(context)

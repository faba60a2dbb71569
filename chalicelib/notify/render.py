"""Rendering: one notification kind + locale + params → subject, plain text and HTML.

Each kind is one template, `templates/kinds/<kind>.html.j2`, shared by every locale: its words are msgids
in `{% trans %}` blocks, translated by the locale's gettext catalog (`chalicelib.platform.i18n`). A kind template
defines two blocks and extends `layouts/message.html.j2` (greeting, the call-to-action button, sign-off):

  subject   the subject line
  content   the body's paragraphs, in the small part of HTML that `htmltext` knows how to read as text

The body is rendered once, as HTML; the plain text is derived from it (`htmltext.html_to_text`), and the
e-mail's HTML document wraps it in `layouts/email.html.j2`, which sets the language and the direction.
Dates and moments read in the recipient's locale and time zone, billing months in words; money in babel's
format for the locale. Values set into a sentence keep their own direction (`bidi`).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape

from chalicelib.money.amounts import format_amount
from chalicelib.notify import bidi
from chalicelib.notify.htmltext import html_to_text
from chalicelib.notify.links import link_for
from chalicelib.platform import i18n
from chalicelib.platform.clock import parse_iso

TEMPLATES_DIR = Path(__file__).parent / "templates"
KINDS_DIR = "kinds"


@dataclass(frozen=True)
class RenderedMessage:
    subject: str
    text: str
    html: str
    headers: tuple[tuple[str, str], ...] = ()  # extra header fields, e.g. List-Unsubscribe


def render(kind: str, locale: str, params: dict, *, timezone: str | None = None) -> RenderedMessage:
    """Render `kind` for a recipient; `params` always carries `name`, the recipient's display name.

    Times show in `timezone` (an IANA name; else `params["timezone"]`, else the locale's marketplace's)."""
    template, context = _prepare(kind, locale, params, timezone)
    subject = _subject(template, context)
    body = template.render(context)
    html = _environment(context["locale"]).get_template("layouts/email.html.j2").render(
        {**context, "subject": subject, "body": Markup(body)})
    return RenderedMessage(subject=subject, text=html_to_text(body), html=html)


def render_summary(kind: str, locale: str, params: dict, *, timezone: str | None = None) -> tuple[str, str]:
    """Subject and plain text only, for the in-cabinet feed."""
    template, context = _prepare(kind, locale, params, timezone)
    return _subject(template, context), html_to_text(template.render(context))


def render_sink_index(messages: list[dict]) -> str:
    """The local mail sink's `index.html`; each message is a dict of sent_at, to, subject, eml, html."""
    return _environment(i18n.DEFAULT_LOCALE).get_template("sink_index.html.j2").render(messages=messages)


def _prepare(kind: str, locale: str, params: dict, timezone: str | None) -> tuple[Template, dict]:
    if kind not in KINDS:
        raise ValueError(f"no template for notification kind {kind!r}")
    locale = i18n.resolve_locale(locale)
    link = link_for(kind, params)
    context = {
        **params, "locale": locale, "direction": "rtl" if i18n.is_rtl(locale) else "ltr",
        "zone": i18n.zone_for(timezone or params.get("timezone"), locale),
        "action_url": link.url, "action_label": i18n.translations(locale).gettext(link.label),
    }
    return _environment(locale).get_template(f"{KINDS_DIR}/{kind}.html.j2"), context


def _subject(template: Template, context: dict) -> str:
    html = "".join(template.blocks["subject"](template.new_context(context)))
    return " ".join(html_to_text(html).split())


# --- filters: how values read in the template's locale and zone ----------------------------------------------------

@pass_context
def _money(context: Context, value: dict) -> str:
    """`{"amount": 150000, "currency": "USD"}` → `$1,500.00`, in the template's locale."""
    return format_amount(value["amount"], value["currency"], context["locale"])


@pass_context
def _date(context: Context, value: str) -> str:
    """ISO 8601 timestamp → the day it is for the reader, e.g. `February 17, 2025`, `۲۹ بهمن ۱۴۰۳`."""
    return i18n.format_date(parse_iso(value), context["locale"], context["zone"])


@pass_context
def _month(context: Context, value: str) -> str:
    """A billing month, `2026-11` → `November 2026`, `листопад 2026`; in Persian with its Solar Hijri days."""
    return i18n.format_month(value, context["locale"])


@pass_context
def _moment(context: Context, value: str) -> str:
    """ISO 8601 timestamp → the day and time for the reader, his zone named (deadlines)."""
    return i18n.format_datetime(parse_iso(value), context["locale"], context["zone"])


def _strong(value: object) -> Markup:
    return Markup("<strong>%s</strong>") % value


def _quote(value: object) -> Markup:
    """Someone's own words (a message, a reason), shown as written: line breaks kept, never translated."""
    return Markup(
        '<blockquote dir="auto" style="margin:0 0 16px;padding:12px 16px;background:#f4f5f7;border-radius:6px;'
        'white-space:pre-wrap;">%s</blockquote>') % escape(value)


@functools.cache
def _environment(locale: str) -> Environment:
    """One environment per locale, its catalog installed (gettext globals are per environment)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # templates ship with the code; skip a stat per lookup
        extensions=["jinja2.ext.i18n"],
    )
    # Whitespace inside {% trans %} collapses, as in the msgids `pybabel extract` finds (babel.cfg: trimmed).
    env.policies["ext.i18n.trimmed"] = True
    # Values set into a sentence keep their own direction (`<bdi>`; isolates in the text read from it).
    bidi.install_gettext(env, i18n.translations(locale), i18n.is_rtl(locale))
    env.filters.update(money=_money, date=_date, month=_month, moment=_moment, strong=_strong, quote=_quote)
    return env


def _kinds() -> frozenset[str]:
    return frozenset(path.name.removesuffix(".html.j2") for path in (TEMPLATES_DIR / KINDS_DIR).glob("*.html.j2"))


KINDS: frozenset[str] = _kinds()

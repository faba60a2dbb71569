"""Rendering a page: jinja2 with the i18n extension over the e-mails' gettext catalogs, imported on first
use so that the API's cold start does not pay for it."""
from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chalicelib.platform import i18n
from chalicelib.platform.config import LOCALES

if TYPE_CHECKING:
    from jinja2 import Environment

TEMPLATES_DIR = Path(__file__).parent / "templates"
# Each language named in itself, for the page's language switch.
LANGUAGE_NAMES = {"en": "English", "ru": "Русский", "uk": "Українська", "fa": "فارسی"}


@functools.cache
def _environment(locale: str) -> Environment:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined
    from markupsafe import escape

    from chalicelib.notify import bidi
    from chalicelib.notify.htmltext import html_to_text

    env = Environment(loader=FileSystemLoader(TEMPLATES_DIR), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True, auto_reload=False, extensions=["jinja2.ext.i18n"])
    env.policies["ext.i18n.trimmed"] = True
    # Values set into a sentence keep their own direction (`<bdi>`); the <title> reads them as text.
    bidi.install_gettext(env, i18n.translations(locale), i18n.is_rtl(locale))
    env.filters["as_text"] = lambda html: escape(" ".join(html_to_text(html).split()))
    return env


def page(template: str, locale: str, **context: Any) -> str:
    locale = i18n.resolve_locale(locale)
    from chalicelib.entrypoints.web.assets import stylesheet_url

    languages = [(code, LANGUAGE_NAMES.get(code, code)) for code in LOCALES]
    return _environment(locale).get_template(template).render(
        locale=locale, direction="rtl" if i18n.is_rtl(locale) else "ltr", languages=languages,
        stylesheet=stylesheet_url(), **context)


def translate(locale: str, message: str) -> str:
    return i18n.translations(i18n.resolve_locale(locale)).gettext(message)

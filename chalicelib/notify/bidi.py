"""Values of another direction inside a text: a name, an address, an IBAN or a number with punctuation set
into a sentence keeps its own reading order.

The Unicode bidi algorithm gives the neutral characters at the edges of a value (guillemets, the comma after
a postcode, the dash of a range) the paragraph's direction, so "01001, м. Київ" in a Persian line reads
"м. Київ ,01001". A value is therefore isolated from its sentence: with the Unicode isolates (LRI/RLI …
PDI) in PDFs and plain text, with `<bdi>` in HTML. Only values that need it are isolated: in a
right-to-left text anything but right-to-left letters, digits and spaces; in a left-to-right text anything
holding a right-to-left letter. Shared by e-mails, pages (their gettext installed here) and the PDFs.
"""
from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from markupsafe import Markup, escape

if TYPE_CHECKING:
    from babel.support import NullTranslations
    from jinja2 import Environment

LRI, RLI, FSI, PDI = "\u2066", "\u2067", "\u2068", "\u2069"
ISOLATES = frozenset((LRI, RLI, FSI, PDI))
_RTL_CLASSES = frozenset(("R", "AL"))
# What a right-to-left sentence takes as it is: its letters and marks, the zero-width joiners Persian words
# hold, digits (a lone number reads right in either direction) and spaces.
_AT_HOME_IN_RTL = frozenset(("R", "AL", "NSM", "BN", "EN", "AN", "WS"))


def direction(text: str) -> str | None:
    """"ltr" or "rtl" by the first strong character outside isolates (as FSI and `dir="auto"` decide), None
    without one."""
    for char in _outside_isolates(text):
        bidi_class = unicodedata.bidirectional(char)
        if bidi_class == "L":
            return "ltr"
        if bidi_class in _RTL_CLASSES:
            return "rtl"
    return None


def needs_isolation(text: str, rtl: bool) -> bool:
    """Whether `text` would be reordered by a sentence of that direction (its isolated parts are safe)."""
    classes = {unicodedata.bidirectional(char) for char in _outside_isolates(text)}
    return not classes <= _AT_HOME_IN_RTL if rtl else bool(classes & _RTL_CLASSES)


def _outside_isolates(text: str) -> Iterator[str]:
    depth = 0
    for char in text:
        if char in (LRI, RLI, FSI):
            depth += 1
        elif char == PDI:
            depth = max(depth - 1, 0)
        elif depth == 0:
            yield char


def isolate(value: object, rtl: bool) -> str:
    """`value` as text, between Unicode isolates when a text of that direction needs them."""
    text = str(value)
    if not needs_isolation(text, rtl):
        return text
    return f"{LRI if _own_direction(text, rtl) == 'ltr' else RLI}{text}{PDI}"


def fill(sentence: str, rtl: bool, **values: object) -> str:
    """A translated sentence with its `%(name)s` values put in, each isolated where it needs it."""
    return sentence % {name: isolate(value, rtl) for name, value in values.items()}


def without_isolates(text: str) -> str:
    return "".join(char for char in text if char not in ISOLATES)


def bdi(value: object, rtl: bool) -> Markup:
    """`value` for an HTML text, escaped, in `<bdi>` when a text of that direction needs it."""
    html = value if isinstance(value, Markup) else escape(value)
    if not needs_isolation(html.striptags(), rtl):
        return html
    return Markup('<bdi dir="%s">%s</bdi>') % (_own_direction(html.striptags(), rtl), html)


def _own_direction(text: str, rtl: bool) -> str:
    """The direction a value is isolated in: its first strong character's, else (only digits and neutrals
    around isolated parts) the text's around it."""
    return direction(text) or ("rtl" if rtl else "ltr")


def install_gettext(env: Environment, translations: NullTranslations, rtl: bool) -> None:
    """The i18n extension's newstyle gettext, each value substituted into a translated sentence in `<bdi>`
    where it needs it (autoescape on: the sentence is Markup, its values escaped)."""
    from jinja2 import pass_context
    from jinja2.runtime import Context

    def substitute(context: Context, sentence: str, variables: dict[str, Any]) -> str:
        if context.eval_ctx.autoescape:
            sentence = Markup(sentence)
            variables = {name: bdi(value, rtl) for name, value in variables.items()}
        return sentence % variables

    @pass_context
    def gettext(context: Context, message: str, **variables: Any) -> str:
        return substitute(context, translations.gettext(message), variables)

    @pass_context
    def ngettext(context: Context, singular: str, plural: str, num: int, **variables: Any) -> str:
        variables.setdefault("num", num)
        return substitute(context, translations.ngettext(singular, plural, num), variables)

    @pass_context
    def pgettext(context: Context, message_context: str, message: str, **variables: Any) -> str:
        return substitute(context, str(translations.pgettext(message_context, message)), variables)

    # What `install_gettext_callables(newstyle=True)` sets up, with the substitution above in place of its own.
    env.newstyle_gettext = True  # type: ignore[attr-defined]
    env.globals.update(gettext=gettext, ngettext=ngettext, pgettext=pgettext)

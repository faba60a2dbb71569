"""The translation check: every catalog holds exactly the msgids the code and the templates use (what
`pybabel extract` finds with babel.cfg), each translated — no empty or fuzzy entry, so no English slips
into a Russian e-mail — with the same placeholders as its msgid and as many plural forms as its language
has. That every kind renders in every locale with the samples is `test_notify.py`'s.
"""
from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from chalicelib.platform import i18n
from chalicelib.platform.config import DEFAULT_LOCALE, LOCALES

ROOT = Path(__file__).resolve().parents[2]
TRANSLATED = sorted(set(LOCALES) - {DEFAULT_LOCALE})
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


@functools.cache
def extracted() -> frozenset[tuple[str | None, str]]:
    """(context, msgid) of every message `pybabel extract -F babel.cfg .` would write into the template."""
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    return frozenset((context, message if isinstance(message, str) else message[0])
                     for _, _, message, _, context in extract_from_dir(str(ROOT), method_map, options_map))


@functools.cache
def catalog(locale: str) -> Catalog:
    with i18n.catalog_path(locale).open("rb") as po:
        return read_po(po, locale=locale)


def messages(locale: str) -> list[Message]:
    return [message for message in catalog(locale) if message.id]


def msgid(message: Message) -> str:
    return message.id if isinstance(message.id, str) else message.id[0]


def forms(message: Message) -> tuple[str, ...]:
    return (message.string,) if isinstance(message.string, str) else tuple(message.string)


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def test_the_code_and_templates_use_some_messages():
    assert ("organisation", "Name") in extracted()
    assert (None, "Hi %(name)s,") in extracted()
    assert len(extracted()) > 250


@pytest.mark.parametrize("locale", TRANSLATED)
def test_catalog_is_in_step_with_the_code(locale):
    in_catalog = {(message.context, msgid(message)) for message in messages(locale)}

    assert extracted() - in_catalog == set(), "new msgids: run `make messages` and translate them"
    assert in_catalog - extracted() == set(), "msgids no longer used: run `make messages`"


@pytest.mark.parametrize("locale", TRANSLATED)
def test_every_message_is_translated(locale):
    untranslated = [msgid(message) for message in messages(locale) if not all(forms(message))]
    fuzzy = [msgid(message) for message in messages(locale) if message.fuzzy]

    assert untranslated == []
    assert fuzzy == [], "a fuzzy entry is left out of the compiled catalog: review it and drop the flag"


@pytest.mark.parametrize("locale", TRANSLATED)
def test_translations_keep_the_placeholders_of_their_msgid(locale):
    wrong = {}
    for message in messages(locale):
        ids = (message.id,) if isinstance(message.id, str) else message.id
        expected = set().union(*(placeholders(text) for text in ids))
        for form in forms(message):
            if placeholders(form) != expected:
                wrong[msgid(message)] = form
    assert wrong == {}


@pytest.mark.parametrize("locale", TRANSLATED)
def test_plural_messages_have_every_form_of_the_language(locale):
    plurals = [message for message in messages(locale) if message.pluralizable]

    assert plurals
    assert {msgid(m): len(forms(m)) for m in plurals} == {msgid(m): catalog(locale).num_plurals for m in plurals}


@pytest.mark.parametrize("locale", TRANSLATED)
def test_babels_own_checks_pass(locale):
    assert [(msgid(message), [str(error) for error in errors]) for message, errors in catalog(locale).check()] == []


@pytest.mark.parametrize("locale", TRANSLATED)
def test_catalog_compiles_and_translates(locale):
    assert i18n.translations(locale).gettext("Hi %(name)s,") != "Hi %(name)s,"


@pytest.mark.parametrize(("locale", "forms_of_days"), [
    ("en", ["1 day", "2 days", "5 days", "21 days"]),
    ("ru", ["1 день", "2 дня", "5 дней", "21 день"]),
    ("uk", ["1 день", "2 дні", "5 днів", "21 день"]),
    ("fa", ["1 روز", "2 روز", "5 روز", "21 روز"]),
])
def test_numbers_take_the_plural_form_of_their_language(locale, forms_of_days):
    ngettext = i18n.translations(locale).ngettext
    assert [ngettext("%(num)s day", "%(num)s days", n) % {"num": n} for n in (1, 2, 5, 21)] == forms_of_days

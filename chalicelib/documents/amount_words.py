"""Money in words ("one thousand, five hundred dollars, zero cents") for the documents' locales.

num2words spells the currency where its language has forms for it; otherwise the amount is
spelt as a cardinal number followed by babel's CLDR name of the currency, so every supported
currency reads in every locale. Ukrainian and Russian documents write the subunits as two digits, as
their accountants do: "П'ятсот гривень 00 копійок", "Пятьсот рублей 00 копеек".
"""

from __future__ import annotations

from babel.numbers import get_currency_name
from num2words import CONVERTER_CLASSES, num2words

from chalicelib.money.amounts import Money, precision

# num2words always speaks of a subunit worth 1/100, so it may only spell currencies with two decimals.
_NUM2WORDS_PRECISION = 2
_SUBUNITS_IN_DIGITS = frozenset(("uk", "ru"))


def amount_in_words(money: Money, locale: str) -> str:
    spell = _currency_words if _num2words_knows(money.currency, locale) else _fallback_words
    words = spell(money, locale)
    return words[:1].upper() + words[1:]


def _num2words_knows(currency: str, locale: str) -> bool:
    # Not every converter has the attribute: fa's does not derive from num2words' base class.
    currency_forms = getattr(CONVERTER_CLASSES[locale], "CURRENCY_FORMS", {})
    return precision(currency) == _NUM2WORDS_PRECISION and currency in currency_forms


def _currency_words(money: Money, locale: str) -> str:
    if locale in _SUBUNITS_IN_DIGITS:
        # cents=False: the subunits as "%02d" before their name; no comma between units and subunits.
        return num2words(money.as_decimal(), lang=locale, to="currency", currency=money.currency, cents=False,
                         separator="")
    return num2words(money.as_decimal(), lang=locale, to="currency", currency=money.currency)


def _fallback_words(money: Money, locale: str) -> str:
    """Whole units in words with the currency's name, and any subunits as a cheque-style fraction."""
    digits = precision(money.currency)
    whole, fraction = divmod(money.amount_minor, 10**digits)
    words = f"{num2words(whole, lang=locale)} {get_currency_name(money.currency, count=whole, locale=locale)}"
    return f"{words} {fraction:0{digits}d}/{10**digits}" if digits else words

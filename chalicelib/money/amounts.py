"""Money: integer minor units plus an ISO 4217 code. No floats anywhere.

Currency precision and display come from babel's CLDR data, so IRR has 0 decimals and
USD/EUR/UAH have 2 without a hand-kept table. Babel loads on first use, not with the app.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import cache

from chalicelib.platform.config import DEFAULT_LOCALE, LOCALES
from chalicelib.platform.errors import Unprocessable

SUPPORTED_CURRENCIES = ("USD", "EUR", "UAH", "IRR")
# The largest amount, in minor units, that any request or balance movement may name, per currency:
# 10^15 is ten trillion dollars, euros or hryvnias, and a hundred billion dollars' worth of rials — far
# beyond any real deal, and far inside DynamoDB's 38 digits, so sums of such amounts can never overflow
# a balance. A bigger amount is a 422 (`amount_too_large`); a bank transfer of one is parked.
MAX_AMOUNT_MINOR = {"USD": 10**15, "EUR": 10**15, "UAH": 10**15, "IRR": 10**15}
MAX_ANY_AMOUNT_MINOR = max(MAX_AMOUNT_MINOR.values())


@dataclass(frozen=True, order=True)
class Money:
    amount_minor: int
    currency: str

    def __post_init__(self) -> None:
        if type(self.amount_minor) is not int:
            raise TypeError("Money.amount_minor must be an int")
        if self.currency not in SUPPORTED_CURRENCIES:
            raise Unprocessable("unsupported_currency", f"Currency {self.currency!r} is not supported",
                                field="currency")

    def as_decimal(self) -> Decimal:
        return Decimal(self.amount_minor).scaleb(-precision(self.currency))

    def to_json(self) -> dict:
        return {"amount": self.amount_minor, "currency": self.currency}


@cache
def precision(currency: str) -> int:
    from babel.numbers import get_currency_precision

    return get_currency_precision(currency)


def format_money(money: Money, locale: str = "en") -> str:
    """Human display, e.g. `$1,500.00` or `1 500,00 ₴`."""
    return format_amount(money.amount_minor, money.currency, locale)


def format_amount(amount_minor: int, currency: str, locale: str = "en") -> str:
    """Display any ISO 4217 amount, supported or not (a bank may send money in a currency we don't hold)."""
    from babel.numbers import format_currency

    value = Decimal(amount_minor).scaleb(-precision(currency))
    return format_currency(value, currency, locale=locale if locale in LOCALES else DEFAULT_LOCALE)


def commission(amount_minor: int, basis_points: int) -> int:
    """The platform's share of an amount, rounded down to a whole minor unit."""
    return amount_minor * basis_points // 10_000


def within_bounds(amount_minor: int, currency: str) -> bool:
    return 0 < amount_minor <= MAX_AMOUNT_MINOR.get(currency, MAX_ANY_AMOUNT_MINOR)


def require_positive(amount_minor: int, currency: str, field: str = "amount") -> Money:
    money = Money(amount_minor, currency)
    if amount_minor <= 0:
        raise Unprocessable("invalid_amount", "amount must be a positive integer in minor units", field=field)
    if amount_minor > MAX_AMOUNT_MINOR[currency]:
        raise Unprocessable("amount_too_large", f"{field} may be at most {MAX_AMOUNT_MINOR[currency]} minor units "
                            f"of {currency}", field=field)
    return money

"""What every area's request and response models share: the base models (built when first used), locales, time
zones, currencies, plain text, money and the error shape."""
from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt, WithJsonSchema

from chalicelib.money.amounts import MAX_ANY_AMOUNT_MINOR
from chalicelib.platform import i18n
from chalicelib.platform.config import LOCALES


def _known_locale(value: str) -> str:
    if value not in LOCALES:
        raise ValueError(f"unknown locale; one of {', '.join(LOCALES)}")
    return value


def _known_zone(value: str) -> str:
    if not i18n.is_zone(value):
        raise ValueError("unknown time zone; an IANA name such as Europe/Kyiv")
    return value


Locale = Annotated[str, AfterValidator(_known_locale), WithJsonSchema({"type": "string", "enum": list(LOCALES)})]


TimeZone = Annotated[str, AfterValidator(_known_zone), WithJsonSchema({
    "type": "string", "maxLength": 64, "example": "Europe/Kyiv",
    "description": "an IANA time zone name; every date and time shown to the user is in it"})]


CurrencyCode = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code: USD, EUR, UAH or IRR")


MAX_AMOUNT = MAX_ANY_AMOUNT_MINOR  # per currency in chalicelib.money.amounts.MAX_AMOUNT_MINOR; bigger is a 422


def _plain_text(value: str) -> str:
    """Words people write to each other: no control characters but line breaks and tabs, and no bidi
    embeddings, overrides or isolates that would make a text read otherwise than it is written (the
    joiners Persian needs stay)."""
    if any((unicodedata.category(ch) == "Cc" and ch not in "\n\r\t") or ch in _BIDI_CONTROLS for ch in value):
        raise ValueError("control characters and bidi overrides are not allowed")
    return value


_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


PlainText = Annotated[str, AfterValidator(_plain_text)]


class ApiModel(BaseModel):
    """Every model here: built when first used, not when this module loads."""

    model_config = ConfigDict(defer_build=True)


class RequestModel(ApiModel):
    model_config = ConfigDict(str_strip_whitespace=True)


class MoneyOut(ApiModel):
    amount: int
    currency: str


class TopupLink(ApiModel):
    id: str
    payment_url: str
    expires_at: str


class ErrorBody(ApiModel):
    code: str
    message: str
    field: str | None = None
    # 402 insufficient_funds only: what the balance lacks, and the card top-up whose payment completes the action
    # (null when cards are not taken in the currency)
    missing: MoneyOut | None = None
    topup: TopupLink | None = None


class ErrorOut(ApiModel):
    error: ErrorBody


class StatusOut(ApiModel):
    status: str
    message: str | None = None


class MoneyIn(RequestModel):
    amount: StrictInt = Field(ge=0, le=10**12, description="minor units")
    currency: str = CurrencyCode



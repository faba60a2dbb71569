"""Tariffs as the billing reads them: a tariff's price for a billing month from its price schedule,
its limits, and a short-lived in-memory copy for the timer job.

A price change applies from a later month (`prices` is `[{"from": "YYYY-MM", "amount": N}]`), so every
month is billed at the price that month began with. The job reads each tariff once per
`CACHE_SECONDS` instead of once per due site; a change therefore takes effect from the first month
that begins at least `CACHE_SECONDS` after it is made (`effective_period`), and a cached copy can
never bill a month at a stale price.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib.money import periods
from chalicelib.platform.errors import NotFound
from chalicelib.store.models import TariffModel

CACHE_SECONDS = 60
CURRENCY = "UAH"
COUNTERS = {"products": "products", "orders": "orders_per_month"}  # site counter → the tariff's limit

_cache: dict[str, tuple[float, TariffModel]] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class Terms:
    """What a site is billed by in one month."""

    code: str
    name: str
    price: int  # minor units of CURRENCY a month
    limits: dict

    def to_json(self) -> dict:
        return {"code": self.code, "name": self.name, "price": self.price, "limits": self.limits}

    @classmethod
    def from_json(cls, data: dict) -> Terms:
        return cls(data["code"], data["name"], int(data["price"]), dict(data["limits"]))


def price_for(tariff: TariffModel, period: str) -> int:
    """The price of the latest schedule entry that began by `period` (the first one before any)."""
    entries = sorted(tariff.prices, key=lambda entry: entry["from"])
    chosen = entries[0]
    for entry in entries:
        if entry["from"] <= period:
            chosen = entry
    return int(chosen["amount"])


def terms(tariff: TariffModel, period: str) -> Terms:
    return Terms(tariff.code, tariff.name, price_for(tariff, period), dict(tariff.limits))


def effective_period(now: datetime) -> str:
    """The first billing month a price change made at `now` applies to."""
    return periods.next_period(periods.period_of(now + timedelta(seconds=CACHE_SECONDS)))


def load(code: str) -> TariffModel:
    try:
        return TariffModel.get(code, consistent_read=True)
    except TariffModel.DoesNotExist:
        raise NotFound("unknown_tariff", f"No tariff {code!r}") from None


def cached(code: str) -> TariffModel:
    """The tariff, read at most once per CACHE_SECONDS per process (the timer job bills many sites by few tariffs)."""
    with _lock:
        hit = _cache.get(code)
        if hit is not None and time.monotonic() - hit[0] < CACHE_SECONDS:
            return hit[1]
    tariff = TariffModel.get(code, consistent_read=True)
    with _lock:
        _cache[code] = (time.monotonic(), tariff)
    return tariff


def forget() -> None:
    """Drop the cached copies (tests that change tariffs and bill at once)."""
    with _lock:
        _cache.clear()

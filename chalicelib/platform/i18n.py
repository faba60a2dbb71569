"""Languages and time: which locales exist, their gettext catalogs, each person's time zone, and how a
date or a moment reads in a locale (the Solar Hijri calendar with Persian digits in Persian).

The locales and their marketplaces' time zones are `config.LOCALES`. Catalogs are
`notify/locales/<locale>/LC_MESSAGES/messages.po`, shared by e-mails, the notification feed and PDFs;
English is their source language, so it needs none. A catalog is compiled in memory the first time its
locale is used: there is no `.mo` file to build, commit or forget to package. Babel and jdatetime load
with the first catalog or date formatted, not with the app (a cold start needs neither).
"""
from __future__ import annotations

import functools
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, available_timezones

from chalicelib.platform.config import DEFAULT_LOCALE, LOCALES

if TYPE_CHECKING:
    from babel.support import NullTranslations

CATALOGS_DIR = Path(__file__).parents[1] / "notify" / "locales"
DOMAIN = "messages"
_PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


# --- locales and catalogs ----------------------------------------------------------------------------------------

def resolve_locale(requested: str | None) -> str:
    """`ru`, `ru_RU` and `ru-RU` all mean ru; a language we don't have means English."""
    language = (requested or "").replace("_", "-").split("-")[0].lower()
    return language if language in LOCALES else DEFAULT_LOCALE


def is_rtl(locale: str) -> bool:
    return LOCALES[resolve_locale(locale)].rtl


def N_(message: str) -> str:
    """Marks a msgid defined in one place and translated where it is shown."""
    return message


def catalog_path(locale: str) -> Path:
    return CATALOGS_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.cache
def translations(locale: str) -> NullTranslations:
    """The locale's catalog, compiled from its `.po` on first use (fuzzy entries left out, like pybabel compile)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po
    from babel.support import NullTranslations, Translations

    locale = resolve_locale(locale)
    if locale == DEFAULT_LOCALE:
        return NullTranslations()
    with catalog_path(locale).open("rb") as po:
        catalog = read_po(po, locale=locale, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


# --- time zones --------------------------------------------------------------------------------------------------

@functools.cache
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def is_zone(name: str) -> bool:
    """An IANA time zone name this service knows (from the `tzdata` package, so Lambda has them all)."""
    return name in _zone_names()


def default_zone(locale: str) -> str:
    return LOCALES[resolve_locale(locale)].zone


def zone_name(name: str | None, locale: str) -> str:
    """A person's zone: his own if he has a valid one (accounts from before time zones have none), else his
    locale's marketplace's."""
    return name if name and is_zone(name) else default_zone(locale)


def zone_for(name: str | None, locale: str) -> ZoneInfo:
    return ZoneInfo(zone_name(name, locale))


# --- dates and moments -------------------------------------------------------------------------------------------

def format_date(moment: datetime, locale: str, zone: ZoneInfo) -> str:
    """The day `moment` falls on in `zone`, as a long date: `February 20, 2025`, `20 февраля 2025 г.`,
    `۲ اسفند ۱۴۰۳`."""
    import jdatetime
    from babel.dates import format_date as babel_format_date

    locale = resolve_locale(locale)
    local = moment.astimezone(zone)
    if LOCALES[locale].calendar == "persian":
        day = jdatetime.date.fromgregorian(date=local.date())
        return _persian_digits(f"{day.day} {jdatetime.date.j_months_fa[day.month - 1]} {day.year}")
    return babel_format_date(local.date(), format="long", locale=locale)


def format_month(period: str, locale: str) -> str:
    """A calendar month (`2026-11`, a billing period) in words: `November 2026`, `ноябрь 2026`, `листопад 2026`;
    in Persian the month with the Solar Hijri days it spans, `نوامبر ۲۰۲۶ (۱۰ آبان – ۹ آذر ۱۴۰۵)`."""
    from babel.dates import format_date as babel_format_date

    locale = resolve_locale(locale)
    year, month = (int(part) for part in period.split("-"))
    first = datetime(year, month, 1, 12, tzinfo=UTC)
    name = babel_format_date(first.date(), format="LLLL y", locale=locale)
    if LOCALES[locale].calendar != "persian":
        return name
    last = datetime(year + month // 12, month % 12 + 1, 1, 12, tzinfo=UTC) - timedelta(days=1)
    start, end = (format_date(day, locale, ZoneInfo("UTC")) for day in (first, last))
    start_year = start.rsplit(" ", 1)[1]
    if start_year == end.rsplit(" ", 1)[1]:
        start = start.removesuffix(f" {start_year}")
    return f"{_persian_digits(name)} ({start} – {end})"


def format_datetime(moment: datetime, locale: str, zone: ZoneInfo) -> str:
    """A moment as a person in `zone` reads it, the zone named: `February 20, 2025, 10:30 AM (UTC)`,
    `20 февраля 2025 г., 13:30 (Москва, UTC+3)`."""
    from babel.dates import format_time as babel_format_time

    locale = resolve_locale(locale)
    local = moment.astimezone(zone)
    time = babel_format_time(local, format="short", locale=locale)
    if LOCALES[locale].calendar == "persian":
        time = _persian_digits(time)
    gettext = translations(locale).gettext
    return gettext("%(date)s, %(time)s (%(zone)s)") % {
        "date": format_date(moment, locale, zone), "time": time, "zone": zone_label(local, locale)}


def zone_label(local: datetime, locale: str) -> str:
    """How a zone is named beside a time: its city in the reader's language and its offset (`Київ, UTC+2`)."""
    locale = resolve_locale(locale)
    offset = _utc_offset(local)
    city = _city(str(local.tzinfo), locale)
    if LOCALES[locale].calendar == "persian":
        offset = _persian_digits(offset)
    if city is None:
        return offset
    return translations(locale).gettext("%(city)s, %(offset)s") % {"city": city, "offset": offset}


def _utc_offset(local: datetime) -> str:
    delta = local.utcoffset()
    minutes = int(delta.total_seconds() // 60) if delta is not None else 0
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


@functools.cache
def _city(zone: str, locale: str) -> str | None:
    """The zone's exemplar city in CLDR (trying the names it used to have, e.g. Europe/Kiev), else the
    last part of its IANA name; None for zones that are offsets, not places (UTC, Etc/GMT+5)."""
    from babel import Locale

    if "/" not in zone or zone.startswith("Etc/"):
        return None
    names = Locale.parse(locale).time_zones
    for name in (zone, *_former_names().get(zone, ())):
        city = names.get(name, {}).get("city")
        if city:
            return str(city)
    return zone.rsplit("/", 1)[-1].replace("_", " ")


@functools.cache
def _former_names() -> dict[str, tuple[str, ...]]:
    from babel.core import get_global

    former: dict[str, list[str]] = {}
    for alias, canonical in get_global("zone_aliases").items():
        former.setdefault(canonical, []).append(alias)
    return {zone: tuple(aliases) for zone, aliases in former.items()}


def _persian_digits(text: str) -> str:
    return text.translate(_PERSIAN_DIGITS)

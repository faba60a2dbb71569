"""The billing calendar: billing months are calendar months in `BILLING_TIMEZONE` (Europe/Kyiv by
default), named "YYYY-MM"; a part of a month is billed by its days, the day something starts included."""
from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from chalicelib.platform.config import settings


def _zone() -> ZoneInfo:
    return ZoneInfo(settings.billing_timezone)


def local_day(moment: datetime) -> date:
    """The billing day `moment` falls on."""
    return moment.astimezone(_zone()).date()


def period_of(moment: datetime) -> str:
    day = local_day(moment)
    return f"{day.year:04d}-{day.month:02d}"


def _year_month(period: str) -> tuple[int, int]:
    year, month = period.split("-")
    return int(year), int(month)


def start_of(period: str) -> datetime:
    """The moment the billing month begins (midnight of its 1st, billing time), in UTC."""
    year, month = _year_month(period)
    return datetime.combine(date(year, month, 1), time(0), tzinfo=_zone()).astimezone(UTC)


def next_period(period: str) -> str:
    year, month = _year_month(period)
    return f"{year + month // 12:04d}-{month % 12 + 1:02d}"


def days_in(period: str) -> int:
    year, month = _year_month(period)
    return calendar.monthrange(year, month)[1]


def last_day(period: str) -> date:
    year, month = _year_month(period)
    return date(year, month, days_in(period))


def start_of_day(day: date) -> datetime:
    """Midnight of a billing day, in UTC."""
    return datetime.combine(day, time(0), tzinfo=_zone()).astimezone(UTC)


def days_left(period: str, since: datetime) -> int:
    """Days of `period` from the day of `since` (included) to its end; the whole month if `since` is before it."""
    first = max(local_day(since), date(*_year_month(period), 1))
    return max((last_day(period) - first).days + 1, 0)


def prorate(monthly_minor: int, days: int, month_days: int) -> int:
    """`days` of a month's price, rounded half up to a whole minor unit."""
    return (2 * monthly_minor * days + month_days) // (2 * month_days)


def day_after(day: date) -> date:
    return day + timedelta(days=1)

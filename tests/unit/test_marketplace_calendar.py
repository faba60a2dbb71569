"""The marketplace's own calendar decides the business rules that count calendar days: the review
window is 3 days, 4 when it spans a weekend day in `MARKETPLACE_TIMEZONE` (default Europe/Moscow,
as Kwork) with `WEEKEND_DAYS` (default Saturday and Sunday); an invoice's year and "dated" text are
the marketplace's date, not UTC's."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.platform import clock, config
from chalicelib.processes.gig_order import review_days


@pytest.fixture
def marketplace(monkeypatch):
    def use(timezone: str, weekend: str) -> None:
        monkeypatch.setenv("MARKETPLACE_TIMEZONE", timezone)
        monkeypatch.setenv("WEEKEND_DAYS", weekend)
        config.reload()

    yield use
    monkeypatch.delenv("MARKETPLACE_TIMEZONE")
    monkeypatch.delenv("WEEKEND_DAYS")
    config.reload()


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _move_clock_to(moment: datetime) -> None:
    clock.advance((moment - clock.now()).total_seconds())


@pytest.mark.parametrize(("delivered_utc", "days", "why"), [
    ("2026-12-01 22:00", 4, "Tuesday 22:00 UTC is Wednesday 01:00 in Moscow: Wednesday..Saturday"),
    ("2026-12-01 20:59:59", 3, "Tuesday 23:59:59 in Moscow: Tuesday..Friday"),
    ("2026-12-01 21:00", 4, "Wednesday 00:00 in Moscow"),
    ("2026-12-02 00:00", 4, "Wednesday 00:00 UTC is Wednesday 03:00 in Moscow"),
    ("2026-11-30 12:00", 3, "Monday: Monday..Thursday"),
    ("2026-12-06 12:00", 4, "Sunday itself"),
])
def test_review_window_counts_days_in_moscow_by_default(marketplace, delivered_utc, days, why):
    marketplace("Europe/Moscow", "sat,sun")
    assert review_days(_utc(delivered_utc)) == days, why


def test_the_same_moment_counts_otherwise_on_a_utc_calendar(marketplace):
    marketplace("UTC", "sat,sun")
    assert review_days(_utc("2026-12-01 22:00")) == 3  # Tuesday..Friday in UTC


@pytest.mark.parametrize(("delivered_utc", "days", "why"), [
    ("2026-12-03 08:00", 4, "Thursday in Tehran: Thursday..Sunday spans Friday"),
    ("2026-12-05 08:00", 3, "Saturday in Tehran: Saturday..Tuesday, no Friday"),
    ("2026-12-01 21:00", 4, "Tuesday 21:00 UTC is Wednesday 00:30 in Tehran: Wednesday..Saturday spans Friday"),
    ("2026-11-30 08:00", 3, "Monday..Thursday"),
])
def test_review_window_under_a_friday_weekend_in_tehran(marketplace, delivered_utc, days, why):
    marketplace("Asia/Tehran", "fri")
    assert review_days(_utc(delivered_utc)) == days, why


def test_an_invoice_made_on_new_years_eve_utc_is_dated_the_new_year_in_moscow(api, marketplace):
    marketplace("Europe/Moscow", "sat,sun")
    token = api.signup("ann@example.com")
    year = clock.now().year
    _move_clock_to(datetime(year, 12, 31, 22, 30, tzinfo=UTC))
    invoice = api.invoice(token, 1000, "USD")
    assert invoice["number"].startswith(f"PI-{year + 1}-")
    assert invoice["payment_details"].endswith(f"dated 01/01/{year + 1}")
    marketplace("UTC", "sat,sun")
    utc_invoice = api.invoice(token, 1000, "USD")
    assert utc_invoice["number"].startswith(f"PI-{year}-")
    assert utc_invoice["payment_details"].endswith(f"31/12/{year}")


def test_an_order_delivered_late_on_tuesday_utc_gets_four_days_in_moscow(api, deal, marketplace):
    from tests.support import act, place_order

    marketplace("Europe/Moscow", "sat,sun")
    order = place_order(api, deal)
    act(api, deal["contractor"], order, "start")
    today = clock.now().replace(hour=22, minute=0, second=0, microsecond=0)
    tuesday = today + timedelta(days=(1 - today.weekday()) % 7 or 7)
    _move_clock_to(tuesday)  # within the deadline's days? no matter: delivering late is still delivering
    delivered = act(api, deal["contractor"], order, "deliver", {"message": "Done"}).json_body
    assert delivered["review_due_at"] == clock.iso(tuesday + timedelta(days=4))

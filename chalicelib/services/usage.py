"""Usage reports from the shop platform, authenticated by the site's key (`X-Site-Key`, kept only as a
SHA-256 hash). Each `event_id` counts once (its item is written with `attribute_not_exists`); a report
adds to the billing day's sum (`orders`: new orders; `products`: the current number, the last one
wins). The first report of a day also records the day on the subscription (`report_usage`), which arms
the refresh that folds the day into the counters the site shows once the day is over — so the daily
work is proportional to the sites that reported, never a scan of all sites."""
from __future__ import annotations

import time

from chalicelib import engine
from chalicelib.money import periods
from chalicelib.platform import clock
from chalicelib.platform.errors import Conflict, Unauthorized
from chalicelib.processes import Context
from chalicelib.processes.subscription import PROCESS
from chalicelib.services import deals, sites
from chalicelib.store.models import UsageModel
from chalicelib.store.uow import UnitOfWork, run_with_retries

EVENT_DAYS = 35  # an event id counts once within this many days
DAY_KEEP_DAYS = 400
ATTEMPTS = 5


class _Duplicate(Exception):
    pass


def report(site_id: str, key: str | None, event_id: str, products: int | None, orders: int | None) -> dict:
    if sites.site_for_key(key) != site_id:
        raise Unauthorized("invalid_site_key", "X-Site-Key is missing or is not this site's key")
    for _ in range(ATTEMPTS):
        try:
            return run_with_retries(lambda: _record(site_id, event_id, products, orders))
        except _Duplicate:
            return {"accepted": True, "duplicate": True, "event_id": event_id}
        except Conflict as lost:
            if lost.code != "state_changed":
                raise
    raise Conflict("busy", "The site is busy; send the report again")


def _record(site_id: str, event_id: str, products: int | None, orders: int | None) -> dict:
    deal = deals.load(PROCESS, site_id)
    now = clock.now()
    day = periods.local_day(now).isoformat()
    stamp = int(time.time())
    uow = UnitOfWork()
    uow.put(UsageModel(site_id, f"event#{event_id}", reported_at=clock.iso(now), expires_at=stamp + EVENT_DAYS * 86400),
            condition=UsageModel.sk.does_not_exist(), on_fail=_Duplicate())
    actions: list = [UsageModel.reported_at.set(clock.iso(now)),
                     UsageModel.expires_at.set(stamp + DAY_KEEP_DAYS * 86400)]
    actions.append(UsageModel.orders.add(orders) if orders is not None else UsageModel.products.set(int(products or 0)))
    uow.update(UsageModel(site_id, f"day#{day}"), actions)
    if day not in ((deal.data or {}).get("usage_days") or []):
        engine.apply(uow, PROCESS, deal, "report_usage", Context(now, "system", payload={"day": day}))
    uow.commit()
    return {"accepted": True, "duplicate": False, "event_id": event_id}

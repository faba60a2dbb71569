"""The tariffs operators manage: code, name, monthly price in UAH, limits on products and orders per
month, features. Anyone signed in reads them; a price change applies from the next billing month
(`tariffs.effective_period`), so a month is always billed at the price it began with."""
from __future__ import annotations

from chalicelib.access.auth import Principal
from chalicelib.money import periods, tariffs
from chalicelib.platform import clock
from chalicelib.platform.errors import Conflict, Unprocessable
from chalicelib.services import idempotency, views
from chalicelib.store.models import TariffModel
from chalicelib.store.uow import UnitOfWork


def _price(price: dict) -> int:
    if price["currency"] != tariffs.CURRENCY:
        raise Unprocessable("currency_mismatch", f"Tariffs are priced in {tariffs.CURRENCY}", field="price.currency")
    return int(price["amount"])


def list_all() -> dict:
    period = periods.period_of(clock.now())
    items = sorted(TariffModel.scan(), key=lambda tariff: (tariffs.price_for(tariff, period), tariff.code))
    return {"items": [views.tariff(tariff, period) for tariff in items]}


def create(principal: Principal, code: str, name: str, price: dict, limits: dict,
           features: list[str]) -> tuple[int, dict]:
    principal.require_operator()
    now = clock.now()
    tariff = TariffModel(code, name=name, prices=[{"from": "0000-01", "amount": _price(price)}], limits=limits,
                         features=features, active=True, created_at=clock.iso(now))
    uow = UnitOfWork()
    uow.put(tariff, condition=TariffModel.code.does_not_exist(),
            on_fail=Conflict("tariff_exists", f"A tariff {code!r} exists already"))
    return idempotency.commit(uow, 201, views.tariff(tariff, periods.period_of(now)))


def update(principal: Principal, code: str, changes: dict) -> dict:
    """Name, limits, features and `active` change at once; a new price applies from the next billing month."""
    principal.require_operator()
    tariff = tariffs.load(code)
    now = clock.now()
    actions: list = []
    if changes.get("price") is not None:
        start = tariffs.effective_period(now)
        prices = [entry for entry in tariff.prices if entry["from"] < start]
        tariff.prices = [*prices, {"from": start, "amount": _price(changes["price"])}]
        actions.append(TariffModel.prices.set(tariff.prices))
    for name in ("name", "limits", "features", "active"):
        if changes.get(name) is not None:
            setattr(tariff, name, changes[name])
            actions.append(getattr(TariffModel, name).set(changes[name]))
    if actions:
        tariff.update(actions=actions)
    return views.tariff(tariff, periods.period_of(now))

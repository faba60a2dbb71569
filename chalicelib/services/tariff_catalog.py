"""The tariffs operators manage: code, name, monthly price in UAH, limits on products and orders per
month, features. Anyone signed in reads them; a price change applies from the next billing month
(`tariffs.effective_period`), so a month is always billed at the price it began with. Adding and changing a
tariff are operators' acts in the audit trail (`tariff#<code>`), with the reason if one is given."""
from __future__ import annotations

from chalicelib.access.auth import Principal
from chalicelib.money import periods, tariffs
from chalicelib.platform import clock
from chalicelib.platform.errors import Conflict, Unprocessable
from chalicelib.services import idempotency, views
from chalicelib.store import audit_log
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


def _audited(tariff: TariffModel) -> dict:
    return {"name": tariff.name, "prices": list(tariff.prices), "limits": dict(tariff.limits),
            "features": list(tariff.features), "active": bool(tariff.active)}


def create(principal: Principal, code: str, name: str, price: dict, limits: dict,
           features: list[str], reason: str | None = None) -> tuple[int, dict]:
    principal.require_operator()
    now = clock.now()
    tariff = TariffModel(code, name=name, prices=[{"from": "0000-01", "amount": _price(price)}], limits=limits,
                         features=features, active=True, created_at=clock.iso(now))
    uow = UnitOfWork()
    uow.put(tariff, condition=TariffModel.code.does_not_exist(),
            on_fail=Conflict("tariff_exists", f"A tariff {code!r} exists already"))
    audit_log.record(uow, subject=audit_log.tariff_subject(code), actor_id=principal.user_id, action="create_tariff",
                     reason=reason or "no reason given", before=None, after=_audited(tariff), now=now)
    return idempotency.commit(uow, 201, views.tariff(tariff, periods.period_of(now)))


def update(principal: Principal, code: str, changes: dict, reason: str | None = None) -> dict:
    """Name, limits, features and `active` change at once; a new price applies from the next billing month."""
    principal.require_operator()
    tariff = tariffs.load(code)
    before = _audited(tariff)
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
        uow = UnitOfWork()
        uow.update(tariff, actions)
        audit_log.record(uow, subject=audit_log.tariff_subject(code), actor_id=principal.user_id,
                         action="change_tariff_terms", reason=reason or "no reason given", before=before,
                         after=_audited(tariff), now=now)
        uow.commit()
    return views.tariff(tariff, periods.period_of(now))

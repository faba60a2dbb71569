"""Helpers for the billing tests (unit and integration): tariffs, a site, the clock at a set moment, the
fake acquirer's webhooks delivered."""
from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

from chalicelib.adapters import acquirer
from chalicelib.money import ledger, tariffs
from chalicelib.platform import clock

KYIV = ZoneInfo("Europe/Kyiv")
START = {"code": "start", "name": "Start", "price": {"amount": 31000, "currency": "UAH"},
         "limits": {"products": 100, "orders_per_month": 50}, "features": ["catalog", "checkout"]}
BUSINESS = {"code": "business", "name": "Business", "price": {"amount": 62000, "currency": "UAH"},
            "limits": {"products": 1000, "orders_per_month": 500},
            "features": ["catalog", "checkout", "promo_codes", "api_access"]}
OWNER = {"name": "Олена Петренко", "email": "olena@example.ua", "phone": "+380501234567"}
EDRPOU = "32855961"
IBAN = "UA213223130000026007233566001"


def at(year: int, month: int, day: int, hour: int = 10, minute: int = 0, second: int = 0) -> datetime:
    """Move the application clock to a moment of Kyiv time (it only moves forward)."""
    target = datetime(year, month, day, hour, minute, second, tzinfo=KYIV)
    seconds = (target - clock.now()).total_seconds()
    assert seconds >= 0, f"the clock is already past {target}"
    clock.advance(seconds)
    return target


def add_tariffs(api, operator_token: str, *extra: dict) -> None:
    for tariff in (START, BUSINESS, *extra):
        response = api.post("/v1/operator/tariffs", tariff, token=operator_token)
        assert response.status_code == 201, response.body
    tariffs.forget()


def new_site(api, token: str, *, tariff: str = "start", domains: tuple[str, ...] = ("shop.example.ua",),
             name: str = "Квіткова крамниця") -> dict:
    response = api.post("/v1/sites", {"name": name, "domains": list(domains), "owner": OWNER, "tariff": tariff},
                        token=token)
    assert response.status_code == 201, response.body
    return response.json_body


def invoices(api, token: str, site_id: str) -> list[dict]:
    response = api.get(f"/v1/sites/{site_id}/invoices", token=token)
    assert response.status_code == 200, response.body
    return response.json_body["items"]


def key_for(api, token: str, site_id: str) -> str:
    response = api.post(f"/v1/sites/{site_id}/keys", token=token)
    assert response.status_code == 201, response.body
    return response.json_body["key"]


def report(api, site_id: str, key: str, **body):
    return api.post(f"/v1/sites/{site_id}/usage", body, headers={"X-Site-Key": key})


def deliver(api, *, twice: bool = False) -> list[dict]:
    """The fake acquirer's queued webhooks, posted signed (each twice when asked); their answers."""
    answers = []
    for body in acquirer.LocalAcquirer().take_outbox():
        raw = json.dumps(body).encode()
        for _ in range(2 if twice else 1):
            response = api.post("/v1/webhooks/acquirer", raw=raw, headers={"X-Acquirer-Signature": acquirer.sign(raw)})
            assert response.status_code == 200, response.body
            answers.append(response.json_body)
    return answers


def run_timers() -> int:
    """The timer job run until nothing is due (on AWS: the next minutes' runs)."""
    from chalicelib.services import timers

    fired = total = timers.fire_due(clock.now())["fired"]
    while fired:
        fired = timers.fire_due(clock.now())["fired"]
        total += fired
    return total


def uah_available(owner_id: str) -> int:
    """What an account (a system account's shards summed) has available in UAH."""
    return sum(int(a.available) for a in ledger.owned_items(owner_id) if a.currency == "UAH")


# The billing section's pages (chalicelib/entrypoints/web/billing.py) through the app --------------------------------

PAGE_FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def csrf_of(html: str) -> str:
    """The CSRF token of the page's first form."""
    import re

    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def post_page(api, path: str, cookie: str, fields: dict, origin: str | None = None):
    """POST a page's form as a browser would (urlencoded, with the cookie)."""
    import urllib.parse

    headers = {**PAGE_FORM, "Cookie": cookie, **({"Origin": origin} if origin else {})}
    return api.request("POST", path, raw=urllib.parse.urlencode(fields).encode(), headers=headers)


def billing_login(api, email: str, password: str = "correct horse") -> str:
    """Log in to the billing section at /web/login: the session cookie (`name=value`) for the next requests."""
    form = api.get("/web/login")
    assert form.status_code == 200, form.body
    link = form.headers["Set-Cookie"].split(";")[0]
    done = post_page(api, "/web/login", link, {"csrf": csrf_of(form.body.decode()), "email": email,
                                                "password": password})
    assert done.status_code == 303, done.body
    cookies = done.headers["Set-Cookie"]
    cookies = cookies if isinstance(cookies, list) else cookies.split(", ")
    [session] = [cookie.split(";")[0] for cookie in cookies if cookie.startswith("escrowdesk_web=")]
    return session

"""Operators' acts on a site over HTTP on the local stage (`make run`'s runner, DynamoDB Local): each one with a
reason, refused for the owner, and recorded in the site's audit trail; a write-off shows in the trial balance."""
from __future__ import annotations

import uuid

import requests


def _operator(api: str) -> dict:
    login = requests.post(f"{api}/v1/auth/login", json={"email": "operator@escrowdesk.local",
                                                         "password": "local-operator-pass"}, timeout=30)
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['token']}"}


def _owner_with_site(api: str, operator: dict) -> tuple[dict, str, str]:
    tariffs = []
    for name, amount in (("Start", 31000), ("Business", 62000)):
        tariff = {"code": f"{name.lower()}-{uuid.uuid4().hex[:6]}", "name": name,
                  "price": {"amount": amount, "currency": "UAH"}, "limits": {"products": 100, "orders_per_month": 50},
                  "features": ["catalog"]}
        created = requests.post(f"{api}/v1/operator/tariffs", json=tariff, headers=operator, timeout=30)
        assert created.status_code == 201, created.text
        tariffs.append(tariff["code"])
    signup = requests.post(f"{api}/v1/auth/signup", json={
        "email": f"shop-{uuid.uuid4().hex[:8]}@example.ua", "password": "correct horse", "name": "Olena",
        "locale": "uk"}, timeout=30)
    owner = {"Authorization": f"Bearer {signup.json()['token']}"}
    site = requests.post(f"{api}/v1/sites", json={
        "name": "Квіти", "domains": [f"{uuid.uuid4().hex[:8]}.example.ua"], "tariff": tariffs[0],
        "owner": {"name": "Olena", "email": "olena@example.ua", "phone": "+380501234567"}}, headers=owner, timeout=30)
    assert site.status_code == 201, site.text
    return owner, site.json()["id"], tariffs[1]


def test_operators_change_a_tariff_and_write_off_an_invoice_with_reasons_in_the_audit_trail(local_stack) -> None:
    api = local_stack.url
    operator = _operator(api)
    owner, site_id, business = _owner_with_site(api, operator)
    sites = f"{api}/v1/operator/sites/{site_id}"

    refused = requests.post(f"{sites}/tariff", json={"code": business, "reason": "asked by phone"}, headers=owner,
                            timeout=30)
    assert refused.status_code == 403, refused.text
    no_reason = requests.post(f"{sites}/tariff", json={"code": business}, headers=operator, timeout=30)
    assert no_reason.status_code == 422 and no_reason.json()["error"]["field"] == "reason"
    changed = requests.post(f"{sites}/tariff", json={"code": business, "reason": "asked by phone"},
                            headers=operator, timeout=30)
    assert changed.status_code == 200 and changed.json()["tariff"]["code"] == business, changed.text

    listed = requests.get(f"{api}/v1/sites/{site_id}/invoices", headers=owner, timeout=30).json()["items"]
    open_ones = [invoice for invoice in listed if invoice["status"] == "open"]
    assert open_ones, listed
    invoice = open_ones[0]
    written = requests.post(f"{sites}/invoices/{invoice['id']}/write-off", json={"reason": "goodwill"},
                            headers=operator, timeout=30)
    assert written.status_code == 200 and written.json()["status"] == "written_off", written.text
    again = requests.post(f"{sites}/invoices/{invoice['id']}/write-off", json={"reason": "goodwill"},
                          headers=operator, timeout=30)
    assert again.status_code == 409 and again.json()["error"]["code"] == "invoice_not_open"

    trail = requests.get(f"{sites}/audit", headers=operator, timeout=30)
    assert trail.status_code == 200, trail.text
    actions = [(record["action"], record["reason"]) for record in trail.json()["items"]]
    assert actions == [("write_off", "goodwill"), ("change_tariff", "asked by phone")]
    assert requests.get(f"{sites}/audit", headers=owner, timeout=30).status_code == 403
    trial = requests.get(f"{api}/v1/operator/trial-balance", headers=operator, timeout=30)
    assert trial.status_code == 200 and "sys:write_offs" in trial.text, trial.text

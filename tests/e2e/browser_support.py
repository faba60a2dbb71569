"""What the tests of the local stage share: the bank's signed transfer, the local operator enrolling his
authenticator at his first log-in to the console, an owner logging in to the billing section, and waiting for what
the stage does after it answers."""
from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import pyotp
import requests
from playwright.sync_api import expect

from tests.support import sign

OPERATOR_EMAIL, OPERATOR_PASSWORD = "operator@escrowdesk.local", "local-operator-pass"  # the local stage's operator


def bank_transfer(url: str, amount: int, currency: str, purpose: str, payer: str = "ACME",
                  iban: str = "DE89370400440532013000") -> dict:
    """An incoming transfer, as the bank's signed webhook tells it now: the payment it became."""
    body = json.dumps({
        "event_id": f"evt_{uuid.uuid4().hex}", "type": "transfer.incoming", "amount": amount, "currency": currency,
        "purpose": purpose, "payer": {"name": payer, "iban": iban},
        "received_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}).encode()
    answer = requests.post(f"{url}/v1/webhooks/bank", data=body, timeout=30,
                           headers={"Content-Type": "application/json", "X-Bank-Signature": sign(body)})
    assert answer.status_code == 200, answer.text
    return answer.json()["payment"]


def until(check: Callable[[], object], timeout: float = 30) -> object:
    """What `check()` finds once it finds anything, asked every 0.3 s (the stage's callbacks come after it answers)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := check():
            return found
        time.sleep(0.3)
    raise AssertionError("timed out")


def enrol_operator(page, url: str) -> tuple[pyotp.TOTP, str]:  # type: ignore[no-untyped-def]
    """The local operator's first log-in: he enrols an authenticator (the test reads its key off the page and
    computes the code as the app would) and is in. His authenticator, and the code he enrolled with."""
    page.goto(f"{url}/console/login?lang=en")
    page.fill("#email", OPERATOR_EMAIL)
    page.fill("#password", OPERATOR_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/console/enrol**")
    expect(page.locator(".qr svg")).to_be_visible()
    totp = pyotp.TOTP(page.locator("#secret").inner_text().replace(" ", ""))
    code = totp.now()
    page.fill("#code", code)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/console\?lang=en$"))
    return totp, code


def owner_log_in(page, url: str, email: str, lang: str = "en") -> None:  # type: ignore[no-untyped-def]
    """An owner logs in to the billing section at /web/login with the tests' password."""
    page.goto(f"{url}/web/login?lang={lang}")
    page.fill("#email", email)
    page.fill("#password", "correct horse")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(rf"/billing\?lang={lang}$"))

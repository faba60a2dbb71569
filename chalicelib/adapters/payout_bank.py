"""The bank's payout API, behind one small interface: `request_payout(payout)` asks the bank to
send the money; the bank answers later with a signed `payout.paid` or `payout.failed` webhook.

On AWS `BANK_PAYOUT_URL` names the bank's endpoint and requests are signed like its webhooks
(`X-Bank-Signature: t=<unix>,v1=<HMAC-SHA256 of "<t>.<body>">`). Locally the "bank" is a file the
developer reads (`var/bank/payout_requests.jsonl`) and answers with
`python -m infra.local.bank_pay payout <payout id> paid|failed`. The payout id is the request's
idempotency key, so a request sent twice is paid once.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.request
from pathlib import Path
from typing import Protocol

from chalicelib.platform import outgoing, secret_store
from chalicelib.platform.config import settings
from chalicelib.store.models import PayoutModel


class PayoutBank(Protocol):
    def request_payout(self, payout: PayoutModel) -> None: ...


def _request(payout: PayoutModel) -> dict:
    return {"payout_id": payout.id, "amount": int(payout.amount), "currency": payout.currency,
            "method": payout.method, "destination": payout.destination}


class LocalBank:
    def request_payout(self, payout: PayoutModel) -> None:
        folder = Path(settings.bank_outbox_dir)
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / "payout_requests.jsonl").open("a", encoding="utf-8") as outbox:
            outbox.write(json.dumps(_request(payout)) + "\n")


class HttpBank:
    def request_payout(self, payout: PayoutModel) -> None:
        body = json.dumps(_request(payout)).encode()
        timestamp = str(int(time.time()))
        mac = hmac.new(secret_store.current("bank-webhook").encode(), timestamp.encode() + b"." + body,
                       hashlib.sha256).hexdigest()
        request = urllib.request.Request(settings.bank_payout_url, data=body, method="POST", headers={
            "Content-Type": "application/json", "Idempotency-Key": payout.id,
            "X-Bank-Signature": f"t={timestamp},v1={mac}"})
        with outgoing.urlopen(request, timeout=10):
            pass


def get_bank() -> PayoutBank:
    return HttpBank() if settings.bank_payout_url else LocalBank()

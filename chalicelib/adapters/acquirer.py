"""The card acquirer, behind one small interface shaped like Monobank acquiring: a payment page valid
for `validity` seconds that may save the card as a token (`create_payment`), a charge of a saved token
(`charge`), and a refund (`refund`). Every call names the payment by our own id (the acquirer's
`reference`), so a call repeated after a lost answer is the same payment; a charge also carries an
idempotency key (the invoice it pays): the acquirer never charges one key twice once it succeeded, and
a declined key may be charged again (the retries of the next days). Outcomes are never read from the
call's answer: every payment and refund is answered by the acquirer's signed webhook
(`POST /v1/webhooks/acquirer`, `X-Acquirer-Signature` in the bank's `t=…,v1=…` scheme).

On AWS `ACQUIRER_URL` is the acquirer's API and `ACQUIRER_KEY` the merchant's token (`X-Token`):
`POST /api/merchant/invoice/create`, `POST /api/merchant/wallet/payment` and
`POST /api/merchant/invoice/cancel`. On the local stage a fake keeps each payment as a JSON file under
`ACQUIRER_LOCAL_DIR`, serves its checkout page (`/web/checkout/<payment id>`, `chalicelib/entrypoints/web`), charges
saved tokens at once (those listed in `ACQUIRER_DECLINE_TOKENS` are declined) and queues its signed
webhooks in `outbox.jsonl`, which the local runner delivers (`python -m infra.local.acquirer
pay|fail|refund <payment id>` answers by hand).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Protocol

from chalicelib.money.amounts import Money
from chalicelib.platform import clock, outgoing
from chalicelib.platform.config import settings
from chalicelib.platform.errors import UpstreamUnavailable

CURRENCY_CODES = {"UAH": 980, "USD": 840, "EUR": 978}
SUCCEEDED, FAILED, REFUNDED = "payment.succeeded", "payment.failed", "refund.succeeded"


def unavailable() -> UpstreamUnavailable:
    """The acquirer did not take the request; asking again with the same payment id is safe."""
    return UpstreamUnavailable("acquirer_unavailable", "The card acquirer did not answer; try again later")


class Acquirer(Protocol):
    def create_payment(self, payment_id: str, amount: Money, description: str, validity_seconds: int,
                       save_card: bool) -> str: ...  # the payment page's address

    def charge(self, payment_id: str, token: str, amount: Money, description: str, idempotency_key: str) -> None: ...

    def refund(self, payment_id: str, amount: Money) -> None: ...


def sign(body: bytes, secret: str | None = None, at: int | None = None) -> str:
    """The `X-Acquirer-Signature` of a webhook body."""
    timestamp = str(int(time.time()) if at is None else at)
    key = (secret or settings.acquirer_webhook_secret).encode()
    return f"t={timestamp},v1={hmac.new(key, timestamp.encode() + b'.' + body, hashlib.sha256).hexdigest()}"


def event(kind: str, payment_id: str, amount: Money, card: dict | None = None) -> dict:
    body = {"event_id": f"evt_{uuid.uuid4().hex}", "type": kind, "payment_id": payment_id,
            "amount": amount.amount_minor, "currency": amount.currency}
    if card is not None:
        body["card"] = card
    return body


class HttpAcquirer:
    def _post(self, path: str, body: dict, idempotency_key: str | None = None) -> dict:
        headers = {"Content-Type": "application/json", "X-Token": settings.acquirer_key}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        request = urllib.request.Request(f"{settings.acquirer_url.rstrip('/')}{path}", data=json.dumps(body).encode(),
                                         method="POST", headers=headers)
        try:
            with outgoing.urlopen(request, timeout=10) as response:
                return dict(json.loads(response.read() or b"{}"))
        except (urllib.error.URLError, TimeoutError, ValueError):
            raise unavailable() from None

    def _webhook(self) -> str:
        return f"{settings.app_url.rstrip('/')}/v1/webhooks/acquirer"

    def create_payment(self, payment_id: str, amount: Money, description: str, validity_seconds: int,
                       save_card: bool) -> str:
        answer = self._post("/api/merchant/invoice/create", {
            "amount": amount.amount_minor, "ccy": CURRENCY_CODES[amount.currency], "validity": validity_seconds,
            "merchantPaymInfo": {"reference": payment_id, "destination": description},
            "saveCardData": {"saveCard": save_card}, "webHookUrl": self._webhook()}, idempotency_key=payment_id)
        return str(answer["pageUrl"])

    def charge(self, payment_id: str, token: str, amount: Money, description: str, idempotency_key: str) -> None:
        self._post("/api/merchant/wallet/payment", {
            "cardToken": token, "amount": amount.amount_minor, "ccy": CURRENCY_CODES[amount.currency],
            "initiationKind": "merchant", "merchantPaymInfo": {"reference": payment_id, "destination": description},
            "webHookUrl": self._webhook()}, idempotency_key=idempotency_key)

    def refund(self, payment_id: str, amount: Money) -> None:
        self._post("/api/merchant/invoice/cancel", {"reference": payment_id, "amount": amount.amount_minor},
                   idempotency_key=f"{payment_id}:refund")


class LocalAcquirer:
    """The local stage's acquirer: payments as files, webhooks queued in an outbox."""

    @property
    def _dir(self) -> Path:
        return Path(settings.acquirer_local_dir)

    def _path(self, payment_id: str) -> Path:
        if not payment_id.replace("_", "").isalnum():
            raise KeyError(payment_id)
        return self._dir / "payments" / f"{payment_id}.json"

    def load(self, payment_id: str) -> dict | None:
        try:
            return dict(json.loads(self._path(payment_id).read_text(encoding="utf-8")))
        except (FileNotFoundError, KeyError):
            return None

    def _save(self, payment: dict) -> None:
        path = self._path(payment["id"])
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(payment, ensure_ascii=False), encoding="utf-8")
        temporary.replace(path)

    def _emit(self, body: dict) -> None:
        self._dir.mkdir(parents=True, exist_ok=True)
        with (self._dir / "outbox.jsonl").open("a", encoding="utf-8") as outbox:
            outbox.write(json.dumps(body) + "\n")

    def create_payment(self, payment_id: str, amount: Money, description: str, validity_seconds: int,
                       save_card: bool) -> str:
        existing = self.load(payment_id)
        if existing is None:
            existing = {"id": payment_id, "amount": amount.amount_minor, "currency": amount.currency,
                        "description": description, "save_card": save_card, "status": "created",
                        "expires_at": clock.iso(clock.now() + timedelta(seconds=validity_seconds))}
            self._save(existing)
        return f"{settings.app_url.rstrip('/')}/web/checkout/{payment_id}"

    def charge(self, payment_id: str, token: str, amount: Money, description: str, idempotency_key: str) -> None:
        existing = self.load(payment_id)
        if existing is not None and existing.get("event"):
            self._emit(existing["event"])  # asked again: the same answer (the service applies it once)
            return
        if self._note("keys", idempotency_key) is not None:
            return  # this key was charged already: never twice
        card = self._note("tokens", token) or {"mask": "000000******0000", "holder": "", "token": token}
        approved = token not in settings.acquirer_decline_tokens
        body = event(SUCCEEDED if approved else FAILED, payment_id, amount, card)
        self._save({"id": payment_id, "amount": amount.amount_minor, "currency": amount.currency,
                    "description": description, "key": idempotency_key, "token": token, "card": card,
                    "status": "succeeded" if approved else "failed", "event": body})
        if approved:
            self._keep("keys", idempotency_key, {"payment_id": payment_id})
        self._emit(body)

    def _note(self, kind: str, name: str) -> dict | None:
        """What the fake remembers by a key or a card token (one small file each, so a charge reads one)."""
        digest = hashlib.sha256(name.encode()).hexdigest()
        try:
            return dict(json.loads((self._dir / kind / f"{digest}.json").read_text(encoding="utf-8")))
        except FileNotFoundError:
            return None

    def _keep(self, kind: str, name: str, value: dict) -> None:
        path = self._dir / kind / f"{hashlib.sha256(name.encode()).hexdigest()}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value), encoding="utf-8")

    def refund(self, payment_id: str, amount: Money) -> None:
        payment = self.load(payment_id)
        if payment is None or payment["status"] != "succeeded":
            return
        self._save({**payment, "status": "refunded"})
        self._emit(event(REFUNDED, payment_id, amount))

    def answer(self, payment_id: str, paid: bool, card_number: str = "4111111111111111",
               holder: str = "TEST HOLDER", *, save: bool = True) -> dict:
        """The person on the checkout page (or the developer) pays or declines; unticking "save this card"
        (`save=False`) pays without giving us the card's token."""
        payment = self.load(payment_id)
        if payment is None:
            raise KeyError(payment_id)
        digits = "".join(ch for ch in card_number if ch.isdigit())
        token = "tok_" + hashlib.sha256(digits.encode()).hexdigest()[:24]
        card = {"mask": f"{digits[:6]}******{digits[-4:]}", "holder": holder.strip().upper(), "token": token}
        saved = bool(paid and payment.get("save_card") and save)
        if not saved:
            card = {key: value for key, value in card.items() if key != "token"}
        money = Money(int(payment["amount"]), payment["currency"])
        body = event(SUCCEEDED if paid else FAILED, payment_id, money, card)
        self._save({**payment, "status": "succeeded" if paid else "failed", "card": card, "event": body})
        if saved:
            self._keep("tokens", token, card)
        self._emit(body)
        return body

    def refund_by_hand(self, payment_id: str) -> dict | None:
        payment = self.load(payment_id)
        if payment is None or payment["status"] != "succeeded":
            return None
        body = event(REFUNDED, payment_id, Money(int(payment["amount"]), payment["currency"]))
        self._save({**payment, "status": "refunded"})
        self._emit(body)
        return body

    def take_outbox(self) -> list[dict]:
        """The webhooks not yet delivered, removed from the outbox."""
        path = self._dir / "outbox.jsonl"
        if not path.exists():
            return []
        taken = path.with_suffix(f".{uuid.uuid4().hex}.taking")
        path.replace(taken)
        events = [json.loads(line) for line in taken.read_text(encoding="utf-8").splitlines() if line.strip()]
        taken.unlink()
        return events


def deliver(events: list[dict], post: Callable[[bytes, str], int]) -> int:
    """Send each webhook, signed, through `post(body, signature)`; those not answered 200 go back to the
    outbox. Returns how many were delivered."""
    delivered, failed = 0, []
    for body in events:
        raw = json.dumps(body).encode()
        if post(raw, sign(raw)) == 200:
            delivered += 1
        else:
            failed.append(body)
    for body in failed:
        LocalAcquirer()._emit(body)
    return delivered


def get_acquirer() -> Acquirer:
    """The acquirer's API on every deployed stage; the local fake on the local stage."""
    return HttpAcquirer() if settings.acquirer_url or not settings.is_local else LocalAcquirer()

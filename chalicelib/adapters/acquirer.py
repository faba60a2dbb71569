"""The card acquirer, behind one small interface shaped like Monobank acquiring: a payment page valid
for `validity` seconds that may save the card as a token (`create_payment`), a charge of a saved token
(`charge`), and a refund (`refund`). Every call names the payment by our own id (the acquirer's
`reference`), so a call repeated after a lost answer is the same payment; a charge also carries an
idempotency key (the attempt it is: `<invoice id>:<n>`): the acquirer answers one key once, so a resend of
an attempt is that attempt, and each retry of the next days is a new attempt the bank decides afresh.
The acquirer's own id of a payment (Monobank's `invoiceId`) comes back from `create_payment` and
`charge` and with every webhook; a refund names it.

Answers are classified: an HTTP 4xx is a refusal (`UpstreamRefused`: a bad token, an expired card, the
bank said no), an outcome a resend would only repeat; only a timeout, a 5xx or a broken connection is
`UpstreamUnavailable`, asked again later under the same payment id and key. Outcomes of accepted
requests are never read from the call's answer: every payment and refund is answered by the acquirer's
signed webhook (`POST /v1/webhooks/acquirer`, `X-Acquirer-Signature` in the bank's `t=…,v1=…` scheme).

On AWS `ACQUIRER_URL` is the acquirer's API and `ACQUIRER_KEY` the merchant's token (`X-Token`):
`POST /api/merchant/invoice/create`, `POST /api/merchant/wallet/payment` and
`POST /api/merchant/invoice/cancel`. On the local stage a fake keeps each payment as a JSON file under
`ACQUIRER_LOCAL_DIR`, serves its checkout page (`/web/checkout/<payment id>`, `chalicelib/entrypoints/web`), charges
saved tokens at once (those listed in `ACQUIRER_DECLINE_TOKENS` are declined) and queues its signed
webhooks in its outbox, one file per event (`outbox/`), which the local runner delivers (`python -m
infra.local.acquirer pay|fail|refund <payment id>` answers by hand; `refuse-next|timeout-next <token or
site id>` makes the next call about that card answer 4xx, or be lost as if it timed out).
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
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Protocol

from chalicelib.money.amounts import Money
from chalicelib.platform import clock, outgoing, secret_store
from chalicelib.platform.config import settings
from chalicelib.platform.errors import UpstreamRefused, UpstreamUnavailable

CURRENCY_CODES = {"UAH": 980, "USD": 840, "EUR": 978}
SUCCEEDED, FAILED, REFUNDED = "payment.succeeded", "payment.failed", "refund.succeeded"


def unavailable() -> UpstreamUnavailable:
    """The acquirer did not take the request; asking again with the same payment id is safe."""
    return UpstreamUnavailable("acquirer_unavailable", "The card acquirer did not answer; try again later")


def refused(detail: str = "") -> UpstreamRefused:
    """The acquirer answered and refused the request (4xx): asking again the same way would be refused again."""
    said = f": {detail}" if detail else ""
    return UpstreamRefused("acquirer_refused", f"The card acquirer refused the request{said}")


@dataclass(frozen=True)
class PaymentPage:
    url: str  # the payment page's address
    acquirer_id: str | None  # the acquirer's own id of the payment (Monobank's invoiceId)


class Acquirer(Protocol):
    def create_payment(self, payment_id: str, amount: Money, description: str, validity_seconds: int,
                       save_card: bool) -> PaymentPage: ...

    # the acquirer's own id of the payment, when its answer names one
    def charge(self, payment_id: str, token: str, amount: Money, description: str,
               idempotency_key: str) -> str | None: ...

    def refund(self, payment_id: str, amount: Money, acquirer_id: str | None = None) -> None: ...


def sign(body: bytes, secret: str | None = None, at: int | None = None) -> str:
    """The `X-Acquirer-Signature` of a webhook body."""
    timestamp = str(int(time.time()) if at is None else at)
    key = (secret or secret_store.current("acquirer-webhook")).encode()
    return f"t={timestamp},v1={hmac.new(key, timestamp.encode() + b'.' + body, hashlib.sha256).hexdigest()}"


def event(kind: str, payment_id: str, amount: Money, card: dict | None = None, acquirer_id: str | None = None) -> dict:
    body = {"event_id": f"evt_{uuid.uuid4().hex}", "type": kind, "payment_id": payment_id,
            "amount": amount.amount_minor, "currency": amount.currency}
    if acquirer_id:
        body["acquirer_id"] = acquirer_id
    if card is not None:
        body["card"] = card
    return body


class HttpAcquirer:
    def _post(self, path: str, body: dict, idempotency_key: str | None = None) -> dict:
        headers = {"Content-Type": "application/json", "X-Token": secret_store.current("acquirer-key")}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        request = urllib.request.Request(f"{settings.acquirer_url.rstrip('/')}{path}", data=json.dumps(body).encode(),
                                         method="POST", headers=headers)
        try:
            with outgoing.urlopen(request, timeout=10) as response:
                return dict(json.loads(response.read() or b"{}"))
        except urllib.error.HTTPError as answer:  # an HTTPError is a URLError too: classified first
            if 400 <= answer.code < 500:
                raise refused(f"HTTP {answer.code}") from None
            raise unavailable() from None
        except (urllib.error.URLError, OSError, ValueError):  # timeouts, broken connections, a garbled answer
            raise unavailable() from None

    def _webhook(self) -> str:
        return f"{settings.app_url.rstrip('/')}/v1/webhooks/acquirer"

    def create_payment(self, payment_id: str, amount: Money, description: str, validity_seconds: int,
                       save_card: bool) -> PaymentPage:
        answer = self._post("/api/merchant/invoice/create", {
            "amount": amount.amount_minor, "ccy": CURRENCY_CODES[amount.currency], "validity": validity_seconds,
            "merchantPaymInfo": {"reference": payment_id, "destination": description},
            "saveCardData": {"saveCard": save_card}, "webHookUrl": self._webhook()}, idempotency_key=payment_id)
        return PaymentPage(str(answer["pageUrl"]), str(answer["invoiceId"]) if answer.get("invoiceId") else None)

    def charge(self, payment_id: str, token: str, amount: Money, description: str,
               idempotency_key: str) -> str | None:
        answer = self._post("/api/merchant/wallet/payment", {
            "cardToken": token, "amount": amount.amount_minor, "ccy": CURRENCY_CODES[amount.currency],
            "initiationKind": "merchant", "merchantPaymInfo": {"reference": payment_id, "destination": description},
            "webHookUrl": self._webhook()}, idempotency_key=idempotency_key)
        return str(answer["invoiceId"]) if answer.get("invoiceId") else None

    def refund(self, payment_id: str, amount: Money, acquirer_id: str | None = None) -> None:
        body: dict = {"extRef": payment_id, "amount": amount.amount_minor}
        if acquirer_id:
            body["invoiceId"] = acquirer_id
        self._post("/api/merchant/invoice/cancel", body, idempotency_key=f"{payment_id}:refund")


class LocalAcquirer:
    """The local stage's acquirer: payments as files, webhooks queued in an outbox of one file per event
    (written whole, then renamed into place; taken by renaming each away first), so a writer and the
    runner taking the outbox never lose an event between them."""

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
        temporary = path.with_suffix(f".{uuid.uuid4().hex}.tmp")
        temporary.write_text(json.dumps(payment, ensure_ascii=False), encoding="utf-8")
        temporary.replace(path)

    def _emit(self, body: dict) -> None:
        folder = self._dir / "outbox"
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns():020d}-{uuid.uuid4().hex}"
        temporary = folder / f"{name}.tmp"
        temporary.write_text(json.dumps(body), encoding="utf-8")
        temporary.replace(folder / f"{name}.json")

    @staticmethod
    def acquirer_id(payment_id: str) -> str:
        """The fake's own id of a payment (Monobank's invoiceId)."""
        return "mono_" + hashlib.sha256(payment_id.encode()).hexdigest()[:20]

    # --- faults a developer (or a test) arms: the next call about a card answers 4xx, or is lost ---------------

    def arm(self, name: str, fault: str) -> None:
        """`refuse` or `timeout` the next call about the card token `name` (a refund of a payment that kept no
        token: about its payment id)."""
        if fault not in ("refuse", "timeout"):
            raise ValueError(fault)
        self._keep("faults", name, {"fault": fault})

    def _fault(self, name: str | None) -> None:
        if name:
            path = self._dir / "faults" / f"{hashlib.sha256(name.encode()).hexdigest()}.json"
            taken = path.with_suffix(f".{uuid.uuid4().hex}.taken")
            try:
                path.replace(taken)  # one call takes the fault, whoever races for it
            except FileNotFoundError:
                return
            fault = json.loads(taken.read_text(encoding="utf-8"))["fault"]
            taken.unlink()
            if fault == "refuse":
                raise refused("HTTP 400 (armed by hand)")
            raise unavailable()

    def create_payment(self, payment_id: str, amount: Money, description: str, validity_seconds: int,
                       save_card: bool) -> PaymentPage:
        existing = self.load(payment_id)
        if existing is None:
            existing = {"id": payment_id, "amount": amount.amount_minor, "currency": amount.currency,
                        "description": description, "save_card": save_card, "status": "created",
                        "acquirer_id": self.acquirer_id(payment_id),
                        "expires_at": clock.iso(clock.now() + timedelta(seconds=validity_seconds))}
            self._save(existing)
        return PaymentPage(f"{settings.app_url.rstrip('/')}/web/checkout/{payment_id}", self.acquirer_id(payment_id))

    def charge(self, payment_id: str, token: str, amount: Money, description: str,
               idempotency_key: str) -> str | None:
        self._fault(token)
        existing = self.load(payment_id)
        if existing is not None and existing.get("event"):
            self._emit(existing["event"])  # asked again: the same answer (the service applies it once)
            return self.acquirer_id(payment_id)
        if self._note("keys", idempotency_key) is not None:
            return self.acquirer_id(payment_id)  # this key was charged already: never twice
        card = self._note("tokens", token) or {"mask": "000000******0000", "holder": "", "token": token}
        approved = token not in settings.acquirer_decline_tokens
        body = event(SUCCEEDED if approved else FAILED, payment_id, amount, card, self.acquirer_id(payment_id))
        self._save({"id": payment_id, "amount": amount.amount_minor, "currency": amount.currency,
                    "description": description, "key": idempotency_key, "token": token, "card": card,
                    "acquirer_id": self.acquirer_id(payment_id),
                    "status": "succeeded" if approved else "failed", "event": body})
        if approved:
            self._keep("keys", idempotency_key, {"payment_id": payment_id})
        self._emit(body)
        return self.acquirer_id(payment_id)

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
        temporary = path.with_suffix(f".{uuid.uuid4().hex}.tmp")
        temporary.write_text(json.dumps(value), encoding="utf-8")
        temporary.replace(path)

    def refund(self, payment_id: str, amount: Money, acquirer_id: str | None = None) -> None:
        payment = self.load(payment_id)
        if payment is not None:
            self._fault(payment.get("token") or (payment.get("card") or {}).get("token") or payment_id)
        if payment is None or payment["status"] != "succeeded":
            return
        if acquirer_id is not None and acquirer_id != payment.get("acquirer_id", self.acquirer_id(payment_id)):
            raise refused("HTTP 404 (no such invoiceId)")
        self._save({**payment, "status": "refunded"})
        self._emit(event(REFUNDED, payment_id, amount, acquirer_id=self.acquirer_id(payment_id)))

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
        body = event(SUCCEEDED if paid else FAILED, payment_id, money, card, self.acquirer_id(payment_id))
        self._save({**payment, "status": "succeeded" if paid else "failed", "card": card, "event": body})
        if saved:
            self._keep("tokens", token, card)
        self._emit(body)
        return body

    def refund_by_hand(self, payment_id: str) -> dict | None:
        payment = self.load(payment_id)
        if payment is None or payment["status"] != "succeeded":
            return None
        body = event(REFUNDED, payment_id, Money(int(payment["amount"]), payment["currency"]),
                     acquirer_id=self.acquirer_id(payment_id))
        self._save({**payment, "status": "refunded"})
        self._emit(body)
        return body

    def take_outbox(self) -> list[dict]:
        """The webhooks not yet delivered, oldest first, removed from the outbox (each file renamed away
        before it is read, so two takers never deliver one event twice and a writer never loses one)."""
        folder = self._dir / "outbox"
        if not folder.exists():
            return []
        events = []
        for path in sorted(folder.glob("*.json")):
            taken = path.with_suffix(f".{uuid.uuid4().hex}.taking")
            try:
                path.replace(taken)
            except FileNotFoundError:
                continue  # another taker has it
            events.append(json.loads(taken.read_text(encoding="utf-8")))
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


def for_currency(currency: str) -> Acquirer | None:
    """The acquirer that takes cards in `currency` (`CARD_ACQUIRERS`), or None when no card is taken in it."""
    if (settings.card_acquirers.get(currency) or settings.card_acquirers.get("*")) is None:
        return None
    adapter = get_acquirer()
    return None if isinstance(adapter, HttpAcquirer) and currency not in CURRENCY_CODES else adapter


def get_acquirer() -> Acquirer:
    """The acquirer's API on every deployed stage; the local fake on the local stage."""
    return HttpAcquirer() if settings.acquirer_url or not settings.is_local else LocalAcquirer()

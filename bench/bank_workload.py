"""A bank workload in the spirit of Jepsen's bank test, over real HTTP against a running local stage
(`make run`, or the one the long test suite starts):

    python -m bench.bank_workload [--url http://127.0.0.1:8000] [--dynamodb http://127.0.0.1:8766]
                                  [--seconds 30] [--clients 6] [--contractors 4] [--seed 1]

Clients top up through signed bank webhooks (some delivered twice at once, some replayed late) and by card
(`POST /v1/topups`, the acquirer's answer once, twice, late or declined, and sometimes two pages of one top-up
both paid: the second is a duplicate, refunded), place orders and pay extras (answered 402 with a card top-up
when the balance is short, and that top-up often paid, which completes the action), accept deliveries, ask for
revisions, cancel, send B2B tasks and ask for payouts.
Contractors start, deliver, offer extras, accept cancellations, complete tasks and ask for payouts.
The bank answers payouts (paid or failed, some answers twice). Site owners (`--sites`) pay their monthly
service invoices through payment links and by bank transfer, and save cards (paying an invoice, or the
1.00 UAH verification); the workload plays the card acquirer's webhooks for those pages (some twice at
once, some late — a link may expire mid-payment — some declined), and the stage's fake acquirer charges
the saved cards on the invoice dates. Two job runners call the scheduled jobs over and over while
another thread moves the clock forward, so timers cancel and accept (and invoice, charge, dun) on
their own in between. Every client request carries an Idempotency-Key and a short, random timeout;
a timed-out, throttled or busy request is sent again with the same key, as a real client would.

When the time is up the workload quiesces (no more requests, a last round of jobs) and checks:
every currency sums to zero; no user's available or held is below zero; every account's balance
equals the sum of its journal lines; what each user holds equals the escrow of their deals in a
money-holding state plus their pending payouts; every order's escrow fits its status; each bank
event was credited at most once, and each user got exactly the invoices that were paid; each service
invoice was paid by exactly one payment (card, link or transfer) and revenue in UAH is exactly the paid
service invoices; every card payment the acquirer took — the workload's own pages and the stage's own
auto-charges alike, known by the acquirer's payment id whoever sent its events — ends in exactly one of:
paying one invoice, refunded (or its refund pending), or parked once with a reason an operator sees, and
none is parked as `invoice_already_paid` (a duplicate goes back by itself); no site is past due or
blocked with nothing overdue; the card clearing account holds exactly the refunds pending; each client's card
top-ups in the journal are exactly his paid top-ups, each paid by one card payment, and each completed action
of a paid top-up made its deal. It prints
the operations done, operations per second and the violations found; it exits 1 if there are any.

Why one file of this size: a workload is read top to bottom, its actors, faults and final checks in the
order they run, like Jepsen's own tests."""
from __future__ import annotations

import argparse
import faulthandler
import hashlib
import hmac
import json
import os
import random
import signal
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import requests

BANK_SECRET = os.environ.get("BANK_WEBHOOK_SECRET", "local-bank-secret")
ACQUIRER_SECRET = os.environ.get("ACQUIRER_WEBHOOK_SECRET", "local-acquirer-secret")
OPERATOR = ("operator@escrowdesk.local", "local-operator-pass")
CURRENCIES = ("USD", "EUR")
CARD = "4111 1111 1111 1111"


def sign(body: bytes, secret: str = BANK_SECRET) -> str:
    timestamp = str(int(time.time()))
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


@dataclass
class Stats:
    lock: threading.Lock = field(default_factory=threading.Lock)
    ops: Counter = field(default_factory=Counter)      # completed requests by name
    answers: Counter = field(default_factory=Counter)  # status codes seen
    retries: int = 0
    server_errors: list[str] = field(default_factory=list)
    failures: Counter = field(default_factory=Counter)  # what made a request go again: timeout, 500, 503, busy
    refusals: Counter = field(default_factory=Counter)  # final 4xx answers by (request, error code)

    def done(self, name: str, response: requests.Response) -> None:
        with self.lock:
            self.ops[name] += 1
            self.answers[response.status_code] += 1
            if response.status_code >= 400:
                self.refusals[(name, _code(response))] += 1


class Client:
    """One caller's HTTP session. `call` retries a request with the same Idempotency-Key after a
    timeout, a 409 busy or a 503, and returns the final answer (None if it never got one)."""

    def __init__(self, url: str, stats: Stats, rng: random.Random, token: str | None = None, *,
                 patient: bool = False) -> None:
        self.url, self.stats, self.rng, self.token, self.patient = url, stats, rng, token, patient
        self.http = requests.Session()

    def call(self, name: str, method: str, path: str, body=None, *, raw: bytes | None = None,
             headers: dict | None = None, attempts: int = 8) -> requests.Response | None:
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        if self.token:
            all_headers["Authorization"] = f"Bearer {self.token}"
        if method == "POST":
            all_headers.setdefault("Idempotency-Key", f"{name}-{uuid.uuid4()}")
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        for attempt in range(attempts):
            # mostly patient, sometimes so impatient that the server finishes after the client gave up
            impatient = attempt < attempts - 1 and not self.patient
            timeout = self.rng.choice((0.05, 0.3, 5.0, 5.0, 5.0)) if impatient else 30.0
            try:
                response = self.http.request(method, self.url + path, data=data, headers=all_headers, timeout=timeout)
            except requests.RequestException:
                with self.stats.lock:
                    self.stats.retries += 1
                    self.stats.failures["timeout"] += 1
                continue
            busy = response.status_code == 503 or (response.status_code == 409 and _code(response) == "busy")
            if busy or response.status_code == 500:
                if response.status_code == 500:
                    with self.stats.lock:
                        self.stats.server_errors.append(f"{method} {path}: {response.text[:200]}")
                with self.stats.lock:
                    self.stats.retries += 1
                    self.stats.failures["busy" if response.status_code == 409 else str(response.status_code)] += 1
                time.sleep(0.05 * (attempt + 1))
                continue
            self.stats.done(name, response)
            return response
        return None

    def json(self, name: str, method: str, path: str, body=None, **kw) -> dict | None:
        response = self.call(name, method, path, body, **kw)
        return response.json() if response is not None and response.status_code < 300 else None


def _code(response: requests.Response) -> str | None:
    try:
        return response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None


@dataclass
class World:
    url: str
    stats: Stats
    clients: list[tuple[str, str]] = field(default_factory=list)      # (user id, token)
    contractors: list[tuple[str, str]] = field(default_factory=list)
    gigs: list[dict] = field(default_factory=list)
    invoices: dict[str, dict] = field(default_factory=dict)            # id -> {owner, amount, currency, details}
    delivered_events: dict[str, str] = field(default_factory=dict)     # event id -> invoice id
    payouts: list[str] = field(default_factory=list)
    bank_queue: list[tuple[float, bytes]] = field(default_factory=list)  # (not before, body)
    acked: set[str] = field(default_factory=set)                       # event ids the bank got a 2xx for
    sites: list[tuple[str, str]] = field(default_factory=list)         # (site id, owner's token)
    acquirer_queue: list[tuple[float, bytes]] = field(default_factory=list)  # the acquirer's webhooks
    acquirer_events: set[str] = field(default_factory=set)
    topups: dict[str, str] = field(default_factory=dict)               # card top-up id -> its client's id
    operator_token: str | None = None  # logged in once, before the load: the checks use it at the end
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)


def log_in_operator(world: World, patience: float = 120.0) -> str | None:
    """The operator's session, logged in once and kept in the world. Patient: every attempt waits for its answer
    (a log-in given up on still counts against the log-in limits), and a 429 waits as it asks, until `patience`
    seconds have passed."""
    if world.operator_token:
        return world.operator_token
    operator = Client(world.url, world.stats, random.Random(0), patient=True)
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        response = operator.call("login", "POST", "/v1/auth/login", {"email": OPERATOR[0], "password": OPERATOR[1]},
                                 attempts=3)
        if response is not None and response.status_code == 200:
            world.operator_token = response.json()["token"]
            return world.operator_token
        asked = response.headers.get("Retry-After", "") if response is not None else ""
        wait = float(asked) if asked.isdigit() else 1.0
        time.sleep(min(max(wait, 0.5), max(0.0, deadline - time.monotonic())))
    return None


def _signup(client: Client, who: str) -> tuple[str, str, str]:
    """A new user: (id, token, e-mail)."""
    email = f"{who}-{uuid.uuid4().hex[:10]}@example.com"
    answer = client.json("signup", "POST", "/v1/auth/signup", {"email": email, "password": "correct horse",
                                                               "name": who})
    assert answer is not None, f"cannot sign up {email}"
    # the local stage confirms the address without its e-mail: payouts and joining a team need it
    client.json("confirm address", "POST", f"/dev/users/{answer['user']['id']}/email-confirmation")
    token = answer.get("token")
    if token is None:  # a replayed sign-up (its Idempotency-Key sent again) starts no session: log in
        login = client.json("login", "POST", "/v1/auth/login", {"email": email, "password": "correct horse"})
        assert login is not None, f"cannot log in {email}"
        token = login["token"]
    return answer["user"]["id"], token, email


# --- the actors ---


def client_loop(world: World, user_id: str, token: str, seed: int) -> None:
    rng = random.Random(seed)
    me = Client(world.url, world.stats, rng, token)
    while not world.stop.is_set():
        action = rng.choices(("top_up", "card_top_up", "order", "review", "extras", "cancel", "task", "payout"),
                             weights=(3, 1, 5, 4, 2, 1, 2, 1))[0]
        if action == "top_up":
            currency = rng.choice(CURRENCIES)
            invoice = me.json("create invoice", "POST", "/v1/invoices",
                              {"amount": rng.choice((20_000, 35_000, 50_000)), "currency": currency})
            if invoice:
                with world.lock:
                    world.invoices[invoice["id"]] = {"owner": user_id, **invoice}
                _queue_transfer(world, rng, invoice)
        elif action == "card_top_up":
            topup = me.json("card top-up", "POST", "/v1/topups", {"amount": rng.choice((5_000, 20_000)),
                                                                  "currency": rng.choice(CURRENCIES)})
            if topup:
                _pay_topup(world, me, rng, user_id, topup["id"])
        elif action == "order":
            gig = rng.choice(world.gigs)
            _or_top_up(world, me, rng, user_id, me.call("place order", "POST", "/v1/orders", {"gig_id": gig["id"]}))
        elif action in ("review", "extras", "cancel"):
            orders = me.json("list orders", "GET", "/v1/orders?limit=50") or {"items": []}
            for order in orders.get("items", []):
                path = f"/v1/orders/{order['id']}"
                if action == "review" and order["status"] == "on_review":
                    if rng.random() < 0.8:
                        me.call("accept delivery", "POST", f"{path}/accept")
                    else:
                        me.call("request revision", "POST", f"{path}/request-revision", {"message": "More contrast"})
                elif action == "extras":
                    for extra in order.get("extras", []):
                        if extra["status"] == "offered":
                            verb = "pay" if rng.random() < 0.8 else "reject"
                            _or_top_up(world, me, rng, user_id,
                                       me.call(f"{verb} extra", "POST", f"{path}/extras/{extra['id']}/{verb}"))
                elif action == "cancel" and order["status"] in ("not_started", "in_progress") and rng.random() < 0.3:
                    if order["status"] == "in_progress":
                        me.call("ask cancellation", "POST", f"{path}/cancellation", {"reason": "no_longer_needed"})
                    else:
                        me.call("cancel", "POST", f"{path}/cancel", {"reason": "changed my mind"})
        elif action == "task":
            team = me.json("team", "GET", "/v1/team") or {"items": []}
            members = [m for m in team["items"] if m.get("user_id") and m.get("state") == "active"]
            if members:
                task = me.json("create task", "POST", "/v1/tasks", {
                    "contractor_id": rng.choice(members)["user_id"], "title": "Translate a page",
                    "amount": rng.choice((1_500, 4_000)), "currency": rng.choice(CURRENCIES)})
                if task and task["status"] == "draft":
                    me.call("send task", "POST", f"/v1/tasks/{task['id']}/send")
        elif action == "payout":
            _payout(world, me, rng)
        time.sleep(rng.uniform(0, 0.02))


def contractor_loop(world: World, user_id: str, token: str, seed: int) -> None:
    rng = random.Random(seed)
    me = Client(world.url, world.stats, rng, token)
    while not world.stop.is_set():
        orders = me.json("list orders", "GET", "/v1/orders?role=contractor&limit=50") or {"items": []}
        for order in orders.get("items", []):
            path = f"/v1/orders/{order['id']}"
            status = order["status"]
            if status == "not_started" and rng.random() < 0.7:
                me.call("start", "POST", f"{path}/start")
            elif status == "in_progress":
                if (order.get("cancellation") or {}).get("by") == "client":
                    me.call("accept cancellation", "POST", f"{path}/cancellation/accept")
                elif rng.random() < 0.2 and not any(e["status"] == "offered" for e in order.get("extras", [])):
                    me.call("offer extra", "POST", f"{path}/extras", {"title": "Sources", "amount": 1_000,
                                                                      "extra_days": 1})
                elif rng.random() < 0.6:
                    me.call("deliver", "POST", f"{path}/deliver", {"message": "Here you are"})
        tasks = me.json("list tasks", "GET", "/v1/tasks?role=contractor&limit=50") or {"items": []}
        for task in tasks.get("items", []):
            if task["status"] == "in_work" and rng.random() < 0.7:
                me.call("complete task", "POST", f"/v1/tasks/{task['id']}/done")
        if rng.random() < 0.1:
            _payout(world, me, rng)
        time.sleep(rng.uniform(0, 0.05))


def _payout(world: World, me: Client, rng: random.Random) -> None:
    balances = me.json("balances", "GET", "/v1/balances") or {"items": []}
    for line in balances["items"]:
        if line["available"] >= 2_000 and rng.random() < 0.5:
            payout = me.json("ask payout", "POST", "/v1/payouts", {
                "amount": rng.randint(1_000, line["available"]), "currency": line["currency"],
                "destination": {"type": "card", "number": CARD}})
            if payout:
                with world.lock:
                    world.payouts.append(payout["id"])


def _or_top_up(world: World, me: Client, rng: random.Random, user_id: str,
               response: requests.Response | None) -> None:
    """A 402 with a card top-up: often paid (the action then completes itself), sometimes left."""
    if response is None or response.status_code != 402 or rng.random() < 0.4:
        return
    topup = (response.json()["error"].get("topup") or {}).get("id")
    if topup:
        _pay_topup(world, me, rng, user_id, topup)


def _pay_topup(world: World, me: Client, rng: random.Random, user_id: str, topup_id: str) -> None:
    """The client pays a card top-up's page (the acquirer answers once, twice, late or declines); sometimes he
    asks for its link again later and pays that page too (a new one once the first expired: a duplicate)."""
    with world.lock:
        world.topups[topup_id] = user_id
    topup = me.json("read top-up", "GET", f"/v1/topups/{topup_id}")
    if topup is None or topup["status"] != "pending" or not topup["payment_url"]:
        return
    total = topup["total"]["amount"]
    _queue_card(world, rng, topup["payment_url"].rsplit("/", 1)[1], total, card=None, currency=topup["currency"])
    if rng.random() < 0.2:
        time.sleep(rng.uniform(0.5, 2))  # the clock moves meanwhile: the link may have expired
        link = me.json("top-up link", "POST", f"/v1/topups/{topup_id}/payment-link")
        if link is not None:
            _queue_card(world, rng, link["payment_id"], total, card=None, currency=topup["currency"])


def _queue_transfer(world: World, rng: random.Random, invoice: dict) -> None:
    event_id = f"evt-{uuid.uuid4()}"
    body = json.dumps({"event_id": event_id, "type": "transfer.incoming", "amount": invoice["amount"],
                       "currency": invoice["currency"], "purpose": invoice["payment_details"],
                       "payer": {"name": "ACME", "iban": "DE89370400440532013000"},
                       "received_at": "2026-11-23T10:00:00Z"}).encode()
    now = time.monotonic()
    with world.lock:
        world.delivered_events[event_id] = invoice["id"]
        world.bank_queue.append((now, body))
        if rng.random() < 0.3:   # the bank's retry after a timeout it imagined
            world.bank_queue.append((now, body))
        if rng.random() < 0.3:   # a replay long after
            world.bank_queue.append((now + rng.uniform(1, 5), body))


def bank_loop(world: World, seed: int) -> None:
    """The bank: transfers (some twice at once, some replayed late) and answers to payouts (some twice).
    Like a real bank it sends an event again until it gets a 2xx for it."""
    rng = random.Random(seed)
    bank = Client(world.url, world.stats, rng)
    answered: set[str] = set()

    def deliver(event_id: str, body: bytes, name: str) -> None:
        response = bank.call(name, "POST", "/v1/webhooks/bank", raw=body, headers={"X-Bank-Signature": sign(body)})
        with world.lock:
            if response is not None and response.status_code < 300:
                world.acked.add(event_id)
            else:  # no answer, or a refusal: the bank tries again a little later
                world.bank_queue.append((time.monotonic() + 1, body))

    def send(items: list[tuple[str, bytes, str]]) -> None:
        threads = [threading.Thread(target=deliver, args=item) for item in items]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    while not world.stop.is_set():
        items = [(json.loads(body)["event_id"], body, "webhook") for body in _due(world)]
        with world.lock:
            unanswered = [p for p in world.payouts if p not in answered]
        for payout_id in unanswered:
            if rng.random() < 0.5:
                continue
            answered.add(payout_id)
            outcome = "paid" if rng.random() < 0.8 else "failed"
            body = json.dumps({"event_id": f"evt-{payout_id}", "type": f"payout.{outcome}", "payout_id": payout_id,
                               "reason": "" if outcome == "paid" else "account closed"}).encode()
            items += [(f"evt-{payout_id}", body, "payout answer")] * (2 if rng.random() < 0.3 else 1)
        send(items)
        time.sleep(0.05)
    # drain: every event, late replays included, is delivered until the bank has its 2xx
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        with world.lock:
            if not world.bank_queue:
                break
            world.bank_queue = [(0.0, body) for _, body in world.bank_queue]
        send([(json.loads(body)["event_id"], body, "webhook") for body in _due(world)])


def site_loop(world: World, site_id: str, token: str, seed: int) -> None:
    """A site's owner: pays open invoices by link (the acquirer's answer once, twice or late, or a decline)
    or by bank transfer, saves cards, and reads the site."""
    rng = random.Random(seed)
    me = Client(world.url, world.stats, rng, token)
    while not world.stop.is_set():
        action = rng.choices(("link", "card", "transfer", "read"), weights=(4, 2, 2, 2))[0]
        if action == "read":
            me.call("site", "GET", f"/v1/sites/{site_id}")
            continue
        listed = me.json("site invoices", "GET", f"/v1/sites/{site_id}/invoices")
        still_open = [i for i in (listed or {}).get("items", []) if i["status"] == "open"]
        if action == "transfer" and still_open:
            invoice = rng.choice(still_open)
            _queue_transfer(world, rng, {"id": invoice["id"], "amount": invoice["amount"], "currency": "UAH",
                                         "payment_details": f"Оплата {invoice['number']}"})
        elif action == "link" and still_open:
            invoice = rng.choice(still_open)
            link = me.json("payment link", "POST", f"/v1/sites/{site_id}/invoices/{invoice['id']}/payment-link")
            if link is not None:
                _queue_card(world, rng, link["payment_id"], invoice["amount"], card=None)
        elif action == "card":
            page = me.json("payment method", "POST", f"/v1/sites/{site_id}/payment-method")
            listed = me.json("card payments", "GET", f"/v1/sites/{site_id}/card-payments?limit=100")
            asked = next((p for p in (listed or {}).get("items", []) if page and p["id"] == page["payment_id"]), None)
            if page is not None and asked is not None:
                _queue_card(world, rng, page["payment_id"], asked["amount"],
                            card={"mask": "411111******1111", "holder": "OWNER", "token": f"tok-{site_id}"},
                            refund=page["purpose"] == "verify")
        time.sleep(rng.uniform(0, 0.05))


def _queue_card(world: World, rng: random.Random, payment_id: str, amount: int, *, card: dict | None,
                refund: bool = False, currency: str = "UAH") -> None:
    """The acquirer's answer to a payment page: mostly paid (some twice at once, some seconds later, when
    the link may have expired), sometimes declined; a verification's refund confirmed a little later."""
    paid = rng.random() < 0.85
    event = {"event_id": f"acq-{uuid.uuid4()}", "type": "payment.succeeded" if paid else "payment.failed",
             "payment_id": payment_id, "amount": amount, "currency": currency,
             "card": card or {"mask": "411111******1111", "holder": "OWNER", "token": "tok-link"}}
    body = json.dumps(event).encode()
    now = time.monotonic()
    later = now + rng.uniform(1, 6) if rng.random() < 0.3 else now
    with world.lock:
        world.acquirer_events.add(event["event_id"])
        world.acquirer_queue.append((later, body))
        if rng.random() < 0.3:
            world.acquirer_queue.append((later, body))
        if paid and refund:
            refunded = {"event_id": f"acq-{uuid.uuid4()}", "type": "refund.succeeded", "payment_id": payment_id,
                        "amount": amount, "currency": "UAH"}
            world.acquirer_events.add(refunded["event_id"])
            world.acquirer_queue.append((later + rng.uniform(0.5, 3), json.dumps(refunded).encode()))


def acquirer_loop(world: World, seed: int) -> None:
    """The card acquirer's webhooks for the pages the owners opened, until each got its 2xx."""
    rng = random.Random(seed)
    acquirer = Client(world.url, world.stats, rng)

    def due() -> list[bytes]:
        now = time.monotonic()
        with world.lock:
            ready = [body for at, body in world.acquirer_queue if at <= now]
            world.acquirer_queue = [(at, body) for at, body in world.acquirer_queue if at > now]
        return ready

    def deliver(body: bytes) -> None:
        response = acquirer.call("acquirer webhook", "POST", "/v1/webhooks/acquirer", raw=body,
                                 headers={"X-Acquirer-Signature": sign(body, ACQUIRER_SECRET)})
        if response is None or response.status_code >= 300:
            with world.lock:
                world.acquirer_queue.append((time.monotonic() + 1, body))

    while not world.stop.is_set():
        for body in due():
            deliver(body)
        time.sleep(0.05)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        with world.lock:
            if not world.acquirer_queue:
                break
            world.acquirer_queue = [(0.0, body) for _, body in world.acquirer_queue]
        for body in due():
            deliver(body)


def _due(world: World) -> list[bytes]:
    now = time.monotonic()
    with world.lock:
        due = [body for at, body in world.bank_queue if at <= now]
        world.bank_queue = [(at, body) for at, body in world.bank_queue if at > now]
    return due


def jobs_loop(world: World, seed: int) -> None:
    rng = random.Random(seed)
    runner = Client(world.url, world.stats, rng, patient=True)  # a scheduler does not give up on its jobs
    while not world.stop.is_set():
        runner.call("run jobs", "POST", "/dev/jobs/run")
        time.sleep(rng.uniform(0, 0.2))


def clock_loop(world: World, seed: int) -> None:
    rng = random.Random(seed)
    ticker = Client(world.url, world.stats, rng)
    while not world.stop.wait(rng.uniform(0.5, 2.0)):
        ticker.call("move clock", "POST", "/dev/clock", {"advance_seconds": rng.choice((3_600, 6 * 3_600, 86_400))})


# --- the checks ---


def check(world: World, dynamodb_url: str, prefix: str) -> list[str]:
    """Every invariant, read from the API and straight from the tables; the violations found."""
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    os.environ["DYNAMODB_HOST"], os.environ["TABLE_PREFIX"] = dynamodb_url, prefix
    from chalicelib.platform import config
    from chalicelib.processes.registry import PROCESSES
    from chalicelib.services import audit
    from chalicelib.store import models
    from chalicelib.store.models import DealModel, JournalLineModel, PaymentModel

    models.bind(config.reload())
    violations: list[str] = []
    rng = random.Random(0)
    operator = Client(world.url, world.stats, rng, log_in_operator(world))
    if operator.token is None:
        return ["the operator cannot log in"]
    trial = operator.json("trial balance", "GET", "/v1/operator/trial-balance") or {"items": [], "balanced": False}
    if not trial["balanced"]:
        violations.append(f"trial balance does not sum to zero: {trial['items']}")

    violations += audit.books_violations()
    for deal in DealModel.scan(consistent_read=True):  # gig orders and tasks let go of their escrow field
        if deal.escrowed not in (None, 0) and deal.status in PROCESSES[deal.process].terminal:
            violations.append(f"{deal.id} is {deal.status} (terminal) but still shows escrow {deal.escrowed}")
    top_ups: dict[tuple[str, str], int] = defaultdict(int)
    for line in JournalLineModel.scan(consistent_read=True):
        owner = line.pk.removeprefix("lines#").split("#")[0]
        if line.sk != "entry" and line.kind == "top_up" and not owner.startswith("sys:"):
            top_ups[(owner, line.currency)] += int(line.amount)

    credited = Counter()
    for payment in PaymentModel.scan(consistent_read=True):
        if payment.acquirer_payment_id or payment.event_id in world.acquirer_events:  # card money, checked below
            continue
        credited[payment.event_id] += 1
        if payment.event_id not in world.delivered_events:
            violations.append(f"payment {payment.id} for an event the bank never sent: {payment.event_id}")
    violations += [f"event {event} credited {n} times" for event, n in credited.items() if n > 1]
    violations += [f"event {event} was acknowledged but never recorded" for event in world.delivered_events
                   if event not in credited and event in world.acked]
    violations += [f"event {event}: the bank never got a 2xx for it" for event in world.delivered_events
                   if event not in world.acked]
    expected: dict[tuple[str, str], int] = defaultdict(int)
    for invoice in world.invoices.values():
        expected[(invoice["owner"], invoice["currency"])] += int(invoice["amount"])
    for key in set(expected) | set(top_ups):
        if expected[key] != top_ups[key]:
            violations.append(f"{key}: topped up {top_ups[key]}, but its paid invoices total {expected[key]}")
    return violations + site_violations() + topup_violations(world)


def topup_violations(world: World) -> list[str]:
    """Each client's card top-ups in the journal are exactly his paid top-ups (each credited once), every
    top-up the clients asked for is theirs, and each completed action of a paid top-up made its deal."""
    from chalicelib.store.models import DealModel, InvoiceModel, JournalLineModel

    violations: list[str] = []
    paid: dict[tuple[str, str], int] = defaultdict(int)
    for topup in InvoiceModel.scan(InvoiceModel.kind == "card_topup", consistent_read=True):
        if topup.id in world.topups and world.topups[topup.id] != topup.owner_id:
            violations.append(f"top-up {topup.id} belongs to {topup.owner_id}, asked for by {world.topups[topup.id]}")
        if topup.status != "paid":
            continue
        paid[(topup.owner_id, topup.currency)] += int(topup.amount)
        result = topup.action_result or {}
        made = result.get("order_id") or result.get("contract_id")
        if result.get("status") == "completed":
            try:
                DealModel.get(made, consistent_read=True)
            except DealModel.DoesNotExist:
                violations.append(f"top-up {topup.id} completed its action, but {made} does not exist")
    credited: dict[tuple[str, str], int] = defaultdict(int)
    for line in JournalLineModel.scan(JournalLineModel.kind == "card_top_up", consistent_read=True):
        owner = line.pk.removeprefix("lines#").split("#")[0]
        if line.sk != "entry" and not owner.startswith("sys:"):  # the journal's entries share the table
            credited[(owner, line.currency)] += int(line.amount)
    for key in set(paid) | set(credited):
        if paid[key] != credited[key]:
            violations.append(f"{key}: card top-ups credited {credited[key]}, but the paid top-ups total {paid[key]}")
    return violations


def site_violations() -> list[str]:
    """Every service invoice paid by exactly one payment, revenue in UAH exactly the paid invoices, no site
    dunned with nothing overdue, the card clearing account exactly the refunds pending."""
    from chalicelib.money import ledger
    from chalicelib.platform import clock
    from chalicelib.processes.site_deal import OVERDUE_AFTER
    from chalicelib.store.models import (
        CardPaymentModel,
        DealModel,
        PaymentModel,
        ServiceInvoiceModel,
    )

    violations: list[str] = []
    invoices = {i.id: i for i in ServiceInvoiceModel.scan(consistent_read=True)}
    payments: Counter = Counter()
    for card in CardPaymentModel.scan(consistent_read=True):
        if card.outcome == "applied":
            payments[card.invoice_id] += 1
    for bank in PaymentModel.scan(consistent_read=True):
        if bank.invoice_id in invoices and bank.status in ("credited", "applied"):
            payments[bank.invoice_id] += 1
    for invoice in invoices.values():
        expected = 1 if invoice.status == "paid" else 0
        if payments[invoice.id] != expected:
            violations.append(f"{invoice.number} is {invoice.status} but {payments[invoice.id]} payments paid it")
    revenue = sum(int(a.available) for a in ledger.owned_items("sys:revenue") if a.currency == "UAH")
    paid = sum(int(i.amount) for i in invoices.values() if i.status == "paid")
    if revenue != paid:
        violations.append(f"revenue in UAH is {revenue}, but the paid service invoices total {paid}")
    violations += card_violations(invoices)
    clearing = sum(int(a.available) for a in ledger.owned_items("sys:card_clearing"))
    pending = sum(int(p.amount) for p in CardPaymentModel.scan(consistent_read=True) if p.status == "refund_pending")
    if clearing != pending:
        violations.append(f"the card clearing account holds {clearing}, the refunds pending {pending}")
    now = clock.now()
    for deal in DealModel.scan(consistent_read=True):
        if deal.process == "subscription" and deal.status in ("past_due", "blocked"):
            overdue = [i for i in invoices.values() if i.site_id == deal.id and i.status == "open"
                       and clock.parse_iso(i.due_at) + OVERDUE_AFTER <= now]
            if not overdue:
                violations.append(f"site {deal.id} is {deal.status} with nothing overdue")
    return violations


def card_violations(invoices: dict) -> list[str]:
    """Every card payment the acquirer took ends in exactly one of: paying one invoice, refunded (or its
    refund pending), or parked once with a reason; no owner is charged twice without an automatic refund; a top-up's
    refund is awaited (asked again by the job) exactly while it is pending."""
    from chalicelib.store.models import CardPaymentModel, InvoiceModel, PaymentModel

    violations: list[str] = []
    parked: dict[str, object] = {}
    for item in PaymentModel.scan(consistent_read=True):
        if not item.acquirer_payment_id:
            continue
        if item.acquirer_payment_id in parked:
            violations.append(f"card payment {item.acquirer_payment_id} parked twice")
        parked[item.acquirer_payment_id] = item
        if not item.reason:
            violations.append(f"card payment {item.acquirer_payment_id} parked without a reason")
        if item.reason == "invoice_already_paid":
            violations.append(f"card payment {item.acquirer_payment_id} for an invoice paid already waits for an "
                              f"operator: its owner was charged twice")
    paid_by = {i.payment_id: i.id for i in invoices.values() if i.status == "paid"}
    paid_by.update({t.payment_id: t.id for t in InvoiceModel.scan(InvoiceModel.kind == "card_topup",
                                                                   consistent_read=True) if t.status == "paid"})
    for payment in CardPaymentModel.scan(consistent_read=True):
        if payment.status in ("pending", "failed"):
            continue
        ends = [payment.outcome == "applied" and paid_by.get(payment.id) == payment.invoice_id,
                payment.outcome in ("duplicate", "verified") and payment.status in ("refund_pending", "refunded"),
                payment.outcome == "parked" and payment.id in parked]
        if sum(ends) != 1:
            violations.append(f"card payment {payment.id} ({payment.purpose}) is {payment.status}/{payment.outcome}: "
                              "it pays no invoice or top-up, is not refunded and is not parked")
        awaited = payment.refund_queue is not None
        if payment.purpose == "topup" and awaited != (payment.status == "refund_pending"):
            violations.append(f"top-up payment {payment.id} is {payment.status} but its refund is "
                              f"{'still' if awaited else 'not'} awaited by the job that asks it again")
    return violations


# --- the run ---


def _open_sites(world: World, anonymous: Client, count: int, seed: int) -> None:
    """`count` owners with a site each, on a tariff an operator adds."""
    if not count:
        return
    rng = random.Random(seed)
    token = log_in_operator(world)
    assert token is not None, "the operator cannot log in"
    code = f"wl{uuid.uuid4().hex[:6]}"
    Client(world.url, world.stats, rng, token).call("add tariff", "POST", "/v1/operator/tariffs", {
        "code": code, "name": "Workload", "price": {"amount": 31000, "currency": "UAH"},
        "limits": {"products": 100, "orders_per_month": 50}, "features": []})
    for n in range(count):
        _, token, email = _signup(anonymous, f"owner{n}")
        site = Client(world.url, world.stats, rng, token).json("create site", "POST", "/v1/sites", {
            "name": f"Shop {n}", "domains": [f"shop-{uuid.uuid4().hex[:8]}.example.ua"],
            "owner": {"name": "Owner", "email": email, "phone": "+380501234567"}, "tariff": code})
        assert site is not None, "cannot create a site"
        world.sites.append((site["id"], token))



def run(url: str, dynamodb_url: str, *, seconds: float, clients: int, contractors: int, seed: int,
        prefix: str = "escrowdesk-local-", out: Callable[[str], None] = print, faults: bool = False,
        sites: int = 3, until: Iterable[str] = (), at_most: float | None = None) -> dict:
    """The workload, then the checks. With `faults` (the stage runs with LOCAL_FAULTS) a 500 is a
    crash the stage injected on purpose: retried like a timeout, not a violation. With `until`, the load goes on
    past `seconds` until each of those kinds of operation was done at least once, for at most `at_most` seconds
    in all (a busy machine does fewer operations a second, not other ones)."""
    stats = Stats()
    rng = random.Random(seed)
    anonymous = Client(url, stats, rng)
    # sign up the contractors first so that their e-mail addresses are known for the team invitations
    world = World(url, stats)
    emails: dict[str, str] = {}
    for n in range(contractors):
        user_id, token, email = _signup(anonymous, f"contractor{n}")
        emails[user_id] = email
        world.contractors.append((user_id, token))
        me = Client(url, stats, rng, token)
        for currency in CURRENCIES:
            gig = me.json("publish gig", "POST", "/v1/gigs", {"title": f"Gig {n} {currency}", "currency": currency,
                                                             "amount": rng.choice((3_000, 7_500, 12_000)),
                                                             "delivery_days": 2})
            assert gig is not None, "cannot publish a gig"
            world.gigs.append(gig)
    for n in range(clients):
        user_id, token, _ = _signup(anonymous, f"client{n}")
        world.clients.append((user_id, token))
        team = rng.sample(world.contractors, min(2, len(world.contractors)))
        Client(url, stats, rng, token).call("invite", "POST", "/v1/team/invitations",
                                            {"emails": ",".join(emails[c] for c, _ in team)})
        for _, contractor_token in team:  # someone with an account joins a team only when he accepts
            Client(url, stats, rng, contractor_token).call("join team", "POST", f"/v1/team/requests/{user_id}/accept")
    assert log_in_operator(world) is not None, "the operator cannot log in"  # before the load; kept for the checks
    _open_sites(world, anonymous, sites, seed)
    stats.ops.clear()
    stats.answers.clear()

    threads = [threading.Thread(target=client_loop, args=(world, u, t, seed * 100 + i), name=f"client{i}")
               for i, (u, t) in enumerate(world.clients)]
    threads += [threading.Thread(target=contractor_loop, args=(world, u, t, seed * 200 + i), name=f"contractor{i}")
                for i, (u, t) in enumerate(world.contractors)]
    threads += [threading.Thread(target=jobs_loop, args=(world, seed * 300 + i), name=f"jobs{i}") for i in range(2)]
    threads += [threading.Thread(target=site_loop, args=(world, site_id, t, seed * 600 + i), name=f"site{i}")
                for i, (site_id, t) in enumerate(world.sites)]
    threads += [threading.Thread(target=clock_loop, args=(world, seed * 400), name="clock"),
                threading.Thread(target=bank_loop, args=(world, seed * 500), name="bank"),
                threading.Thread(target=acquirer_loop, args=(world, seed * 700), name="acquirer")]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    world.stop.wait(seconds)
    def missing() -> set[str]:
        with stats.lock:
            return set(until) - {kind for kind, n in stats.ops.items() if n}

    while missing() and time.monotonic() - started < (seconds if at_most is None else at_most):
        world.stop.wait(1.0)
    world.stop.set()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    Client(url, stats, rng).call("run jobs", "POST", "/dev/jobs/run")  # quiesce: the last timers fire
    violations = check(world, dynamodb_url, prefix)
    if not faults:
        violations += [f"server error: {error}" for error in stats.server_errors]
    done = sum(stats.ops.values())
    out(f"operations: {done} in {elapsed:.1f} s ({done / elapsed:.1f} ops/s), retries: {stats.retries} "
        f"({', '.join(f'{why} {n}' for why, n in stats.failures.most_common()) or 'none'})")
    out("by kind: " + ", ".join(f"{name} {n}" for name, n in stats.ops.most_common()))
    out("answers: " + ", ".join(f"{code} {n}" for code, n in sorted(stats.answers.items())))
    out("refusals: " + (", ".join(f"{name} {code} {n}" for (name, code), n in stats.refusals.most_common(12))
                        or "none"))
    out(f"events sent: {len(world.delivered_events)}, payouts: {len(world.payouts)}, "
        f"acquirer events: {len(world.acquirer_events)}, sites: {len(world.sites)}, card top-ups: {len(world.topups)}")
    out(f"violations: {len(violations)}")
    for violation in violations:
        out(f"  {violation}")
    return {"ops": done, "seconds": elapsed, "ops_per_second": done / elapsed, "violations": violations,
            "by_kind": dict(stats.ops), "failures": dict(stats.failures)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--dynamodb", default="http://127.0.0.1:8766")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--contractors", type=int, default=4)
    parser.add_argument("--sites", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--faults", action="store_true", help="the stage runs with LOCAL_FAULTS: a 500 is expected")
    args = parser.parse_args(argv)
    faulthandler.register(signal.SIGUSR1)  # `kill -USR1 <pid>` shows where every thread is
    result = run(args.url, args.dynamodb, seconds=args.seconds, clients=args.clients, contractors=args.contractors,
                 seed=args.seed, faults=args.faults, sites=args.sites)
    return 1 if result["violations"] else 0


if __name__ == "__main__":
    sys.exit(main())

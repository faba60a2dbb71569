"""Faults between the service and DynamoDB: throttling that outlasts the SDK's retries, transaction
conflicts, and a crash after a transaction committed but before the caller heard the answer.

The faults are injected under PynamoDB, in botocore's client call (`BaseClient._make_api_call`), so
the service sees exactly what a real DynamoDB would send. The caller then does what a client of the
API must: it retries the same request with the same Idempotency-Key (the bank re-sends the same
event) until it gets an answer. Afterwards the money moved exactly once, every retry answers the
same body, and the books balance.
"""
from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from tests.support import Api, act, assert_books_balance, place_order, transfer_event

TRANSACT = "TransactWriteItems"


class Crash(Exception):
    """The function died after DynamoDB committed its transaction, before it could answer."""


@dataclass
class Fault:
    operation: str
    kind: str  # "throttle" | "conflict" | "crash"


class Faults:
    """A queue of faults; each hits the next DynamoDB call of its operation, then is used up."""

    def __init__(self) -> None:
        self.plan: list[Fault] = []
        self.hit: list[Fault] = []

    def arm(self, *faults: Fault) -> None:
        self.plan = list(faults)
        self.hit = []

    def intercept(self, original: Callable, client: BaseClient, operation: str, params: dict):
        if client.meta.service_model.service_name != "dynamodb" or not self.plan or self.plan[0].operation != operation:
            return original(client, operation, params)
        fault = self.plan.pop(0)
        self.hit.append(fault)
        if fault.kind == "throttle":
            raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException",
                                         "Message": "The level of configured provisioned throughput was exceeded"}},
                              operation)
        if fault.kind == "conflict":
            items = len(params.get("TransactItems", [None]))
            reasons = [{"Code": "None"}] * (items - 1) + [{"Code": "TransactionConflict",
                                                           "Message": "Transaction is ongoing for the item"}]
            raise ClientError({"Error": {"Code": "TransactionCanceledException",
                                         "Message": "Transaction cancelled, please refer cancellation reasons"},
                               "CancellationReasons": reasons}, operation)
        answer = original(client, operation, params)
        assert fault.kind == "crash"
        raise Crash(f"died after {operation} returned {sorted(answer)}")


@pytest.fixture
def faults(monkeypatch) -> Faults:
    plan = Faults()
    original = BaseClient._make_api_call

    def make_api_call(client, operation, params):
        return plan.intercept(original, client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", make_api_call)
    return plan


@dataclass
class Scenario:
    """A money-moving request, the state it starts from, and its effect when applied once."""
    name: str
    prepare: Callable[[Api, dict], Callable[[dict], object]]  # returns send(headers) -> response
    effect: Callable[[Api, dict], None]                        # asserts the state after exactly one application
    # the bank's webhook acknowledges a re-delivered event as a duplicate instead of replaying its first answer
    duplicate_ack: bool = False


def _keyed(api: Api, method: str, path: str, body, token: str):
    return lambda headers: api.request(method, path, body, token=token, headers=headers)


def _top_up(api, deal):
    invoice = api.invoice(deal["client"], 5000, "USD")
    event = transfer_event(f"evt-{uuid.uuid4()}", 5000, "USD", invoice["payment_details"])
    return lambda headers: api.webhook(event)


def _order(api, deal):
    return _keyed(api, "POST", "/v1/orders", {"gig_id": deal["gig"]["id"]}, deal["client"])


def _accept(api, deal):
    order = place_order(api, deal)
    assert act(api, deal["contractor"], order, "start").status_code == 200
    assert act(api, deal["contractor"], order, "deliver", {"message": "Done"}).status_code == 200
    return _keyed(api, "POST", f"/v1/orders/{order['id']}/accept", None, deal["client"])


def _extra(api, deal):
    order = place_order(api, deal)
    assert act(api, deal["contractor"], order, "start").status_code == 200
    offered = act(api, deal["contractor"], order, "extras", {"title": "Sources", "amount": 2500, "extra_days": 1})
    extra = offered.json_body["extras"][-1]["id"]
    return _keyed(api, "POST", f"/v1/orders/{order['id']}/extras/{extra}/pay", None, deal["client"])


def _payout(api, deal):
    return _keyed(api, "POST", "/v1/payouts", {"amount": 20000, "currency": "USD",
                                               "destination": {"type": "card", "number": "4111 1111 1111 1111"}},
                  deal["client"])


def _resolve(api, deal):
    from chalicelib.services import accounts

    order = place_order(api, deal)
    assert act(api, deal["contractor"], order, "start").status_code == 200
    assert act(api, deal["contractor"], order, "deliver", {"message": "Done"}).status_code == 200
    assert act(api, deal["client"], order, "dispute", {"message": "Half of it"}).status_code == 200
    accounts.create_operator("judge@escrowdesk.local", "operator-pass")
    judge = api.post("/v1/auth/login", {"email": "judge@escrowdesk.local", "password": "operator-pass"})
    return _keyed(api, "POST", f"/v1/operator/disputes/{order['id']}/resolve",
                  {"refund": 6000, "release": 4000, "note": "Half the logos were delivered"}, judge.json_body["token"])


def _balances(api, deal, client, contractor):
    assert api.balance(deal["client"]) == client
    if contractor is not None:
        assert api.balance(deal["contractor"]) == contractor


SCENARIOS = [
    Scenario("top-up webhook", _top_up, lambda api, deal: _balances(api, deal, (30000, 0), None), duplicate_ack=True),
    Scenario("place order", _order, lambda api, deal: _balances(api, deal, (15000, 10000), None)),
    Scenario("accept delivery", _accept, lambda api, deal: _balances(api, deal, (15000, 0), (8000, 0))),
    Scenario("pay extra", _extra, lambda api, deal: _balances(api, deal, (12500, 12500), None)),
    Scenario("payout", _payout, lambda api, deal: _balances(api, deal, (5000, 20000), None)),
    Scenario("dispute split", _resolve, lambda api, deal: _balances(api, deal, (21000, 0), (3200, 0))),
]

PLANS = {
    "throttled once": [Fault(TRANSACT, "throttle")],
    "throttling outlasts the retries": [Fault(TRANSACT, "throttle")] * 6,
    "conflicts absorbed": [Fault(TRANSACT, "conflict")] * 3,
    "conflicts outlast the retries": [Fault(TRANSACT, "conflict")] * 6,
    "crash after commit": [Fault(TRANSACT, "crash")],
    "throttled, then crash after commit": [Fault(TRANSACT, "throttle"), Fault(TRANSACT, "crash")],
}


@pytest.mark.parametrize("plan", PLANS, ids=str)
@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_retried_requests_converge_after_faults(api, deal, faults, scenario, plan):
    send = scenario.prepare(api, deal)
    headers = {"Idempotency-Key": f"key-{uuid.uuid4()}"}
    faults.arm(*PLANS[plan])
    answers, seen = [], set()
    for _ in range(8):
        response = send(headers)
        seen.add(response.status_code)
        answers.append(response.status_code)
        if response.status_code < 300:
            break
        assert response.status_code in (409, 500, 503), response.body
        assert set(response.json_body["error"]) >= {"code", "message"}
        if response.status_code == 503:
            assert response.headers["Retry-After"] == "1"
        assert_books_balance()
    else:
        pytest.fail(f"never converged: {answers}")
    assert faults.plan == [], f"faults left unused: {faults.plan}"
    if plan in ("throttling outlasts the retries", "conflicts outlast the retries", "crash after commit"):
        assert seen & {409, 500, 503}, f"the fault never reached the caller: {answers}"
    first, again = response.json_body, send(headers)
    second = again.json_body
    if scenario.duplicate_ack:
        assert second.pop("duplicate") is True
        first.pop("duplicate")
    assert again.status_code == response.status_code and second == first, "a retry answered differently"
    scenario.effect(api, deal)
    assert_books_balance()


def test_a_throttled_read_is_503_with_retry_after_and_then_answers(api, deal, faults):
    faults.arm(Fault("Query", "throttle"), Fault("GetItem", "throttle"))
    answers = [api.get("/v1/balances", token=deal["client"]) for _ in range(3)]
    statuses = [answer.status_code for answer in answers]
    assert statuses[-1] == 200 and 503 in statuses, statuses
    refused = next(answer for answer in answers if answer.status_code == 503)
    assert refused.json_body["error"]["code"] == "unavailable" and refused.headers["Retry-After"] == "1"
    assert json.loads(answers[-1].body)["items"][0]["available"] == 25000

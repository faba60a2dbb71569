"""A due timer wins over a late action, for every timer of every process.

For each timer the same deal is made three times. Its due time passes with no job run. Then:
- deal A is left to the scheduled job;
- on deal B the other party acts late: the timer fires first, exactly as the job would, and the
  party gets a 409 naming what happened;
- deal C is only read: the read already shows it as the timer left it.
The job that runs afterwards fires A and leaves B and C alone. A and B must end the same — status,
history, the money moved, the notifications — and the books balance.
"""
from __future__ import annotations

import io
import itertools
import zipfile
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from chalicelib.platform import clock
from chalicelib.processes.registry import PROCESSES
from chalicelib.store.models import DealModel, JournalEntryModel, NotificationModel
from tests.support import assert_books_balance, run_jobs, transfer_event, upload

HOUR, DAY = 3600, 86400
_projects = itertools.count(1)


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.html", "<h1>done</h1>")
    return buffer.getvalue()


@pytest.fixture
def world(api):
    """A client with 5,000.00 USD who has written to a contractor taking custom offers, with a gig."""
    client, contractor = api.signup("client@example.com", name="Client"), api.signup("seller@example.com")
    api.webhook(transfer_event("evt-fund", 500_000, "USD", api.invoice(client, 500_000, "USD")["payment_details"]))
    ids = {who: api.get("/v1/me", token=token).json_body["id"] for who, token in
           (("client", client), ("contractor", contractor))}
    api.request("PATCH", "/v1/me/profile", {"custom_offers": True, "skills": ["python"]}, token=contractor)
    gig = api.post("/v1/gigs", {"title": "Logo", "amount": 10_000, "currency": "USD", "delivery_days": 3},
                   token=contractor).json_body
    talk = api.post("/v1/conversations", {"user_id": ids["contractor"]}, token=client).json_body
    api.post(f"/v1/conversations/{talk['id']}/messages", {"text": "Can you help?"}, token=client)
    return {"api": api, "client": client, "contractor": contractor, "ids": ids, "gig": gig["id"]}


def _ok(response, status=(200, 201)) -> dict:
    assert response.status_code in status, response.body
    return response.json_body


def _order(w) -> str:
    return _ok(w["api"].post("/v1/orders", {"gig_id": w["gig"]}, token=w["client"]))["id"]


def _delivered_order(w) -> str:
    order = _order(w)
    _ok(w["api"].post(f"/v1/orders/{order}/start", token=w["contractor"]))
    _ok(w["api"].post(f"/v1/orders/{order}/deliver", {"message": "Here"}, token=w["contractor"]))
    return order


def _offer(w) -> str:
    body = {"client_id": w["ids"]["client"], "gig_id": w["gig"], "description": "Two logos", "amount": 15_000,
            "currency": "USD", "delivery_days": 4}
    return _ok(w["api"].post("/v1/offers", body, token=w["contractor"]))["id"]


def _offer_request(w) -> str:
    body = {"contractor_id": w["ids"]["contractor"], "description": "A logo for my shop"}
    return _ok(w["api"].post("/v1/offer-requests", body, token=w["client"]))["id"]


def _contract(w) -> str:
    api = w["api"]
    project = _ok(api.post("/v1/projects", {"title": f"Site {next(_projects)}", "description": "A site",
                                            "skills": ["python"], "budget_min": 10_000, "budget_max": 50_000,
                                            "currency": "USD"}, token=w["client"]))["id"]
    _ok(api.post(f"/v1/projects/{project}/proposals", {"price": 20_001, "days": 3, "text": "Me"},
                 token=w["contractor"]))
    return _ok(api.post(f"/v1/projects/{project}/proposals/{w['ids']['contractor']}/select",
                        token=w["client"]))["id"]


def _delivered_contract(w, *, funded: bool) -> str:
    api, contract = w["api"], _contract(w)
    _ok(api.post(f"/v1/contracts/{contract}/accept", token=w["contractor"]))
    if funded:
        _ok(api.post(f"/v1/contracts/{contract}/fund", token=w["client"]))
    deliverable = upload(api, w["contractor"], "site.zip", _zip(), "application/zip")
    _ok(api.post(f"/v1/contracts/{contract}/deliverable", {"file_id": deliverable}, token=w["contractor"]))
    _ok(api.post(f"/v1/contracts/{contract}/submit", token=w["contractor"]))
    return contract


@dataclass(frozen=True)
class Scenario:
    process: str
    timer: str
    make: Callable[[dict], str]  # the world → a deal whose timer is armed
    wait_seconds: int
    late: tuple[str, str, dict | None]  # who, the action's path under the deal, its body
    outcome: str  # the 409's code: what the timer did
    collection: str  # where the deal is read
    before: int = 0  # seconds in which an earlier timer of the same state (a reminder) fires by the job first
    moves_money: bool = True  # whether the timed transition moves money (an escalation only opens a dispute)


def _cancellation_asked(w) -> str:
    order = _order(w)
    _ok(w["api"].post(f"/v1/orders/{order}/start", token=w["contractor"]))
    _ok(w["api"].post(f"/v1/orders/{order}/cancellation", {"reason": "no_longer_needed"}, token=w["client"]))
    return order


SCENARIOS = [
    Scenario("gig_order", "auto_cancel", _order, DAY + 1, ("contractor", "start", None), "order_auto_cancelled",
             "orders"),
    Scenario("gig_order", "auto_accept", _delivered_order, 4 * DAY + 1, ("client", "request-revision",
                                                                         {"message": "More"}),
             "order_auto_accepted", "orders"),
    Scenario("custom_offer", "expire", _offer, 7 * DAY + 1, ("client", "accept", None), "offer_expired", "offers"),
    Scenario("offer_request", "expire", _offer_request, 7 * DAY + 1, ("contractor", "decline", {"reason": "Busy"}),
             "offer_request_expired", "offer-requests", moves_money=False),
    Scenario("project", "lapse", _contract, 72 * HOUR + 1, ("contractor", "accept", None), "contract_lapsed",
             "contracts"),
    Scenario("project", "auto_release", lambda w: _delivered_contract(w, funded=True), 48 * HOUR + 1,
             ("client", "dispute", {"message": "Wait"}), "contract_auto_released", "contracts"),
    Scenario("project", "close_unfunded", lambda w: _delivered_contract(w, funded=False), DAY,
             ("client", "fund", None), "contract_closed_unfunded", "contracts", before=DAY + 1),
    Scenario("gig_order", "escalate_cancellation", _cancellation_asked, 3 * DAY + 1,
             ("contractor", "cancellation/accept", None), "dispute_opened", "orders", moves_money=False),
]


# A subscription's timers keep its state (the month's invoice, the counters) and refuse no one; that they
# fire before a late action or a read is tests/unit/test_billing.py's (`..._after_the_1st_...`).
STATE_KEEPING = {"subscription"}


def test_the_scenarios_cover_every_timer_of_every_process():
    """A timer that keeps the deal's state (a contract's reminder to escrow the rest) refuses no one; that it
    fires once per deadline is tests/unit/test_projects.py's."""
    timers = {(name, timer.fires) for name, process in PROCESSES.items() if name not in STATE_KEEPING
              for armed in process.timers.values() for timer in armed
              if process.transitions[timer.fires].target is not None}
    assert {(s.process, s.timer) for s in SCENARIOS} == timers


def _money_moved(deal_id: str) -> list[tuple]:
    """Each transfer of the deal: its kind, its id without the deal's, and its postings (by owner)."""
    entries = [e for e in JournalEntryModel.scan(consistent_read=True) if e.sk == "entry" and e.ref == deal_id]
    return sorted((e.kind, e.pk.removeprefix(f"entry#{deal_id}"),
                   tuple(sorted((p["owner_id"], p["bucket"], p["amount"]) for p in e.postings))) for e in entries)


def _told(deal_id: str) -> list[tuple[str, str]]:
    notes = [n for n in NotificationModel.scan(consistent_read=True)
             if deal_id in (n.params.get("order_id"), n.params.get("offer_id"), n.params.get("request_id"))]
    return sorted((n.user_id, n.kind) for n in notes)


def _outcome(deal_id: str) -> tuple:
    deal = DealModel.get(deal_id, consistent_read=True)
    steps = [(step["transition"], step["to"], step["actor"]) for step in deal.history]
    return deal.status, steps, deal.timer_transition, _money_moved(deal_id), _told(deal_id)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[f"{s.process}.{s.timer}" for s in SCENARIOS])
def test_a_late_action_or_read_gets_exactly_what_the_job_would_have_done(world, scenario: Scenario):
    api = world["api"]
    by_job, by_action, by_read = (scenario.make(world) for _ in range(3))
    if scenario.before:
        clock.advance(scenario.before)
        assert run_jobs(api)["fire_due_timers"]["fired"] == 3
    assert DealModel.get(by_action).timer_transition == scenario.timer
    clock.advance(scenario.wait_seconds)

    who, action, body = scenario.late
    late = api.post(f"/v1/{scenario.collection}/{by_action}/{action}", body, token=world[who])
    assert late.status_code == 409 and late.json_body["error"]["code"] == scenario.outcome, late.body
    read = api.get(f"/v1/{scenario.collection}/{by_read}", token=world["client"]).json_body
    assert read["version"] == DealModel.get(by_read).version and read["history"][-1]["transition"] == scenario.timer
    fired = run_jobs(api)["fire_due_timers"]
    assert fired["fired"] == 1  # deal A only: B and C were settled by the request that touched them
    assert run_jobs(api)["fire_due_timers"]["fired"] == 0

    job, action_first, read_first = _outcome(by_job), _outcome(by_action), _outcome(by_read)

    assert action_first == job == read_first
    assert job[4] and (job[3] or scenario.process == "custom_offer" or not scenario.moves_money)  # told, and paid
    assert job[1][-1] == (scenario.timer, job[0], "system")
    again = api.post(f"/v1/{scenario.collection}/{by_action}/{action}", body, token=world[who])
    assert again.status_code == 409 and again.json_body["error"]["code"] == scenario.outcome
    assert_books_balance()

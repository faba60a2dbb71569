"""Gig orders (seed 002): escrow on order, the 24-hour start rule, delivery and review with the
weekend rule, acceptance less commission, late cancellation — and the books balance after each."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.platform import clock
from chalicelib.processes.gig_order import review_days
from chalicelib.services import timers
from tests.support import act, assert_books_balance, place_order, run_jobs

DAY = 86400


def test_ordering_moves_the_price_into_escrow(api, deal):
    order = place_order(api, deal)
    assert order["status"] == "not_started" and order["amount"] == 10000
    assert api.balance(deal["client"]) == (15000, 10000)
    assert api.get(f"/v1/orders/{order['id']}", token=deal["contractor"]).json_body["status"] == "not_started"
    assert_books_balance()


def test_the_client_never_sees_the_commission_and_the_contractor_sees_it_with_his_net(api, deal):
    order = place_order(api, deal)
    started = act(api, deal["contractor"], order, "start").json_body
    as_contractor = [started, api.get(f"/v1/orders/{order['id']}", token=deal["contractor"]).json_body,
                     api.get("/v1/orders?role=contractor", token=deal["contractor"]).json_body["items"][0]]
    for shown in as_contractor:
        assert shown["commission"] == 2000 and shown["net_to_contractor"] == 8000
    as_client = [order, api.get(f"/v1/orders/{order['id']}", token=deal["client"]).json_body,
                 api.get("/v1/orders", token=deal["client"]).json_body["items"][0]]
    for shown in as_client:
        assert "commission" not in shown and "net_to_contractor" not in shown
        assert "commission_bps" not in (shown["terms"] or {})
    assert_books_balance()


def test_order_without_enough_money_is_402_with_a_top_up_and_moves_nothing(api, deal):
    place_order(api, deal)
    place_order(api, deal)
    third = api.post("/v1/orders", {"gig_id": deal["gig"]["id"]}, token=deal["client"])
    assert third.status_code == 402 and third.json_body["error"]["code"] == "insufficient_funds"
    assert third.json_body["error"]["missing"] == {"amount": 5000, "currency": "USD"}
    assert api.balance(deal["client"]) == (5000, 20000)
    assert_books_balance()


def test_order_in_another_currency_is_422(api, deal):
    response = api.post("/v1/orders", {"gig_id": deal["gig"]["id"], "currency": "EUR"}, token=deal["client"])
    assert response.status_code == 422 and response.json_body["error"]["code"] == "currency_mismatch"
    assert api.balance(deal["client"]) == (25000, 0)


def test_own_or_paused_or_unknown_gig_cannot_be_ordered(api, deal):
    assert api.post("/v1/orders", {"gig_id": deal["gig"]["id"]}, token=deal["contractor"]).status_code == 422
    assert api.post(f"/v1/gigs/{deal['gig']['id']}/pause", token=deal["contractor"]).status_code == 200
    paused = api.post("/v1/orders", {"gig_id": deal["gig"]["id"]}, token=deal["client"])
    assert paused.status_code == 422 and paused.json_body["error"]["code"] == "gig_not_active"
    assert api.post("/v1/orders", {"gig_id": "gig_nope"}, token=deal["client"]).status_code == 404
    assert_books_balance()


def test_strangers_see_no_order_and_parties_fire_only_their_moves(api, deal):
    order = place_order(api, deal)
    stranger = api.signup("stranger@example.com")
    assert api.get(f"/v1/orders/{order['id']}", token=stranger).status_code == 404
    assert act(api, stranger, order, "start").status_code == 404
    refused = act(api, deal["client"], order, "start")
    assert refused.status_code == 403 and refused.json_body["error"]["code"] == "not_your_move"
    assert act(api, deal["contractor"], order, "accept").status_code == 403


def test_full_flow_releases_escrow_less_20_percent_commission(api, deal, operator_token):
    order = place_order(api, deal)
    started = act(api, deal["contractor"], order, "start").json_body
    assert started["status"] == "in_progress" and started["deadline_at"]
    delivered = act(api, deal["contractor"], order, "deliver", {"message": "Here it is"}).json_body
    assert delivered["status"] == "on_review" and delivered["review_due_at"]
    accepted = act(api, deal["client"], order, "accept")
    assert accepted.status_code == 200 and accepted.json_body["status"] == "completed"
    assert api.balance(deal["client"]) == (15000, 0)
    assert api.balance(deal["contractor"]) == (8000, 0)
    usd = next(i for i in api.get("/v1/operator/trial-balance", token=operator_token).json_body["items"]
               if i["currency"] == "USD")
    assert usd["accounts"]["sys:revenue"] == 2000 and usd["balanced"]
    again = act(api, deal["client"], order, "accept")
    assert again.status_code == 409 and again.json_body["error"]["code"] == "invalid_state"
    assert api.balance(deal["contractor"]) == (8000, 0)
    assert_books_balance()


def test_not_started_within_24_hours_is_cancelled_and_refunded(api, deal):
    order = place_order(api, deal)
    clock.advance(23 * 3600)
    assert run_jobs(api)["fire_due_timers"]["fired"] == 0
    clock.advance(3600 + 1)
    assert run_jobs(api)["fire_due_timers"]["fired"] == 1
    assert run_jobs(api)["fire_due_timers"]["fired"] == 0  # a second run changes nothing
    assert api.get(f"/v1/orders/{order['id']}", token=deal["client"]).json_body["status"] == "cancelled"
    assert api.balance(deal["client"]) == (25000, 0)
    late = act(api, deal["contractor"], order, "start")
    assert late.status_code == 409
    assert_books_balance()


def test_started_order_is_not_auto_cancelled(api, deal):
    order = place_order(api, deal)
    act(api, deal["contractor"], order, "start")
    clock.advance(2 * DAY)
    assert run_jobs(api)["fire_due_timers"]["due"] == 0
    assert api.get(f"/v1/orders/{order['id']}", token=deal["client"]).json_body["status"] == "in_progress"


def test_decline_refunds_in_full(api, deal):
    order = place_order(api, deal)
    assert act(api, deal["contractor"], order, "decline", {}).status_code == 422
    assert act(api, deal["contractor"], order, "decline", {"reason": "Too busy this week"}).status_code == 422
    bare_other = act(api, deal["contractor"], order, "decline", {"reason": "other"})
    assert bare_other.status_code == 422 and bare_other.json_body["error"]["code"] == "message_required"
    assert api.balance(deal["client"]) == (15000, 10000)
    declined = act(api, deal["contractor"], order, "decline", {"reason": "requirements_not_matching_gig"})
    assert declined.json_body["status"] == "cancelled"
    assert declined.json_body["closed_reason"] == "requirements_not_matching_gig"
    assert api.balance(deal["client"]) == (25000, 0)
    other = place_order(api, deal)
    said = act(api, deal["contractor"], other, "decline", {"reason": "other", "message": "Moving house"})
    assert said.status_code == 200 and said.json_body["closed_reason"] == "other"
    assert_books_balance()


def test_no_answer_in_the_review_window_accepts_and_pays_out(api, deal):
    order = place_order(api, deal)
    act(api, deal["contractor"], order, "start")
    delivered = act(api, deal["contractor"], order, "deliver", {"message": "Done"}).json_body
    due = clock.parse_iso(delivered["review_due_at"])
    clock.advance((due - clock.now()).total_seconds() - 60)
    assert run_jobs(api)["fire_due_timers"]["fired"] == 0
    clock.advance(61)
    assert run_jobs(api)["fire_due_timers"]["fired"] == 1
    assert api.get(f"/v1/orders/{order['id']}", token=deal["client"]).json_body["status"] == "completed"
    assert api.balance(deal["contractor"]) == (8000, 0)
    assert_books_balance()


def test_revision_restores_the_time_left_and_clears_the_review_timer(api, deal):
    order = place_order(api, deal)
    started = act(api, deal["contractor"], order, "start").json_body
    clock.advance(DAY)
    act(api, deal["contractor"], order, "deliver", {"message": "Draft"})
    clock.advance(DAY)  # a day on review does not count against the deadline
    revised = act(api, deal["client"], order, "request-revision", {"message": "Bigger, please"}).json_body
    assert revised["status"] == "in_progress" and revised["review_due_at"] is None
    left = clock.parse_iso(revised["deadline_at"]) - clock.now()
    assert abs(left.total_seconds() - 2 * DAY) < 5
    assert clock.parse_iso(revised["deadline_at"]) > clock.parse_iso(started["deadline_at"])
    clock.advance(5 * DAY)
    assert run_jobs(api)["fire_due_timers"]["due"] == 0


def test_client_cancels_only_once_the_deadline_has_passed(api, deal):
    order = place_order(api, deal)
    act(api, deal["contractor"], order, "start")
    early = act(api, deal["client"], order, "cancel")
    assert early.status_code == 409 and early.json_body["error"]["code"] == "not_late"
    clock.advance(3 * DAY + 1)
    late = act(api, deal["client"], order, "cancel")
    assert late.status_code == 200 and late.json_body["status"] == "cancelled"
    assert api.balance(deal["client"]) == (25000, 0)
    assert_books_balance()


def test_order_actions_replay_with_the_same_idempotency_key(api, deal):
    order = place_order(api, deal)
    act(api, deal["contractor"], order, "start")
    act(api, deal["contractor"], order, "deliver", {"message": "x"})
    headers = {"Idempotency-Key": "accept-1"}
    first = api.post(f"/v1/orders/{order['id']}/accept", token=deal["client"], headers=headers)
    again = api.post(f"/v1/orders/{order['id']}/accept", token=deal["client"], headers=headers)
    assert first.status_code == again.status_code == 200 and again.json_body == first.json_body
    assert api.balance(deal["contractor"]) == (8000, 0)
    assert_books_balance()


def test_lists_show_orders_by_role(api, deal):
    order = place_order(api, deal)
    assert [o["id"] for o in api.get("/v1/orders", token=deal["client"]).json_body["items"]] == [order["id"]]
    mine = api.get("/v1/orders?role=contractor", token=deal["contractor"]).json_body["items"]
    assert [o["id"] for o in mine] == [order["id"]]
    assert api.get("/v1/orders?role=boss", token=deal["client"]).status_code == 422


@pytest.mark.parametrize("delivered_at, days", [
    ("2026-11-23T10:00:00", 3),  # Monday → Thursday: weekdays only
    ("2026-11-24T10:00:00", 3),  # Tuesday → Friday
    ("2026-11-25T10:00:00", 4),  # Wednesday → Saturday touches Saturday
    ("2026-11-26T10:00:00", 4),  # Thursday → Sunday
    ("2026-11-27T10:00:00", 4),  # Friday → Monday spans both
    ("2026-11-28T10:00:00", 4),  # Saturday
    ("2026-11-29T10:00:00", 4),  # Sunday
    ("2026-11-23T00:00:00", 3),  # Monday midnight → Thursday midnight
])
def test_review_window_is_three_days_or_four_over_a_weekend(delivered_at, days):
    assert review_days(datetime.fromisoformat(delivered_at).replace(tzinfo=UTC)) == days


def test_timer_job_skips_a_deal_that_moved_on(api, deal):
    order = place_order(api, deal)
    act(api, deal["contractor"], order, "start")
    clock.advance(2 * DAY)
    assert timers.fire_due(clock.now()) == {"due": 0, "fired": 0, "skipped": 0}


def test_every_notification_of_the_processes_has_templates_and_a_sample(api, deal):
    from chalicelib.notify.render import KINDS
    from chalicelib.processes.registry import PROCESSES
    from tests.notification_samples import SAMPLES

    kinds = {t.notify for process in PROCESSES.values() for t in process.transitions.values() if t.notify}
    kinds |= {"order_placed", "offer_received", "review_received", "message_received"}
    assert kinds <= KINDS and kinds <= set(SAMPLES)
    order = place_order(api, deal)
    act(api, deal["contractor"], order, "start")
    act(api, deal["contractor"], order, "deliver", {"message": "Here"})
    act(api, deal["client"], order, "accept")
    for token in (deal["client"], deal["contractor"]):
        feed = api.get("/v1/notifications", token=token)
        assert feed.status_code == 200 and len(feed.json_body["items"]) >= 4
        assert all(item["title"] for item in feed.json_body["items"])


@pytest.mark.parametrize("body", [
    {"title": "", "amount": 100, "currency": "USD", "delivery_days": 1},
    {"title": "T", "amount": 0, "currency": "USD", "delivery_days": 1},
    {"title": "T", "amount": 1.5, "currency": "USD", "delivery_days": 1},
    {"title": "T", "amount": 100, "currency": "GBP", "delivery_days": 1},
    {"title": "T", "amount": 100, "currency": "USD", "delivery_days": 0},
    {"title": "T", "amount": 100, "currency": "USD"},
])
def test_invalid_gig_is_422_and_creates_nothing(api, body):
    from chalicelib.store.models import GigModel

    token = api.signup("seller@example.com")
    response = api.post("/v1/gigs", body, token=token)
    assert response.status_code == 422 and "error" in response.json_body
    assert list(GigModel.scan()) == []


def test_gigs_are_changed_only_by_their_contractor(api, deal):
    other = api.signup("other@example.com")
    assert api.post(f"/v1/gigs/{deal['gig']['id']}/pause", token=other).status_code == 404
    assert api.get("/v1/gigs/gig_unknown", token=other).status_code == 404
    assert api.get(f"/v1/gigs/{deal['gig']['id']}", token=other).json_body["status"] == "active"
    assert [g["id"] for g in api.get("/v1/gigs", token=deal["contractor"]).json_body["items"]] == [deal["gig"]["id"]]
    assert_books_balance()


def test_malformed_order_action_bodies_are_4xx_and_move_nothing(api, deal):
    order = place_order(api, deal)
    assert act(api, deal["contractor"], order, "start").status_code == 200
    assert api.post(f"/v1/orders/{order['id']}/deliver", raw=b"{oops", token=deal["contractor"]).status_code == 400
    assert act(api, deal["contractor"], order, "deliver", {"message": ""}).status_code == 422
    assert api.get(f"/v1/orders/{order['id']}", token=deal["client"]).json_body["status"] == "in_progress"
    assert api.balance(deal["client"]) == (15000, 10000)
    assert_books_balance()

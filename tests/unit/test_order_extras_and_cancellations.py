"""Gig orders beyond the main path (seed 002): paid extras, cancellation requests answered by the
other party, the responsibility rating, disputes split by an operator, and reviews — with the
books (and the escrow of open orders) balanced after each."""
from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.platform import clock
from chalicelib.store.models import DealModel
from tests.support import act, assert_books_balance, place_order, run_jobs

DAY = 86400


def _started(api, deal) -> dict:
    order = place_order(api, deal)
    assert act(api, deal["contractor"], order, "start").status_code == 200
    return order


def _extra(api, deal, order, amount=2500, days=2):
    return api.post(f"/v1/orders/{order['id']}/extras", {"title": "SVG sources", "amount": amount,
                                                          "extra_days": days}, token=deal["contractor"])


def _profile(api, deal) -> dict:
    return api.get(f"/v1/contractors/{deal['contractor_id']}", token=deal["client"]).json_body


# --- extras ----------------------------------------------------------------------------------------------------------

def test_paid_extra_adds_to_the_escrow_and_moves_the_deadline(api, deal):
    order = _started(api, deal)
    before = api.get(f"/v1/orders/{order['id']}", token=deal["client"]).json_body
    offered = _extra(api, deal, order)
    assert offered.status_code == 201
    extra = offered.json_body["extras"][0]
    assert extra["status"] == "offered" and offered.json_body["amount"] == 10000
    assert api.balance(deal["client"]) == (15000, 10000)

    paid = act(api, deal["client"], order, f"extras/{extra['id']}/pay")

    assert paid.status_code == 200
    body = paid.json_body
    assert body["amount"] == 12500 and body["extras"][0]["status"] == "paid" and body["delivery_days"] == 5
    assert clock.parse_iso(body["deadline_at"]) - clock.parse_iso(before["deadline_at"]) == timedelta(days=2)
    assert api.balance(deal["client"]) == (12500, 12500)
    assert_books_balance()


def test_an_extra_is_paid_once_and_a_rejected_one_not_at_all(api, deal):
    order = _started(api, deal)
    first = _extra(api, deal, order).json_body["extras"][0]["id"]
    second = _extra(api, deal, order, amount=1000).json_body["extras"][1]["id"]
    assert act(api, deal["client"], order, f"extras/{first}/pay").status_code == 200
    again = act(api, deal["client"], order, f"extras/{first}/pay")
    assert again.status_code == 409 and again.json_body["error"]["code"] == "extra_decided"
    rejected = act(api, deal["client"], order, f"extras/{second}/reject")
    assert rejected.status_code == 200 and rejected.json_body["extras"][1]["status"] == "rejected"
    assert act(api, deal["client"], order, f"extras/{second}/pay").status_code == 409
    assert act(api, deal["client"], order, "extras/ext_nope/pay").status_code == 404
    assert api.balance(deal["client"]) == (12500, 12500)
    assert_books_balance()


def test_extra_before_the_start_adds_days_to_the_delivery_time(api, deal):
    order = place_order(api, deal)
    extra = _extra(api, deal, order, days=4).json_body["extras"][0]["id"]
    act(api, deal["client"], order, f"extras/{extra}/pay")
    started = act(api, deal["contractor"], order, "start").json_body
    assert started["delivery_days"] == 7
    assert abs(clock.parse_iso(started["deadline_at"]) - clock.now() - timedelta(days=7)) < timedelta(seconds=1)
    assert_books_balance()


def test_extra_the_client_cannot_afford_is_402_and_changes_nothing(api, deal):
    order = _started(api, deal)
    extra = _extra(api, deal, order, amount=20000).json_body["extras"][0]["id"]
    refused = act(api, deal["client"], order, f"extras/{extra}/pay")
    assert refused.status_code == 402 and refused.json_body["error"]["code"] == "insufficient_funds"
    after = api.get(f"/v1/orders/{order['id']}", token=deal["client"]).json_body
    assert after["amount"] == 10000 and after["extras"][0]["status"] == "offered"
    assert api.balance(deal["client"]) == (15000, 10000)
    assert_books_balance()


def test_only_the_contractor_offers_and_only_the_client_pays_extras(api, deal):
    order = _started(api, deal)
    assert api.post(f"/v1/orders/{order['id']}/extras", {"title": "X", "amount": 100, "extra_days": 0},
                    token=deal["client"]).status_code == 403
    extra = _extra(api, deal, order).json_body["extras"][0]["id"]
    assert act(api, deal["contractor"], order, f"extras/{extra}/pay").status_code == 403
    for bad in ({"title": "X", "amount": 0, "extra_days": 1}, {"title": "", "amount": 1, "extra_days": 1},
                {"title": "X", "amount": 1.5, "extra_days": 1}, {"title": "X", "amount": 1, "extra_days": -1}):
        assert api.post(f"/v1/orders/{order['id']}/extras", bad, token=deal["contractor"]).status_code == 422
    assert_books_balance()


def test_extras_stop_once_the_work_is_delivered(api, deal):
    order = _started(api, deal)
    extra = _extra(api, deal, order).json_body["extras"][0]["id"]
    act(api, deal["contractor"], order, "deliver", {"message": "Done"})
    assert _extra(api, deal, order).status_code == 409
    assert act(api, deal["client"], order, f"extras/{extra}/pay").status_code == 409
    assert_books_balance()


def test_completion_releases_the_price_with_the_paid_extras(api, deal):
    order = _started(api, deal)
    extra = _extra(api, deal, order, amount=5000).json_body["extras"][0]["id"]
    act(api, deal["client"], order, f"extras/{extra}/pay")
    act(api, deal["contractor"], order, "deliver", {"message": "Done"})
    act(api, deal["client"], order, "accept")
    assert api.balance(deal["client"]) == (10000, 0)
    assert api.balance(deal["contractor"]) == (12000, 0)  # 150.00 less 20 %
    assert_books_balance()


# --- cancellation by request -----------------------------------------------------------------------------------------

def test_contractor_asks_to_cancel_and_the_client_agrees_full_refund_no_rating_drop(api, deal):
    order = _started(api, deal)
    asked = api.post(f"/v1/orders/{order['id']}/cancellation",
                     {"reason": "requirements_exceed_gig", "message": "Five logos is not one"},
                     token=deal["contractor"])
    assert asked.status_code == 200 and asked.json_body["status"] == "in_progress"
    assert asked.json_body["cancellation"]["status"] == "pending"
    assert act(api, deal["contractor"], order, "cancellation/accept").status_code == 403  # not his own request

    agreed = act(api, deal["client"], order, "cancellation/accept")

    assert agreed.status_code == 200 and agreed.json_body["status"] == "cancelled"
    assert api.balance(deal["client"]) == (25000, 0)
    rating = _profile(api, deal)["responsibility"]
    assert rating == {"percent": 100, "completed": 0, "failed": 0, "cancelled_without_penalty": 1}
    assert_books_balance()


def test_refused_cancellation_lets_the_order_go_on(api, deal):
    order = _started(api, deal)
    api.post(f"/v1/orders/{order['id']}/cancellation", {"reason": "unable_to_complete"}, token=deal["contractor"])
    refused = act(api, deal["client"], order, "cancellation/refuse")
    assert refused.status_code == 200 and refused.json_body["status"] == "in_progress"
    assert refused.json_body["cancellation"]["status"] == "refused"
    assert act(api, deal["client"], order, "cancellation/accept").status_code == 409
    assert act(api, deal["contractor"], order, "deliver", {"message": "Done after all"}).status_code == 200
    assert api.balance(deal["client"]) == (15000, 10000)
    assert_books_balance()


def test_client_asks_for_mutual_cancellation_and_the_contractor_agrees(api, deal):
    order = _started(api, deal)
    asked = api.post(f"/v1/orders/{order['id']}/cancellation", {"reason": "no_longer_needed"}, token=deal["client"])
    assert asked.status_code == 200
    assert act(api, deal["contractor"], order, "cancellation/accept").json_body["status"] == "cancelled"
    assert api.balance(deal["client"]) == (25000, 0)
    assert_books_balance()


@pytest.mark.parametrize("who, reason", [("contractor", "no_longer_needed"), ("contractor", "because"),
                                         ("client", "requirements_exceed_gig")])
def test_cancellation_reason_must_come_from_the_fixed_list_of_its_party(api, deal, who, reason):
    order = _started(api, deal)
    refused = api.post(f"/v1/orders/{order['id']}/cancellation", {"reason": reason}, token=deal[who])
    assert refused.status_code == 422 and refused.json_body["error"]["code"] == "invalid_reason"
    assert api.get(f"/v1/orders/{order['id']}", token=deal["client"]).json_body["cancellation"] is None


def test_one_pending_cancellation_request_at_a_time(api, deal):
    order = _started(api, deal)
    api.post(f"/v1/orders/{order['id']}/cancellation", {"reason": "other"}, token=deal["contractor"])
    second = api.post(f"/v1/orders/{order['id']}/cancellation", {"reason": "other"}, token=deal["client"])
    assert second.status_code == 409 and second.json_body["error"]["code"] == "cancellation_pending"


# --- the responsibility rating ---------------------------------------------------------------------------------------

def test_refusing_auto_cancel_and_late_cancel_fail_the_order_an_agreed_cancellation_does_not(api, deal):
    """Kwork's rule: a contractor who refuses a not-started order without the client's agreement
    fails it, like the auto-cancel; a cancellation both agree to does not; a refused request changes
    nothing."""
    completed = _started(api, deal)
    act(api, deal["contractor"], completed, "deliver", {"message": "Done"})
    act(api, deal["client"], completed, "accept")
    assert _profile(api, deal)["responsibility"]["percent"] == 100
    declined = place_order(api, deal)
    act(api, deal["contractor"], declined, "decline", {"reason": "too_busy"})
    assert _profile(api, deal)["responsibility"] == {"percent": 50, "completed": 1, "failed": 1,
                                                     "cancelled_without_penalty": 0}

    agreed = _started(api, deal)
    path = f"/v1/orders/{agreed['id']}/cancellation"
    api.post(path, {"reason": "unable_to_complete"}, token=deal["contractor"])
    assert api.post(f"{path}/refuse", token=deal["client"]).status_code == 200
    assert _profile(api, deal)["responsibility"]["failed"] == 1
    api.post(path, {"reason": "unable_to_complete"}, token=deal["contractor"])
    assert api.post(f"{path}/accept", token=deal["client"]).status_code == 200
    assert _profile(api, deal)["responsibility"] == {"percent": 50, "completed": 1, "failed": 1,
                                                     "cancelled_without_penalty": 1}

    place_order(api, deal)
    clock.advance(DAY + 1)
    assert run_jobs(api)["fire_due_timers"]["fired"] == 1
    assert _profile(api, deal)["responsibility"]["failed"] == 2
    late = _started(api, deal)
    clock.advance(4 * DAY)
    assert act(api, deal["client"], late, "cancel").status_code == 200
    profile = _profile(api, deal)
    assert profile["responsibility"] == {"percent": 25, "completed": 1, "failed": 3, "cancelled_without_penalty": 1}
    assert profile["name"] == "Seller" and profile["level"] == "new"
    assert_books_balance()


def test_unknown_contractor_profile_is_404(api, deal):
    assert api.get("/v1/contractors/usr_nope", token=deal["client"]).status_code == 404


# --- disputes --------------------------------------------------------------------------------------------------------

def _delivered(api, deal) -> dict:
    order = _started(api, deal)
    act(api, deal["contractor"], order, "deliver", {"message": "Done"})
    return order


def test_dispute_stops_the_review_timer_and_an_operator_splits_the_escrow(api, deal, operator_token):
    order = _delivered(api, deal)
    opened = act(api, deal["client"], order, "dispute", {"message": "Not what we agreed"})
    assert opened.status_code == 200 and opened.json_body["status"] == "disputed"
    assert opened.json_body["review_due_at"] is None
    assert DealModel.get(order["id"]).timer_due_at is None
    clock.advance(10 * DAY)
    assert run_jobs(api)["fire_due_timers"]["fired"] == 0
    queue = api.get("/v1/operator/disputes", token=operator_token).json_body["items"]
    assert [item["id"] for item in queue] == [order["id"]]
    assert queue[0]["terms_verified"] and queue[0]["terms"]["description"] == "A logo"

    resolved = api.post(f"/v1/operator/disputes/{order['id']}/resolve",
                        {"refund": 4000, "release": 6000, "note": "Per the gig terms, half the work was done"},
                        token=operator_token)

    assert resolved.status_code == 200 and resolved.json_body["status"] == "resolved"
    dispute = resolved.json_body["dispute"]
    assert dispute["refund"] == 4000 and dispute["release"] == 6000 and dispute["commission"] == 1200
    assert dispute["terms_hash"] == resolved.json_body["terms_hash"]
    assert api.balance(deal["client"]) == (19000, 0)
    assert api.balance(deal["contractor"]) == (4800, 0)
    assert api.get("/v1/operator/disputes", token=operator_token).json_body["items"] == []
    assert_books_balance()


@pytest.mark.parametrize("split", [{"refund": 4000, "release": 5000}, {"refund": -1, "release": 10001},
                                   {"refund": 10000, "release": 1}])
def test_a_split_that_does_not_add_up_is_422_and_moves_nothing(api, deal, operator_token, split):
    order = _delivered(api, deal)
    act(api, deal["client"], order, "dispute", {"message": "No"})
    refused = api.post(f"/v1/operator/disputes/{order['id']}/resolve", {**split, "note": "n"}, token=operator_token)
    assert refused.status_code == 422
    assert api.get(f"/v1/orders/{order['id']}", token=deal["client"]).json_body["status"] == "disputed"
    assert api.balance(deal["client"]) == (15000, 10000)
    assert_books_balance()


def test_only_the_client_opens_and_only_an_operator_resolves_a_dispute(api, deal, operator_token):
    order = _delivered(api, deal)
    assert act(api, deal["contractor"], order, "dispute", {"message": "x"}).status_code == 403
    act(api, deal["client"], order, "dispute", {"message": "No"})
    for token in (deal["client"], deal["contractor"]):
        assert api.post(f"/v1/operator/disputes/{order['id']}/resolve",
                        {"refund": 10000, "release": 0, "note": "n"}, token=token).status_code == 403
    assert act(api, deal["client"], order, "accept").status_code == 409
    full_refund = api.post(f"/v1/operator/disputes/{order['id']}/resolve",
                           {"refund": 10000, "release": 0, "note": "Nothing delivered"}, token=operator_token)
    assert full_refund.status_code == 200 and api.balance(deal["client"]) == (25000, 0)
    assert_books_balance()


def test_a_dispute_is_opened_only_on_a_delivered_order(api, deal):
    order = _started(api, deal)
    assert act(api, deal["client"], order, "dispute", {"message": "x"}).status_code == 409


# --- reviews ---------------------------------------------------------------------------------------------------------

def test_client_reviews_a_completed_order_once_and_the_gig_shows_its_rating(api, deal):
    order = _delivered(api, deal)
    early = api.post(f"/v1/orders/{order['id']}/review", {"rating": 5, "text": "?"}, token=deal["client"])
    assert early.status_code == 409 and early.json_body["error"]["code"] == "not_completed"
    act(api, deal["client"], order, "accept")
    assert api.post(f"/v1/orders/{order['id']}/review", {"rating": 5}, token=deal["contractor"]).status_code == 403
    for rating in (0, 6, 4.5, "5"):
        assert api.post(f"/v1/orders/{order['id']}/review", {"rating": rating},
                        token=deal["client"]).status_code == 422

    review = api.post(f"/v1/orders/{order['id']}/review", {"rating": 4, "text": "Good"}, token=deal["client"])

    assert review.status_code == 201 and review.json_body["rating"] == 4
    again = api.post(f"/v1/orders/{order['id']}/review", {"rating": 1, "text": "Changed my mind"},
                     token=deal["client"])
    assert again.status_code == 409 and again.json_body["error"]["code"] == "already_reviewed"
    second = _delivered(api, deal)
    act(api, deal["client"], second, "accept")
    api.post(f"/v1/orders/{second['id']}/review", {"rating": 5, "text": "Great"}, token=deal["client"])
    gig = api.get(f"/v1/gigs/{deal['gig']['id']}", token=deal["client"]).json_body
    assert gig["rating"] == {"count": 2, "sum": 9, "average": "4.50"}
    reviews = api.get(f"/v1/gigs/{deal['gig']['id']}/reviews", token=deal["client"]).json_body["items"]
    assert [r["rating"] for r in reviews] == [5, 4]
    assert api.get(f"/v1/orders/{order['id']}", token=deal["client"]).json_body["reviewed"] is True
    kinds = [n["kind"] for n in api.get("/v1/notifications", token=deal["contractor"]).json_body["items"]]
    assert "review_received" in kinds
    assert_books_balance()


def test_every_order_event_notifies_both_parties(api, deal):
    order = _started(api, deal)
    extra = _extra(api, deal, order).json_body["extras"][0]["id"]
    act(api, deal["client"], order, f"extras/{extra}/pay")
    act(api, deal["contractor"], order, "deliver", {"message": "Done"})
    act(api, deal["client"], order, "accept")
    expected = ["order_placed", "order_started", "extra_offered", "extra_paid", "order_delivered", "order_completed"]
    for token in (deal["client"], deal["contractor"]):
        kinds = [n["kind"] for n in api.get("/v1/notifications", token=token).json_body["items"]]
        assert [k for k in reversed(kinds) if k in expected] == expected


def test_contractor_is_told_his_net_payout_when_the_order_is_auto_accepted(api, deal):
    _delivered(api, deal)
    clock.advance(5 * DAY)
    run_jobs(api)
    feed = api.get("/v1/notifications", token=deal["contractor"]).json_body["items"]
    auto = next(n for n in feed if n["kind"] == "order_auto_accepted")
    assert "$80.00" in auto["body"] and "$20.00" in auto["body"]


@pytest.mark.parametrize("ending", ["decline", "auto_cancel", "cancel_late"])
def test_a_client_may_review_an_order_cancelled_against_the_contractor_with_its_outcome_beside_it(api, deal, ending):
    order = place_order(api, deal)
    if ending == "decline":
        act(api, deal["contractor"], order, "decline", {"reason": "too_busy"})
    elif ending == "auto_cancel":
        clock.advance(24 * 3600 + 1)
        run_jobs(api)
    else:
        act(api, deal["contractor"], order, "start")
        clock.advance(int(deal["gig"]["delivery_days"]) * 24 * 3600 + 1)
        assert act(api, deal["client"], order, "cancel").status_code == 200
    review = api.post(f"/v1/orders/{order['id']}/review", {"rating": 1, "text": "Let me down"}, token=deal["client"])
    assert review.status_code == 201, review.body
    expected = {"decline": "declined_by_contractor", "auto_cancel": "not_started_in_time",
                "cancel_late": "cancelled_as_late"}[ending]
    assert review.json_body["outcome"] == expected
    listed = api.get(f"/v1/gigs/{deal['gig']['id']}/reviews", token=deal["client"]).json_body["items"]
    assert [(r["rating"], r["outcome"]) for r in listed] == [(1, expected)]
    assert api.balance(deal["client"]) == (25000, 0)
    assert_books_balance()


def test_an_order_cancelled_by_agreement_cannot_be_reviewed(api, deal):
    order = place_order(api, deal)
    act(api, deal["client"], order, "cancellation", {"reason": "no_longer_needed"})
    act(api, deal["contractor"], order, "cancellation/accept")
    refused = api.post(f"/v1/orders/{order['id']}/review", {"rating": 1}, token=deal["client"])
    assert refused.status_code == 409 and refused.json_body["error"]["code"] == "not_completed"


# --- a started order always has a way out for the contractor ------------------------------------------------------

def test_after_the_client_refuses_a_cancellation_the_contractor_may_ask_an_operator_to_cancel(api, deal,
                                                                                             operator_token):
    order = _started(api, deal)
    early = act(api, deal["contractor"], order, "cancellation/operator", {"message": "The client is silent"})
    assert early.status_code == 409 and early.json_body["error"]["code"] == "cancellation_not_refused"
    api.post(f"/v1/orders/{order['id']}/cancellation", {"reason": "client_unresponsive"}, token=deal["contractor"])
    act(api, deal["client"], order, "cancellation/refuse")
    assert act(api, deal["contractor"], order, "cancellation/operator", {"message": ""}).status_code == 422
    assert act(api, deal["client"], order, "cancellation/operator", {"message": "Me"}).status_code == 403
    asked = act(api, deal["contractor"], order, "cancellation/operator", {"message": "No brief after 5 days"})
    assert asked.status_code == 200 and asked.json_body["status"] == "disputed", asked.body
    assert asked.json_body["dispute"]["by"] == "contractor"
    assert asked.json_body["dispute"]["reason"] == "No brief after 5 days"
    queue = api.get("/v1/operator/disputes", token=operator_token).json_body["items"]
    assert order["id"] in [d["id"] for d in queue]
    clock.advance(30 * 24 * 3600)  # past the deadline: the client's late one-click cancel no longer applies
    assert act(api, deal["client"], order, "cancel").status_code == 409
    resolved = api.post(f"/v1/operator/disputes/{order['id']}/resolve", {"refund": 10000, "release": 0,
                                                                       "note": "Cancelled"}, token=operator_token)
    assert resolved.status_code == 200 and resolved.json_body["status"] == "resolved"
    assert _profile(api, deal)["responsibility"]["failed"] == 0
    assert api.balance(deal["client"]) == (25000, 0)
    assert_books_balance()


def test_a_cancellation_request_unanswered_for_three_days_goes_to_an_operator(api, deal, operator_token):
    order = _started(api, deal)
    api.post(f"/v1/orders/{order['id']}/cancellation", {"reason": "no_longer_needed"}, token=deal["client"])
    clock.advance(3 * 24 * 3600 - 60)
    assert run_jobs(api)["fire_due_timers"]["fired"] == 0
    clock.advance(61)
    assert run_jobs(api)["fire_due_timers"]["fired"] == 1
    shown = api.get(f"/v1/orders/{order['id']}", token=deal["client"]).json_body
    assert shown["status"] == "disputed" and shown["dispute"]["by"] == "client"
    assert shown["cancellation"]["status"] == "escalated"
    assert order["id"] in [d["id"] for d in api.get("/v1/operator/disputes", token=operator_token).json_body["items"]]
    assert_books_balance()

"""Custom offers (seed 004) and conversations: a contractor who takes custom offers makes a client who
has written to him (or ordered from him) an offer within his level's limits; accepting it creates and pays the order on
frozen terms; unanswered offers expire. Messages carry attachments' metadata and notify the peer."""
from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.money import deal_terms
from chalicelib.platform import clock
from tests.support import act, assert_books_balance, run_jobs, upload

DAY = 86400


FIRST_WORDS = "Hello, can you draw a logo?"


@pytest.fixture
def talking(api, deal):
    """Given the deal's contractor, who takes custom offers, and its client, who has written to him."""
    assert api.request("PATCH", "/v1/me/profile", {"custom_offers": True},
                       token=deal["contractor"]).status_code == 200
    started = api.post("/v1/conversations", {"user_id": deal["contractor_id"]}, token=deal["client"])
    assert started.status_code == 201
    path = f"/v1/conversations/{started.json_body['id']}/messages"
    assert api.post(path, {"text": FIRST_WORDS}, token=deal["client"]).status_code == 201
    return {**deal, "conversation": started.json_body["id"]}


def _offer(api, deal, **changes):
    body = {"client_id": deal["client_id"], "gig_id": deal["gig"]["id"], "description": "Three concepts, 2 rounds",
            "amount": 12000, "currency": "USD", "delivery_days": 5, "revision_limit": 1, **changes}
    return api.post("/v1/offers", body, token=deal["contractor"])


# --- conversations ---------------------------------------------------------------------------------------------------

def test_conversation_is_one_per_pair_and_messages_notify_the_peer(api, talking):
    again = api.post("/v1/conversations", {"user_id": talking["client_id"]}, token=talking["contractor"])
    assert again.status_code == 200 and again.json_body["id"] == talking["conversation"]
    path = f"/v1/conversations/{talking['conversation']}/messages"
    brief = upload(api, talking["client"], "brief.pdf", b"%PDF-1.4 brief", "application/pdf")
    sent = api.post(path, {"text": "Hi, a logo by Friday?", "attachments": [{"file_id": brief}]},
                    token=talking["client"])
    assert sent.status_code == 201 and sent.json_body["attachments"][0]["filename"] == "brief.pdf"
    api.post(path, {"text": "Sure"}, token=talking["contractor"])
    history = api.get(path, token=talking["contractor"]).json_body["items"]
    assert [m["text"] for m in history] == ["Sure", "Hi, a logo by Friday?", FIRST_WORDS]
    feed = api.get("/v1/notifications", token=talking["contractor"]).json_body["items"]
    assert feed[0]["kind"] == "message_received" and "Buyer" in feed[0]["body"]
    mine = api.get("/v1/conversations", token=talking["client"]).json_body["items"]
    assert [(c["id"], c["peer_id"]) for c in mine] == [(talking["conversation"], talking["contractor_id"])]


def test_an_offer_starts_from_the_clients_words_or_an_order_between_the_two(api, deal):
    """Given a contractor who takes custom offers and a client who has not written to him yet."""
    api.request("PATCH", "/v1/me/profile", {"custom_offers": True}, token=deal["contractor"])
    conversation = api.post("/v1/conversations", {"user_id": deal["client_id"]}, token=deal["contractor"]).json_body
    path = f"/v1/conversations/{conversation['id']}/messages"
    api.post(path, {"text": "Buy my logo!"}, token=deal["contractor"])
    # When he opens a conversation with the stranger and offers at once, it is refused
    cold = _offer(api, deal)
    assert cold.status_code == 422 and cold.json_body["error"]["code"] == "no_conversation"
    # but once the client has written, or from the page of an order between the two, it goes
    order = api.post("/v1/orders", {"gig_id": deal["gig"]["id"]}, token=deal["client"]).json_body
    from_order = _offer(api, deal, order_id=order["id"])
    assert from_order.status_code == 201, from_order.body
    api.post(path, {"text": "Well, tell me more"}, token=deal["client"])
    assert _offer(api, deal).status_code == 201
    # Another client's order is no way in
    other = api.signup("other@example.com")
    other_id = api.get("/v1/me", token=other).json_body["id"]
    assert _offer(api, deal, client_id=other_id, order_id=order["id"]).status_code == 404
    assert _offer(api, deal, client_id=other_id).json_body["error"]["code"] == "no_conversation"
    assert_books_balance()


def test_strangers_cannot_read_or_write_a_conversation(api, talking):
    stranger = api.signup("stranger@example.com")
    path = f"/v1/conversations/{talking['conversation']}/messages"
    assert api.get(path, token=stranger).status_code == 404
    assert api.post(path, {"text": "hello"}, token=stranger).status_code == 404


@pytest.mark.parametrize("body", [{"text": ""}, {"text": "   "}, {"text": "x", "attachments": [{"file_id": ""}]},
                                  {"text": "x", "attachments": [{"name": "a", "size": 1, "content_type": "x"}]},
                                  {"text": "x", "attachments": [{"file_id": "upl_nope"}]},
                                  {"text": "x", "attachments": [{"file_id": f"upl_{n}"} for n in range(11)]}])
def test_bad_messages_are_422_and_store_nothing(api, talking, body):
    path = f"/v1/conversations/{talking['conversation']}/messages"
    assert api.post(path, body, token=talking["client"]).status_code == 422
    assert [m["text"] for m in api.get(path, token=talking["client"]).json_body["items"]] == [FIRST_WORDS]


def test_conversation_with_oneself_or_nobody_is_refused(api, talking):
    assert api.post("/v1/conversations", {"user_id": talking["client_id"]}, token=talking["client"]).status_code == 422
    assert api.post("/v1/conversations", {"user_id": "usr_nope"}, token=talking["client"]).status_code == 404


def test_order_conversation_is_for_its_parties(api, deal):
    order = api.post("/v1/orders", {"gig_id": deal["gig"]["id"]}, token=deal["client"]).json_body
    path = f"/v1/orders/{order['id']}/messages"
    assert api.post(path, {"text": "Brief attached", "links": ["https://files.example/brief.docx"]},
                    token=deal["client"]).status_code == 201
    assert api.post(path, {"text": "Got it"}, token=deal["contractor"]).status_code == 201
    assert [m["text"] for m in api.get(path, token=deal["client"]).json_body["items"]] == ["Got it", "Brief attached"]
    stranger = api.signup("stranger@example.com")
    assert api.get(path, token=stranger).status_code == 404
    assert api.post(path, {"text": "hi"}, token=stranger).status_code == 404
    feed = api.get("/v1/notifications", token=deal["client"]).json_body["items"]
    assert feed[0]["kind"] == "message_received"


# --- custom offers ---------------------------------------------------------------------------------------------------

def test_accepting_an_offer_creates_and_pays_the_order_on_frozen_terms(api, talking):
    offer = _offer(api, talking)
    assert offer.status_code == 201, offer.body
    offer = offer.json_body
    assert offer["status"] == "pending" and offer["accept_by"]
    assert offer["terms_hash"] == deal_terms.digest(offer["terms"])
    assert api.get("/v1/offers", token=talking["client"]).json_body["items"][0]["id"] == offer["id"]
    assert api.get("/v1/orders", token=talking["client"]).json_body["items"] == []

    accepted = api.post(f"/v1/offers/{offer['id']}/accept", token=talking["client"])

    assert accepted.status_code == 201
    order = accepted.json_body
    assert order["status"] == "not_started" and order["amount"] == 12000 and order["offer_id"] == offer["id"]
    assert order["gig_id"] == talking["gig"]["id"] and order["delivery_days"] == 5
    assert order["terms_hash"] == offer["terms_hash"] and order["terms_verified"]
    assert api.balance(talking["client"]) == (13000, 12000)
    shown = api.get(f"/v1/offers/{offer['id']}", token=talking["contractor"]).json_body
    assert shown["status"] == "accepted" and shown["order_id"] == order["id"]
    assert api.post(f"/v1/offers/{offer['id']}/accept", token=talking["client"]).status_code == 409
    assert api.balance(talking["client"]) == (13000, 12000)
    assert_books_balance()


def test_offer_order_runs_as_a_gig_order_with_its_revision_limit_and_review_under_the_gig(api, talking):
    offer = _offer(api, talking).json_body
    order = api.post(f"/v1/offers/{offer['id']}/accept", token=talking["client"]).json_body
    act(api, talking["contractor"], order, "start")
    act(api, talking["contractor"], order, "deliver", {"message": "v1"})
    assert act(api, talking["client"], order, "request-revision", {"message": "more"}).status_code == 200
    act(api, talking["contractor"], order, "deliver", {"message": "v2"})
    limited = act(api, talking["client"], order, "request-revision", {"message": "again"})
    assert limited.status_code == 409 and limited.json_body["error"]["code"] == "revision_limit_reached"
    act(api, talking["client"], order, "accept")
    api.post(f"/v1/orders/{order['id']}/review", {"rating": 5, "text": "Great"}, token=talking["client"])
    reviews = api.get(f"/v1/gigs/{talking['gig']['id']}/reviews", token=talking["client"]).json_body["items"]
    assert [r["order_id"] for r in reviews] == [order["id"]]
    assert api.balance(talking["contractor"]) == (9600, 0)
    assert_books_balance()


def test_an_offer_the_client_cannot_afford_stays_pending_and_moves_nothing(api, talking):
    offer = _offer(api, talking, amount=30000).json_body
    refused = api.post(f"/v1/offers/{offer['id']}/accept", token=talking["client"])
    assert refused.status_code == 402 and refused.json_body["error"]["code"] == "insufficient_funds"
    assert api.get(f"/v1/offers/{offer['id']}", token=talking["client"]).json_body["status"] == "pending"
    assert api.get("/v1/orders", token=talking["client"]).json_body["items"] == []
    assert_books_balance()


def test_unanswered_offer_expires_at_its_last_date(api, talking):
    last_date = clock.iso(clock.now().replace(microsecond=0) + timedelta(days=2))
    offer = _offer(api, talking, accept_by=last_date).json_body
    clock.advance(DAY)
    assert run_jobs(api)["fire_due_timers"]["fired"] == 0
    clock.advance(DAY + 1)
    assert run_jobs(api)["fire_due_timers"]["fired"] == 1
    assert api.get(f"/v1/offers/{offer['id']}", token=talking["client"]).json_body["status"] == "expired"
    assert api.post(f"/v1/offers/{offer['id']}/accept", token=talking["client"]).status_code == 409
    kinds = [n["kind"] for n in api.get("/v1/notifications", token=talking["contractor"]).json_body["items"]]
    assert "offer_expired" in kinds
    assert_books_balance()


def test_client_rejects_and_contractor_withdraws(api, talking):
    first, second = _offer(api, talking).json_body, _offer(api, talking).json_body
    assert api.post(f"/v1/offers/{first['id']}/reject", {"reason": "Too expensive"},
                    token=talking["contractor"]).status_code == 403
    rejected = api.post(f"/v1/offers/{first['id']}/reject", {"reason": "Too expensive"}, token=talking["client"])
    assert rejected.status_code == 200 and rejected.json_body["status"] == "rejected"
    assert api.post(f"/v1/offers/{second['id']}/withdraw", token=talking["client"]).status_code == 403
    withdrawn = api.post(f"/v1/offers/{second['id']}/withdraw", token=talking["contractor"])
    assert withdrawn.status_code == 200 and withdrawn.json_body["status"] == "withdrawn"
    stranger = api.signup("stranger@example.com")
    assert api.get(f"/v1/offers/{first['id']}", token=stranger).status_code == 404


def test_offers_need_custom_offers_enabled_an_active_gig_and_a_conversation(api, talking):
    api.request("PATCH", "/v1/me/profile", {"custom_offers": False}, token=talking["contractor"])
    disabled = _offer(api, talking)
    assert disabled.status_code == 403 and disabled.json_body["error"]["code"] == "custom_offers_disabled"
    api.request("PATCH", "/v1/me/profile", {"custom_offers": True}, token=talking["contractor"])
    api.post(f"/v1/gigs/{talking['gig']['id']}/pause", token=talking["contractor"])
    assert _offer(api, talking).json_body["error"]["code"] == "gig_not_active"
    api.post(f"/v1/gigs/{talking['gig']['id']}/activate", token=talking["contractor"])
    newcomer = api.signup("new@example.com")
    newcomer_id = api.get("/v1/me", token=newcomer).json_body["id"]
    unknown = _offer(api, talking, client_id=newcomer_id)
    assert unknown.status_code == 422 and unknown.json_body["error"]["code"] == "no_conversation"
    assert _offer(api, talking, gig_id="gig_nope").status_code == 404


def test_offer_limits_follow_the_contractor_level(api, talking, operator_token):
    over = _offer(api, talking, amount=60000)
    assert over.status_code == 422 and over.json_body["error"]["code"] == "over_level_limit"
    assert _offer(api, talking, delivery_days=45).json_body["error"]["code"] == "over_level_limit"
    promoted = api.post(f"/v1/operator/contractors/{talking['contractor_id']}/level", {"level": "advanced"},
                        token=operator_token)
    assert promoted.status_code == 200 and promoted.json_body["level"] == "advanced"
    assert _offer(api, talking, amount=60000, delivery_days=45).status_code == 201
    assert api.post(f"/v1/operator/contractors/{talking['contractor_id']}/level", {"level": "guru"},
                    token=operator_token).status_code == 422
    assert api.post(f"/v1/operator/contractors/{talking['contractor_id']}/level", {"level": "pro"},
                    token=talking["contractor"]).status_code == 403


@pytest.mark.parametrize("changes", [{"amount": 0}, {"currency": "GBP"}, {"delivery_days": 0},
                                     {"accept_by": "yesterday"}, {"accept_by": "2020-01-01T00:00:00Z"},
                                     {"accept_by": "2026-11-25T10:00:00"}, {"revision_limit": -1},
                                     {"revision_limit": 11}, {"revision_limit": 100},
                                     {"description": ""}])
def test_invalid_offers_are_422_and_create_nothing(api, talking, changes):
    assert _offer(api, talking, **changes).status_code == 422
    assert api.get("/v1/offers?role=contractor", token=talking["contractor"]).json_body["items"] == []


# --- offers keep their word ------------------------------------------------------------------------------------------

def test_an_offer_promises_the_engines_revision_limit_at_most_and_never_unlimited(api, talking):
    from chalicelib.notify.render import render
    from chalicelib.processes.gig_order import MAX_REVISIONS

    assert _offer(api, talking, revision_limit=MAX_REVISIONS + 1).status_code == 422
    offer = _offer(api, talking, revision_limit=None).json_body
    assert offer["revision_limit"] == MAX_REVISIONS and offer["terms"]["revision_limit"] == MAX_REVISIONS
    received = next(n for n in api.get("/v1/notifications", token=talking["client"]).json_body["items"]
                    if n["kind"] == "offer_received")
    assert received["params"]["revision_limit"] == MAX_REVISIONS
    for locale in ("en", "ru"):
        text = render("offer_received", locale, {"name": "Olena", **received["params"]}).text
        assert "unlimited" not in text.lower() and "без ограничений" not in text.lower()


def test_the_offer_shows_the_contractor_his_net_and_the_order_takes_exactly_that_commission(api, talking):
    offer = _offer(api, talking).json_body
    assert offer["commission"] == 2400 and offer["net_to_contractor"] == 9600  # 120.00 less 20 %
    order = api.post(f"/v1/offers/{offer['id']}/accept", token=talking["client"]).json_body
    assert "commission" not in order and "commission_bps" not in order["terms"]  # the client's view
    as_contractor = api.get(f"/v1/orders/{order['id']}", token=talking["contractor"]).json_body
    assert as_contractor["terms"]["commission_bps"] == 2000
    api.post(f"/v1/orders/{order['id']}/start", token=talking["contractor"])
    api.post(f"/v1/orders/{order['id']}/deliver", {"message": "Done"}, token=talking["contractor"])
    assert api.post(f"/v1/orders/{order['id']}/accept", token=talking["client"]).status_code == 200
    assert api.balance(talking["contractor"]) == (offer["net_to_contractor"], 0)
    assert_books_balance()


def test_at_most_three_offers_from_one_contractor_wait_for_one_client(api, talking):
    offers = [_offer(api, talking) for _ in range(3)]
    assert [o.status_code for o in offers] == [201, 201, 201]
    fourth = _offer(api, talking)
    assert fourth.status_code == 409 and fourth.json_body["error"]["code"] == "too_many_pending_offers"
    assert len(api.get("/v1/offers?role=contractor", token=talking["contractor"]).json_body["items"]) == 3
    api.post(f"/v1/offers/{offers[0].json_body['id']}/withdraw", token=talking["contractor"])
    assert _offer(api, talking).status_code == 201


def test_a_contractors_level_follows_the_configured_rule_and_an_operator_override_is_recorded(api, talking,
                                                                                                operator_token,
                                                                                                monkeypatch):
    from chalicelib.platform import config

    monkeypatch.setenv("LEVEL_RULES", '{"advanced": {"min_completed": 1, "min_responsibility": 100, '
                                      '"min_account_days": 1}}')
    config.reload()
    path = f"/v1/contractors/{talking['contractor_id']}"
    assert api.get(path, token=talking["client"]).json_body["level"] == "new"
    order = api.post("/v1/orders", {"gig_id": talking["gig"]["id"]}, token=talking["client"]).json_body
    api.post(f"/v1/orders/{order['id']}/start", token=talking["contractor"])
    api.post(f"/v1/orders/{order['id']}/deliver", {"message": "Done"}, token=talking["contractor"])
    api.post(f"/v1/orders/{order['id']}/accept", token=talking["client"])
    assert api.get(path, token=talking["client"]).json_body["level"] == "new"  # the account is not a day old
    clock.advance(24 * 3600)
    shown = api.get(path, token=talking["client"]).json_body
    assert shown["level"] == "advanced" and shown["level_set_by_operator"] is None
    assert _offer(api, talking, amount=60000, delivery_days=45).status_code == 201
    failed = api.post("/v1/orders", {"gig_id": talking["gig"]["id"]}, token=talking["client"]).json_body
    api.post(f"/v1/orders/{failed['id']}/decline", {"reason": "too_busy"}, token=talking["contractor"])
    assert api.get(path, token=talking["client"]).json_body["level"] == "new"  # responsibility fell to 50 %
    set_by = api.post(f"/v1/operator/contractors/{talking['contractor_id']}/level", {"level": "pro"},
                      token=operator_token).json_body
    assert set_by["level"] == "pro"
    assert set_by["level_set_by_operator"]["by"] and set_by["level_set_by_operator"]["at"]
    monkeypatch.setenv("LEVEL_RULES", '{"pro": {"min_completed": 1}}')
    with pytest.raises(ValueError):
        config.reload()
    assert_books_balance()


# --- requests for a custom offer -------------------------------------------------------------------------------------

def _ask(api, deal, token=None, **changes):
    body = {"contractor_id": deal["contractor_id"], "gig_id": deal["gig"]["id"],
            "description": "A logo for my coffee shop, in green", "budget": {"amount": 15000, "currency": "USD"},
            "deadline_at": clock.iso(clock.now() + timedelta(days=10)), **changes}
    return api.post("/v1/offer-requests", {k: v for k, v in body.items() if v is not None},
                    token=token or deal["client"])


@pytest.fixture
def takes_offers(api, deal):
    """Given the deal's contractor, who takes custom offers; his client has not written to him yet."""
    assert api.request("PATCH", "/v1/me/profile", {"custom_offers": True},
                       token=deal["contractor"]).status_code == 200
    return deal


def test_a_clients_request_lands_in_the_conversation_and_the_contractor_answers_it_with_an_offer(api, takes_offers):
    deal = takes_offers
    asked = _ask(api, deal)
    assert asked.status_code == 201, asked.body
    request = asked.json_body
    assert request["status"] == "pending" and request["budget"] == {"amount": 15000, "currency": "USD"}
    # it is an entry in their conversation, and the contractor is told
    entries = api.get(f"/v1/conversations/{request['conversation_id']}/messages", token=deal["contractor"]).json_body
    assert [(m["offer_request_id"], m["text"]) for m in entries["items"]] == [(request["id"], request["description"])]
    assert api.get("/v1/notifications", token=deal["contractor"]).json_body["items"][0]["kind"] == "offer_requested"
    received = api.get("/v1/offer-requests?role=contractor", token=deal["contractor"]).json_body["items"]
    assert [r["id"] for r in received] == [request["id"]]
    assert [r["id"] for r in api.get("/v1/offer-requests", token=deal["client"]).json_body["items"]] == [request["id"]]
    # the request is the client's words: the contractor answers with an offer that names it
    offer = _offer(api, deal, request_id=request["id"])
    assert offer.status_code == 201, offer.body
    assert offer.json_body["request_id"] == request["id"]
    answered = api.get(f"/v1/offer-requests/{request['id']}", token=deal["client"]).json_body
    assert answered["status"] == "answered" and answered["offer_id"] == offer.json_body["id"]
    assert api.get("/v1/notifications", token=deal["client"]).json_body["items"][0]["kind"] == "offer_received"
    # answered once: a second offer on it is refused
    again = _offer(api, deal, request_id=request["id"])
    assert again.status_code == 409 and again.json_body["error"]["code"] == "invalid_state"
    assert_books_balance()


def test_the_contractor_declines_a_request_with_a_reason_and_the_client_is_told(api, takes_offers):
    deal = takes_offers
    request = _ask(api, deal, gig_id=None, budget=None, deadline_at=None).json_body
    assert request["gig_id"] is None and request["budget"] is None
    assert api.post(f"/v1/offer-requests/{request['id']}/decline", {"reason": ""},
                    token=deal["contractor"]).status_code == 422
    assert api.post(f"/v1/offer-requests/{request['id']}/decline", {"reason": "Busy"},
                    token=deal["client"]).status_code == 403
    declined = api.post(f"/v1/offer-requests/{request['id']}/decline", {"reason": "Fully booked until March"},
                        token=deal["contractor"])
    assert declined.status_code == 200 and declined.json_body["status"] == "declined"
    assert declined.json_body["closed_reason"] == "Fully booked until March"
    told = api.get("/v1/notifications", token=deal["client"]).json_body["items"][0]
    assert told["kind"] == "offer_request_declined" and "Fully booked until March" in told["body"]
    late = _offer(api, deal, request_id=request["id"])
    assert late.status_code == 409


def test_an_unanswered_request_expires_at_the_clients_deadline(api, takes_offers):
    deal = takes_offers
    request = _ask(api, deal, deadline_at=clock.iso(clock.now() + timedelta(days=2))).json_body
    assert request["answer_by"] == request["deadline_at"]
    clock.advance(2 * DAY + 1)
    run_jobs(api)
    assert api.get(f"/v1/offer-requests/{request['id']}", token=deal["client"]).json_body["status"] == "expired"
    kinds = [n["kind"] for n in api.get("/v1/notifications", token=deal["client"]).json_body["items"]]
    assert "offer_request_expired" in kinds


def test_a_bad_request_for_an_offer_is_refused_and_changes_nothing(api, takes_offers):
    deal = takes_offers
    other = api.signup("other-seller@example.com")
    other_gig = api.post("/v1/gigs", {"title": "Icons", "description": "Icons", "amount": 5000, "currency": "USD",
                                      "delivery_days": 2}, token=other).json_body
    past = clock.iso(clock.now() - timedelta(hours=1))
    cases = [
        (_ask(api, deal, contractor_id="usr_nobody"), 404, "not_found"),
        (_ask(api, deal, token=deal["contractor"]), 422, "own_request"),
        (_ask(api, deal, gig_id=other_gig["id"]), 422, "not_his_gig"),
        (_ask(api, deal, budget={"amount": 0, "currency": "USD"}), 422, "invalid_amount"),
        (_ask(api, deal, budget={"amount": -5, "currency": "USD"}), 422, "invalid_amount"),
        (_ask(api, deal, deadline_at=past), 422, "invalid_deadline"),
        (_ask(api, deal, deadline_at="tomorrow"), 422, "validation_error"),
    ]
    for response, status, code in cases:
        assert (response.status_code, response.json_body["error"]["code"]) == (status, code), response.body
    other_id = api.get("/v1/me", token=other).json_body["id"]
    refused = _ask(api, deal, contractor_id=other_id, gig_id=None)  # he does not take custom offers
    assert refused.status_code == 422 and refused.json_body["error"]["code"] == "custom_offers_disabled"
    assert api.get("/v1/offer-requests", token=deal["client"]).json_body["items"] == []
    assert api.get("/v1/conversations", token=deal["client"]).json_body["items"] == []
    # at most three wait for one contractor's answer
    assert [_ask(api, deal).status_code for _ in range(3)] == [201, 201, 201]
    fourth = _ask(api, deal)
    assert fourth.status_code == 409 and fourth.json_body["error"]["code"] == "too_many_pending_requests"
    first = api.get("/v1/offer-requests", token=deal["client"]).json_body["items"][0]
    assert api.post(f"/v1/offer-requests/{first['id']}/withdraw", token=deal["client"]).status_code == 200
    assert _ask(api, deal).status_code == 201


def test_an_offer_answers_only_its_clients_request_to_its_contractor(api, takes_offers):
    deal = takes_offers
    request = _ask(api, deal).json_body
    stranger = api.signup("stranger-client@example.com")
    stranger_id = api.get("/v1/me", token=stranger).json_body["id"]
    mismatched = _offer(api, deal, client_id=stranger_id, request_id=request["id"])
    assert mismatched.status_code == 422 and mismatched.json_body["error"]["code"] == "request_mismatch"
    assert api.get(f"/v1/offer-requests/{request['id']}", token=stranger).status_code == 404
    assert api.get(f"/v1/offer-requests/{request['id']}", token=deal["client"]).json_body["status"] == "pending"

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
    assert refused.status_code == 409 and refused.json_body["error"]["code"] == "insufficient_funds"
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

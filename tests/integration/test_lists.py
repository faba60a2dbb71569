"""The deals' list indexes on real DynamoDB (Local): they hold keys only, and the lists read their page's
deals in one batch, newest first, in the shapes the API promises."""
from __future__ import annotations

from chalicelib.platform import clock
from chalicelib.store.models import DealModel
from tests.support import act, transfer_event


def test_the_list_indexes_hold_keys_only_and_the_lists_show_whole_orders_on_dynamodb_local(api):
    contractor = api.signup("seller@example.com", name="Seller")
    client = api.signup("buyer@example.com", name="Buyer")
    client_id = api.get("/v1/me", token=client).json_body["id"]
    api.webhook(transfer_event("evt-lists", 50000, "USD", api.invoice(client, 50000, "USD")["payment_details"]))
    gig = api.post("/v1/gigs", {"title": "Logo", "amount": 10000, "currency": "USD", "delivery_days": 3},
                   token=contractor).json_body
    first = api.post("/v1/orders", {"gig_id": gig["id"]}, token=client).json_body
    clock.advance(1)  # a second apart: lists are newest first by the second an order was placed
    second = api.post("/v1/orders", {"gig_id": gig["id"]}, token=client).json_body
    started = act(api, contractor, first, "start").json_body

    connection = DealModel._get_connection()
    listed = connection.query(f"order#{client_id}", index_name="by_client")["Items"]
    assert {item["id"]["S"] for item in listed} == {first["id"], second["id"]}
    assert all(set(item) == {"id", "client_key", "created_at"} for item in listed), listed  # keys only

    mine = api.get("/v1/orders", token=client).json_body
    assert [item["id"] for item in mine["items"]] == [second["id"], first["id"]]
    # the whole order, as the client sees it: the contractor's answer less the commission and his net, its
    # seconds left counted again when read
    moving = ("commission", "net_to_contractor", "remaining_seconds")
    assert {k: v for k, v in mine["items"][1].items() if k not in moving} == {
        k: v for k, v in started.items() if k not in moving}
    theirs = api.get("/v1/orders?role=contractor&limit=1", token=contractor).json_body
    assert [item["id"] for item in theirs["items"]] == [second["id"]] and theirs["next_cursor"]
    rest = api.get(f"/v1/orders?role=contractor&limit=1&cursor={theirs['next_cursor']}", token=contractor).json_body
    assert [item["status"] for item in rest["items"]] == ["in_progress"]

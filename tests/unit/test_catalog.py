"""The public catalog (seed 002): active gigs found by category, tag, price, days and level, ranked by the
contractor's responsibility rating and then his review score and count — a rating change moves his gigs at once —
or sorted by price or novelty; categories with their counts; a gig's public page; a seller's reviews; gigs edited
by their owner while placed orders keep their frozen terms. Every bad filter is a clear 4xx."""
from __future__ import annotations

import pytest

from chalicelib.platform import config
from chalicelib.store import catalog
from chalicelib.store.models import CatalogEntryModel
from tests.support import act, assert_books_balance, transfer_event


def publish(api, token: str, title: str, amount: int = 10_000, **extra) -> dict:
    body = {"title": title, "description": f"{title}, done well", "amount": amount, "currency": "USD",
            "delivery_days": 3, **extra}
    response = api.post("/v1/gigs", body, token=token)
    assert response.status_code == 201, response.body
    return response.json_body


def browse(api, query: str = "") -> dict:
    response = api.get(f"/v1/catalog/gigs{query}")
    assert response.status_code == 200, response.body
    return response.json_body


def titles(page: dict) -> list[str]:
    return [card["title"] for card in page["items"]]


def fund(api, token: str, amount: int, event: str) -> None:
    invoice = api.invoice(token, amount, "USD")
    api.webhook(transfer_event(event, amount, "USD", invoice["payment_details"]))


def order(api, client: str, gig: dict) -> dict:
    response = api.post("/v1/orders", {"gig_id": gig["id"]}, token=client)
    assert response.status_code == 201, response.body
    return response.json_body


def complete(api, client: str, contractor: str, gig: dict) -> dict:
    placed = order(api, client, gig)
    assert act(api, contractor, placed, "start").status_code == 200
    assert act(api, contractor, placed, "deliver", {"message": "Done"}).status_code == 200
    assert act(api, client, placed, "accept").status_code == 200
    return placed


@pytest.fixture
def sellers(api):
    """Given three contractors and a client with 1,000.00 USD."""
    tokens = {name: api.signup(f"{name}@example.com", name=name.title()) for name in ("ann", "bob", "cid")}
    client = api.signup("client@example.com", name="Client")
    fund(api, client, 100_000, "evt-catalog-fund")
    return {**tokens, "client": client}


def test_the_catalog_is_public_and_shows_active_gigs_only(api, sellers):
    logo = publish(api, sellers["ann"], "Logo", category="design", tags=["logo"])
    site = publish(api, sellers["bob"], "Site", category="development")
    assert api.post(f"/v1/gigs/{site['id']}/pause", token=sellers["bob"]).status_code == 200
    page = browse(api)
    assert titles(page) == ["Logo"] and page["next_cursor"] is None
    card = page["items"][0]
    assert card["id"] == logo["id"] and card["amount"] == 10_000 and card["currency"] == "USD"
    assert card["category"] == "design" and card["tags"] == ["logo"]
    assert card["contractor"] == {"id": logo["contractor_id"], "level": "new", "responsibility_percent": 100,
                                  "reviews": {"count": 0, "sum": 0, "average": None}}
    assert api.post(f"/v1/gigs/{site['id']}/activate", token=sellers["bob"]).status_code == 200
    assert sorted(titles(browse(api))) == ["Logo", "Site"]


def test_filters_by_category_tags_price_currency_days_and_level(api, sellers, operator_token):
    publish(api, sellers["ann"], "Logo", 5_000, category="design", tags=["logo", "branding"])
    publish(api, sellers["ann"], "Banner", 20_000, category="design", tags=["banner"], delivery_days=7)
    publish(api, sellers["bob"], "Brand book", 90_000, category="design", tags=["branding"])
    eur = api.post("/v1/gigs", {"title": "Euro logo", "amount": 6_000, "currency": "EUR", "delivery_days": 2,
                                "category": "design", "tags": ["logo"]}, token=sellers["cid"])
    assert eur.status_code == 201
    publish(api, sellers["cid"], "API", 30_000, category="development", tags=["python"])

    assert sorted(titles(browse(api, "?category=design"))) == ["Banner", "Brand book", "Euro logo", "Logo"]
    assert sorted(titles(browse(api, "?tag=logo"))) == ["Euro logo", "Logo"]
    assert titles(browse(api, "?tag=logo&tag=branding")) == ["Logo"]
    assert titles(browse(api, "?category=design&tag=LOGO&currency=EUR")) == ["Euro logo"]
    assert titles(browse(api, "?currency=USD&min_price=10000&max_price=50000&sort=price")) == ["Banner", "API"]
    assert sorted(titles(browse(api, "?currency=USD&max_price=20000"))) == ["Banner", "Logo"]
    assert sorted(titles(browse(api, "?category=design&max_days=3"))) == ["Brand book", "Euro logo", "Logo"]
    assert titles(browse(api, "?level=advanced")) == []
    bob = api.get("/v1/me", token=sellers["bob"]).json_body["id"]
    assert api.post(f"/v1/operator/contractors/{bob}/level", {"level": "pro"}, token=operator_token).status_code == 200
    assert titles(browse(api, "?level=advanced")) == ["Brand book"]  # an operator's level shows at once
    assert browse(api, "?level=pro")["items"][0]["contractor"]["level"] == "pro"


def test_rank_is_responsibility_first_then_review_score_and_count_and_moves_at_once(api, sellers):
    ann = publish(api, sellers["ann"], "Ann's gig")
    bob = publish(api, sellers["bob"], "Bob's gig")
    cid = publish(api, sellers["cid"], "Cid's gig")
    assert titles(browse(api)) == ["Cid's gig", "Bob's gig", "Ann's gig"]  # all equal: the newest first

    for seller, gig, rating in (("ann", ann, 5), ("cid", cid, 3)):
        done = complete(api, sellers["client"], sellers[seller], gig)
        assert api.post(f"/v1/orders/{done['id']}/review", {"rating": rating, "text": "ok"},
                        token=sellers["client"]).status_code == 201
    assert titles(browse(api)) == ["Ann's gig", "Cid's gig", "Bob's gig"]  # 100 % each: 5.00, 3.00, no reviews

    declined = order(api, sellers["client"], bob)
    assert act(api, sellers["bob"], declined, "decline", {"reason": "too_busy"}).status_code == 200
    page = browse(api)
    assert titles(page) == ["Ann's gig", "Cid's gig", "Bob's gig"]
    assert page["items"][2]["contractor"]["responsibility_percent"] == 0

    late = order(api, sellers["client"], ann)
    assert act(api, sellers["ann"], late, "decline", {"reason": "too_busy"}).status_code == 200
    page = browse(api)  # Ann: 1 of 2 (50 %) falls below Cid (100 %), still above Bob (0 %)
    assert titles(page) == ["Cid's gig", "Ann's gig", "Bob's gig"]
    assert page["items"][1]["contractor"] == {"id": ann["contractor_id"], "level": "new",
                                              "responsibility_percent": 50,
                                              "reviews": {"count": 1, "sum": 5, "average": "5.00"}}
    assert page["items"][1]["rating"]["average"] == "5.00"
    assert_books_balance()


def test_price_sort_is_cheapest_first_and_new_is_newest_first(api, sellers):
    for title, amount in (("Mid", 5_000), ("Cheap", 1_000), ("Dear", 9_000)):
        publish(api, sellers["ann"], title, amount)
    assert titles(browse(api, "?sort=price&currency=USD")) == ["Cheap", "Mid", "Dear"]
    assert titles(browse(api, "?sort=new")) == ["Dear", "Cheap", "Mid"]


def test_pages_follow_their_cursor_to_the_end_without_repeats(api, sellers):
    for n in range(7):
        publish(api, sellers["ann" if n % 2 else "bob"], f"Gig {n}", 1_000 + n, tags=["seo"] if n % 3 else [])
    for query in ("?limit=3", "?limit=2&sort=price&currency=USD", "?limit=2&tag=seo", "?limit=1&max_days=3"):
        seen, cursor, pages = [], None, 0
        while True:
            page = browse(api, query + (f"&cursor={cursor}" if cursor else ""))
            seen += titles(page)
            pages += 1
            cursor = page["next_cursor"]
            if cursor is None:
                break
        expected = 4 if "tag=seo" in query else 7
        assert len(seen) == len(set(seen)) == expected, query
        assert pages <= expected + 1
    other = browse(api, "?limit=3")["next_cursor"]
    refused = api.get(f"/v1/catalog/gigs?limit=3&sort=new&cursor={other}")
    assert refused.status_code == 400 and refused.json_body["error"]["code"] == "invalid_cursor"


@pytest.mark.parametrize(("query", "status", "code"), [
    ("?category=knitting", 422, "unknown_category"),
    ("?currency=USD&min_price=500&max_price=100", 422, "price_range_reversed"),
    ("?tag=a&tag=b&tag=c&tag=d&tag=e&tag=f", 422, "too_many_tags"),
    ("?sort=popular", 422, "invalid_sort"),
    ("?cursor=not-a-cursor", 400, "invalid_cursor"),
    ("?min_price=100", 422, "currency_required"),
    ("?sort=price", 422, "currency_required"),
    ("?currency=XYZ", 422, "unsupported_currency"),
    ("?level=guru", 422, "unknown_level"),
    ("?max_days=soon", 422, "validation_error"),
    ("?max_days=0", 422, "validation_error"),
    ("?min_price=-1&currency=USD", 422, "validation_error"),
    ("?sort=new&sort=rank", 422, "validation_error"),
    ("?tag=%3Cscript%3E", 422, "invalid_tag"),
    ("?limit=1000", 422, "invalid_limit"),
])
def test_bad_catalog_filters_are_clear_4xx(api, query, status, code):
    response = api.get(f"/v1/catalog/gigs{query}")
    assert response.status_code == status, response.body
    assert response.json_body["error"]["code"] == code and response.json_body["error"]["message"]


def test_categories_list_their_counts_as_gigs_come_go_and_move(api, sellers):
    logo = publish(api, sellers["ann"], "Logo", category="design")
    publish(api, sellers["bob"], "Banner", category="design")
    publish(api, sellers["bob"], "No category")

    def counts() -> dict:
        response = api.get("/v1/catalog/categories")
        assert response.status_code == 200
        return {item["id"]: item["gigs"] for item in response.json_body["items"]}

    assert counts()["design"] == 2 and counts()["development"] == 0
    assert set(counts()) == set(config.settings.catalog_categories)
    assert api.request("PATCH", f"/v1/gigs/{logo['id']}", {"category": "development"},
                       token=sellers["ann"]).status_code == 200
    assert (counts()["design"], counts()["development"]) == (1, 1)
    assert api.post(f"/v1/gigs/{logo['id']}/pause", token=sellers["ann"]).status_code == 200
    assert api.post(f"/v1/gigs/{logo['id']}/pause", token=sellers["ann"]).status_code == 200
    assert (counts()["design"], counts()["development"]) == (1, 0)
    assert api.post(f"/v1/gigs/{logo['id']}/activate", token=sellers["ann"]).status_code == 200
    assert api.post(f"/v1/gigs/{logo['id']}/activate", token=sellers["ann"]).status_code == 200
    assert (counts()["design"], counts()["development"]) == (1, 1)


def test_a_gigs_public_page_shows_terms_extras_and_the_contractors_standing(api, sellers):
    gig = publish(api, sellers["ann"], "Logo", category="design", tags=["logo"],
                  extras=[{"title": "Express", "amount": 2_000, "extra_days": 0}])
    done = complete(api, sellers["client"], sellers["ann"], gig)
    api.post(f"/v1/orders/{done['id']}/review", {"rating": 4, "text": "good"}, token=sellers["client"])
    page = api.get(f"/v1/catalog/gigs/{gig['id']}")
    assert page.status_code == 200
    body = page.json_body
    assert (body["amount"], body["delivery_days"], body["extras"]) == (
        10_000, 3, [{"title": "Express", "amount": 2_000, "extra_days": 0}])
    assert body["contractor"] == {"id": gig["contractor_id"], "name": "Ann", "level": "new",
                                  "responsibility": {"percent": 100, "completed": 1, "failed": 0},
                                  "reviews": {"count": 1, "sum": 4, "average": "4.00"}}
    assert api.post(f"/v1/gigs/{gig['id']}/pause", token=sellers["ann"]).status_code == 200
    assert api.get(f"/v1/catalog/gigs/{gig['id']}").status_code == 404
    assert api.get("/v1/catalog/gigs/gig_unknown").status_code == 404
    assert_books_balance()


def test_a_sellers_reviews_across_his_gigs_come_newest_first_in_pages(api, sellers):
    first, second = publish(api, sellers["ann"], "One"), publish(api, sellers["ann"], "Two")
    for gig, rating in ((first, 5), (second, 4), (first, 3)):
        done = complete(api, sellers["client"], sellers["ann"], gig)
        api.post(f"/v1/orders/{done['id']}/review", {"rating": rating, "text": f"{rating}"}, token=sellers["client"])
    path = f"/v1/contractors/{first['contractor_id']}/reviews"
    page = api.get(f"{path}?limit=2").json_body
    assert [review["rating"] for review in page["items"]] == [3, 4] and page["next_cursor"]
    rest = api.get(f"{path}?limit=2&cursor={page['next_cursor']}").json_body
    assert [review["rating"] for review in rest["items"]] == [5]
    assert {review["gig_id"] for review in page["items"] + rest["items"]} == {first["id"], second["id"]}
    assert api.get("/v1/contractors/usr_unknown/reviews").status_code == 404
    assert api.get(f"{path}?cursor=forged").status_code == 400


def test_the_owner_edits_a_gig_and_the_catalog_shows_the_edit(api, sellers):
    gig = publish(api, sellers["ann"], "Logo", category="design", tags=["logo", "vector"])
    edited = api.request("PATCH", f"/v1/gigs/{gig['id']}", {
        "title": "Logo and icon", "description": "More", "amount": 12_000, "delivery_days": 4,
        "tags": ["icon", "Logo"], "extras": [{"title": "Source file", "amount": 1_500, "extra_days": 1}]},
        token=sellers["ann"])
    assert edited.status_code == 200, edited.body
    body = edited.json_body
    assert (body["title"], body["amount"], body["delivery_days"], body["tags"], body["category"]) == (
        "Logo and icon", 12_000, 4, ["icon", "logo"], "design")
    assert titles(browse(api, "?tag=icon")) == ["Logo and icon"]
    assert titles(browse(api, "?tag=vector")) == []
    assert browse(api, "?tag=logo")["items"][0]["amount"] == 12_000
    rows = {row.listing for row in CatalogEntryModel.query(gig["id"])}
    shard = catalog.shard_of(gig["id"])  # each listing's key for this gig
    assert rows == {f"{name}#{shard}" for name in ("all", "category#design", "tag#icon", "tag#logo")}
    cleared = api.request("PATCH", f"/v1/gigs/{gig['id']}", {"category": None}, token=sellers["ann"])
    assert cleared.status_code == 200 and cleared.json_body["category"] is None
    assert titles(browse(api, "?category=design")) == []


@pytest.mark.parametrize(("body", "code"), [
    ({"tags": ["a", "b", "c", "d", "e", "f"]}, "validation_error"),
    ({"category": "knitting"}, "unknown_category"),
    ({"amount": 0}, "validation_error"),
    ({"title": None}, "validation_error"),
    ({"tags": ["no spaces"]}, "invalid_tag"),
    ({"currency": "XYZ"}, "unsupported_currency"),
])
def test_bad_edits_are_422_and_change_nothing(api, sellers, body, code):
    gig = publish(api, sellers["ann"], "Logo", category="design")
    response = api.request("PATCH", f"/v1/gigs/{gig['id']}", body, token=sellers["ann"])
    assert response.status_code == 422, response.body
    assert response.json_body["error"]["code"] == code
    assert api.get(f"/v1/gigs/{gig['id']}", token=sellers["ann"]).json_body == gig
    assert titles(browse(api, "?category=design")) == ["Logo"]


def test_only_the_owner_edits_a_gig(api, sellers):
    gig = publish(api, sellers["ann"], "Logo")
    assert api.request("PATCH", f"/v1/gigs/{gig['id']}", {"title": "Mine"}, token=sellers["bob"]).status_code == 404
    assert api.request("PATCH", f"/v1/gigs/{gig['id']}", {"title": "Mine"}).status_code == 401
    assert api.request("PATCH", "/v1/gigs/gig_unknown", {"title": "Mine"}, token=sellers["ann"]).status_code == 404
    assert api.get(f"/v1/gigs/{gig['id']}", token=sellers["ann"]).json_body["title"] == "Logo"


def test_orders_already_placed_keep_their_frozen_terms_after_an_edit(api, sellers):
    gig = publish(api, sellers["ann"], "Logo")
    placed = order(api, sellers["client"], gig)
    edited = api.request("PATCH", f"/v1/gigs/{gig['id']}", {"title": "Logo, pricier", "amount": 30_000,
                                                            "delivery_days": 1}, token=sellers["ann"])
    assert edited.status_code == 200
    kept = api.get(f"/v1/orders/{placed['id']}", token=sellers["client"]).json_body
    assert (kept["title"], kept["amount"], kept["delivery_days"]) == ("Logo", 10_000, 3)
    assert kept == placed
    assert act(api, sellers["ann"], placed, "start").status_code == 200
    assert act(api, sellers["ann"], placed, "deliver", {"message": "Done"}).status_code == 200
    assert act(api, sellers["client"], placed, "accept").status_code == 200
    assert api.balance(sellers["ann"]) == (8_000, 0)  # the frozen price less 20 %, not the new one
    newer = order(api, sellers["client"], gig)
    assert (newer["title"], newer["amount"], newer["delivery_days"]) == ("Logo, pricier", 30_000, 1)
    assert_books_balance()


def test_a_contractor_lists_at_most_the_configured_number_of_active_gigs(api, sellers):
    limit = config.settings.catalog_max_active_gigs
    gigs = [publish(api, sellers["ann"], f"Gig {n}") for n in range(limit)]
    refused = api.post("/v1/gigs", {"title": "One more", "amount": 100, "currency": "USD", "delivery_days": 1},
                       token=sellers["ann"])
    assert refused.status_code == 409 and refused.json_body["error"]["code"] == "active_gig_limit"
    assert api.post(f"/v1/gigs/{gigs[0]['id']}/pause", token=sellers["ann"]).status_code == 200
    assert api.post("/v1/gigs", {"title": "One more", "amount": 100, "currency": "USD", "delivery_days": 1},
                    token=sellers["ann"]).status_code == 201
    refused = api.post(f"/v1/gigs/{gigs[0]['id']}/activate", token=sellers["ann"])
    assert refused.status_code == 409 and refused.json_body["error"]["code"] == "active_gig_limit"
    assert len(browse(api, "?limit=100")["items"]) == limit


def test_a_filtered_page_reads_at_most_its_budget_and_goes_on_from_where_it_stopped(api, sellers, monkeypatch):
    for n in range(6):
        publish(api, sellers["ann" if n < 3 else "bob"], f"Gig {n}", delivery_days=9 if n < 5 else 1)
    monkeypatch.setenv("CATALOG_PAGE_READ_BUDGET", "2")
    config.reload()
    seen, empty_pages, cursor = [], 0, None
    while True:
        page = browse(api, "?max_days=1" + (f"&cursor={cursor}" if cursor else ""))
        seen += titles(page)
        empty_pages += not page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["Gig 5"] and empty_pages >= 2  # short pages still carry on to the one that matches


def test_search_adapter_reads_one_query_of_each_shard_of_the_listing_merged_in_order(api, sellers, monkeypatch):
    from chalicelib.adapters import search
    from chalicelib.platform import clock

    published = [publish(api, sellers["ann"], f"Gig {n}", category="design") for n in range(5)]
    by_shard = {catalog.shard_of(gig["id"]) for gig in published}
    assert len(by_shard) > 1  # the five gigs' rows sit under more than one key
    queries: list[str] = []
    real_query = CatalogEntryModel.by_new.query
    monkeypatch.setattr(CatalogEntryModel.by_new, "query",
                        lambda key, *args, **kwargs: queries.append(key) or real_query(key, *args, **kwargs))
    page = search.get_search().find(search.CatalogQuery(listing="category#design", order="new", limit=3,
                                                        now=clock.now()))
    assert [row.title for row in page.rows] == ["Gig 4", "Gig 3", "Gig 2"]
    assert sorted(queries) == sorted(catalog.shards("category#design"))  # one Query a shard, no Scan
    assert page.read <= 3 * len(by_shard)  # at most a page from each shard
    rest = search.get_search().find(search.CatalogQuery(listing="category#design", order="new", limit=3,
                                                        now=clock.now(), start_key=page.last_key))
    assert [row.title for row in rest.rows] == ["Gig 1", "Gig 0"] and rest.last_key is None


def test_no_index_key_of_the_catalog_takes_more_than_its_share_of_the_listings_rows(api, sellers):
    """Each listing is spread over CATALOG_LISTING_SHARDS keys by a hash of the gig id: a hundred gigs' rows of
    the whole catalog fall on every key, none on more than a third of them."""
    from collections import Counter

    from chalicelib.store.models import GigModel

    keys = Counter(catalog.listings(GigModel(f"gig_{n:04d}", tags=[]))[0] for n in range(100))
    assert set(keys) == set(catalog.shards(catalog.ALL)) and max(keys.values()) < 34


def test_openapi_documents_the_catalog_as_public_with_its_filters(api):
    document = api.get("/openapi.json").json_body
    browse_op = document["paths"]["/v1/catalog/gigs"]["get"]
    assert browse_op["security"] == []
    assert {p["name"] for p in browse_op["parameters"]} == {
        "category", "tag", "min_price", "max_price", "currency", "max_days", "level", "sort", "limit", "cursor"}
    assert browse_op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/CatalogPage")
    for path in ("/v1/catalog/categories", "/v1/catalog/gigs/{gig_id}", "/v1/contractors/{user_id}/reviews"):
        assert document["paths"][path]["get"]["security"] == []
    edit = document["paths"]["/v1/gigs/{gig_id}"]["patch"]
    assert edit["security"] == [{"bearer": []}] and edit["requestBody"]["content"]["application/json"]
    assert {"CatalogCard", "CategoryList", "GigPage", "GigEditIn"} <= set(document["components"]["schemas"])


def test_an_order_auto_cancelled_by_the_timer_job_drops_its_contractors_gigs_at_once(api, sellers):
    from chalicelib.platform import clock
    from tests.support import run_jobs

    publish(api, sellers["bob"], "Bob's gig")
    ann = publish(api, sellers["ann"], "Ann's gig")
    assert titles(browse(api)) == ["Ann's gig", "Bob's gig"]  # equal standing: the newer first
    order(api, sellers["client"], ann)
    clock.advance(25 * 3600)
    run_jobs(api)  # the order is auto-cancelled: it counts against Ann
    page = browse(api)
    assert titles(page) == ["Bob's gig", "Ann's gig"] and page["items"][1]["contractor"]["responsibility_percent"] == 0
    assert_books_balance()


def test_a_change_written_over_a_standing_someone_else_moved_is_retried_not_lost(api, sellers):
    from chalicelib.platform.errors import Retryable
    from chalicelib.services import profiles
    from chalicelib.store import catalog
    from chalicelib.store.models import ProfileModel
    from chalicelib.store.uow import UnitOfWork

    gig = publish(api, sellers["ann"], "Logo")
    stale = profiles.load(gig["contractor_id"])
    publish(api, sellers["ann"], "Banner")  # moves the version the stale read saw
    uow = UnitOfWork()
    stale.orders_completed = 1
    catalog.restand(uow, stale, [ProfileModel.orders_completed.add(1)])
    with pytest.raises(Retryable):
        uow.commit()
    assert profiles.load(gig["contractor_id"]).orders_completed is None
    assert {card["contractor"]["responsibility_percent"] for card in browse(api)["items"]} == {100}


def _rows_of(contractor_id: str) -> dict[tuple[str, str], tuple]:
    """Every catalog row of the contractor's gigs: (gig, listing) -> (its standing, its rank key), raw."""
    return {(row.gig_id, row.listing): (dict(row.contractor), row.rank_key) for row in CatalogEntryModel.scan()
            if row.contractor_id == contractor_id}


def test_a_completed_order_that_changes_nothing_a_card_shows_writes_no_row_and_one_that_does_rewrites_them_all(
        api, sellers, monkeypatch):
    """Ann lists two gigs (one with a category and two tags: four listings, five rows). An order she completes at
    100 % leaves her percent and the levels she reaches as they were: its acceptance writes her profile alone, not
    five rows and their three listing indexes each. The order that takes her to the level rule's count, and the
    decline that lowers her percent, rewrite every row at once, with the counts they then show."""
    from chalicelib.services import profiles

    monkeypatch.setenv("LEVEL_RULES", '{"advanced": {"min_completed": 2, "min_responsibility": 90, '
                                      '"min_account_days": 0}}')
    config.reload()
    first = publish(api, sellers["ann"], "Logo", category="design", tags=["logo", "brand"])
    publish(api, sellers["ann"], "Banner")
    contractor_id = first["contractor_id"]
    listed = _rows_of(contractor_id)
    assert len(listed) == 5

    complete(api, sellers["client"], sellers["ann"], first)
    assert profiles.load(contractor_id).orders_completed == 1
    assert _rows_of(contractor_id) == listed  # not one row written
    assert {card["contractor"]["level"] for card in browse(api)["items"]} == {"new"}

    complete(api, sellers["client"], sellers["ann"], first)  # the rule's second order: she is advanced
    rows = _rows_of(contractor_id)
    assert rows.keys() == listed.keys()
    assert {(stand["completed"], stand["failed"]) for stand, _ in rows.values()} == {(2, 0)}
    assert titles(browse(api, "?level=advanced")) == ["Banner", "Logo"]

    declined = order(api, sellers["client"], first)
    assert act(api, sellers["ann"], declined, "decline", {"reason": "too_busy"}).status_code == 200
    rows = _rows_of(contractor_id)
    assert {(stand["completed"], stand["failed"]) for stand, _ in rows.values()} == {(2, 1)}
    assert all(rank.startswith("066#") for _, rank in rows.values())
    assert browse(api, "?level=advanced")["items"] == []  # 66 % is below the rule's 90
    assert {card["contractor"]["responsibility_percent"] for card in browse(api)["items"]} == {66}
    assert_books_balance()


def test_restanding_the_catalog_after_the_level_rules_changed_shows_every_contractors_level_by_the_new_rules(
        api, sellers, monkeypatch):
    """Rows keep the counts of the last change they show, so rules changed later may read them differently until
    the catalog is re-stood: `cli restand-catalog` rewrites each listed gig's rows from its contractor's profile."""
    from chalicelib.entrypoints import cli

    monkeypatch.setenv("LEVEL_RULES", '{"advanced": {"min_completed": 5, "min_responsibility": 90, '
                                      '"min_account_days": 0}}')
    config.reload()
    gig = publish(api, sellers["ann"], "Logo")
    publish(api, sellers["bob"], "Copy")
    complete(api, sellers["client"], sellers["ann"], gig)  # 1 of 5: nothing a card shows moves
    complete(api, sellers["client"], sellers["ann"], gig)
    assert {stand["completed"] for stand, _ in _rows_of(gig["contractor_id"]).values()} == {0}

    monkeypatch.setenv("LEVEL_RULES", '{"advanced": {"min_completed": 2, "min_responsibility": 90, '
                                      '"min_account_days": 0}}')
    config.reload()
    assert browse(api, "?level=advanced")["items"] == []  # the rows' counts predate the rule
    assert cli.main(["restand-catalog"]) == 0
    assert titles(browse(api, "?level=advanced")) == ["Logo"]
    assert {stand["completed"] for stand, _ in _rows_of(gig["contractor_id"]).values()} == {2}
    assert cli.main(["restand-catalog"]) == 0  # again: the same rows
    assert titles(browse(api, "?level=advanced")) == ["Logo"]
    assert_books_balance()

"""One thread per order, and files that are files: every step of an order is an entry of its thread, written
with the step; the order shows the times both parties count on; files are declared (`POST /v1/uploads`),
posted to the bucket's form and attached by id — once, by their uploader — and read back through short-lived
links by the parties and operators only."""
from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.platform import clock, config
from chalicelib.services import uploads
from chalicelib.store.models import DealModel, ThreadEntryModel, UploadModel
from tests.support import (
    act,
    assert_books_balance,
    declare_upload,
    place_order,
    png,
    post_upload_form,
    run_jobs,
    upload,
)


def _started(api, deal) -> dict:
    order = place_order(api, deal)
    assert act(api, deal["contractor"], order, "start").status_code == 200
    return order


def _thread(api, token, order) -> list[dict]:
    answer = api.get(f"/v1/orders/{order['id']}/thread?limit=100", token=token)
    assert answer.status_code == 200, answer.body
    return answer.json_body["items"]


def _nothing_claimed(*file_ids: str) -> None:
    assert all(UploadModel.get(i).status == "pending" for i in file_ids)


# --- the thread --------------------------------------------------------------------------------------------------

def test_every_step_of_an_order_is_an_entry_of_its_thread_in_order(api, deal, operator_token):
    order = _started(api, deal)
    extra = api.post(f"/v1/orders/{order['id']}/extras", {"title": "Sources", "amount": 2000, "extra_days": 1},
                     token=deal["contractor"]).json_body["extras"][0]
    assert api.post(f"/v1/orders/{order['id']}/extras/{extra['id']}/pay", token=deal["client"]).status_code == 200
    second = api.post(f"/v1/orders/{order['id']}/extras", {"title": "Favicon", "amount": 500, "extra_days": 0},
                      token=deal["contractor"]).json_body["extras"][1]
    assert api.post(f"/v1/orders/{order['id']}/extras/{second['id']}/reject", token=deal["client"]).status_code == 200
    assert api.post(f"/v1/orders/{order['id']}/cancellation", {"reason": "no_longer_needed"},
                    token=deal["client"]).status_code == 200
    assert act(api, deal["contractor"], order, "cancellation/refuse").status_code == 200
    first = act(api, deal["contractor"], order, "deliver", {"message": "First cut", "attachments": [
        {"file_id": upload(api, deal["contractor"], "v1.txt", b"one")}]})
    assert first.status_code == 200, first.body
    assert act(api, deal["client"], order, "request-revision", {"message": "Bigger, please"}).status_code == 200
    assert act(api, deal["contractor"], order, "deliver", {"message": "Second cut", "attachments": [
        {"file_id": upload(api, deal["contractor"], "v2.txt", b"two")}]}).status_code == 200
    clock.advance(timedelta(days=5).total_seconds())
    run_jobs(api)  # the review window ran out: the timer accepts it

    entries = _thread(api, operator_token, order)
    assert [(e["seq"], e["kind"], e["actor"]) for e in entries] == [
        (1, "placed", "client"), (2, "start", "contractor"), (3, "offer_extra", "contractor"),
        (4, "pay_extra", "client"), (5, "offer_extra", "contractor"), (6, "reject_extra", "client"),
        (7, "request_cancellation", "client"), (8, "refuse_cancellation", "contractor"),
        (9, "deliver", "contractor"), (10, "request_revision", "client"), (11, "deliver", "contractor"),
        (12, "auto_accept", "system")]
    assert entries[3]["extra"]["status"] == "paid" and entries[5]["extra"]["status"] == "rejected"
    assert entries[6]["cancellation"]["reason"] == "no_longer_needed"
    assert entries[7]["cancellation"]["status"] == "refused"
    assert (entries[8]["message"], [f["filename"] for f in entries[8]["files"]]) == ("First cut", ["v1.txt"])
    assert entries[9]["message"] == "Bigger, please"
    assert (entries[10]["message"], [f["filename"] for f in entries[10]["files"]]) == ("Second cut", ["v2.txt"])
    assert entries[-1]["status"] == "completed"
    assert DealModel.get(order["id"]).thread_count == 12
    assert api.get(f"/v1/orders/{order['id']}", token=deal["client"]).json_body["thread_count"] == 12
    assert_books_balance()


def test_a_thread_pages_oldest_first_and_only_the_parties_and_operators_read_it(api, deal, operator_token):
    order = _started(api, deal)
    act(api, deal["contractor"], order, "deliver", {"message": "Done"})
    first = api.get(f"/v1/orders/{order['id']}/thread?limit=2", token=deal["client"]).json_body
    rest = api.get(f"/v1/orders/{order['id']}/thread?limit=2&cursor={first['next_cursor']}",
                   token=deal["client"]).json_body
    assert [e["seq"] for e in first["items"] + rest["items"]] == [1, 2, 3]
    assert rest["next_cursor"] is None
    stranger = api.signup("stranger@example.com")
    assert api.get(f"/v1/orders/{order['id']}/thread", token=stranger).status_code == 404
    assert api.get("/v1/orders/ord_nope/thread", token=deal["client"]).status_code == 404
    assert api.get(f"/v1/orders/{order['id']}/thread", token=operator_token).status_code == 200


def test_a_timer_that_cancels_an_unstarted_order_is_in_its_thread(api, deal):
    order = place_order(api, deal)
    clock.advance(timedelta(hours=25).total_seconds())
    run_jobs(api)
    entries = _thread(api, deal["client"], order)
    assert [(e["kind"], e["actor"], e["status"]) for e in entries] == [
        ("placed", "client", "not_started"), ("auto_cancel", "system", "cancelled")]
    assert_books_balance()


def test_a_refused_step_writes_no_thread_entry(api, deal):
    order = place_order(api, deal)
    assert act(api, deal["contractor"], order, "deliver", {"message": "x"}).status_code == 409
    assert [e.kind for e in ThreadEntryModel.query(order["id"])] == ["placed"]
    assert DealModel.get(order["id"]).thread_count == 1


# --- the order's clock -------------------------------------------------------------------------------------------

def test_an_unstarted_order_shows_when_it_cancels_itself(api, deal):
    order = place_order(api, deal)
    assert clock.parse_iso(order["auto_cancel_at"]) == clock.parse_iso(order["created_at"]) + timedelta(hours=24)
    assert order["remaining_seconds"] is None and order["deadline_at"] is None
    started = act(api, deal["contractor"], order, "start").json_body
    assert started["auto_cancel_at"] is None


def _about_a_day(seconds: float) -> bool:
    """A day, give or take the seconds that times shown to the second drop."""
    return abs(seconds - timedelta(days=1).total_seconds()) <= 2


def test_the_deadline_clock_stops_on_review_and_is_never_shown_as_passed_while_stopped(api, deal, still_clock):
    order = _started(api, deal)
    clock.advance(timedelta(days=2).total_seconds())
    running = api.get(f"/v1/orders/{order['id']}", token=deal["client"]).json_body
    assert _about_a_day(running["remaining_seconds"])
    assert (running["deadline_paused"], running["deadline_passed"]) == (False, False)
    delivered = act(api, deal["contractor"], order, "deliver", {"message": "Done"}).json_body
    assert delivered["review_due_at"] and delivered["deadline_paused"] is True
    clock.advance(timedelta(days=2).total_seconds())  # past the old deadline, the clock stopped
    on_review = api.get(f"/v1/orders/{order['id']}", token=deal["client"]).json_body
    assert _about_a_day(on_review["remaining_seconds"]) and on_review["deadline_passed"] is False
    assert _about_a_day((clock.parse_iso(on_review["deadline_at"]) - clock.now()).total_seconds())
    revised = act(api, deal["client"], order, "request-revision", {"message": "Again"}).json_body
    assert _about_a_day(revised["remaining_seconds"]) and not revised["deadline_paused"]
    clock.advance(timedelta(days=1, seconds=1).total_seconds())
    late = api.get(f"/v1/orders/{order['id']}", token=deal["client"]).json_body
    assert (late["remaining_seconds"], late["deadline_passed"]) == (0, True)


def test_orders_are_listed_by_status_and_role(api, deal):
    waiting = place_order(api, deal)
    working = _started(api, deal)
    mine = api.get("/v1/orders?status=in_progress", token=deal["client"]).json_body["items"]
    assert [o["id"] for o in mine] == [working["id"]]
    theirs = api.get("/v1/orders?role=contractor&status=not_started", token=deal["contractor"]).json_body["items"]
    assert [o["id"] for o in theirs] == [waiting["id"]]
    assert api.get("/v1/orders?role=contractor&status=completed", token=deal["client"]).json_body["items"] == []
    for query in ("status=done", "role=judge"):
        refused = api.get(f"/v1/orders?{query}", token=deal["client"])
        assert refused.status_code == 422 and refused.json_body["error"]["code"] == "validation_error"


# --- uploads -----------------------------------------------------------------------------------------------------

def test_an_upload_is_a_presigned_form_limited_to_its_key_type_and_declared_size(api, deal):
    answer = declare_upload(api, deal["contractor"], "brief.pdf", 1234, "application/pdf")
    assert answer.status_code == 201, answer.body
    body = answer.json_body
    assert body["id"].startswith("upl_") and set(body) == {"id", "upload", "expires_at"}
    assert set(body["upload"]) == {"url", "fields"}
    assert body["upload"]["fields"]["key"] == f"uploads/files/{body['id']}"
    assert body["upload"]["fields"]["Content-Type"] == "application/pdf"
    record = UploadModel.get(body["id"])
    assert (record.status, record.filename, int(record.size)) == ("pending", "brief.pdf", 1234)


def test_on_aws_the_form_is_an_s3_presigned_post_with_a_content_length_range(api, deal, monkeypatch):
    import base64
    import json

    import boto3

    monkeypatch.setenv("FILES_BUCKET", "escrowdesk-test-files")
    config.reload()
    boto3.client("s3", region_name=config.settings.region).create_bucket(
        Bucket="escrowdesk-test-files", CreateBucketConfiguration={"LocationConstraint": config.settings.region})
    body = declare_upload(api, deal["contractor"], "shot.png", 5000, "image/png").json_body
    fields = body["upload"]["fields"]
    assert "escrowdesk-test-files" in body["upload"]["url"]
    policy = json.loads(base64.b64decode(fields["policy"]))
    assert ["content-length-range", 1, 5000] in policy["conditions"]
    assert {"Content-Type": "image/png"} in policy["conditions"]
    assert "state" in fields["tagging"] and "unclaimed" in fields["tagging"]


@pytest.mark.parametrize(("body", "code", "field"), [
    ({"filename": "big.zip", "size": 100 * 2**20 + 1, "content_type": "application/zip"}, "file_too_large", "size"),
    ({"filename": "run.exe", "size": 10, "content_type": "application/x-msdownload"}, "unsupported_content_type",
     "content_type"),
    ({"filename": "photo.pdf", "size": 10, "content_type": "image/png"}, "extension_mismatch", "filename"),
    ({"filename": "a.txt", "size": 0, "content_type": "text/plain"}, "validation_error", "size"),
    ({"filename": "../a.txt", "size": 1, "content_type": "text/plain"}, "validation_error", "filename"),
    ({"filename": "a.txt", "size": "1", "content_type": "text/plain"}, "validation_error", "size"),
])
def test_a_bad_upload_declaration_is_422_and_creates_nothing(api, deal, body, code, field):
    refused = api.post("/v1/uploads", body, token=deal["contractor"])
    assert refused.status_code == 422, refused.body
    assert refused.json_body["error"]["code"] == code and field in refused.json_body["error"].get("field", "")
    assert list(UploadModel.scan()) == []


def test_a_file_larger_than_declared_is_refused_by_the_form(api, deal):
    declared = declare_upload(api, deal["contractor"], "a.txt", 3, "text/plain").json_body
    refused = post_upload_form(api, declared, b"four")
    assert refused.status_code == 422 and refused.json_body["error"]["code"] == "file_too_large"
    order = _started(api, deal)
    unfinished = act(api, deal["contractor"], order, "deliver",
                     {"message": "x", "attachments": [{"file_id": declared["id"]}]})
    assert unfinished.status_code == 409 and unfinished.json_body["error"]["code"] == "upload_incomplete"
    assert DealModel.get(order["id"]).status == "in_progress"


def test_a_forged_form_is_refused(api, deal):
    declared = declare_upload(api, deal["contractor"], "a.txt", 3, "text/plain").json_body
    for changed in ({"key": "uploads/files/upl_other"}, {"Content-Type": "application/pdf"}, {"policy": "forged"}):
        forged = {**declared, "upload": {**declared["upload"], "fields": {**declared["upload"]["fields"], **changed}}}
        assert post_upload_form(api, forged, b"abc").status_code == 403
    clock.advance(config.settings.upload_post_seconds + 1)
    assert post_upload_form(api, declared, b"abc").status_code == 403


def test_a_file_bigger_than_declared_in_the_bucket_is_refused_when_claimed(api, deal):
    """The bucket's content-length-range refuses it; were it there anyway, the claim compares the sizes."""
    from chalicelib.adapters.files import get_files

    declared = declare_upload(api, deal["contractor"], "a.txt", 3, "text/plain").json_body
    get_files().put(declared["upload"]["fields"]["key"], b"much longer", "text/plain")
    order = _started(api, deal)
    refused = act(api, deal["contractor"], order, "deliver", {"message": "x", "attachments": [
        {"file_id": declared["id"]}]})
    assert refused.status_code == 422 and refused.json_body["error"]["code"] == "upload_too_large"
    assert DealModel.get(order["id"]).status == "in_progress"
    _nothing_claimed(declared["id"])


def test_a_file_that_arrived_as_another_type_is_refused_when_claimed(api, deal):
    from chalicelib.adapters.files import LocalFiles

    declared = declare_upload(api, deal["contractor"], "a.pdf", 20, "application/pdf").json_body
    LocalFiles().put(declared["upload"]["fields"]["key"], b"#!/bin/sh", "text/plain")
    LocalFiles()._path(declared["upload"]["fields"]["key"] + ".type").write_text("text/x-shellscript")
    order = _started(api, deal)
    refused = act(api, deal["contractor"], order, "deliver", {"message": "x", "attachments": [
        {"file_id": declared["id"]}]})
    assert refused.status_code == 422 and refused.json_body["error"]["code"] == "upload_type_mismatch"
    _nothing_claimed(declared["id"])


def test_an_upload_is_claimed_once_by_its_uploader_only(api, deal):
    order = _started(api, deal)
    theirs = upload(api, deal["client"], "brief.txt", b"client's")
    refused = act(api, deal["contractor"], order, "deliver", {"message": "x", "attachments": [{"file_id": theirs}]})
    assert refused.status_code == 403 and refused.json_body["error"]["code"] == "not_your_upload"
    assert DealModel.get(order["id"]).status == "in_progress"
    _nothing_claimed(theirs)

    mine = upload(api, deal["contractor"], "work.txt", b"mine")
    assert act(api, deal["contractor"], order, "deliver", {"message": "x", "attachments": [
        {"file_id": mine}]}).status_code == 200
    again = api.post(f"/v1/orders/{order['id']}/messages", {"text": "again", "attachments": [{"file_id": mine}]},
                     token=deal["contractor"])
    assert again.status_code == 409 and again.json_body["error"]["code"] == "upload_claimed"
    assert UploadModel.get(mine).claimed_by == order["id"]
    assert_books_balance()


def test_an_unknown_or_repeated_file_id_is_422_and_changes_nothing(api, deal):
    order = _started(api, deal)
    unknown = act(api, deal["contractor"], order, "deliver", {"message": "x", "attachments": [
        {"file_id": "upl_nope"}]})
    assert unknown.status_code == 422 and unknown.json_body["error"]["code"] == "unknown_file"
    file_id = upload(api, deal["contractor"], "a.txt", b"a")
    twice = act(api, deal["contractor"], order, "deliver", {"message": "x", "attachments": [
        {"file_id": file_id}, {"file_id": file_id}]})
    assert twice.status_code == 422 and twice.json_body["error"]["code"] == "duplicate_file"
    assert DealModel.get(order["id"]).status == "in_progress"
    _nothing_claimed(file_id)


def test_messages_attach_uploaded_files_and_keep_outside_addresses_as_links(api, deal):
    order = place_order(api, deal)
    file_id = upload(api, deal["client"], "brief.txt", b"the brief")
    sent = api.post(f"/v1/orders/{order['id']}/messages", {"text": "Brief", "attachments": [{"file_id": file_id}],
                                                           "links": ["https://example.com/moodboard"]},
                    token=deal["client"])
    assert sent.status_code == 201, sent.body
    assert [f["filename"] for f in sent.json_body["attachments"]] == ["brief.txt"]
    assert sent.json_body["links"] == ["https://example.com/moodboard"]
    seen = api.get(f"/v1/uploads/{file_id}", token=deal["contractor"])
    assert seen.status_code == 200 and seen.json_body["claimed_by"] == order["id"]
    for link in ("javascript:alert(1)", "http://example.com/x", "data:text/html,hi"):
        refused = api.post(f"/v1/orders/{order['id']}/messages", {"text": "x", "links": [link]},
                           token=deal["client"])
        assert refused.status_code == 422


def test_a_conversation_message_attaches_a_file_its_two_members_can_download(api, deal, operator_token):
    peer_id = deal["contractor_id"]
    conversation = api.post("/v1/conversations", {"user_id": peer_id}, token=deal["client"]).json_body
    file_id = upload(api, deal["client"], "sketch.png", png(), "image/png")
    sent = api.post(f"/v1/conversations/{conversation['id']}/messages",
                    {"text": "", "attachments": [{"file_id": file_id}]}, token=deal["client"])
    assert sent.status_code == 201, sent.body
    for token in (deal["client"], deal["contractor"], operator_token):
        assert api.get(f"/v1/uploads/{file_id}", token=token).status_code == 200
    assert api.get(f"/v1/uploads/{file_id}", token=api.signup("nosy@example.com")).status_code == 404


def test_an_image_gets_its_size_and_a_thumbnail(api, deal):
    order = _started(api, deal)
    file_id = upload(api, deal["contractor"], "logo.png", png(640, 480), "image/png")
    assert run_jobs(api)["sweep_local_uploads"]["processed"] == 1  # the local runner plays the bucket's event
    delivered = act(api, deal["contractor"], order, "deliver", {"message": "Logo", "attachments": [
        {"file_id": file_id}]}).json_body
    shown = delivered["deliveries"][0]["files"][0]
    assert (shown["width"], shown["height"], shown["content_type"]) == (640, 480, "image/png")
    seen = api.get(f"/v1/uploads/{file_id}", token=deal["client"]).json_body
    thumbnail = api.get(seen["thumbnail_url"], headers={"Accept": "image/png"})
    assert thumbnail.status_code == 200
    from io import BytesIO

    from PIL import Image

    assert max(Image.open(BytesIO(thumbnail.body)).size) <= 320


def test_an_image_claimed_before_its_event_is_measured_at_the_claim(api, deal):
    order = _started(api, deal)
    file_id = upload(api, deal["contractor"], "logo.png", png(64, 32), "image/png")
    delivered = act(api, deal["contractor"], order, "deliver", {"message": "Logo", "attachments": [
        {"file_id": file_id}]}).json_body
    assert (delivered["deliveries"][0]["files"][0]["width"], delivered["deliveries"][0]["files"][0]["height"]) == (
        64, 32)


def test_the_bucket_event_makes_the_thumbnail(api, deal):
    import json

    file_id = upload(api, deal["contractor"], "logo.png", png(100, 50), "image/png")
    event = json.dumps({"Records": [{"eventName": "ObjectCreated:Post",
                                     "s3": {"object": {"key": f"uploads/files/{file_id}"}}}]})
    assert uploads.on_stored(uploads.keys_of([event, '{"Event": "s3:TestEvent"}'])) == {"processed": 1}
    record = UploadModel.get(file_id)
    assert (int(record.width), int(record.height)) == (100, 50) and record.thumbnail_key


def test_unclaimed_uploads_are_removed_after_a_day_and_claimed_ones_stay(api, deal):
    from chalicelib.adapters.files import get_files

    order = _started(api, deal)
    kept = upload(api, deal["contractor"], "kept.txt", b"kept")
    act(api, deal["contractor"], order, "deliver", {"message": "x", "attachments": [{"file_id": kept}]})
    left = upload(api, deal["contractor"], "left.txt", b"left")
    assert run_jobs(api)["sweep_local_uploads"]["removed"] == 0
    clock.advance(timedelta(days=1, seconds=1).total_seconds())
    assert run_jobs(api)["sweep_local_uploads"]["removed"] == 1
    assert get_files().head(f"uploads/files/{left}") is None
    assert list(UploadModel.query(left)) == []
    assert get_files().head(f"uploads/files/{kept}") is not None


def test_only_the_uploader_sees_an_unclaimed_upload(api, deal, operator_token):
    file_id = upload(api, deal["contractor"], "draft.txt", b"draft")
    assert api.get(f"/v1/uploads/{file_id}", token=deal["contractor"]).status_code == 200
    assert api.get(f"/v1/uploads/{file_id}", token=deal["client"]).status_code == 404
    assert api.get(f"/v1/uploads/{file_id}", token=operator_token).status_code == 200
    assert api.get("/v1/uploads/upl_nope", token=deal["contractor"]).status_code == 404


def test_the_local_form_is_absent_where_a_bucket_takes_the_uploads(api, monkeypatch):
    monkeypatch.setenv("FILES_BUCKET", "escrowdesk-test-files")
    config.reload()
    assert api.post("/v1/files", raw=b"x", headers={"Content-Type": "multipart/form-data; boundary=x"}
                    ).status_code == 404


def test_the_delivery_notice_lists_the_delivered_files(api, deal):
    order = _started(api, deal)
    ids = [upload(api, deal["contractor"], name, b"x") for name in ("cover.txt", "notes.md")]
    act(api, deal["contractor"], order, "deliver", {"message": "Both", "attachments": [{"file_id": i} for i in ids]})
    feed = api.get("/v1/notifications", token=deal["client"]).json_body["items"]
    notice = next(n for n in feed if n["kind"] == "order_delivered")
    assert "Delivered files:" in notice["body"] and "cover.txt" in notice["body"] and "notes.md" in notice["body"]

"""Projects with proposals (seed 001): bids editable until one is chosen, half the price escrowed on
choosing, the deliverable downloadable only once the whole price is in escrow, approval less 10 %,
disputes, and the 2-day auto-release — with the books and the escrow balanced after each step."""
from __future__ import annotations

import io
import zipfile

import pytest

from chalicelib.platform import clock
from tests.support import assert_books_balance, declare_upload, run_jobs, transfer_event, upload

HOUR = 3600


def _zip(size: int = 100) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("site/index.html", "x" * size)
    return buffer.getvalue()


def _deliverable(api, token, contract, data: bytes | None = None, filename: str = "site.zip",
                 content_type: str = "application/zip"):
    """The contractor uploads a file (`POST /v1/uploads`) and attaches it as the contract's deliverable."""
    file_id = upload(api, token, filename, _zip() if data is None else data, content_type)
    return _act(api, token, contract, "deliverable", {"file_id": file_id})


@pytest.fixture
def market(api):
    """Given a client with 500.00 USD who posted a Python project, and two contractors with skills."""
    client = api.signup("client@example.com", name="Client")
    api.webhook(transfer_event("evt-fund", 50000, "USD", api.invoice(client, 50000, "USD")["payment_details"]))
    coder = api.signup("coder@example.com", name="Coder")
    designer = api.signup("designer@example.com", name="Designer")
    api.request("PATCH", "/v1/me/profile", {"skills": ["Python", "AWS"]}, token=coder)
    api.request("PATCH", "/v1/me/profile", {"skills": ["figma"]}, token=designer)
    project = api.post("/v1/projects", {"title": "Landing page", "description": "A Lambda-backed page",
                                        "skills": ["python"], "budget_min": 20000, "budget_max": 40000,
                                        "currency": "USD"}, token=client)
    assert project.status_code == 201, project.body
    ids = {who: api.get("/v1/me", token=token).json_body["id"] for who, token in
           (("client", client), ("coder", coder), ("designer", designer))}
    return {"client": client, "coder": coder, "designer": designer, "project": project.json_body, "ids": ids}


def _propose(api, market, who="coder", price=30001, days=5):
    return api.post(f"/v1/projects/{market['project']['id']}/proposals", {"price": price, "days": days,
                                                                          "text": "I can do it"}, token=market[who])


def _contract(api, market, price=30001) -> dict:
    _propose(api, market, price=price)
    chosen = api.post(f"/v1/projects/{market['project']['id']}/proposals/{market['ids']['coder']}/select",
                      token=market["client"])
    assert chosen.status_code == 201, chosen.body
    return chosen.json_body


def _act(api, token, contract, action, body=None):
    return api.post(f"/v1/contracts/{contract['id']}/{action}", body, token=token)


def _delivered(api, market) -> dict:
    contract = _contract(api, market)
    _act(api, market["coder"], contract, "accept")
    assert _deliverable(api, market["coder"], contract).status_code == 200
    assert _act(api, market["coder"], contract, "submit").status_code == 200
    return contract


def test_contractors_see_active_projects_matching_their_skills(api, market):
    assert [p["id"] for p in api.get("/v1/projects", token=market["coder"]).json_body["items"]] == [
        market["project"]["id"]]
    assert api.get("/v1/projects", token=market["designer"]).json_body["items"] == []
    assert len(api.get("/v1/projects?skills=figma,python", token=market["designer"]).json_body["items"]) == 1


def test_proposals_can_be_edited_or_withdrawn_until_one_is_chosen(api, market):
    assert _propose(api, market).status_code == 201
    assert _propose(api, market).json_body["error"]["code"] == "already_proposed"
    path = f"/v1/projects/{market['project']['id']}/proposals"
    edited = api.request("PATCH", f"{path}/mine", {"price": 25000}, token=market["coder"])
    assert edited.status_code == 200 and edited.json_body["price"] == 25000
    assert _propose(api, market, who="designer").status_code == 201
    assert api.post(f"{path}/mine/withdraw", token=market["designer"]).json_body["status"] == "withdrawn"
    assert api.get(path, token=market["coder"]).status_code == 403
    bids = api.get(path, token=market["client"]).json_body["items"]
    assert sorted(b["status"] for b in bids) == ["active", "withdrawn"]
    withdrawn_pick = api.post(f"{path}/{market['ids']['designer']}/select", token=market["client"])
    assert withdrawn_pick.status_code == 409
    api.post(f"{path}/{market['ids']['coder']}/select", token=market["client"])
    assert api.request("PATCH", f"{path}/mine", {"price": 1}, token=market["coder"]).status_code == 409
    assert _propose(api, market, who="designer").status_code == 409
    assert api.get("/v1/projects", token=market["coder"]).json_body["items"] == []


def test_choosing_a_proposal_escrows_half_and_declining_returns_it(api, market):
    contract = _contract(api, market)
    assert contract["status"] == "awaiting_acceptance" and contract["price"] == 30001 and contract["escrowed"] == 15001
    assert api.balance(market["client"]) == (34999, 15001)
    assert_books_balance()
    declined = _act(api, market["coder"], contract, "decline")
    assert declined.status_code == 200 and declined.json_body["status"] == "declined"
    assert api.balance(market["client"]) == (50000, 0)
    assert_books_balance()


def test_download_is_refused_until_the_remaining_half_is_escrowed(api, market):
    contract = _delivered(api, market)
    refused = api.get(f"/v1/contracts/{contract['id']}/deliverable", token=market["client"])
    assert refused.status_code == 403 and refused.json_body["error"]["code"] == "not_fully_funded"
    funded = _act(api, market["client"], contract, "fund")
    assert funded.status_code == 200 and funded.json_body["escrowed"] == 30001
    assert api.balance(market["client"]) == (19999, 30001)
    link = api.get(f"/v1/contracts/{contract['id']}/deliverable", token=market["client"])
    assert link.status_code == 200
    download = api.get(link.json_body["url"], headers={"Accept": "application/zip"})
    assert download.status_code == 200 and zipfile.is_zipfile(io.BytesIO(download.body))
    clock.advance(link.json_body["expires_in_seconds"] + 1)
    assert api.get(link.json_body["url"]).status_code == 403
    assert api.get("/v1/files/forged").status_code == 403
    assert _act(api, market["client"], contract, "fund").status_code == 409
    assert_books_balance()


def test_approval_pays_the_whole_price_less_10_percent_and_needs_full_funding(api, market):
    contract = _delivered(api, market)
    early = _act(api, market["client"], contract, "approve")
    assert early.status_code == 409 and early.json_body["error"]["code"] == "not_fully_funded"
    _act(api, market["client"], contract, "fund")
    approved = _act(api, market["client"], contract, "approve")
    assert approved.status_code == 200 and approved.json_body["status"] == "completed"
    assert api.balance(market["client"]) == (19999, 0)
    assert api.balance(market["coder"]) == (27001, 0)  # 300.01 less 30.00 commission
    assert_books_balance()


def test_unfunded_work_closes_after_the_fund_rest_days_paying_the_half_and_keeping_the_files_locked(api, market):
    contract = _delivered(api, market)
    shown = api.get(f"/v1/contracts/{contract['id']}", token=market["client"]).json_body
    assert shown["release_due_at"] is None and shown["fund_due_at"] is not None
    clock.advance(47 * HOUR)
    assert run_jobs(api)["fire_due_timers"]["fired"] == 1  # the client's reminder, a day before
    assert api.get(f"/v1/contracts/{contract['id']}", token=market["client"]).json_body["status"] == "delivered"
    clock.advance(HOUR + 1)
    assert run_jobs(api)["fire_due_timers"]["fired"] == 1
    assert run_jobs(api)["fire_due_timers"]["fired"] == 0
    shown = api.get(f"/v1/contracts/{contract['id']}", token=market["coder"]).json_body
    assert shown["status"] == "closed_unfunded" and shown["fund_due_at"] is None
    assert api.balance(market["coder"]) == (13501, 0)  # the escrowed half, 150.01, less 15.00
    assert api.balance(market["client"]) == (34999, 0)
    locked = api.get(f"/v1/contracts/{contract['id']}/deliverable", token=market["client"])
    assert locked.status_code == 403 and locked.json_body["error"]["code"] == "not_fully_funded"
    late_fund = _act(api, market["client"], contract, "fund")
    assert late_fund.status_code == 409 and late_fund.json_body["error"]["code"] == "contract_closed_unfunded"
    for role in ("client", "coder"):
        kinds = [n["kind"] for n in api.get("/v1/notifications", token=market[role]).json_body["items"]]
        assert "contract_closed_unfunded" in kinds
    assert_books_balance()


def test_auto_release_counts_two_days_from_the_work_done_and_the_whole_price_in_escrow(api, market):
    contract = _delivered(api, market)
    clock.advance(40 * HOUR)
    funded = _act(api, market["client"], contract, "fund").json_body
    assert funded["fund_due_at"] is None and funded["release_due_at"] is not None
    clock.advance(47 * HOUR)
    assert run_jobs(api)["fire_due_timers"]["fired"] == 0  # 87 h after done, but only 47 h after funding
    clock.advance(HOUR + 1)
    assert run_jobs(api)["fire_due_timers"]["fired"] == 1
    shown = api.get(f"/v1/contracts/{contract['id']}", token=market["coder"]).json_body
    assert shown["status"] == "completed"
    assert api.balance(market["coder"]) == (27001, 0)  # 300.01 less 30.00
    assert_books_balance()


def test_work_done_with_the_whole_price_in_escrow_is_released_two_days_later(api, market):
    contract = _contract(api, market)
    _act(api, market["coder"], contract, "accept")
    _act(api, market["client"], contract, "fund")
    _deliverable(api, market["coder"], contract)
    submitted = _act(api, market["coder"], contract, "submit").json_body
    assert submitted["release_due_at"] is not None and submitted["fund_due_at"] is None
    clock.advance(48 * HOUR + 1)
    assert run_jobs(api)["fire_due_timers"]["fired"] == 1
    assert api.get(f"/v1/contracts/{contract['id']}", token=market["coder"]).json_body["status"] == "completed"
    assert api.balance(market["coder"]) == (27001, 0)
    assert_books_balance()


def test_an_unanswered_contract_lapses_and_returns_the_half_once(api, market):
    contract = _contract(api, market)
    clock.advance(72 * HOUR - 60)
    assert run_jobs(api)["fire_due_timers"]["fired"] == 0
    clock.advance(61)
    late = _act(api, market["coder"], contract, "accept")  # no job ran: the timer fires first, then refuses
    assert late.status_code == 409 and late.json_body["error"]["code"] == "contract_lapsed"
    assert run_jobs(api)["fire_due_timers"]["fired"] == 0
    shown = api.get(f"/v1/contracts/{contract['id']}", token=market["client"]).json_body
    assert shown["status"] == "lapsed"
    assert api.balance(market["client"]) == (50000, 0)
    assert "contract_lapsed" in [n["kind"] for n in api.get("/v1/notifications", token=market["coder"]).json_body[
        "items"]]
    assert_books_balance()


def test_past_the_deadline_the_client_cancels_in_one_click_with_a_full_refund(api, market):
    contract = _contract(api, market)
    accepted = _act(api, market["coder"], contract, "accept").json_body
    _act(api, market["client"], contract, "fund")
    early = _act(api, market["client"], contract, "cancel")
    assert early.status_code == 409 and early.json_body["error"]["code"] == "not_late"
    assert _act(api, market["coder"], contract, "cancel").status_code == 403
    clock.advance(5 * 24 * HOUR + 1)
    assert clock.now() > clock.parse_iso(accepted["deadline_at"])
    cancelled = _act(api, market["client"], contract, "cancel")
    assert cancelled.status_code == 200 and cancelled.json_body["status"] == "cancelled"
    assert api.balance(market["client"]) == (50000, 0)
    assert api.balance(market["coder"]) == (0, 0)
    assert_books_balance()


@pytest.mark.parametrize("who", ["client", "coder"])
def test_either_party_may_ask_an_operator_to_decide_before_completion(api, market, operator_token, who):
    contract = _contract(api, market)
    _act(api, market["coder"], contract, "accept")
    disputed = _act(api, market[who], contract, "dispute", {"message": "We disagree on the scope"})
    assert disputed.status_code == 200 and disputed.json_body["status"] == "disputed"
    assert disputed.json_body["dispute"]["by"] == ("client" if who == "client" else "contractor")
    queue = api.get("/v1/operator/disputes", token=operator_token).json_body["items"]
    assert [d["id"] for d in queue] == [contract["id"]]
    resolved = api.post(f"/v1/operator/contracts/{contract['id']}/resolve",
                        {"refund": 10001, "release": 5000, "note": "Half the work was done"}, token=operator_token)
    assert resolved.status_code == 200 and resolved.json_body["status"] == "resolved"
    assert api.balance(market["client"]) == (34999 + 10001, 0)
    assert api.balance(market["coder"]) == (4500, 0)
    assert_books_balance()


def test_submit_needs_a_zip_within_the_limit(api, market, monkeypatch):
    from chalicelib.platform import config

    contract = _contract(api, market)
    _act(api, market["coder"], contract, "accept")
    assert _act(api, market["coder"], contract, "submit").json_body["error"]["code"] == "no_deliverable"
    assert _deliverable(api, market["coder"], contract, b"just text").json_body["error"]["code"] == "not_a_zip"
    text = _deliverable(api, market["coder"], contract, b"just text", "notes.txt", "text/plain")
    assert text.status_code == 422 and text.json_body["error"]["code"] == "not_a_zip"
    monkeypatch.setenv("DELIVERABLE_MAX_BYTES", "50")
    config.reload()
    too_big = _deliverable(api, market["coder"], contract, _zip(500))
    assert too_big.status_code == 422 and too_big.json_body["error"]["code"] == "file_too_large"
    assert _deliverable(api, market["client"], contract).status_code == 403
    assert _act(api, market["coder"], contract, "submit").json_body["error"]["code"] == "no_deliverable"


def _nothing_claimed(file_id: str) -> None:
    from chalicelib.store.models import UploadModel

    record = UploadModel.get(file_id)
    assert record.status == "pending" and record.claimed_by is None


def test_the_deliverable_is_an_upload_claimed_once_by_the_contractor_and_checked_again_when_attached(api, market):
    from chalicelib.adapters.files import get_files

    contract = _contract(api, market)
    _act(api, market["coder"], contract, "accept")
    theirs = upload(api, market["designer"], "site.zip", _zip(), "application/zip")
    refused = _act(api, market["coder"], contract, "deliverable", {"file_id": theirs})
    assert refused.status_code == 403 and refused.json_body["error"]["code"] == "not_your_upload"
    _nothing_claimed(theirs)
    unknown = _act(api, market["coder"], contract, "deliverable", {"file_id": "upl_nothing"})
    assert unknown.status_code == 422 and unknown.json_body["error"] == {
        "code": "unknown_file", "message": unknown.json_body["error"]["message"], "field": "file_id"}
    declared = declare_upload(api, market["coder"], "site.zip", 10, "application/zip").json_body
    get_files().put(declared["upload"]["fields"]["key"], _zip(), "application/zip")  # more than the 10 declared
    bigger = _act(api, market["coder"], contract, "deliverable", {"file_id": declared["id"]})
    assert bigger.status_code == 422 and bigger.json_body["error"]["code"] == "upload_too_large"
    _nothing_claimed(declared["id"])
    assert api.get(f"/v1/contracts/{contract['id']}", token=market["coder"]).json_body["deliverable"] is None

    mine = upload(api, market["coder"], "site.zip", _zip(), "application/zip")
    attached = _act(api, market["coder"], contract, "deliverable", {"file_id": mine})
    assert attached.status_code == 200, attached.body
    assert attached.json_body["deliverable"]["file_id"] == mine
    assert attached.json_body["deliverable"]["filename"] == "site.zip"
    again = _act(api, market["coder"], contract, "deliverable", {"file_id": mine})
    assert again.status_code == 409 and again.json_body["error"]["code"] == "upload_claimed"
    assert_books_balance()


def test_an_executable_with_a_zip_appended_named_report_pdf_exe_is_refused_as_a_deliverable(api, market):
    """A zip reader finds an archive at the end of any file; the client would be handed an MZ executable."""
    contract = _contract(api, market)
    _act(api, market["coder"], contract, "accept")
    executable = b"MZ\x90\x00" + b"\x00" * 60 + b"This program cannot be run in DOS mode" + bytes(200)
    assert zipfile.is_zipfile(io.BytesIO(executable + _zip()))  # what the old check asked
    named = declare_upload(api, market["coder"], "report.pdf.exe", len(executable), "application/zip")
    assert named.status_code == 422 and named.json_body["error"]["code"] == "extension_mismatch"
    answer = _deliverable(api, market["coder"], contract, executable + _zip(), "report.zip")
    assert answer.status_code == 422 and answer.json_body["error"]["code"] == "not_a_zip", answer.body
    assert _act(api, market["coder"], contract, "submit").json_body["error"]["code"] == "no_deliverable"


def test_a_zip_with_bytes_before_its_first_entry_is_refused_even_when_they_start_like_a_zip(api, market):
    contract = _contract(api, market)
    _act(api, market["coder"], contract, "accept")
    for prefix in (b"PK\x03\x04 smuggled bytes ", b"PK\x03\x04" + b"\x00" * 26):
        answer = _deliverable(api, market["coder"], contract, prefix + _zip())
        assert answer.status_code == 422 and answer.json_body["error"]["code"] == "not_a_zip", answer.body
    plain = _deliverable(api, market["coder"], contract, filename="Site.ZIP")
    assert plain.status_code == 200, plain.body


def test_dispute_on_delivered_work_is_split_by_an_operator(api, market, operator_token):
    contract = _delivered(api, market)
    opened = _act(api, market["client"], contract, "dispute", {"message": "The form does not work"})
    assert opened.status_code == 200 and opened.json_body["status"] == "disputed"
    queue = api.get("/v1/operator/disputes", token=operator_token).json_body["items"]
    assert [(d["id"], d["process"]) for d in queue] == [(contract["id"], "project")]
    clock.advance(5 * 24 * HOUR)
    assert run_jobs(api)["fire_due_timers"]["fired"] == 0
    bad = api.post(f"/v1/operator/contracts/{contract['id']}/resolve", {"refund": 1, "release": 1, "note": "n"},
                   token=operator_token)
    assert bad.status_code == 422
    resolved = api.post(f"/v1/operator/contracts/{contract['id']}/resolve",
                        {"refund": 5001, "release": 10000, "note": "Half the form works"}, token=operator_token)
    assert resolved.status_code == 200 and resolved.json_body["status"] == "resolved"
    assert api.balance(market["client"]) == (40000, 0)
    assert api.balance(market["coder"]) == (9000, 0)
    assert_books_balance()


def test_strangers_and_wrong_parties_are_refused(api, market):
    contract = _contract(api, market)
    assert api.get(f"/v1/contracts/{contract['id']}", token=market["designer"]).status_code == 404
    assert _act(api, market["client"], contract, "accept").status_code == 403
    assert api.post(f"/v1/projects/{market['project']['id']}/proposals", {"price": 1, "days": 1, "text": "x"},
                    token=market["client"]).status_code == 422
    assert api.get("/v1/contracts?role=contractor", token=market["coder"]).json_body["items"][0]["id"] == contract[
        "id"]


@pytest.mark.parametrize("changes", [{"budget_min": 0}, {"budget_max": 100}, {"skills": []}, {"currency": "XYZ"},
                                     {"title": ""}])
def test_invalid_projects_are_422(api, market, changes):
    body = {"title": "T", "description": "D", "skills": ["python"], "budget_min": 20000, "budget_max": 40000,
            "currency": "USD", **changes}
    assert api.post("/v1/projects", body, token=market["client"]).status_code == 422


def test_client_and_bidder_talk_in_their_conversation(api, market):
    _propose(api, market)
    talk = api.post("/v1/conversations", {"user_id": market["ids"]["client"]}, token=market["coder"]).json_body
    api.post(f"/v1/conversations/{talk['id']}/messages", {"text": "Can I see the current page?"},
             token=market["coder"])
    reply = api.post(f"/v1/conversations/{talk['id']}/messages", {"text": "Attached", "links": [
        "https://example.com/page.png"]}, token=market["client"])
    assert reply.status_code == 201
    texts = [m["text"] for m in api.get(f"/v1/conversations/{talk['id']}/messages",
                                        token=market["coder"]).json_body["items"]]
    assert texts == ["Attached", "Can I see the current page?"]


def test_on_aws_deliverables_go_to_s3_behind_presigned_links(api, market, monkeypatch):
    import boto3

    from chalicelib.adapters.files import get_files
    from chalicelib.platform import config

    monkeypatch.setenv("FILES_BUCKET", "escrowdesk-files")
    config.reload()
    boto3.client("s3", region_name=config.settings.region).create_bucket(
        Bucket="escrowdesk-files", CreateBucketConfiguration={"LocationConstraint": config.settings.region})
    contract = _contract(api, market)
    _act(api, market["coder"], contract, "accept")
    declared = declare_upload(api, market["coder"], "site.zip", len(_zip()), "application/zip").json_body
    assert declared["upload"]["url"].startswith("https://escrowdesk-files.s3")
    get_files().put(declared["upload"]["fields"]["key"], _zip(), "application/zip")  # what the browser posts to S3
    assert _act(api, market["coder"], contract, "deliverable", {"file_id": declared["id"]}).status_code == 200
    assert _act(api, market["coder"], contract, "submit").status_code == 200
    _act(api, market["client"], contract, "fund")
    link = api.get(f"/v1/contracts/{contract['id']}/deliverable", token=market["client"]).json_body
    assert link["url"].startswith("https://escrowdesk-files.s3") and "Signature=" in link["url"]
    key = api.get(f"/v1/contracts/{contract['id']}", token=market["client"]).json_body["deliverable"]["key"]
    stored = boto3.client("s3", region_name=config.settings.region).get_object(Bucket="escrowdesk-files", Key=key)
    assert zipfile.is_zipfile(io.BytesIO(stored["Body"].read()))
    assert api.get("/v1/files/anything").status_code == 404  # no local file route when a bucket is set


# --- fair endings: a project is never stuck, and bidders hear the outcome -------------------------------------------

def _kinds(api, token) -> list[str]:
    return [n["kind"] for n in api.get("/v1/notifications", token=token).json_body["items"]]


def _bids(api, market) -> dict[str, str]:
    items = api.get(f"/v1/projects/{market['project']['id']}/proposals", token=market["client"]).json_body["items"]
    by_id = {market["ids"][who]: who for who in ("coder", "designer")}
    return {by_id[b["contractor_id"]]: b["status"] for b in items}


@pytest.mark.parametrize("ending", ["decline", "lapse"])
def test_a_contract_that_never_starts_reopens_the_project_with_the_other_bids_still_active(api, market, ending):
    _propose(api, market, who="designer", price=25000)
    contract = _contract(api, market)
    if ending == "decline":
        assert _act(api, market["coder"], contract, "decline").status_code == 200
    else:
        clock.advance(72 * HOUR + 1)
        assert run_jobs(api)["fire_due_timers"]["fired"] == 1
    project = api.get(f"/v1/projects/{market['project']['id']}", token=market["client"]).json_body
    assert project["status"] == "open" and project["contract_id"] is None
    assert _bids(api, market) == {"coder": f"{ending}d", "designer": "active"}
    listed = api.get("/v1/projects?skills=python", token=market["designer"]).json_body["items"]
    assert [p["id"] for p in listed] == [project["id"]]
    path = f"/v1/projects/{project['id']}/proposals"
    again = api.post(f"{path}/{market['ids']['coder']}/select", token=market["client"])
    assert again.status_code == 409 and again.json_body["error"]["code"] == "proposal_closed"
    chosen = api.post(f"{path}/{market['ids']['designer']}/select", token=market["client"])
    assert chosen.status_code == 201 and chosen.json_body["escrowed"] == 12500
    assert api.balance(market["client"]) == (37500, 12500)
    assert_books_balance()


def test_when_a_contract_is_accepted_the_other_bidders_are_told_they_were_not_selected(api, market):
    _propose(api, market, who="designer")
    contract = _contract(api, market)
    assert _bids(api, market) == {"coder": "selected", "designer": "active"}
    assert _act(api, market["coder"], contract, "accept").status_code == 200
    assert _bids(api, market) == {"coder": "selected", "designer": "not_selected"}
    assert "proposal_not_selected" in _kinds(api, market["designer"])
    assert "proposal_not_selected" not in _kinds(api, market["coder"])


def test_the_client_may_close_an_open_project_and_every_bidder_is_told(api, market):
    _propose(api, market)
    _propose(api, market, who="designer")
    project_id = market["project"]["id"]
    assert api.post(f"/v1/projects/{project_id}/close", token=market["coder"]).status_code == 403
    closed = api.post(f"/v1/projects/{project_id}/close", token=market["client"])
    assert closed.status_code == 200 and closed.json_body["status"] == "closed"
    assert _bids(api, market) == {"coder": "not_selected", "designer": "not_selected"}
    assert all("project_closed" in _kinds(api, market[who]) for who in ("coder", "designer"))
    assert api.get("/v1/projects", token=market["coder"]).json_body["items"] == []
    assert api.post(f"/v1/projects/{project_id}/close", token=market["client"]).status_code == 409
    late = api.post(f"/v1/projects/{project_id}/proposals/{market['ids']['coder']}/select", token=market["client"])
    assert late.status_code == 409
    assert api.balance(market["client"]) == (50000, 0)


def test_the_client_may_edit_a_project_without_a_contract_and_bidders_are_told(api, market):
    _propose(api, market)
    project_id = market["project"]["id"]
    edited = api.request("PATCH", f"/v1/projects/{project_id}", {"description": "Now with a contact form",
                                                                 "budget_max": 45000}, token=market["client"])
    assert edited.status_code == 200, edited.body
    assert edited.json_body["description"] == "Now with a contact form" and edited.json_body["budget_max"] == 45000
    assert "project_changed" in _kinds(api, market["coder"])
    for bad in ({"budget_max": 100}, {"title": ""}, {"skills": []}, {"budget_min": 0}):
        refused = api.request("PATCH", f"/v1/projects/{project_id}", bad, token=market["client"])
        assert refused.status_code == 422, bad
    assert api.request("PATCH", f"/v1/projects/{project_id}", {"title": "Mine"}, token=market["coder"]
                       ).status_code == 403
    _contract(api, market)
    contracted = api.request("PATCH", f"/v1/projects/{project_id}", {"title": "Changed"}, token=market["client"])
    assert contracted.status_code == 409 and contracted.json_body["error"]["code"] == "project_closed"
    assert api.get(f"/v1/projects/{project_id}", token=market["client"]).json_body["description"] == (
        "Now with a contact form")


# --- rework before release, and the unfunded rest seen fairly -------------------------------------------------------

def _funded_delivery(api, market) -> dict:
    contract = _delivered(api, market)
    assert _act(api, market["client"], contract, "fund").status_code == 200
    return contract


def _resubmit(api, market, contract, size=200):
    assert _deliverable(api, market["coder"], contract, _zip(size), "site-v2.zip").status_code == 200
    return _act(api, market["coder"], contract, "submit")


def test_the_client_sends_the_work_back_for_changes_and_the_release_clock_stops_until_the_next_submission(api, market):
    contract = _funded_delivery(api, market)
    assert _act(api, market["client"], contract, "changes", {"message": ""}).status_code == 422
    assert _act(api, market["coder"], contract, "changes", {"message": "Mine"}).status_code == 403
    back = _act(api, market["client"], contract, "changes", {"message": "The form does not send"})
    assert back.status_code == 200, back.body
    assert back.json_body["status"] == "in_progress" and back.json_body["release_due_at"] is None
    assert back.json_body["rework"] == {"used": 1, "limit": 3}
    assert "contract_changes_requested" in _kinds(api, market["coder"])
    clock.advance(10 * 24 * HOUR)
    assert run_jobs(api)["fire_due_timers"]["fired"] == 0  # nothing released while the work is being changed
    same = _act(api, market["coder"], contract, "submit")
    assert same.status_code == 409 and same.json_body["error"]["code"] == "no_new_deliverable"
    again = _resubmit(api, market, contract)
    assert again.status_code == 200 and again.json_body["release_due_at"] is not None
    assert [v["version"] for v in again.json_body["versions"]] == [1, 2]
    assert again.json_body["versions"][0]["key"] != again.json_body["versions"][1]["key"]
    first = api.get(f"/v1/contracts/{contract['id']}/deliverable?version=1", token=market["client"])
    assert first.status_code == 200 and first.json_body["filename"] == "site.zip"
    for bad in ("0", "3", "x"):
        assert api.get(f"/v1/contracts/{contract['id']}/deliverable?version={bad}",
                       token=market["client"]).status_code == 422
    clock.advance(48 * HOUR + 1)
    assert run_jobs(api)["fire_due_timers"]["fired"] == 1
    assert api.balance(market["coder"]) == (27001, 0)
    assert_books_balance()


def test_rounds_of_changes_are_bounded_and_a_dispute_stays_available(api, market):
    contract = _funded_delivery(api, market)
    for round_ in range(3):
        assert _act(api, market["client"], contract, "changes", {"message": f"Round {round_}"}).status_code == 200
        assert _resubmit(api, market, contract, size=300 + round_).status_code == 200
    fourth = _act(api, market["client"], contract, "changes", {"message": "Once more"})
    assert fourth.status_code == 409 and fourth.json_body["error"]["code"] == "limit_reached"
    disputed = _act(api, market["client"], contract, "dispute", {"message": "Still broken"})
    assert disputed.status_code == 200 and disputed.json_body["status"] == "disputed"
    assert len(disputed.json_body["versions"]) == 4
    assert_books_balance()


def test_a_rework_round_never_lets_the_client_cancel_as_late_at_once(api, market):
    contract = _contract(api, market)
    _act(api, market["coder"], contract, "accept")
    _deliverable(api, market["coder"], contract)
    clock.advance(5 * 24 * HOUR + 1)  # past the proposal's days
    _act(api, market["coder"], contract, "submit")
    _act(api, market["client"], contract, "changes", {"message": "Fix the header"})
    early = _act(api, market["client"], contract, "cancel")
    assert early.status_code == 409 and early.json_body["error"]["code"] == "not_late"
    clock.advance(3 * 24 * HOUR + 1)
    assert _act(api, market["client"], contract, "cancel").json_body["status"] == "cancelled"
    assert api.balance(market["client"]) == (50000, 0)
    assert_books_balance()


def _notices(api, token, kind) -> list[dict]:
    return [n for n in api.get("/v1/notifications", token=token).json_body["items"] if n["kind"] == kind]


def test_the_client_is_warned_of_the_exact_rest_at_submission_and_a_day_before(api, market):
    contract = _delivered(api, market)
    fund_due_at = api.get(f"/v1/contracts/{contract['id']}", token=market["client"]).json_body["fund_due_at"]
    submitted = _notices(api, market["client"], "work_submitted")[0]
    assert submitted["params"]["rest"] == {"amount": 15000, "currency": "USD"}
    assert submitted["params"]["fund_due_at"] == fund_due_at
    clock.advance(24 * HOUR - 60)
    assert run_jobs(api)["fire_due_timers"]["fired"] == 0
    clock.advance(61)
    assert run_jobs(api)["fire_due_timers"]["fired"] == 1
    assert run_jobs(api)["fire_due_timers"]["fired"] == 0  # once per deadline
    reminder = _notices(api, market["client"], "contract_fund_reminder")
    assert len(reminder) == 1 and reminder[0]["params"]["rest"]["amount"] == 15000
    assert reminder[0]["params"]["fund_due_at"] == fund_due_at
    assert _notices(api, market["coder"], "contract_fund_reminder")
    assert api.get(f"/v1/contracts/{contract['id']}", token=market["client"]).json_body["status"] == "delivered"
    assert api.balance(market["coder"]) == (0, 0)


def test_the_contractor_may_extend_the_funding_deadline_once_and_both_hear_the_outcome(api, market):
    contract = _delivered(api, market)
    assert _act(api, market["client"], contract, "extend-funding").status_code == 403
    before = api.get(f"/v1/contracts/{contract['id']}", token=market["coder"]).json_body["fund_due_at"]
    extended = _act(api, market["coder"], contract, "extend-funding")
    assert extended.status_code == 200 and extended.json_body["funding_extended"] is True
    assert clock.parse_iso(extended.json_body["fund_due_at"]) - clock.parse_iso(before) == \
        clock.parse_iso("2026-01-03T00:00:00Z") - clock.parse_iso("2026-01-01T00:00:00Z")
    twice = _act(api, market["coder"], contract, "extend-funding")
    assert twice.status_code == 409 and twice.json_body["error"]["code"] == "limit_reached"
    assert all(_notices(api, market[who], "contract_fund_extended") for who in ("client", "coder"))
    clock.advance(48 * HOUR + 1)  # the old deadline passes: nothing closes
    run_jobs(api)
    assert api.get(f"/v1/contracts/{contract['id']}", token=market["coder"]).json_body["status"] == "delivered"
    clock.advance(48 * HOUR)
    run_jobs(api)
    assert api.get(f"/v1/contracts/{contract['id']}", token=market["coder"]).json_body["status"] == "closed_unfunded"
    assert all(_notices(api, market[who], "contract_closed_unfunded") for who in ("client", "coder"))
    assert api.balance(market["coder"]) == (13501, 0)
    assert_books_balance()


def test_a_funded_contract_has_no_deadline_to_extend(api, market):
    contract = _funded_delivery(api, market)
    refused = _act(api, market["coder"], contract, "extend-funding")
    assert refused.status_code == 409 and refused.json_body["error"]["code"] == "already_funded"


# --- reviews both ways ----------------------------------------------------------------------------------------------

def test_a_completed_contract_is_reviewed_both_ways_once_each_and_shown_in_each_profile(api, market):
    contract = _funded_delivery(api, market)
    early = _act(api, market["client"], contract, "review", {"rating": 5, "text": "Great"})
    assert early.status_code == 409 and early.json_body["error"]["code"] == "not_completed"
    assert _act(api, market["client"], contract, "approve").status_code == 200

    by_client = _act(api, market["client"], contract, "review", {"rating": 5, "text": "Fast and clean"})
    assert by_client.status_code == 201, by_client.body
    assert by_client.json_body["author_role"] == "client"
    assert by_client.json_body["reviewed_id"] == market["ids"]["coder"]
    by_contractor = _act(api, market["coder"], contract, "review", {"rating": 4, "text": "Clear brief, paid on time"})
    assert by_contractor.status_code == 201 and by_contractor.json_body["reviewed_id"] == market["ids"]["client"]
    for token in (market["client"], market["coder"]):
        again = _act(api, token, contract, "review", {"rating": 1})
        assert again.status_code == 409 and again.json_body["error"]["code"] == "already_reviewed"
    stranger = _act(api, market["designer"], contract, "review", {"rating": 1})
    assert stranger.status_code == 404

    coder, client = market["ids"]["coder"], market["ids"]["client"]
    profile = api.get(f"/v1/contractors/{coder}", token=market["designer"]).json_body
    assert profile["project_rating"] == {"count": 1, "sum": 5, "average": "5.00"}
    about_coder = api.get(f"/v1/users/{coder}/reviews?role=contractor", token=market["designer"]).json_body["items"]
    assert [(r["rating"], r["text"]) for r in about_coder] == [(5, "Fast and clean")]
    client_profile = api.get(f"/v1/clients/{client}", token=market["designer"]).json_body
    assert client_profile["project_rating"] == {"count": 1, "sum": 4, "average": "4.00"}
    about_client = api.get(f"/v1/users/{client}/reviews", token=market["designer"]).json_body["items"]
    assert [(r["author_id"], r["text"]) for r in about_client] == [(coder, "Clear brief, paid on time")]
    assert api.get(f"/v1/users/{coder}/reviews", token=market["designer"]).json_body["items"] == []
    assert_books_balance()

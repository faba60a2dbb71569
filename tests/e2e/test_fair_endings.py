"""Deals that end fairly, over HTTP on the local stage as a client would call them: a project whose
contract is declined takes proposals again, delivered work goes back for changes before release, and a
company's invitee is in its team at once, his drafts waiting for him to join."""
from __future__ import annotations

import io
import uuid
import zipfile

import requests

from tests.e2e.browser_support import bank_transfer
from tests.support import upload_over_http


def _user(api: str, who: str, skills: list[str] | None = None) -> dict:
    response = requests.post(f"{api}/v1/auth/signup", json={
        "email": f"{who}-{uuid.uuid4().hex[:8]}@example.com", "password": "correct horse", "name": who.title(),
        "locale": "en"}, timeout=30)
    assert response.status_code == 201, response.text
    auth = {"Authorization": f"Bearer {response.json()['token']}"}
    if skills:
        requests.patch(f"{api}/v1/me/profile", json={"skills": skills}, headers=auth, timeout=30)
    return {"headers": auth, "id": requests.get(f"{api}/v1/me", headers=auth, timeout=30).json()["id"]}


def _fund(api: str, user: dict, amount: int) -> None:
    invoice = requests.post(f"{api}/v1/invoices", json={"amount": amount, "currency": "USD"},
                            headers=user["headers"], timeout=30).json()
    bank_transfer(api, amount, "USD", invoice["payment_details"])


def _zip(api: str, user: dict, filename: str, text: str) -> dict:
    """The deliverable's body: a zip the contractor uploaded."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.html", text)
    return {"file_id": upload_over_http(api, user["headers"], filename, buffer.getvalue(), "application/zip")}


def _post(api: str, path: str, user: dict, body: dict | None = None) -> requests.Response:
    return requests.post(f"{api}{path}", json=body, headers=user["headers"], timeout=30)


def _project_with_bids(api: str) -> tuple[dict, dict, dict, dict]:
    client, coder, designer = _user(api, "client"), _user(api, "coder", ["python"]), _user(api, "designer", ["python"])
    _fund(api, client, 100000)
    project = _post(api, "/v1/projects", client, {"title": f"Landing {uuid.uuid4().hex[:6]}", "description": "A page",
                                                  "skills": ["python"], "budget_min": 10000, "budget_max": 60000,
                                                  "currency": "USD"}).json()
    for bidder, price in ((coder, 40000), (designer, 30000)):
        bid = _post(api, f"/v1/projects/{project['id']}/proposals", bidder, {"price": price, "days": 5, "text": "Me"})
        assert bid.status_code == 201, bid.text
    return client, coder, designer, project


def test_a_declined_contract_reopens_the_project_and_the_client_chooses_another_bid(local_stack) -> None:
    api = local_stack.url
    client, coder, designer, project = _project_with_bids(api)
    contract = _post(api, f"/v1/projects/{project['id']}/proposals/{coder['id']}/select", client).json()
    assert _post(api, f"/v1/contracts/{contract['id']}/decline", coder).json()["status"] == "declined"
    reopened = requests.get(f"{api}/v1/projects/{project['id']}", headers=client["headers"], timeout=30).json()
    assert reopened["status"] == "open"
    chosen = _post(api, f"/v1/projects/{project['id']}/proposals/{designer['id']}/select", client)
    assert chosen.status_code == 201, chosen.text
    assert _post(api, f"/v1/contracts/{chosen.json()['id']}/accept", designer).status_code == 200
    balances = requests.get(f"{api}/v1/balances", headers=client["headers"], timeout=30).json()["items"]
    assert {"currency": "USD", "available": 85000, "held": 15000} in balances


def test_delivered_work_goes_back_for_changes_and_is_released_after_the_next_submission(local_stack) -> None:
    api = local_stack.url
    client, coder, _, project = _project_with_bids(api)
    contract = _post(api, f"/v1/projects/{project['id']}/proposals/{coder['id']}/select", client).json()
    path = f"/v1/contracts/{contract['id']}"
    _post(api, f"{path}/accept", coder)
    _post(api, f"{path}/fund", client)
    _post(api, f"{path}/deliverable", coder, _zip(api, coder, "v1.zip", "one"))
    assert _post(api, f"{path}/submit", coder).status_code == 200
    back = _post(api, f"{path}/changes", client, {"message": "The header is wrong"})
    assert back.status_code == 200 and back.json()["status"] == "in_progress", back.text
    assert back.json()["release_due_at"] is None
    requests.post(f"{api}/dev/clock", json={"advance_seconds": 5 * 86400}, timeout=30)
    requests.post(f"{api}/dev/jobs/run", timeout=60)
    assert requests.get(f"{api}{path}", headers=client["headers"], timeout=30).json()["status"] == "in_progress"
    _post(api, f"{path}/deliverable", coder, _zip(api, coder, "v2.zip", "two"))
    again = _post(api, f"{path}/submit", coder).json()
    assert [v["filename"] for v in again["versions"]] == ["v1.zip", "v2.zip"]
    requests.post(f"{api}/dev/clock", json={"advance_seconds": 2 * 86400 + 60}, timeout=30)
    requests.post(f"{api}/dev/jobs/run", timeout=60)
    assert requests.get(f"{api}{path}", headers=coder["headers"], timeout=30).json()["status"] == "completed"
    balances = requests.get(f"{api}/v1/balances", headers=coder["headers"], timeout=30).json()["items"]
    assert {"currency": "USD", "available": 36000, "held": 0} in balances


def test_a_client_reviews_an_order_the_contractor_declined_and_the_review_shows_the_outcome(local_stack) -> None:
    api = local_stack.url
    seller, buyer = _user(api, "seller"), _user(api, "buyer")
    _fund(api, buyer, 10000)
    gig = _post(api, "/v1/gigs", seller, {"title": f"Logo {uuid.uuid4().hex[:6]}", "amount": 5000, "currency": "USD",
                                          "delivery_days": 2}).json()
    order = _post(api, "/v1/orders", buyer, {"gig_id": gig["id"]}).json()
    unlisted = _post(api, f"/v1/orders/{order['id']}/decline", seller, {"reason": "busy"})
    assert unlisted.status_code == 422, unlisted.text
    declined = _post(api, f"/v1/orders/{order['id']}/decline", seller, {"reason": "requirements_not_matching_gig"})
    assert declined.status_code == 200 and declined.json()["status"] == "cancelled", declined.text
    review = _post(api, f"/v1/orders/{order['id']}/review", buyer, {"rating": 1, "text": "Declined after a day"})
    assert review.status_code == 201, review.text
    reviews = requests.get(f"{api}/v1/gigs/{gig['id']}/reviews", headers=buyer["headers"], timeout=30).json()["items"]
    assert [(r["rating"], r["outcome"]) for r in reviews] == [(1, "declined_by_contractor")]
    balances = requests.get(f"{api}/v1/balances", headers=buyer["headers"], timeout=30).json()["items"]
    assert {"currency": "USD", "available": 10000, "held": 0} in balances


def test_an_invitee_is_in_the_team_at_once_and_his_drafts_wait_for_him_to_join(local_stack) -> None:
    api = local_stack.url
    company, worker = _user(api, "company"), _user(api, "worker")
    _fund(api, company, 50000)
    worker_email = requests.get(f"{api}/v1/me", headers=worker["headers"], timeout=30).json()["email"]
    newbie = f"newbie-{uuid.uuid4().hex[:8]}@example.com"
    invited = _post(api, "/v1/team/invitations", company, {"emails": f"{newbie},{worker_email}"}).json()
    assert [r["status"] for r in invited["results"]] == ["invited", "invited"]
    listed = requests.get(f"{api}/v1/team", headers=company["headers"], timeout=30).json()["items"]
    team = {m["email"]: m for m in listed}
    assert team[newbie]["state"] == "invited" and team[newbie]["contractor_id"]
    assert team[worker_email]["state"] == "requested" and team[worker_email]["contractor_id"] == worker["id"]

    def draft(contractor_id: str) -> dict:
        made = _post(api, "/v1/tasks", company, {"contractor_id": contractor_id, "title": "Translate the price list",
                                                 "amount": 20000, "currency": "USD"})
        assert made.status_code == 201, made.text
        return made.json()

    waiting, for_worker = draft(team[newbie]["contractor_id"]), draft(worker["id"])
    assert waiting["status"] == "draft" and waiting["contractor_state"] == "invited"
    refused = _post(api, f"/v1/tasks/{for_worker['id']}/send", company)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "contractor_not_joined", refused.text

    # the worker confirms his address and joins: his draft is his and goes for payment
    requests.post(f"{api}/dev/users/{worker['id']}/email-confirmation", timeout=30)
    company_id = requests.get(f"{api}/v1/me", headers=company["headers"], timeout=30).json()["id"]
    assert _post(api, f"/v1/team/requests/{company_id}/accept", worker).status_code == 200
    sent = _post(api, f"/v1/tasks/{for_worker['id']}/send", company)
    assert sent.status_code == 200 and sent.json()["status"] == "in_work", sent.text

    # the newcomer never answers: once his invitation expires his draft is unassigned and the company told
    requests.post(f"{api}/dev/clock", json={"advance_seconds": 73 * 3600}, timeout=30)
    requests.post(f"{api}/dev/jobs/run", timeout=60)
    after = requests.get(f"{api}/v1/tasks/{waiting['id']}", headers=company["headers"], timeout=30).json()
    assert after["status"] == "draft" and after["contractor_state"] == "unassigned" and after["contractor_id"] is None
    kinds = [n["kind"] for n in requests.get(f"{api}/v1/notifications", headers=company["headers"],
                                             timeout=30).json()["items"]]
    assert "task_unassigned" in kinds
    unsent = _post(api, f"/v1/tasks/{waiting['id']}/send", company)
    assert unsent.status_code == 409 and unsent.json()["error"]["code"] == "no_contractor"
    balances = requests.get(f"{api}/v1/balances", headers=company["headers"], timeout=30).json()["items"]
    assert {"currency": "USD", "available": 30000, "held": 20000} in balances

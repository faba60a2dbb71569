"""Team and B2B tasks (seed 000): invitations answered per address with one-time links, drafts
editable in all but the contractor, "send to payment" reserving money in the task's currency only,
"done" paying once and issuing the act, cancellation returning the money — books balanced."""
from __future__ import annotations

import email
import io
import re
from email import policy
from pathlib import Path

import pytest
from pypdf import PdfReader

from chalicelib.platform import clock, config
from tests.support import assert_books_balance, play_stream, transfer_event

DAY = 86400


def _mail_to(address: str) -> list:
    folder = Path(config.settings.mail_sink_dir)
    messages = [email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in folder.glob("*.eml")]
    return [m for m in messages if m["To"] == address]


def _deliver_mail():
    """Play the notifications stream: send every pending e-mail."""
    play_stream()


@pytest.fixture
def company(api):
    """Given a company with 1,000.00 USD and a contractor who already has an account, in its team."""
    token = api.signup("boss@acme.example", name="ACME")
    api.webhook(transfer_event("evt-fund", 100000, "USD", api.invoice(token, 100000, "USD")["payment_details"]))
    worker = api.signup("worker@example.com", name="Worker")
    invited = api.post("/v1/team/invitations", {"emails": "worker@example.com", "greeting": "Welcome"}, token=token)
    assert [r["status"] for r in invited.json_body["results"]] == ["invited"]
    company_id = api.get("/v1/me", token=token).json_body["id"]
    assert api.post(f"/v1/team/requests/{company_id}/accept", token=worker).status_code == 200
    worker_id = api.get("/v1/me", token=worker).json_body["id"]
    return {"token": token, "worker": worker, "worker_id": worker_id, "company_id": company_id}


def _task(api, company, **changes):
    body = {"contractor_id": company["worker_id"], "title": "Translate the price list", "description": "EN → UK",
            "amount": 30000, "currency": "USD", **changes}
    return api.post("/v1/tasks", body, token=company["token"])


def test_invitations_answer_each_address_and_valid_ones_go_through(api, company):
    response = api.post("/v1/team/invitations", {
        "emails": "new@example.com, not-an-address, worker@example.com,second@example.com", "greeting": "Hi!"},
        token=company["token"])
    assert response.status_code == 200
    statuses = {r["email"]: r["status"] for r in response.json_body["results"]}
    assert statuses == {"new@example.com": "invited", "not-an-address": "invalid",
                        "worker@example.com": "already_in_team", "second@example.com": "invited"}
    team = {m["email"]: m["state"] for m in api.get("/v1/team", token=company["token"]).json_body["items"]}
    assert team == {"new@example.com": "invited", "second@example.com": "invited", "worker@example.com": "active"}


def test_an_invitation_link_sets_a_password_once_and_joins_the_team(api, company):
    api.post("/v1/team/invitations", {"emails": "new@example.com", "greeting": "Welcome aboard"},
             token=company["token"])
    _deliver_mail()
    [invitation] = _mail_to("new@example.com")
    assert "Welcome aboard" in invitation.get_body(("plain",)).get_content()
    token = re.search(r"/web/invitations/([\w-]+)", invitation.get_body(("plain",)).get_content()).group(1)

    joined = api.post(f"/v1/invitations/{token}/accept", {"password": "correct horse", "name": "Newbie"})

    assert joined.status_code == 201 and joined.json_body["user"]["email"] == "new@example.com"
    again = api.post(f"/v1/invitations/{token}/accept", {"password": "another pass", "name": "Evil"})
    assert again.status_code == 409 and again.json_body["error"]["code"] == "invitation_used"
    assert api.post("/v1/invitations/forged/accept", {"password": "correct horse", "name": "X"}).status_code == 404
    team = {m["email"]: m["state"] for m in api.get("/v1/team", token=company["token"]).json_body["items"]}
    assert team["new@example.com"] == "active"
    new_id = joined.json_body["user"]["id"]
    assert _task(api, company, contractor_id=new_id).status_code == 201


def test_an_invitation_expires(api, company):
    api.post("/v1/team/invitations", {"emails": "late@example.com"}, token=company["token"])
    _deliver_mail()
    body = _mail_to("late@example.com")[0].get_body(("plain",)).get_content()
    token = re.search(r"/web/invitations/([\w-]+)", body).group(1)
    clock.advance(4 * DAY)
    late = api.post(f"/v1/invitations/{token}/accept", {"password": "correct horse", "name": "Late"})
    assert late.status_code == 409 and late.json_body["error"]["code"] == "invitation_expired"


def test_a_draft_is_edited_in_all_but_its_contractor_and_can_be_deleted(api, company):
    task = _task(api, company).json_body
    assert task["status"] == "draft" and api.balance(company["token"]) == (100000, 0)
    edited = api.request("PATCH", f"/v1/tasks/{task['id']}", {"title": "Translate it all", "amount": 35000},
                         token=company["token"])
    assert edited.status_code == 200 and edited.json_body["amount"] == 35000
    other = api.signup("other@example.com")
    changed = api.request("PATCH", f"/v1/tasks/{task['id']}",
                          {"contractor_id": api.get("/v1/me", token=other).json_body["id"]}, token=company["token"])
    assert changed.status_code == 422 and changed.json_body["error"]["code"] == "contractor_fixed"
    assert api.get(f"/v1/tasks/{task['id']}", token=company["token"]).json_body["contractor_id"] == company["worker_id"]
    same = api.request("PATCH", f"/v1/tasks/{task['id']}", {"contractor_id": company["worker_id"], "title": "T2"},
                       token=company["token"])
    assert same.status_code == 200 and same.json_body["title"] == "T2"
    assert api.get(f"/v1/tasks/{task['id']}", token=company["worker"]).status_code == 404  # drafts are private
    assert api.get("/v1/tasks?role=contractor", token=company["worker"]).json_body["items"] == []
    assert [t["id"] for t in api.get("/v1/tasks", token=company["token"]).json_body["items"]] == [task["id"]]
    deleted = api.request("DELETE", f"/v1/tasks/{task['id']}", token=company["token"])
    assert deleted.status_code == 200 and api.get(f"/v1/tasks/{task['id']}", token=company["token"]).status_code == 404


def test_sending_reserves_the_amount_and_then_nothing_is_editable(api, company):
    task = _task(api, company).json_body
    sent = api.post(f"/v1/tasks/{task['id']}/send", token=company["token"])
    assert sent.status_code == 200 and sent.json_body["status"] == "in_work"
    assert api.balance(company["token"]) == (70000, 30000)
    assert api.request("PATCH", f"/v1/tasks/{task['id']}", {"title": "x"},
                       token=company["token"]).json_body["error"]["code"] == "not_a_draft"
    assert api.request("DELETE", f"/v1/tasks/{task['id']}", token=company["token"]).status_code == 409
    kinds = [n["kind"] for n in api.get("/v1/notifications", token=company["worker"]).json_body["items"]]
    assert "task_sent" in kinds
    assert_books_balance()


def test_a_eur_task_is_never_paid_from_usd_money(api, company):
    """A company holding only USD is told the currency does not match (422), not that it lacks funds."""
    task = _task(api, company, currency="EUR").json_body
    refused = api.post(f"/v1/tasks/{task['id']}/send", token=company["token"])
    assert refused.status_code == 422 and refused.json_body["error"]["code"] == "currency_mismatch"
    assert "EUR" in refused.json_body["error"]["message"]
    assert api.get(f"/v1/tasks/{task['id']}", token=company["token"]).json_body["status"] == "draft"
    assert api.balance(company["token"]) == (100000, 0)
    too_much = _task(api, company, amount=200000).json_body
    short = api.post(f"/v1/tasks/{too_much['id']}/send", token=company["token"])
    assert short.status_code == 409 and short.json_body["error"]["code"] == "insufficient_funds"
    assert_books_balance()


def test_done_pays_once_and_issues_the_act_both_parties_see(api, company):
    task = _task(api, company).json_body
    api.post(f"/v1/tasks/{task['id']}/send", token=company["token"])
    assert api.post(f"/v1/tasks/{task['id']}/done", token=company["token"]).status_code == 403
    done = api.post(f"/v1/tasks/{task['id']}/done", token=company["worker"])
    assert done.status_code == 200 and done.json_body["status"] == "done" and done.json_body["act"]["number"]
    again = api.post(f"/v1/tasks/{task['id']}/done", token=company["worker"])
    assert again.status_code == 409
    assert api.balance(company["token"]) == (70000, 0)
    assert api.balance(company["worker"]) == (30000, 0)  # B2B commission defaults to 0
    for token, role in ((company["token"], "client"), (company["worker"], "contractor")):
        docs = api.get(f"/v1/documents?role={role}", token=token).json_body["items"]
        assert [d["task_id"] for d in docs] == [task["id"]]
        pdf = api.get(f"/v1/tasks/{task['id']}/act", token=token, headers={"Accept": "application/pdf"})
        assert pdf.status_code == 200
        text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.body)).pages)
        assert "Translate the price list" in text and "Worker" in text and "ACME" in text
    assert_books_balance()


def test_the_company_cancels_a_task_in_work_and_the_money_returns(api, company):
    task = _task(api, company).json_body
    api.post(f"/v1/tasks/{task['id']}/send", token=company["token"])
    assert api.post(f"/v1/tasks/{task['id']}/cancel", token=company["worker"]).status_code == 403
    cancelled = api.post(f"/v1/tasks/{task['id']}/cancel", token=company["token"])
    assert cancelled.status_code == 200 and cancelled.json_body["status"] == "cancelled"
    assert [h["transition"] for h in cancelled.json_body["history"]] == ["create", "send", "cancel"]
    assert api.balance(company["token"]) == (100000, 0)
    kinds = [n["kind"] for n in api.get("/v1/notifications", token=company["worker"]).json_body["items"]]
    assert "task_cancelled" in kinds
    assert_books_balance()


def test_the_setting_sends_new_tasks_at_once(api, company):
    settings = api.request("PATCH", "/v1/company/settings", {"send_tasks_immediately": True,
                                                             "company_name": "ACME LLC"}, token=company["token"])
    assert settings.json_body == {"company_name": "ACME LLC", "company_details": "", "send_tasks_immediately": True}
    task = _task(api, company)
    assert task.status_code == 201 and task.json_body["status"] == "in_work"
    assert api.balance(company["token"]) == (70000, 30000)
    refused = _task(api, company, currency="EUR")
    assert refused.json_body["error"]["code"] == "currency_mismatch" and api.balance(company["token"]) == (70000, 30000)
    assert_books_balance()


def test_tasks_go_only_to_members_of_the_team(api, company):
    stranger = api.signup("stranger@example.com")
    stranger_id = api.get("/v1/me", token=stranger).json_body["id"]
    refused = _task(api, company, contractor_id=stranger_id)
    assert refused.status_code == 422 and refused.json_body["error"]["code"] == "not_in_team"
    for bad in ({"amount": 0}, {"currency": "GBP"}, {"title": ""}, {"deadline_at": "soon"}):
        assert _task(api, company, **bad).status_code == 422


def test_given_a_task_sent_when_mail_goes_out_then_the_contractor_gets_an_e_mail(api, company):
    task = _task(api, company, deadline_at="2030-01-15T10:00:00Z").json_body
    api.post(f"/v1/tasks/{task['id']}/send", token=company["token"])
    _deliver_mail()
    subjects = [m["Subject"] for m in _mail_to("worker@example.com")]
    assert "New paid task: Translate the price list" in subjects


def test_given_an_existing_user_when_invited_then_he_joins_only_once_he_accepts(api, company):
    kinds = [n["kind"] for n in api.get("/v1/notifications", token=company["worker"]).json_body["items"]]
    assert "team_join_request" in kinds
    [member] = api.get("/v1/team", token=company["token"]).json_body["items"]
    assert member["user_id"] == company["worker_id"] and member["joined_at"] and member["state"] == "active"

    other = api.signup("other@example.com", name="Other")
    other_id = api.get("/v1/me", token=other).json_body["id"]
    asked = api.post("/v1/team/invitations", {"emails": "other@example.com"}, token=company["token"])
    assert [r["status"] for r in asked.json_body["results"]] == ["invited"]
    # he is in the team at once for drafts, but a task for him is not sent before he accepts
    draft = _task(api, company, contractor_id=other_id)
    assert draft.status_code == 201 and draft.json_body["contractor_state"] == "invited"
    unsent = api.post(f"/v1/tasks/{draft.json_body['id']}/send", token=company["token"])
    assert unsent.status_code == 409 and unsent.json_body["error"]["code"] == "contractor_not_joined"
    declined = api.post(f"/v1/team/requests/{company['company_id']}/decline", token=other)
    assert declined.status_code == 200 and declined.json_body["state"] == "declined"
    again = api.post(f"/v1/team/requests/{company['company_id']}/accept", token=other)
    assert again.status_code == 409
    assert _task(api, company, contractor_id=other_id).status_code == 422
    stranger = api.signup("stranger@example.com")
    assert api.post(f"/v1/team/requests/{company['company_id']}/accept", token=stranger).status_code == 404


def test_given_repeated_or_own_addresses_when_inviting_then_each_gets_its_answer(api, company):
    response = api.post("/v1/team/invitations", {"emails": "a@example.com, A@example.com, boss@acme.example, ,"},
                        token=company["token"])
    assert [(r["email"], r["status"]) for r in response.json_body["results"]] == [
        ("a@example.com", "invited"), ("A@example.com", "duplicate"), ("boss@acme.example", "invalid")]
    empty = api.post("/v1/team/invitations", {"emails": " , "}, token=company["token"])
    assert empty.status_code == 422


def test_given_a_commission_configured_when_done_then_the_platform_keeps_it(api, company, monkeypatch):
    monkeypatch.setenv("COMMISSION_B2B_TASK_BPS", "1000")
    config.reload()
    task = _task(api, company).json_body
    assert task["commission"] == 3000
    api.post(f"/v1/tasks/{task['id']}/send", token=company["token"])
    api.post(f"/v1/tasks/{task['id']}/done", token=company["worker"])
    assert api.balance(company["token"]) == (70000, 0)
    assert api.balance(company["worker"]) == (27000, 0)
    assert_books_balance()


def test_given_a_task_in_work_when_sent_again_then_nothing_more_is_reserved(api, company):
    task = _task(api, company).json_body
    assert api.post(f"/v1/tasks/{task['id']}/send", token=company["token"]).status_code == 200
    again = api.post(f"/v1/tasks/{task['id']}/send", token=company["token"])
    assert again.status_code == 409
    assert api.balance(company["token"]) == (70000, 30000)
    assert_books_balance()


def test_given_the_same_idempotency_key_when_marking_done_twice_then_paid_once_same_answer(api, company):
    task = _task(api, company).json_body
    api.post(f"/v1/tasks/{task['id']}/send", token=company["token"])
    headers = {"Idempotency-Key": "done-1"}
    first = api.post(f"/v1/tasks/{task['id']}/done", token=company["worker"], headers=headers)
    replay = api.post(f"/v1/tasks/{task['id']}/done", token=company["worker"], headers=headers)
    assert first.status_code == replay.status_code == 200 and first.json_body == replay.json_body
    assert api.balance(company["worker"]) == (30000, 0)
    assert_books_balance()


def test_given_a_finished_task_then_it_is_neither_editable_nor_sendable_again(api, company):
    done = _task(api, company).json_body
    api.post(f"/v1/tasks/{done['id']}/send", token=company["token"])
    api.post(f"/v1/tasks/{done['id']}/done", token=company["worker"])
    cancelled = _task(api, company).json_body
    api.post(f"/v1/tasks/{cancelled['id']}/send", token=company["token"])
    api.post(f"/v1/tasks/{cancelled['id']}/cancel", token=company["token"])
    for task in (done, cancelled):
        edit = api.request("PATCH", f"/v1/tasks/{task['id']}", {"title": "x"}, token=company["token"])
        assert edit.status_code == 409 and edit.json_body["error"]["code"] == "not_a_draft"
        assert api.request("DELETE", f"/v1/tasks/{task['id']}", token=company["token"]).status_code == 409
    assert api.post(f"/v1/tasks/{cancelled['id']}/cancel", token=company["token"]).status_code == 409
    assert api.post(f"/v1/tasks/{cancelled['id']}/send", token=company["token"]).status_code == 409
    assert api.balance(company["token"]) == (70000, 0) and api.balance(company["worker"]) == (30000, 0)
    assert_books_balance()


def test_given_a_draft_when_cancelled_or_marked_done_then_refused_and_nothing_moves(api, company):
    task = _task(api, company).json_body
    assert api.post(f"/v1/tasks/{task['id']}/cancel", token=company["token"]).status_code == 409
    assert api.post(f"/v1/tasks/{task['id']}/done", token=company["worker"]).status_code == 404
    assert api.balance(company["token"]) == (100000, 0)
    assert_books_balance()


def test_given_someone_elses_task_then_it_is_invisible(api, company):
    task = _task(api, company).json_body
    api.post(f"/v1/tasks/{task['id']}/send", token=company["token"])
    outsider = api.signup("outsider@example.com")
    for method, path in (("GET", ""), ("GET", "/act"), ("POST", "/send"), ("POST", "/cancel"), ("POST", "/done")):
        assert api.request(method, f"/v1/tasks/{task['id']}{path}", token=outsider).status_code == 404
    assert api.get(f"/v1/tasks/{task['id']}/act", token=company["token"]).status_code == 404  # not done yet
    assert api.get("/v1/tasks", token=outsider).json_body["items"] == []
    listed = api.get("/v1/tasks?role=contractor", token=company["worker"]).json_body["items"]
    assert [t["id"] for t in listed] == [task["id"]]
    assert api.get("/v1/tasks?role=boss", token=company["token"]).status_code == 422
    assert_books_balance()


def test_given_company_requisites_in_settings_then_the_act_prints_them(api, company):
    api.request("PATCH", "/v1/company/settings", {"company_name": "ACME Trading LLC",
                                                  "company_details": "Reg. no. 12345678"}, token=company["token"])
    task = _task(api, company).json_body
    api.post(f"/v1/tasks/{task['id']}/send", token=company["token"])
    api.post(f"/v1/tasks/{task['id']}/done", token=company["worker"])
    pdf = api.get(f"/v1/tasks/{task['id']}/act", token=company["worker"], headers={"Accept": "application/pdf"})
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.body)).pages)
    for expected in ("ACME Trading LLC", "Reg. no. 12345678", "boss@acme.example", "worker@example.com", "300.00"):
        assert expected in text
    assert_books_balance()


def test_given_an_expired_invitation_when_invited_again_then_a_fresh_link_works(api, company):
    def links() -> set[str]:
        return {re.search(r"/web/invitations/([\w-]+)", m.get_body(("plain",)).get_content()).group(1)
                for m in _mail_to("late@example.com")}

    api.post("/v1/team/invitations", {"emails": "late@example.com"}, token=company["token"])
    _deliver_mail()
    [expired] = links()
    clock.advance(4 * DAY)
    again = api.post("/v1/team/invitations", {"emails": "late@example.com"}, token=company["token"])
    assert again.json_body["results"] == [{"email": "late@example.com", "status": "invited"}]
    _deliver_mail()
    [fresh] = links() - {expired}
    assert api.post(f"/v1/invitations/{expired}/accept", {"password": "correct horse", "name": "L"}).status_code == 409
    joined = api.post(f"/v1/invitations/{fresh}/accept", {"password": "correct horse", "name": "Late"})
    assert joined.status_code == 201
    again = api.post("/v1/team/invitations", {"emails": "late@example.com"}, token=company["token"])
    assert again.json_body["results"][0]["status"] == "already_in_team"


def test_given_an_invitee_who_signed_up_alone_when_invited_again_then_he_joins_once_he_accepts(api, company):
    api.post("/v1/team/invitations", {"emails": "self@example.com"}, token=company["token"])
    himself = api.signup("self@example.com")
    same_day = api.post("/v1/team/invitations", {"emails": "self@example.com"}, token=company["token"])
    assert same_day.json_body["results"][0]["status"] == "not_sent_today"  # one e-mail a day per company and address
    clock.advance(DAY)
    again = api.post("/v1/team/invitations", {"emails": "self@example.com"}, token=company["token"])
    assert again.json_body["results"][0]["status"] == "invited"
    assert api.post(f"/v1/team/requests/{company['company_id']}/accept", token=himself).status_code == 200
    team = {m["email"]: m["state"] for m in api.get("/v1/team", token=company["token"]).json_body["items"]}
    assert team["self@example.com"] == "active"


# --- an invitee is in the team at once -------------------------------------------------------------------------------

def _invitee(api, company, address="newbie@example.com"):
    asked = api.post("/v1/team/invitations", {"emails": address}, token=company["token"])
    assert [r["status"] for r in asked.json_body["results"]] == ["invited"]
    members = api.get("/v1/team", token=company["token"]).json_body["items"]
    return next(m for m in members if m["email"] == address)


def _accept_link(address: str) -> str:
    _deliver_mail()
    [message] = _mail_to(address)
    body = message.get_body(preferencelist=("plain",)).get_content()
    return re.search(r"/web/invitations/([A-Za-z0-9_\-]+)", body).group(1)


def test_an_invitee_without_an_account_gets_drafts_at_once_and_they_are_his_once_he_joins(api, company):
    member = _invitee(api, company)
    assert member["state"] == "invited" and member["user_id"] is None and member["contractor_id"]
    assert member["invitation_expires_at"]
    draft = _task(api, company, contractor_id=member["contractor_id"]).json_body
    assert draft["status"] == "draft" and draft["contractor_state"] == "invited"
    refused = api.post(f"/v1/tasks/{draft['id']}/send", token=company["token"])
    assert refused.status_code == 409 and refused.json_body["error"]["code"] == "contractor_not_joined"
    assert api.balance(company["token"]) == (100000, 0)
    # he joins through the link in his e-mail: the draft is his, and it can be sent for payment
    token = _accept_link("newbie@example.com")
    joined = api.post(f"/v1/invitations/{token}/accept", {"password": "correct horse", "name": "Newbie"})
    assert joined.status_code == 201, joined.body
    newbie_id = joined.json_body["user"]["id"]
    mine = api.get(f"/v1/tasks/{draft['id']}", token=company["token"]).json_body
    assert mine["contractor_id"] == newbie_id and mine["contractor_state"] == "active"
    sent = api.post(f"/v1/tasks/{draft['id']}/send", token=company["token"])
    assert sent.status_code == 200 and sent.json_body["status"] == "in_work"
    assert api.get(f"/v1/tasks/{draft['id']}", token=joined.json_body["token"]).status_code == 200
    assert api.balance(company["token"]) == (70000, 30000)
    assert_books_balance()


def test_when_an_invitation_expires_the_drafts_return_to_unassigned_and_the_company_is_told(api, company):
    member = _invitee(api, company)
    draft = _task(api, company, contractor_id=member["contractor_id"]).json_body
    clock.advance(config.settings.invitation_ttl_hours * 3600 + 1)
    api.post("/dev/jobs/run")
    after = api.get(f"/v1/tasks/{draft['id']}", token=company["token"]).json_body
    assert after["status"] == "draft" and after["contractor_id"] is None and after["contractor_state"] == "unassigned"
    [told] = [n for n in api.get("/v1/notifications", token=company["token"]).json_body["items"]
              if n["kind"] == "task_unassigned"]
    assert "newbie@example.com" in told["body"] and draft["title"] in told["body"]
    listed = next(m for m in api.get("/v1/team", token=company["token"]).json_body["items"]
                  if m["email"] == "newbie@example.com")
    assert listed["state"] == "expired" and listed["contractor_id"] is None
    unsent = api.post(f"/v1/tasks/{draft['id']}/send", token=company["token"])
    assert unsent.status_code == 409 and unsent.json_body["error"]["code"] == "no_contractor"
    # the company assigns the draft to a member who has joined, and sends it
    assigned = api.request("PATCH", f"/v1/tasks/{draft['id']}", {"contractor_id": company["worker_id"]},
                           token=company["token"])
    assert assigned.status_code == 200 and assigned.json_body["contractor_state"] == "active"
    assert api.post(f"/v1/tasks/{draft['id']}/send", token=company["token"]).status_code == 200
    assert api.balance(company["token"]) == (70000, 30000)
    assert_books_balance()


def test_a_renewed_invitation_carries_the_drafts_to_its_new_expiry(api, company):
    member = _invitee(api, company)
    draft = _task(api, company, contractor_id=member["contractor_id"]).json_body
    clock.advance(config.settings.invitation_ttl_hours * 3600 - 60)
    renewed = _invitee(api, company)
    assert renewed["invitation_expires_at"] > member["invitation_expires_at"]
    clock.advance(120)
    api.post("/dev/jobs/run")
    kept = api.get(f"/v1/tasks/{draft['id']}", token=company["token"]).json_body
    assert kept["contractor_state"] == "invited" and kept["invitation_expires_at"] == renewed["invitation_expires_at"]


def test_an_invitee_who_declines_leaves_his_drafts_unassigned_and_the_company_is_told(api, company):
    member = _invitee(api, company)
    draft = _task(api, company, contractor_id=member["contractor_id"]).json_body
    token = _accept_link("newbie@example.com")
    assert api.post(f"/v1/invitations/{token}/decline").status_code == 200
    after = api.get(f"/v1/tasks/{draft['id']}", token=company["token"]).json_body
    assert after["contractor_state"] == "unassigned"
    kinds = [n["kind"] for n in api.get("/v1/notifications", token=company["token"]).json_body["items"]]
    assert "task_unassigned" in kinds
    # an invitee's draft is not a task in work: a company that sends tasks at once cannot make one for him
    api.request("PATCH", "/v1/company/settings", {"send_tasks_immediately": True}, token=company["token"])
    other = _invitee(api, company, "later@example.com")
    refused = _task(api, company, contractor_id=other["contractor_id"])
    assert refused.status_code == 409 and refused.json_body["error"]["code"] == "contractor_not_joined"
    assert api.balance(company["token"]) == (100000, 0)
    assert_books_balance()


# --- a done task the company cancels goes to an operator -------------------------------------------------------------

def _done(api, company) -> dict:
    task = _task(api, company).json_body
    api.post(f"/v1/tasks/{task['id']}/send", token=company["token"])
    assert api.post(f"/v1/tasks/{task['id']}/done", token=company["worker"]).status_code == 200
    return task


def test_a_company_that_cancels_a_done_task_opens_a_dispute_and_the_pay_is_held_until_an_operator_decides(
        api, company, operator_token):
    task = _done(api, company)
    assert api.post(f"/v1/tasks/{task['id']}/cancel", token=company["worker"]).status_code == 403
    contested = api.post(f"/v1/tasks/{task['id']}/cancel", token=company["token"])
    assert contested.status_code == 200 and contested.json_body["status"] == "disputed", contested.body
    assert contested.json_body["dispute"]["held"] == 30000 and contested.json_body["dispute"]["paid"] == 30000
    # the money does not go straight back to the company: it is held on the contractor's account
    assert api.balance(company["token"]) == (70000, 0)
    assert api.balance(company["worker"]) == (0, 30000)
    assert "task_disputed" in [n["kind"] for n in api.get("/v1/notifications",
                                                          token=company["worker"]).json_body["items"]]
    queue = api.get("/v1/operator/disputes", token=operator_token).json_body["items"]
    assert [(item["id"], item["process"]) for item in queue] == [(task["id"], "b2b_task")]
    assert api.post(f"/v1/tasks/{task['id']}/cancel", token=company["token"]).status_code == 409
    assert_books_balance()  # what the dispute holds is on the contractor's account
    path = f"/v1/operator/tasks/{task['id']}/resolve"
    wrong = api.post(path, {"refund": 20000, "release": 20000, "note": "Too much"}, token=operator_token)
    assert wrong.status_code == 422 and wrong.json_body["error"]["code"] == "split_mismatch"
    assert api.post(path, {"refund": 10000, "release": 20000, "note": "x"}, token=company["token"]).status_code == 403
    decided = api.post(path, {"refund": 10000, "release": 20000, "note": "A third was not translated"},
                       token=operator_token)
    assert decided.status_code == 200 and decided.json_body["status"] == "resolved", decided.body
    assert api.balance(company["token"]) == (80000, 0)
    assert api.balance(company["worker"]) == (20000, 0)
    assert api.get("/v1/operator/disputes", token=operator_token).json_body["items"] == []
    pdf = api.get(f"/v1/tasks/{task['id']}/act", token=company["token"], headers={"Accept": "application/pdf"})
    assert pdf.status_code == 200  # the act of the work done stays
    assert_books_balance()


def test_a_dispute_holds_only_what_the_contractor_still_has_and_closes_after_the_window(api, company, operator_token):
    task = _done(api, company)
    assert api.post("/v1/payouts", {"amount": 25000, "currency": "USD", "destination": {
        "type": "card", "number": "4111 1111 1111 1111"}}, token=company["worker"]).status_code == 201
    contested = api.post(f"/v1/tasks/{task['id']}/dispute", {"reason": "Machine translation"},
                         token=company["token"]).json_body
    assert contested["dispute"]["held"] == 5000 and contested["dispute"]["reason"] == "Machine translation"
    assert api.balance(company["worker"])[0] == 0
    assert_books_balance()
    decided = api.post(f"/v1/operator/tasks/{task['id']}/resolve", {"refund": 5000, "release": 0,
                                                                    "note": "Refund what is left"},
                       token=operator_token)
    assert decided.status_code == 200
    assert api.balance(company["token"]) == (75000, 0)
    late = _done(api, company)
    clock.advance((config.settings.task_dispute_days + 1) * DAY)
    closed = api.post(f"/v1/tasks/{late['id']}/cancel", token=company["token"])
    assert closed.status_code == 409 and closed.json_body["error"]["code"] == "dispute_window_closed"
    assert_books_balance()

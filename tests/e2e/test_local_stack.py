"""The local stage as a developer meets it: `make run`'s runner, real HTTP, real DynamoDB Local,
the stream delivering e-mail into the sink, the test clock and jobs, and a clean Ctrl-C."""
from __future__ import annotations

import email
import email.policy
import json
import signal
import subprocess
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
import requests

from infra.local import dynamodb_local
from infra.local.streams import StreamPoller
from tests.support import sign

MAIL_TIMEOUT_S = 20


def test_top_up_by_bank_transfer_over_http(local_stack) -> None:
    api = local_stack.url
    signup = requests.post(f"{api}/v1/auth/signup", json={
        "email": "ann@example.com", "password": "correct horse", "name": "Ann", "locale": "en"}, timeout=30)
    assert signup.status_code == 201, signup.text
    auth = {"Authorization": f"Bearer {signup.json()['token']}"}

    invoice = requests.post(f"{api}/v1/invoices", json={"amount": 150000, "currency": "USD"}, headers=auth,
                            timeout=30)
    assert invoice.status_code == 201, invoice.text
    invoice = invoice.json()

    body = json.dumps({
        "event_id": f"evt_{uuid.uuid4().hex}", "type": "transfer.incoming", "amount": 150000, "currency": "USD",
        "purpose": f"Payment for {invoice['payment_details']}",
        "payer": {"name": "ACME", "iban": "DE89370400440532013000"},
        "received_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }).encode()
    webhook = requests.post(f"{api}/v1/webhooks/bank", data=body, timeout=30,
                            headers={"Content-Type": "application/json", "X-Bank-Signature": sign(body)})
    assert webhook.status_code == 200, webhook.text

    balances = requests.get(f"{api}/v1/balances", headers=auth, timeout=30).json()["items"]
    assert {"currency": "USD", "available": 150000, "held": 0} in balances
    paid = requests.get(f"{api}/v1/invoices/{invoice['id']}", headers=auth, timeout=30).json()
    assert paid["status"] == "paid"
    assert requests.get(f"{api}/v1/notifications", headers=auth, timeout=30).json()["items"]

    assert _wait_for_mail_about(local_stack.mail_dir, invoice["number"]), local_stack.log()

    before = requests.get(f"{api}/dev/clock", timeout=30).json()["now"]
    moved = requests.post(f"{api}/dev/clock", json={"advance_seconds": 86400}, timeout=30)
    assert moved.status_code == 200, moved.text
    after = requests.get(f"{api}/dev/clock", timeout=30).json()["now"]
    assert (_parse(after) - _parse(before)).total_seconds() >= 86400
    jobs = requests.post(f"{api}/dev/jobs/run", timeout=60)
    assert jobs.status_code == 200, jobs.text


def test_unstarted_orders_are_auto_cancelled_even_if_started_late_and_both_parties_get_mail(local_stack) -> None:
    api = local_stack.url
    tokens = {}
    for who in ("seller", "buyer"):
        response = requests.post(f"{api}/v1/auth/signup", json={
            "email": f"{who}-{uuid.uuid4().hex[:8]}@example.com", "password": "correct horse", "name": who.title(),
            "locale": "en"}, timeout=30)
        assert response.status_code == 201, response.text
        tokens[who] = {"Authorization": f"Bearer {response.json()['token']}"}
    gig = requests.post(f"{api}/v1/gigs", json={"title": f"Gig {uuid.uuid4().hex[:8]}", "amount": 5000,
                                                 "currency": "EUR", "delivery_days": 2},
                        headers=tokens["seller"], timeout=30).json()
    invoice = requests.post(f"{api}/v1/invoices", json={"amount": 10000, "currency": "EUR"}, headers=tokens["buyer"],
                            timeout=30).json()
    body = json.dumps({
        "event_id": f"evt_{uuid.uuid4().hex}", "type": "transfer.incoming", "amount": 10000, "currency": "EUR",
        "purpose": invoice["payment_details"], "payer": {"name": "ACME", "iban": "DE89370400440532013000"},
        "received_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }).encode()
    requests.post(f"{api}/v1/webhooks/bank", data=body, timeout=30,
                  headers={"Content-Type": "application/json", "X-Bank-Signature": sign(body)})
    order, late = (requests.post(f"{api}/v1/orders", json={"gig_id": gig["id"]}, headers=tokens["buyer"], timeout=30)
                   for _ in range(2))
    assert order.status_code == 201 and late.status_code == 201, (order.text, late.text)

    requests.post(f"{api}/dev/clock", json={"advance_seconds": 86400 + 60}, timeout=30)
    # The seller starts one too late: whether or not the minute's job came by first, the due timer wins
    started = requests.post(f"{api}/v1/orders/{late.json()['id']}/start", headers=tokens["seller"], timeout=30)
    assert started.status_code == 409 and started.json()["error"]["code"] == "order_auto_cancelled", started.text
    jobs = requests.post(f"{api}/dev/jobs/run", timeout=60).json()["jobs"]

    assert jobs["fire_due_timers"]["fired"] <= 1  # the late start fired its own; the job at most the other
    for placed in (order, late):
        cancelled = requests.get(f"{api}/v1/orders/{placed.json()['id']}", headers=tokens["buyer"], timeout=30)
        assert cancelled.json()["status"] == "cancelled"
    balances = requests.get(f"{api}/v1/balances", headers=tokens["buyer"], timeout=30).json()["items"]
    assert {"currency": "EUR", "available": 10000, "held": 0} in balances
    # each order: its placing to the seller (the buyer placed it himself), its cancellation to both
    assert _wait_for_mails_about(local_stack.mail_dir, gig["title"], at_least=6), local_stack.log()


def test_concurrent_requests_each_run_as_their_own_caller(local_stack) -> None:
    """The local server serves each request on a thread; chalice keeps the current request on the app,
    so before the runner kept it per thread, concurrent callers could be answered as each other."""
    from concurrent.futures import ThreadPoolExecutor

    users = []
    for n in range(8):
        answer = requests.post(f"{local_stack.url}/v1/auth/signup", json={
            "email": f"caller{n}-{uuid.uuid4().hex[:6]}@example.com", "password": "correct horse", "name": f"C{n}"})
        users.append((answer.json()["user"]["id"], answer.json()["token"]))

    def who_am_i(user: tuple[str, str]) -> list[str]:
        with requests.Session() as http:
            return [http.get(f"{local_stack.url}/v1/me", headers={"Authorization": f"Bearer {user[1]}"},
                             timeout=30).json()["id"] for _ in range(15)]

    with ThreadPoolExecutor(len(users)) as pool:
        answers = list(pool.map(who_am_i, users))
    assert all(ids == [user_id] * 15 for (user_id, _), ids in zip(users, answers, strict=True)), answers


def test_a_site_pays_its_first_invoice_by_a_signed_bank_transfer_and_the_owner_is_mailed(local_stack) -> None:
    api = local_stack.url
    login = requests.post(f"{api}/v1/auth/login", json={"email": "operator@escrowdesk.local",
                                                         "password": "local-operator-pass"}, timeout=30)
    assert login.status_code == 200, login.text
    operator = {"Authorization": f"Bearer {login.json()['token']}"}
    tariff = {"code": f"start-{uuid.uuid4().hex[:6]}", "name": "Start", "price": {"amount": 31000, "currency": "UAH"},
              "limits": {"products": 100, "orders_per_month": 50}, "features": ["catalog"]}
    assert requests.post(f"{api}/v1/operator/tariffs", json=tariff, headers=operator, timeout=30).status_code == 201
    signup = requests.post(f"{api}/v1/auth/signup", json={
        "email": f"shop-{uuid.uuid4().hex[:8]}@example.ua", "password": "correct horse", "name": "Olena",
        "locale": "uk"}, timeout=30)
    owner = {"Authorization": f"Bearer {signup.json()['token']}"}
    site = requests.post(f"{api}/v1/sites", json={
        "name": "Квіти", "domains": [f"{uuid.uuid4().hex[:8]}.example.ua"], "tariff": tariff["code"],
        "owner": {"name": "Olena", "email": "olena@example.ua", "phone": "+380501234567"}}, headers=owner, timeout=30)
    assert site.status_code == 201, site.text
    site_id = site.json()["id"]
    (invoice,) = requests.get(f"{api}/v1/sites/{site_id}/invoices", headers=owner, timeout=30).json()["items"]
    assert invoice["status"] == "open" and invoice["number"].startswith("HOR-")

    body = json.dumps({
        "event_id": f"evt_{uuid.uuid4().hex}", "type": "transfer.incoming", "amount": invoice["amount"],
        "currency": "UAH", "purpose": f"Оплата за рахунком № {invoice['number']}, без ПДВ",
        "payer": {"name": "ФОП Петренко", "iban": "UA213223130000026007233566001"},
        "received_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }).encode()
    webhook = requests.post(f"{api}/v1/webhooks/bank", data=body, timeout=30,
                            headers={"Content-Type": "application/json", "X-Bank-Signature": sign(body)})
    assert webhook.status_code == 200 and webhook.json()["payment"]["status"] == "credited", webhook.text

    paid = requests.get(f"{api}/v1/sites/{site_id}/invoices/{invoice['id']}", headers=owner, timeout=30).json()
    assert paid["status"] == "paid" and paid["paid_by"] == "bank_transfer"
    pdf = requests.get(f"{api}/v1/sites/{site_id}/invoices/{invoice['id']}/pdf", timeout=30,
                       headers={**owner, "Accept": "application/pdf"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert _wait_for_mail_about(local_stack.mail_dir, invoice["number"]), local_stack.log()
    assert _wait_for_mails_about(local_stack.mail_dir, invoice["number"], at_least=2), local_stack.log()


def test_unknown_routes_and_methods_answer_in_the_error_shape_and_never_echo_the_token(local_stack) -> None:
    """chalice local (like API Gateway without the stack's gateway responses) answers an unknown route
    with 403 "Missing Authentication Token", or a message that repeats the caller's bearer token."""
    api, secret = local_stack.url, "Bearer not-a-real-token-but-secret"
    for method in ("GET", "POST", "DELETE"):
        unknown = requests.request(method, f"{api}/v1/no-such-route", headers={"Authorization": secret}, timeout=30)
        assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found", unknown.text
        assert "secret" not in unknown.text and "Credential" not in unknown.text
    wrong = requests.delete(f"{api}/v1/me", headers={"Authorization": secret}, timeout=30)
    assert wrong.status_code == 405 and wrong.json()["error"]["code"] == "method_not_allowed"
    assert wrong.headers["Allow"] == "GET, PATCH"
    assert requests.request("TRACE", f"{api}/v1/me", timeout=30).status_code == 405
    deep = requests.post(f"{api}/v1/webhooks/bank", data=b"[" * 100_000, timeout=30,
                         headers={"X-Bank-Signature": sign(b"[" * 100_000)})
    assert deep.status_code == 400 and deep.json()["error"]["code"] == "too_deeply_nested"


def test_a_refused_method_with_a_body_leaves_the_connection_clean(local_stack) -> None:
    """Found by schemathesis: a body sent with a method no route has stayed unread, and the next request
    on the same connection began with it."""
    with requests.Session() as session:
        refused = session.request("OPTIONS", f"{local_stack.url}/v1/me", data=b"csrf=0&action=accept", timeout=30)
        assert refused.status_code == 405
        after = session.get(f"{local_stack.url}/openapi.json", timeout=30)
        assert after.status_code == 200


def test_ctrl_c_stops_everything_and_the_next_run_starts_clean(local_stack, start_local_stack) -> None:
    java = [pid for pid, name in local_stack.children().items() if name == "java"]
    assert java, "DynamoDB Local should run as the runner's child"

    assert local_stack.stop(signal.SIGINT) == 0, local_stack.log()
    assert not [pid for pid in java if Path(f"/proc/{pid}").exists()], "java outlived the runner"
    assert not dynamodb_local.port_in_use(local_stack.dynamodb_port)

    again = start_local_stack(port=local_stack.port, dynamodb_port=local_stack.dynamodb_port)
    try:
        signup = requests.post(f"{again.url}/v1/auth/signup", json={
            "email": "ann@example.com", "password": "correct horse", "name": "Ann", "locale": "en"}, timeout=30)
        assert signup.status_code == 201, "the database starts empty on every run"
        java = [pid for pid, name in again.children().items() if name == "java"]
    finally:
        assert again.stop(signal.SIGTERM) == 0, again.log()
    assert not [pid for pid in java if Path(f"/proc/{pid}").exists()], "java outlived the runner"


def test_stream_poller_reads_past_sequence_numbers_spent_by_cancelled_transactions() -> None:
    """DynamoDB Local spends stream sequence numbers on cancelled transactions; a position taken on
    an empty shard then reads as trimmed. The poller must go on, delivering each record once."""
    delivered: list[str] = []
    with dynamodb_local.running(log=subprocess.DEVNULL) as ddb:
        client = boto3.client("dynamodb", endpoint_url=ddb.endpoint, region_name="eu-central-1",
                              aws_access_key_id="local", aws_secret_access_key="local")
        for name, stream in (("streamed", {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}),
                             ("plain", {"StreamEnabled": False})):
            client.create_table(TableName=name, BillingMode="PAY_PER_REQUEST", StreamSpecification=stream,
                                KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                                AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}])
        poller = StreamPoller(endpoint_url=ddb.endpoint, region="eu-central-1", table_name="streamed",
                              function_name="test", batch_size=2,
                              handler=lambda event, context: delivered.extend(
                                  record["dynamodb"]["NewImage"]["k"]["S"] for record in event["Records"]))
        assert poller.poll_once() == 0

        client.put_item(TableName="plain", Item={"k": {"S": "taken"}})
        _cancelled_transaction(client)
        for key in ("a", "b", "c"):
            client.put_item(TableName="streamed", Item={"k": {"S": key}})
        _drain(poller)
        _cancelled_transaction(client)
        client.put_item(TableName="streamed", Item={"k": {"S": "d"}})
        _drain(poller)
    assert delivered == ["a", "b", "c", "d"]


def _cancelled_transaction(client) -> None:
    with pytest.raises(client.exceptions.TransactionCanceledException):
        client.transact_write_items(TransactItems=[
            {"Put": {"TableName": "streamed", "Item": {"k": {"S": "never"}}}},
            {"Put": {"TableName": "plain", "Item": {"k": {"S": "taken"}},
                     "ConditionExpression": "attribute_not_exists(k)"}},
        ])


def _drain(poller: StreamPoller) -> None:
    for _ in range(10):
        poller.poll_once()


def _wait_for_mail_about(mail_dir: Path, text: str) -> bool:
    deadline = time.monotonic() + MAIL_TIMEOUT_S
    while time.monotonic() < deadline:
        for path in mail_dir.glob("*.eml"):
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if text in str(message["Subject"]):
                return True
        time.sleep(0.25)
    return False


def _wait_for_mails_about(mail_dir: Path, text: str, *, at_least: int) -> bool:
    """At least that many e-mails whose subject holds `text`."""
    deadline = time.monotonic() + MAIL_TIMEOUT_S
    while time.monotonic() < deadline:
        found = [path for path in mail_dir.glob("*.eml")
                 if text in str(email.message_from_bytes(path.read_bytes(), policy=email.policy.default)["Subject"])]
        if len(found) >= at_least:
            return True
        time.sleep(0.25)
    return False


def _parse(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00"))

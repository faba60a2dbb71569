"""Subscription billing on real DynamoDB (Local): a site's month — the first invoice, usage refreshed
the next day, the month's invoice issued on the 1st once however many job runs and reads race for it,
a bank transfer paying it into revenue — with the books audited at every step that moves money."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from chalicelib.access.auth import Principal
from chalicelib.money import ledger, tariffs
from chalicelib.platform import clock
from chalicelib.services import accounts, sites, timers, usage
from chalicelib.store.models import DealModel, ServiceInvoiceModel
from tests.billing_support import add_tariffs, at, invoices, key_for, new_site, report
from tests.support import assert_books_balance, transfer_event


@pytest.fixture
def owner(api):
    accounts.create_operator("ops@escrowdesk.local", "operator-pass")
    operator = api.post("/v1/auth/login", {"email": "ops@escrowdesk.local", "password": "operator-pass"})
    add_tariffs(api, operator.json_body["token"])
    return api.signup("owner@example.ua", locale="uk")


def test_a_sites_month_from_creation_to_its_paid_invoice(api, owner):
    at(2027, 3, 17)
    site = new_site(api, owner)
    (first,) = invoices(api, owner, site["id"])
    assert (first["number"], first["amount"]) == ("HOR-10001-001", 15000)
    key = key_for(api, owner, site["id"])
    for n in range(5):
        assert report(api, site["id"], key, event_id=f"o{n}", orders=2).status_code == 200
    assert report(api, site["id"], key, event_id="o0", orders=2).json_body["duplicate"] is True

    at(2027, 3, 18, 0, 10)
    assert timers.fire_due(clock.now())["fired"] == 1
    assert api.get(f"/v1/sites/{site['id']}", token=owner).json_body["counters"]["orders"]["value"] == 10

    paid = api.webhook(transfer_event("evt-1", 15000, "UAH", f"Оплата за рахунком № {first['number']}"))
    assert paid.json_body["payment"]["status"] == "credited"
    assert_books_balance()

    at(2027, 4, 1, 0, 1)
    assert timers.fire_due(clock.now())["fired"] == 1
    april = invoices(api, owner, site["id"])[0]
    assert (april["number"], april["period"], april["amount"], april["status"]) == ("HOR-10001-002", "2027-04",
                                                                                    31000, "open")
    assert api.get(f"/v1/sites/{site['id']}", token=owner).json_body["counters"]["orders"]["value"] == 0
    assert_books_balance()


def test_job_runs_and_reads_racing_on_the_1st_issue_each_month_once_and_numbers_stay_gap_free(api, owner):
    at(2027, 3, 17)
    created = [new_site(api, owner, domains=(f"s{n}.example.ua",))["id"] for n in range(6)]
    owner_id = api.get("/v1/me", token=owner).json_body["id"]
    at(2027, 6, 1, 0, 5)  # three months fall due at once for every site
    tariffs.forget()

    def job(_):
        return timers.fire_due(clock.now())["fired"]

    def read(site_id):
        return sites.get(Principal(owner_id, ()), site_id)["id"] == site_id

    with ThreadPoolExecutor(max_workers=6) as pool:
        jobs = [pool.submit(job, n) for n in range(3)]
        reads = [pool.submit(read, site_id) for site_id in created]
        assert all(r.result() for r in reads)
        [j.result() for j in jobs]
    for _ in range(4):
        timers.fire_due(clock.now())
    for site_id in created:
        numbered = sorted(int(i.seq) for i in ServiceInvoiceModel.by_site.query(site_id))
        assert numbered == [1, 2, 3, 4], (site_id, numbered)
        assert DealModel.get(site_id).data["next_period"] == "2027-07"


def test_concurrent_first_reports_of_a_day_all_count_and_arm_one_refresh(api, owner):
    at(2027, 3, 17)
    site = new_site(api, owner)
    key = key_for(api, owner, site["id"])
    # the service itself in threads: chalice's test client keeps one current request for all of them
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda n: usage.report(site["id"], key, f"e{n}", None, 1), range(16)))
    assert [answer["duplicate"] for answer in answers] == [False] * 16
    assert DealModel.get(site["id"]).data["usage_days"] == ["2027-03-17"]
    at(2027, 3, 18, 0, 10)
    timers.fire_due(clock.now())
    assert api.get(f"/v1/sites/{site['id']}", token=owner).json_body["counters"]["orders"]["value"] == 16


def test_a_whole_month_by_card_declines_links_blocking_and_unblocking_by_bank_transfer(api, owner, monkeypatch):
    """A site saves a card, its next invoice is charged on the 1st; the card then declines, is tried again,
    a payment link expires and renews, the site is blocked after the grace days and unblocked at once by a
    bank transfer, and the expired link the acquirer confirms late is refunded at once — the books audited
    at every step."""
    from chalicelib.adapters import acquirer
    from chalicelib.platform import config
    from tests.billing_support import deliver

    def run_timers() -> None:
        while timers.fire_due(clock.now())["fired"]:
            pass

    def status() -> str:
        return api.get(f"/v1/sites/{site['id']}", token=owner).json_body["status"]

    at(2027, 3, 17)
    site = new_site(api, owner)
    started = api.post(f"/v1/sites/{site['id']}/payment-method", token=owner).json_body
    assert started["purpose"] == "pay_invoice"
    acquirer.LocalAcquirer().answer(started["payment_id"], True, "4000000000000002", "Olena Petrenko")
    assert [a["outcome"] for a in deliver(api)] == ["applied"]
    assert api.get(f"/v1/sites/{site['id']}", token=owner).json_body["payment_method"]["card_mask"].endswith("0002")
    assert_books_balance()

    at(2027, 4, 1, 0, 1)
    run_timers()
    assert [(a["duplicate"], a.get("outcome")) for a in deliver(api, twice=True)] == [(False, "applied"), (True, None)]
    april = invoices(api, owner, site["id"])[0]
    assert (april["period"], april["status"], april["paid_by"]) == ("2027-04", "paid", "card")
    assert_books_balance()

    token = acquirer.LocalAcquirer().load(started["payment_id"])["card"]["token"]
    monkeypatch.setenv("ACQUIRER_DECLINE_TOKENS", token)
    config.reload()
    at(2027, 5, 1, 0, 1)
    run_timers()
    assert [a["outcome"] for a in deliver(api)] == ["declined"]
    may = invoices(api, owner, site["id"])[0]
    at(2027, 5, 2, 0, 2)
    run_timers()
    assert [a["outcome"] for a in deliver(api)] == ["declined"]
    path = f"/v1/sites/{site['id']}/invoices/{may['id']}/payment-link"
    first = api.post(path, token=owner).json_body
    assert api.post(path, token=owner).json_body == first
    at(2027, 5, 2, 0, 40)
    renewed = api.post(path, token=owner).json_body
    assert renewed["payment_id"] != first["payment_id"]
    assert_books_balance()

    for day in (4, 6):  # the retries, 3 and 5 days after the issue
        at(2027, 5, day, 0, 3)
        run_timers()
        assert [a["outcome"] for a in deliver(api)] == ["declined"]
    at(2027, 5, 7, 0, 1)
    run_timers()
    assert status() == "past_due" and deliver(api) == []
    at(2027, 5, 11, 0, 1)
    run_timers()
    assert status() == "blocked"
    paid = api.webhook(transfer_event("evt-may", may["amount"], "UAH", f"Оплата {may['number']}"))
    assert paid.json_body["payment"]["status"] == "credited" and status() == "active"
    assert_books_balance()

    acquirer.LocalAcquirer().answer(first["payment_id"], True)  # the expired link, confirmed after all
    assert [a["outcome"] for a in deliver(api)] == ["duplicate"]  # the invoice was paid: it goes back
    assert [a["outcome"] for a in deliver(api)] == ["refunded"]
    assert [i["status"] for i in invoices(api, owner, site["id"])] == ["paid", "paid", "paid"]
    assert_books_balance()


def test_a_month_in_which_every_kind_of_double_payment_happens_once_ends_with_everything_paid_or_refunded(
        api, owner, monkeypatch, tmp_path):
    """On DynamoDB Local: a link paid while the auto-charge crosses it, a second card page paid for an invoice
    paid already, a card and a transfer racing, and a success nobody asked for resent under new event ids.
    Each duplicate goes back: card money refunded by the acquirer at once, the transfer returned by the bank
    on the operator's return, the stranger parked once and returned; revenue is exactly the paid invoices."""
    import json as _json
    from pathlib import Path

    from chalicelib.adapters import acquirer
    from chalicelib.money.amounts import Money
    from chalicelib.platform import config
    from chalicelib.store.models import AccountModel, CardPaymentModel, PaymentModel
    from tests.billing_support import deliver

    monkeypatch.setenv("BANK_OUTBOX_DIR", str(tmp_path / "bank"))
    config.reload()
    fake = acquirer.LocalAcquirer()
    operator = api.post("/v1/auth/login", {"email": "ops@escrowdesk.local", "password": "operator-pass"})
    ops = operator.json_body["token"]

    def account(name: str) -> int:
        return sum(int(a.available) for a in AccountModel.scan(consistent_read=True)
                   if ledger.owner_of(a.owner_id) == name and a.currency == "UAH")

    def deliver_all() -> list[str]:
        outcomes = []
        while answers := deliver(api):
            outcomes += [a["outcome"] for a in answers]
        return outcomes

    at(2027, 3, 17)
    site = new_site(api, owner)
    (march,) = invoices(api, owner, site["id"])
    # two card pages for March's invoice, both paid: the second is a duplicate
    first_page = api.post(f"/v1/sites/{site['id']}/payment-method", token=owner).json_body
    second_page = api.post(f"/v1/sites/{site['id']}/payment-method", token=owner).json_body
    fake.answer(first_page["payment_id"], True)
    fake.answer(second_page["payment_id"], True)
    assert deliver_all() == ["applied", "duplicate", "refunded"]
    assert_books_balance()

    # April: the auto-charge and the owner's payment link cross
    at(2027, 4, 1, 0, 5)
    timers.fire_due(clock.now())
    april = invoices(api, owner, site["id"])[0]
    link = api.post(f"/v1/sites/{site['id']}/invoices/{april['id']}/payment-link", token=owner).json_body
    fake.answer(link["payment_id"], True)
    assert deliver_all() == ["applied", "duplicate", "refunded"]
    assert_books_balance()

    # an upgrade is charged in its own request, and a transfer for it races the card
    at(2027, 4, 10)
    assert api.post(f"/v1/sites/{site['id']}/tariff", {"code": "business"}, token=owner).status_code == 200
    upgrade = invoices(api, owner, site["id"])[0]
    assert upgrade["kind"] == "upgrade"
    assert deliver_all() == ["applied"]
    raced = api.webhook(transfer_event("evt-raced", upgrade["amount"], "UAH", upgrade["number"].lower()))
    assert raced.json_body["payment"]["reason"] == "invoice_already_paid"
    returned = api.post(f"/v1/operator/payments/{raced.json_body['payment']['id']}/return", token=ops)
    assert returned.status_code == 200
    sent = (Path(config.settings.bank_outbox_dir) / "payout_requests.jsonl").read_text().splitlines()
    assert [_json.loads(line)["amount"] for line in sent] == [upgrade["amount"]]

    # a success nobody asked for, resent under new event ids: parked once, and returned by the operator
    for n in range(3):
        body = {**acquirer.event(acquirer.SUCCEEDED, "cpy_stranger", Money(5000, "UAH")), "event_id": f"evt-s{n}"}
        raw = _json.dumps(body).encode()
        assert api.post("/v1/webhooks/acquirer", raw=raw,
                        headers={"X-Acquirer-Signature": acquirer.sign(raw)}).status_code == 200
    (stranger,) = [p for p in PaymentModel.scan(consistent_read=True) if p.acquirer_payment_id == "cpy_stranger"]
    assert api.post(f"/v1/operator/payments/{stranger.id}/return", token=ops).status_code == 200

    paid = [i for i in invoices(api, owner, site["id"]) if i["status"] == "paid"]
    assert {i["id"] for i in paid} == {march["id"], april["id"], upgrade["id"]}
    assert account("sys:revenue") == sum(i["amount"] for i in paid)
    assert account("sys:suspense") == 0 and account("sys:card_clearing") == 0
    assert {(p.outcome, p.status) for p in CardPaymentModel.scan(consistent_read=True)} == {
        ("applied", "succeeded"), ("duplicate", "refunded")}
    assert all(p.status == "returned" for p in PaymentModel.scan(consistent_read=True) if p.status != "credited")
    assert_books_balance()

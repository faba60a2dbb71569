"""Owners, deletion and operators of a site (seed 003), on moto with the local fake acquirer: a new owner starts
clean, a deletion writes nothing off silently, operators' acts are audited with who and why, and the shop reads
its own billing state with its key. The books are audited after every step that moves money."""
from __future__ import annotations

import pytest

from chalicelib.adapters import acquirer
from chalicelib.money import ledger
from chalicelib.money.ledger import System
from chalicelib.platform import clock
from chalicelib.platform.errors import UpstreamUnavailable
from chalicelib.services import timers
from chalicelib.store.models import (
    AuditLogModel,
    CardPaymentModel,
    DealModel,
    KeyModel,
    NotificationModel,
    ServiceInvoiceModel,
    SiteModel,
)
from tests.billing_support import add_tariffs, at, deliver, invoices, key_for, new_site, report
from tests.support import assert_books_balance, transfer_event

CARD = "4111111111111111"
HEIR_CONTACT = {"name": "Taras", "email": "taras@example.ua", "phone": "+380671112233"}


def _acts_on_sites() -> list[AuditLogModel]:
    """The operators' acts on sites in the audit log (adding the tests' tariffs is an act on tariffs)."""
    return [record for record in AuditLogModel.scan() if record.subject.startswith("site#")]


@pytest.fixture
def fake_acquirer():
    return acquirer.LocalAcquirer()


@pytest.fixture
def owner(api, operator_token):
    add_tariffs(api, operator_token)
    return api.signup("owner@example.ua", locale="uk", name="Olena")


def run_timers() -> None:
    while timers.fire_due(clock.now())["fired"]:
        pass


def _user_id(api, token: str) -> str:
    return api.get("/v1/me", token=token).json_body["id"]


def _params(user_id: str, kind: str) -> list[dict]:
    return [dict(n.params) for n in NotificationModel.query(user_id) if n.kind == kind]


def _balance(account: System) -> int:
    return sum(int(a.available) for a in ledger.owned_items(account.value) if a.currency == "UAH")


def _audit(api, operator_token: str, site_id: str) -> list[dict]:
    response = api.get(f"/v1/operator/sites/{site_id}/audit", token=operator_token)
    assert response.status_code == 200, response.body
    return response.json_body["items"]


def _save_card(api, token: str, site_id: str, fake) -> dict:
    started = api.post(f"/v1/sites/{site_id}/payment-method", token=token)
    assert started.status_code == 200, started.body
    fake.answer(started.json_body["payment_id"], True, CARD, "Olena Petrenko")
    deliver(api)
    deliver(api)
    return started.json_body


# --- a new owner starts clean -----------------------------------------------------------------------------------------

def test_a_new_owner_starts_clean_without_the_previous_owners_card_auto_pay_or_usage_key(api, owner, operator_token,
                                                                                          fake_acquirer):
    at(2027, 3, 17)
    site = new_site(api, owner)
    _save_card(api, owner, site["id"], fake_acquirer)
    key = key_for(api, owner, site["id"])
    assert api.get(f"/v1/sites/{site['id']}", token=owner).json_body["payment_method"]["card_mask"]
    heir = api.signup("heir@example.ua", locale="ru")
    heir_id, owner_id = _user_id(api, heir), _user_id(api, owner)

    moved = api.post(f"/v1/operator/sites/{site['id']}/owner",
                     {"owner": HEIR_CONTACT, "user_id": heir_id, "reason": "sold the shop, contract 17/03"},
                     token=operator_token)
    assert moved.status_code == 200, moved.body
    assert moved.json_body["owner_id"] == heir_id and moved.json_body["payment_method"] is None
    data = DealModel.get(site["id"]).data
    assert (data["autopay"], data["card_token"], data["charging"]) == (False, None, None)
    assert SiteModel.get(site["id"]).payment_method is None and SiteModel.get(site["id"]).key_hash is None
    assert report(api, site["id"], key, event_id="after-sale", orders=1).status_code == 401
    assert not [k for k in KeyModel.scan() if k.key.startswith("sitekey#")]
    assert [p["role"] for p in _params(heir_id, "owner_changed")] == ["new_owner"]
    assert [p["role"] for p in _params(owner_id, "owner_changed")] == ["previous_owner"]
    (record,) = _audit(api, operator_token, site["id"])
    assert record["action"] == "change_owner" and record["reason"] == "sold the shop, contract 17/03"
    assert (record["before"]["client_id"], record["after"]["client_id"]) == (owner_id, heir_id)
    assert record["before"]["autopay"] is True and record["after"]["autopay"] is False

    at(2027, 4, 1, 1)
    run_timers()
    april = invoices(api, heir, site["id"])[0]
    assert april["period"] == "2027-04" and april["status"] == "open"  # nobody's card was charged
    assert [p.purpose for p in CardPaymentModel.scan() if p.purpose == "autopay"] == []
    new_key = key_for(api, heir, site["id"])
    assert report(api, site["id"], new_key, event_id="heir-1", orders=1).status_code == 200
    assert_books_balance()


def test_changing_only_the_contact_keeps_the_card_and_the_key(api, owner, operator_token, fake_acquirer):
    at(2027, 3, 17)
    site = new_site(api, owner)
    _save_card(api, owner, site["id"], fake_acquirer)
    key = key_for(api, owner, site["id"])
    changed = api.post(f"/v1/operator/sites/{site['id']}/owner", {"owner": HEIR_CONTACT}, token=operator_token)
    assert changed.status_code == 200, changed.body
    assert changed.json_body["owner"] == HEIR_CONTACT and changed.json_body["payment_method"] is not None
    assert DealModel.get(site["id"]).data["autopay"] is True
    assert report(api, site["id"], key, event_id="same-owner", orders=1).status_code == 200
    assert [p["role"] for p in _params(_user_id(api, owner), "owner_changed")] == ["owner"]


def test_an_owner_change_to_an_unknown_user_or_by_a_non_operator_changes_nothing(api, owner, operator_token):
    site = new_site(api, owner)
    before = DealModel.get(site["id"]).version
    path = f"/v1/operator/sites/{site['id']}/owner"
    assert api.post(path, {"owner": HEIR_CONTACT, "user_id": "usr_nobody"}, token=operator_token).status_code == 404
    assert api.post(path, {"owner": HEIR_CONTACT}, token=owner).status_code == 403
    assert api.post(path, {"owner": HEIR_CONTACT, "reason": "x"}, token=operator_token).status_code == 422
    assert DealModel.get(site["id"]).version == before and _acts_on_sites() == []


# --- deletion ---------------------------------------------------------------------------------------------------------

def test_a_deleted_site_asks_again_for_a_pending_verification_refund_until_the_acquirer_confirms_it(
        api, owner, operator_token, fake_acquirer, monkeypatch):
    at(2027, 3, 17)
    site = new_site(api, owner)
    (invoice,) = invoices(api, owner, site["id"])
    api.webhook(transfer_event("evt-paid", invoice["amount"], "UAH", invoice["number"]))
    started = api.post(f"/v1/sites/{site['id']}/payment-method", token=owner).json_body
    assert started["purpose"] == "verify"
    fake_acquirer.answer(started["payment_id"], True, CARD, "Olena")

    def unavailable(self, payment_id, amount, acquirer_id=None):
        raise UpstreamUnavailable("acquirer_unavailable", "The acquirer did not answer")

    with monkeypatch.context() as patched:
        patched.setattr(acquirer.LocalAcquirer, "refund", unavailable)
        deliver(api)  # the 1.00 UAH taken; its refund is asked for and not taken
    assert _balance(System.CARD_CLEARING) == 100
    api.post(f"/v1/sites/{site['id']}/deletion-request", {"reasons": ["closing_business"]}, token=owner)
    done = api.post(f"/v1/operator/sites/{site['id']}/delete", token=operator_token)
    assert done.status_code == 200 and done.json_body["status"] == "deleted"
    deal = DealModel.get(site["id"])
    assert deal.timer_transition == "resend_refund" and deal.data["card_token"] is None

    at(2027, 3, 17, 10, 20)
    run_timers()
    deliver(api)  # the refund asked again, and now confirmed
    deal = DealModel.get(site["id"])
    assert deal.data["refunding"] == {} and deal.timer_transition is None and deal.status == "deleted"
    assert CardPaymentModel.get(started["payment_id"]).status == "refunded"
    assert _balance(System.CARD_CLEARING) == 0
    assert_books_balance()


# --- operators' acts, audited -----------------------------------------------------------------------------------------

def test_an_operator_writes_off_an_open_invoice_with_a_reason_in_the_ledger_the_audit_and_the_sites_history(
        api, owner, operator_token):
    at(2027, 3, 17)
    site = new_site(api, owner)
    (invoice,) = invoices(api, owner, site["id"])
    path = f"/v1/operator/sites/{site['id']}/invoices/{invoice['id']}/write-off"
    at(2027, 3, 23, 12)
    run_timers()
    assert api.get(f"/v1/sites/{site['id']}", token=owner).json_body["status"] == "past_due"

    for body in ({}, {"reason": ""}, {"reason": "x" * 501}):
        assert api.post(path, body, token=operator_token).status_code == 422
    assert api.post(path, {"reason": "goodwill"}, token=owner).status_code == 403
    assert api.post(f"/v1/operator/sites/{site['id']}/invoices/sin_nope/write-off", {"reason": "goodwill"},
                    token=operator_token).status_code == 404
    assert invoices(api, owner, site["id"])[0]["status"] == "open" and _acts_on_sites() == []

    written = api.post(path, {"reason": "goodwill: the shop was down a week"}, token=operator_token)
    assert written.status_code == 200, written.body
    assert written.json_body["status"] == "written_off"
    assert written.json_body["written_off"]["reason"] == "goodwill: the shop was down a week"
    assert invoices(api, owner, site["id"])[0]["status"] == "written_off"
    assert (_balance(System.WRITE_OFFS), _balance(System.WRITTEN_OFF)) == (-invoice["amount"], invoice["amount"])
    trial = api.get("/v1/operator/trial-balance", token=operator_token).json_body
    assert "sys:write_offs" in str(trial) and "sys:written_off" in str(trial)
    assert api.get(f"/v1/sites/{site['id']}", token=owner).json_body["status"] == "active"  # nothing overdue left
    (record,) = _audit(api, operator_token, site["id"])
    assert record["action"] == "write_off" and record["after"]["status"] == "written_off"
    assert record["actor_id"] == _user_id(api, operator_token)
    assert _params(_user_id(api, owner), "service_invoice_written_off")[0]["reason"].startswith("goodwill")
    again = api.post(path, {"reason": "twice"}, token=operator_token)
    assert again.status_code == 409 and again.json_body["error"]["code"] == "invoice_not_open"
    late = api.webhook(transfer_event("evt-late", invoice["amount"], "UAH", invoice["number"]))
    assert late.json_body["payment"]["status"] != "credited"  # a written-off invoice takes no money
    assert _balance(System.REVENUE) == 0
    assert_books_balance()


def test_completing_a_deletion_keeps_open_invoices_owed_until_paid_or_written_off(api, owner, operator_token):
    at(2027, 3, 17)
    site = new_site(api, owner)
    api.post(f"/v1/sites/{site['id']}/deletion-request", {"reasons": ["closing_business"]}, token=owner)
    api.post(f"/v1/operator/sites/{site['id']}/delete", token=operator_token)
    (invoice,) = invoices(api, owner, site["id"])
    assert invoice["status"] == "open"
    paid = api.webhook(transfer_event("evt-after", invoice["amount"], "UAH", invoice["number"]))
    assert paid.json_body["payment"]["status"] == "credited"
    assert invoices(api, owner, site["id"])[0]["status"] == "paid" and _balance(System.REVENUE) == invoice["amount"]
    assert DealModel.get(site["id"]).status == "deleted"
    assert_books_balance()


def test_an_operator_changes_the_tariff_by_the_owners_proration_rules_with_a_reason(api, owner, operator_token):
    at(2027, 3, 17)
    site = new_site(api, owner)
    path = f"/v1/operator/sites/{site['id']}/tariff"
    assert api.post(path, {"code": "business"}, token=operator_token).status_code == 422  # no reason
    assert api.post(path, {"code": "business", "reason": "asked by phone"}, token=owner).status_code == 403
    assert api.post(path, {"code": "nope", "reason": "asked by phone"}, token=operator_token).status_code == 422
    assert len(invoices(api, owner, site["id"])) == 1 and _acts_on_sites() == []

    changed = api.post(path, {"code": "business", "reason": "asked by phone"}, token=operator_token)
    assert changed.status_code == 200, changed.body
    upgrade = invoices(api, owner, site["id"])[0]
    assert upgrade["kind"] == "upgrade" and upgrade["amount"] == 15000  # 15 of 31 days of the 310.00 difference
    (record,) = _audit(api, operator_token, site["id"])
    assert (record["before"]["tariff"], record["after"]["tariff"]) == ("start", "business")
    assert record["reason"] == "asked by phone"
    downgrade = api.post(path, {"code": "start", "reason": "changed her mind"}, token=operator_token)
    assert downgrade.json_body["tariff"]["code"] == "business"  # from the next month, as for the owner
    assert [r["action"] for r in _audit(api, operator_token, site["id"])] == ["change_tariff", "change_tariff"]


def test_an_operator_turns_card_payments_back_on_and_the_next_card_payment_saves_the_card(
        api, owner, operator_token, fake_acquirer):
    at(2027, 3, 17)
    site = new_site(api, owner)
    path = f"/v1/operator/sites/{site['id']}/autopay"
    not_stopped = api.post(f"{path}/resume", {"reason": "owner asked"}, token=operator_token)
    assert not_stopped.status_code == 409 and not_stopped.json_body["error"]["code"] == "autopay_not_stopped"
    assert api.post(f"{path}/stop", token=operator_token).status_code == 200
    assert api.post(f"/v1/sites/{site['id']}/payment-method", token=owner).status_code == 409
    assert api.post(f"{path}/resume", {"reason": "owner asked"}, token=owner).status_code == 403
    assert api.post(f"{path}/resume", {}, token=operator_token).status_code == 422

    resumed = api.post(f"{path}/resume", {"reason": "the bank fixed the card"}, token=operator_token)
    assert resumed.status_code == 200, resumed.body
    _save_card(api, owner, site["id"], fake_acquirer)
    assert api.get(f"/v1/sites/{site['id']}", token=owner).json_body["payment_method"]["card_mask"]
    assert DealModel.get(site["id"]).data["autopay"] is True
    record, stopped = _audit(api, operator_token, site["id"])  # newest first; stopping it is audited too
    assert stopped["action"] == "stop_autopay" and stopped["after"]["autopay_stopped"] is True
    assert record["action"] == "resume_autopay" and record["before"]["autopay_stopped"] is True
    assert record["after"]["autopay_stopped"] is False
    assert_books_balance()


def test_only_operators_read_a_sites_audit_trail(api, owner, operator_token):
    site = new_site(api, owner)
    assert api.get(f"/v1/operator/sites/{site['id']}/audit", token=owner).status_code == 403
    assert api.get("/v1/operator/sites/site_nope/audit", token=operator_token).status_code == 404
    assert _audit(api, operator_token, site["id"]) == []


# --- "pay online" starts the subscription -----------------------------------------------------------------------------

def test_paying_an_invoice_online_saves_the_card_unless_unticked_and_changing_it_is_always_the_1_uah_check(
        api, owner, fake_acquirer):
    at(2027, 3, 17)
    site = new_site(api, owner)
    (march,) = invoices(api, owner, site["id"])
    link = api.post(f"/v1/sites/{site['id']}/invoices/{march['id']}/payment-link", token=owner).json_body
    fake_acquirer.answer(link["payment_id"], True, CARD, "Olena", save=False)  # the owner unticked the box
    deliver(api)
    assert invoices(api, owner, site["id"])[0]["status"] == "paid"
    assert DealModel.get(site["id"]).data.get("autopay") is not True
    assert api.get(f"/v1/sites/{site['id']}", token=owner).json_body["payment_method"] is None

    at(2027, 4, 1, 1)
    run_timers()
    (april,) = [i for i in invoices(api, owner, site["id"]) if i["period"] == "2027-04"]
    adding = api.post(f"/v1/sites/{site['id']}/payment-method", token=owner).json_body
    assert adding["purpose"] == "pay_invoice"  # adding a card pays the open invoice with it
    fake_acquirer.answer(adding["payment_id"], True, CARD, "Olena")
    deliver(api)
    assert invoices(api, owner, site["id"])[0]["status"] == "paid"
    at(2027, 5, 1, 1)
    run_timers()
    deliver(api)  # May's invoice charged to the saved card on the 1st
    assert [i["status"] for i in invoices(api, owner, site["id"]) if i["period"] == "2027-05"] == ["paid"]

    at(2027, 5, 2)
    changing = api.post(f"/v1/sites/{site['id']}/payment-method", token=owner).json_body
    assert changing["purpose"] == "verify" and CardPaymentModel.get(changing["payment_id"]).amount == 100
    fake_acquirer.answer(changing["payment_id"], True, "5375414100001234", "Olena")
    deliver(api)
    deliver(api)
    assert api.get(f"/v1/sites/{site['id']}", token=owner).json_body["payment_method"]["card_mask"] == \
        "537541******1234"
    assert april["status"] == "open"  # as read before it was paid
    assert_books_balance()


# --- requisites ------------------------------------------------------------------------------------------------------

def test_requisites_are_prefilled_from_the_owners_other_site_and_registry_corrections_are_kept_beside_it(
        api, owner, monkeypatch, tmp_path):
    from chalicelib.adapters.vchasno import LocalVchasno
    from chalicelib.platform import config
    from tests.billing_support import EDRPOU, IBAN

    monkeypatch.setenv("VCHASNO_LOCAL_FILE", str(tmp_path / "vchasno" / "accounts.json"))
    config.reload()
    first = new_site(api, owner)
    second = new_site(api, owner, domains=("second.example.ua",))
    empty = api.get(f"/v1/sites/{second['id']}/requisites", token=owner).json_body
    assert empty["tax_id"] is None and empty.get("prefilled_from") is None

    corrected = api.request("PUT", f"/v1/sites/{first['id']}/requisites",
                            {"tax_id": EDRPOU, "iban": IBAN, "director": "Петренко Олена Іванівна"}, token=owner)
    assert corrected.status_code == 200, corrected.body
    body = corrected.json_body
    assert body["director"] == "Петренко Олена Іванівна"
    assert body["registry"]["director"] and body["registry"]["director"] != body["director"]
    assert body["company_name"] == body["registry"]["company_name"]  # what was not corrected is the registry's

    prefilled = api.get(f"/v1/sites/{second['id']}/requisites", token=owner).json_body
    assert prefilled["prefilled_from"] == first["id"] and prefilled["updated_at"] is None
    assert (prefilled["tax_id"], prefilled["iban"], prefilled["director"]) == (EDRPOU, IBAN, "Петренко Олена Іванівна")
    stranger = api.signup("stranger@example.ua")
    assert api.get(f"/v1/sites/{second['id']}/requisites", token=stranger).status_code == 404

    path = f"/v1/sites/{second['id']}/requisites"
    refused = api.request("PUT", path, {"tax_id": EDRPOU, "iban": IBAN, "activate_vchasno": True}, token=owner)
    assert refused.status_code == 422 and refused.json_body["error"]["code"] == "vchasno_account_not_found"
    assert SiteModel.get(second["id"]).requisites is None  # neither saved nor activated
    assert SiteModel.get(second["id"]).vchasno == "not_activated"
    LocalVchasno().add(EDRPOU)
    both = api.request("PUT", path, {"tax_id": EDRPOU, "iban": IBAN, "activate_vchasno": True}, token=owner)
    assert both.status_code == 200, both.body
    assert both.json_body["vchasno"] == {"status": "activated"} and both.json_body["tax_id"] == EDRPOU
    kinds = [n.kind for n in NotificationModel.query(_user_id(api, owner))]
    assert "requisites_changed" in kinds and "vchasno_activated" in kinds
    assert api.request("PUT", path, {"tax_id": EDRPOU, "iban": IBAN, "address": ""}, token=owner).status_code == 422


# --- billing e-mails go to the site's contact person ------------------------------------------------------------------

def _mails_to(store, address: str) -> list:
    import email
    from email import policy
    from pathlib import Path

    mails = [email.message_from_bytes(p.read_bytes(), policy=policy.default)
             for p in sorted(Path(store.mail_sink_dir).glob("*.eml"))]
    return [m for m in mails if m["To"] == address]


def _deliver_all(user_id: str) -> None:
    from chalicelib.services import notifications

    for record in NotificationModel.query(user_id):
        notifications.deliver(user_id, record.id)


def test_billing_e_mails_go_to_the_sites_contact_in_her_language_and_a_new_contact_gets_the_next_one(
        api, owner, operator_token, store):
    at(2027, 3, 17)
    contact = {"name": "Оксана", "email": "accounts@shop.example.ua", "phone": "+380501234567", "locale": "ru"}
    created = api.post("/v1/sites", {"name": "Квіти", "domains": ["shop.example.ua"], "owner": contact,
                                     "tariff": "start"}, token=owner)
    assert created.status_code == 201, created.body
    assert api.post("/v1/sites", {"name": "X", "domains": ["x.example.ua"], "owner": {**contact, "locale": "xx"},
                                  "tariff": "start"}, token=owner).status_code == 422
    site = created.json_body
    owner_id = _user_id(api, owner)
    _deliver_all(owner_id)
    (issued,) = _mails_to(store, "accounts@shop.example.ua")
    assert issued["Subject"].startswith("Счёт HOR-10001-001")  # the contact's language, not the holder's
    assert [m["Subject"] for m in _mails_to(store, "owner@example.ua")]  # the holder still gets his own mail
    kinds = [n.kind for n in NotificationModel.query(owner_id)]
    assert "service_invoice_issued" in kinds  # and the notice in the cabinet feed

    new_contact = {"name": "Taras", "email": "taras@example.ua", "phone": "+380671112233"}
    assert api.post(f"/v1/operator/sites/{site['id']}/owner", {"owner": new_contact},
                    token=operator_token).status_code == 200
    (invoice,) = invoices(api, owner, site["id"])
    api.webhook(transfer_event("evt-contact", invoice["amount"], "UAH", invoice["number"]))
    _deliver_all(owner_id)
    (paid,) = _mails_to(store, "taras@example.ua")
    assert paid["Subject"].startswith("Рахунок HOR-10001-001")  # no language given: the holder's (uk)
    assert len(_mails_to(store, "accounts@shop.example.ua")) == 1


# --- the shop's own view ----------------------------------------------------------------------------------------------

@pytest.mark.usefixtures("still_clock")
def test_the_shop_reads_its_billing_state_with_its_key_and_a_payment_link_kept_for_30_minutes(api, owner):
    at(2027, 3, 17)
    site = new_site(api, owner)
    key = key_for(api, owner, site["id"])
    path = f"/v1/sites/{site['id']}/status"
    (invoice,) = invoices(api, owner, site["id"])
    assert api.get(path).status_code == 401
    assert api.get(path, headers={"X-Site-Key": "sk_wrong"}).status_code == 401
    assert api.get(path, token=owner).status_code == 401  # the shop's key, not a person's token
    other = new_site(api, owner, domains=("other.example.ua",))
    assert api.get(f"/v1/sites/{other['id']}/status", headers={"X-Site-Key": key}).status_code == 401

    shown = api.get(path, headers={"X-Site-Key": key})
    assert shown.status_code == 200, shown.body
    body = shown.json_body
    assert body["status"] == "active" and body["blocked_since"] is None
    oldest = body["oldest_open_invoice"]
    assert (oldest["number"], oldest["amount"], oldest["due_at"]) == (
        invoice["number"], {"amount": invoice["amount"], "currency": "UAH"}, invoice["due_at"])
    assert "/web/checkout/" in oldest["payment_url"]
    at(2027, 3, 17, 10, 29)
    assert api.get(path, headers={"X-Site-Key": key}).json_body["oldest_open_invoice"]["payment_url"] == \
        oldest["payment_url"]
    at(2027, 3, 17, 10, 31)
    assert api.get(path, headers={"X-Site-Key": key}).json_body["oldest_open_invoice"]["payment_url"] != \
        oldest["payment_url"]

    at(2027, 3, 27, 0, 1)
    run_timers()
    blocked = api.get(path, headers={"X-Site-Key": key}).json_body
    assert blocked["status"] == "blocked"
    assert blocked["blocked_since"] == "2027-03-26T22:01:00Z"  # when the job blocked it
    api.webhook(transfer_event("evt-pay", invoice["amount"], "UAH", invoice["number"]))
    assert api.get(path, headers={"X-Site-Key": key}).json_body == {
        "status": "active", "blocked_since": None, "oldest_open_invoice": None}
    assert ServiceInvoiceModel.get(invoice["id"]).status == "paid"
    assert_books_balance()

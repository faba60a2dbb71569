"""Stateful property of a site's paying life, on the service layer with the local fake acquirer:
the clock moves and the timer job runs (invoices, auto-charges, retries, dunning), the owner pays by link,
saves a good or a declined card, pays by bank transfer, and the acquirer's webhooks arrive once, twice,
late or out of order. After every step: no invoice is paid twice (revenue is exactly the paid invoices),
no site is past due or blocked with nothing overdue, the card clearing account holds exactly the
verifications whose refund is pending, and the books balance."""
from __future__ import annotations

import hashlib
import itertools
import os
from datetime import timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from chalicelib.access.auth import Principal
from chalicelib.adapters import acquirer
from chalicelib.money.ledger import System
from chalicelib.platform import clock, config
from chalicelib.platform.errors import Conflict
from chalicelib.processes.site_deal import OVERDUE_AFTER
from chalicelib.services import bank, card_payments, sites, tariff_catalog, timers
from chalicelib.store.models import AccountModel, CardPaymentModel, DealModel, ServiceInvoiceModel
from tests.billing_support import OWNER
from tests.support import assert_books_balance

_runs = itertools.count()
GOOD, DECLINED = "4111111111111111", "4000000000000002"


def _token(card: str) -> str:
    return "tok_" + hashlib.sha256(card.encode()).hexdigest()[:24]


def _balance(owner_id: str) -> int:
    return sum(int(a.available) for a in AccountModel.query(owner_id, consistent_read=True) if a.currency == "UAH")


class SitePaymentsMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        os.environ["ACQUIRER_DECLINE_TOKENS"] = _token(DECLINED)
        config.reload()
        acquirer.LocalAcquirer().take_outbox()  # nothing of an earlier example
        self.run = next(_runs)
        self.owner = Principal(f"usr_owner{self.run}", ("client",))
        operator = Principal(f"usr_op{self.run}", ("operator",))
        code = f"plan{self.run}"
        tariff_catalog.create(operator, code, "Plan", {"amount": 31000, "currency": "UAH"},
                              {"products": 100, "orders_per_month": 50}, [])
        self.site = sites.create(self.owner, "Shop", [f"shop{self.run}.example.ua"], OWNER, code)[1]["id"]
        self.held: list[dict] = []  # webhooks held back, delivered late
        self.revenue_before = _balance(System.REVENUE.value)
        self.paid_before = self._paid_total()
        self.transfers = itertools.count()

    def _paid_total(self) -> int:
        return sum(int(i.amount) for i in ServiceInvoiceModel.scan(consistent_read=True) if i.status == "paid")

    def _open(self) -> list[ServiceInvoiceModel]:
        return sorted((i for i in ServiceInvoiceModel.by_site.query(self.site) if i.status == "open"),
                      key=lambda i: i.seq)

    def _apply(self, body: dict) -> None:
        answer = card_payments.receive(card_payments.AcquirerEvent(
            event_id=body["event_id"], type=body["type"], payment_id=body["payment_id"], amount_minor=body["amount"],
            currency=body["currency"], card=body.get("card")))
        assert answer["received"] is True

    # --- moves ----------------------------------------------------------------------------------------------------

    @rule(hours=st.integers(min_value=1, max_value=24 * 9))
    def time_passes(self, hours):
        clock.advance(timedelta(hours=hours).total_seconds())
        while timers.fire_due(clock.now())["fired"]:
            pass

    @rule(pays=st.booleans())
    def pay_by_link(self, pays):
        still_open = self._open()
        if not still_open:
            return
        link = card_payments.payment_link(self.owner, self.site, still_open[0].id)[1]
        if acquirer.LocalAcquirer().load(link["payment_id"])["status"] == "created":
            acquirer.LocalAcquirer().answer(link["payment_id"], pays)

    @rule(card=st.sampled_from([GOOD, DECLINED]))
    def save_card(self, card):
        try:
            started = card_payments.payment_method(self.owner, self.site)[1]
        except Conflict as refused:
            assert refused.code in ("site_deleted", "autopay_stopped")
            return
        acquirer.LocalAcquirer().answer(started["payment_id"], card == GOOD, card, "Olena")

    @rule()
    def bank_transfer(self):
        still_open = self._open()
        if still_open:
            invoice = still_open[-1]
            bank.receive_transfer(bank.IncomingTransfer(
                event_id=f"evt-{self.run}-{next(self.transfers)}", amount_minor=int(invoice.amount), currency="UAH",
                purpose=invoice.number, payer={"name": "Shop"}, received_at=clock.iso(clock.now())))

    @rule(how=st.lists(st.sampled_from(["once", "twice", "later"]), min_size=1, max_size=6))
    def webhooks_arrive(self, how):
        for body, mode in zip(acquirer.LocalAcquirer().take_outbox(), itertools.cycle(how), strict=False):
            if mode == "later":
                self.held.append(body)
                continue
            for _ in range(2 if mode == "twice" else 1):
                self._apply(body)

    @precondition(lambda self: self.held)
    @rule(reverse=st.booleans())
    def late_webhooks_arrive(self, reverse):
        late, self.held = self.held, []
        for body in reversed(late) if reverse else late:
            self._apply(body)

    # --- promises -------------------------------------------------------------------------------------------------

    @invariant()
    def no_invoice_is_paid_twice(self):
        earned = _balance(System.REVENUE.value) - self.revenue_before
        assert earned == self._paid_total() - self.paid_before

    @invariant()
    def no_site_is_dunned_with_nothing_overdue(self):
        deal = DealModel.get(self.site, consistent_read=True)
        if deal.status in ("past_due", "blocked"):
            overdue = [i for i in self._open() if clock.parse_iso(i.due_at) + OVERDUE_AFTER <= clock.now()]
            assert overdue, f"{deal.status} with nothing overdue"

    @invariant()
    def the_clearing_account_holds_only_verifications_awaiting_their_refund(self):
        pending = sum(int(p.amount) for p in CardPaymentModel.scan(consistent_read=True)
                      if p.status == card_payments.REFUND_PENDING)
        assert _balance(System.CARD_CLEARING.value) == pending

    @invariant()
    def the_books_balance(self):
        assert_books_balance()

    def teardown(self):
        for body in acquirer.LocalAcquirer().take_outbox() + self.held:
            self._apply(body)
        self.the_clearing_account_holds_only_verifications_awaiting_their_refund()
        self.no_invoice_is_paid_twice()
        os.environ.pop("ACQUIRER_DECLINE_TOKENS", None)
        config.reload()
        clock.reset()


SitePaymentsMachine.TestCase.settings = settings(
    max_examples=10, stateful_step_count=20, deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
test_a_sites_payments_keep_their_promises = SitePaymentsMachine.TestCase


# --- owners and deletion mid-month ------------------------------------------------------------------------------------
# The same paying life, in which the site also changes hands and is deleted at any step. Besides the promises
# above: every charge of a saved card is the card of the owner of the time (an owner change forgets the card),
# open invoices are never voided by a deletion, and a deleted site keeps a timer exactly while a verification
# refund is awaited.

class SiteOwnersMachine(SitePaymentsMachine):
    def __init__(self) -> None:
        super().__init__()
        self.operator = Principal(f"usr_op{self.run}", ("operator",))
        self.owners: list[tuple[str, str]] = [("", self.owner.user_id)]  # (since, owner id)
        self.heirs = itertools.count()

    def _deleted(self) -> bool:
        return DealModel.get(self.site, consistent_read=True).status == "deleted"

    @precondition(lambda self: not self._deleted())
    @rule(new_owner=st.booleans())
    def owner_changes(self, new_owner):
        from chalicelib.store.models import UserModel

        user_id = None
        if new_owner:
            user_id = f"usr_heir{self.run}x{next(self.heirs)}"
            UserModel(user_id, email=f"{user_id}@example.ua", name="Heir", locale="uk", timezone="Europe/Kyiv",
                      password_hash="-", roles=["client"], created_at=clock.iso(clock.now())).save()
        sites.change_owner(self.operator, self.site, OWNER, user_id, "sold")
        deal = DealModel.get(self.site, consistent_read=True)
        if user_id:
            assert deal.data["card_token"] is None and not deal.data["autopay"]
            self.owner = Principal(user_id, ("client",))
            self.owners.append((clock.iso(clock.now()), user_id))

    @precondition(lambda self: not self._deleted())
    @rule()
    def site_is_deleted(self):
        if DealModel.get(self.site, consistent_read=True).status != "deletion_requested":
            sites.request_deletion(self.owner, self.site, ["other"], "")
        sites.complete_deletion(self.operator, self.site)
        assert DealModel.get(self.site, consistent_read=True).data["card_token"] is None

    @rule(pays=st.booleans())
    def pay_by_link(self, pays):
        if not self._deleted():  # a deleted site's owner has no payment links: his invoices are paid by transfer
            super().pay_by_link(pays)

    @invariant()
    def every_charge_is_the_card_of_the_owner_of_its_time(self):
        for payment in CardPaymentModel.by_site.query(self.site):
            if payment.purpose == card_payments.AUTOPAY:
                owner_then = [owner for since, owner in self.owners if since <= payment.created_at][-1]
                assert payment.owner_id == owner_then, f"{payment.id} charged {payment.owner_id}, not {owner_then}"

    @invariant()
    def a_deletion_voids_nothing(self):
        assert [i.id for i in ServiceInvoiceModel.by_site.query(self.site) if i.status == "void"] == []

    @invariant()
    def a_deleted_site_waits_only_for_its_refunds(self):
        deal = DealModel.get(self.site, consistent_read=True)
        if deal.status == "deleted":
            awaited = bool((deal.data or {}).get("refunding"))
            assert (deal.timer_transition == "resend_refund") == awaited, deal.timer_transition


SiteOwnersMachine.TestCase.settings = settings(
    max_examples=5, stateful_step_count=15, deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
test_a_sites_payments_keep_their_promises_through_owner_changes_and_deletion = SiteOwnersMachine.TestCase

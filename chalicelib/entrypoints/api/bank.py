"""The bank's side: its signed webhook (incoming transfers, payout answers), payouts, and operators
resolving unmatched payments."""
from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint

from chalicelib.entrypoints.api.http import Call, endpoint, parse_body, raw_body
from chalicelib.entrypoints.api.http import schema_names as s
from chalicelib.platform.lazy import lazy_modules

if TYPE_CHECKING:
    from chalicelib.services import balances, bank, payouts
else:  # loaded when a route first runs (chalicelib/platform/lazy.py)
    balances, bank, payouts = lazy_modules("chalicelib.services", "balances", "bank", "payouts")

bp = Blueprint(__name__)


@endpoint(bp, "POST", "/v1/webhooks/bank", summary="Bank callback (X-Bank-Signature: t=<unix>,v1=<hex HMAC>)",
          tag="bank", request=s.BankEventIn, response=s.WebhookAck, auth_="bank", moves_money=True)
def bank_webhook(call: Call):
    raw = raw_body(call.request)  # its signature was checked before it was parsed (auth_="bank")
    if call.body.type in ("payout.paid", "payout.failed"):
        answer = parse_body(s.PayoutEventIn, raw)
        return payouts.settle(answer.event_id, answer.payout_id, answer.type == "payout.paid", answer.reason)
    if call.body.type != "transfer.incoming":
        return {"received": True, "ignored": True}
    event = parse_body(s.TransferIncomingIn, raw)
    return bank.receive_transfer(bank.IncomingTransfer(
        event_id=event.event_id, amount_minor=event.amount, currency=event.currency, purpose=event.purpose,
        payer=event.payer.model_dump(), received_at=event.received_at))


@endpoint(bp, "GET", "/v1/operator/payments/unmatched", summary="Bank payments waiting for an operator",
          tag="operator", response=s.PaymentList, auth_="operator", query=("limit", "cursor"), errors=(422,))
def list_unmatched(call: Call):
    return bank.list_unmatched(call.user, call.limit, call.cursor)


@endpoint(bp, "GET", "/v1/operator/payments/{payment_id}", summary="One bank payment", tag="operator",
          response=s.PaymentOut, auth_="operator")
def get_payment(call: Call):
    return bank.get_payment(call.user, call.params["payment_id"])


@endpoint(bp, "POST", "/v1/operator/payments/{payment_id}/apply", summary="Apply an unmatched payment to an invoice "
          "(another amount than it still asks only with a reason, audited: less leaves it open for the rest, more "
          "keeps the surplus as the site's credit)", tag="operator", request=s.ApplyPaymentIn, response=s.PaymentOut,
          auth_="operator", errors=(409,), moves_money=True)
def apply_payment(call: Call):
    return bank.apply_to_invoice(call.user, call.params["payment_id"], call.body.invoice_id, call.body.reason)


@endpoint(bp, "POST", "/v1/operator/payments/{payment_id}/return", summary="Mark an unmatched payment for return",
          tag="operator", response=s.PaymentOut, auth_="operator", errors=(409,), moves_money=True)
def return_payment(call: Call):
    return bank.mark_for_return(call.user, call.params["payment_id"])


@endpoint(bp, "GET", "/v1/operator/trial-balance", summary="Every currency's accounts summed: must be zero",
          tag="operator", response=s.TrialBalanceOut, auth_="operator")
def trial_balance(call: Call):
    return balances.trial_balance(call.user)


@endpoint(bp, "POST", "/v1/payouts", summary="Withdraw to a card or an IBAN: the amount is held until the bank answers",
          tag="money", status=201, request=s.PayoutIn, response=s.PayoutOut, errors=(409,), moves_money=True)
def request_payout(call: Call):
    body = call.body
    return payouts.request(call.user, body.amount, body.currency, body.destination.type, body.destination.number)


@endpoint(bp, "GET", "/v1/payouts", summary="My payouts, newest first", tag="money", response=s.PayoutList,
          query=("limit", "cursor"), errors=(422,))
def list_payouts(call: Call):
    return payouts.list_mine(call.user, call.limit, call.cursor)


@endpoint(bp, "GET", "/v1/payouts/{payout_id}", summary="One payout", tag="money", response=s.PayoutOut)
def get_payout(call: Call):
    return payouts.get(call.user, call.params["payout_id"])

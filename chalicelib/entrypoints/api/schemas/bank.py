"""Money in and out: top-up invoices, the bank's webhook, incoming payments, payouts and the trial balance."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, StrictInt

from chalicelib.entrypoints.api.schemas.common import MAX_AMOUNT, ApiModel, CurrencyCode, MoneyOut, RequestModel


class InvoiceIn(RequestModel):
    amount: StrictInt = Field(gt=0, le=MAX_AMOUNT, description="minor units, e.g. 150000 = 1,500.00 USD")
    currency: str = CurrencyCode


class Payer(RequestModel):
    name: str = Field(max_length=200)
    iban: str = Field(default="", max_length=64)


class BankEventIn(RequestModel):
    event_id: str = Field(min_length=1, max_length=200)
    type: str = Field(min_length=1, max_length=100)


class TransferIncomingIn(BankEventIn):
    type: Literal["transfer.incoming"]
    amount: StrictInt = Field(gt=0, lt=10**38, description=(
        "minor units; a transfer above the bound of its currency is parked as unmatched (amount_out_of_range)"))
    currency: str = CurrencyCode
    purpose: str = Field(max_length=2000)
    payer: Payer
    received_at: str = Field(min_length=1, max_length=64)


class ApplyPaymentIn(RequestModel):
    invoice_id: str = Field(min_length=1, max_length=100)
    reason: str | None = Field(default=None, min_length=3, max_length=500, description=(
        "why (kept in the audit trail); needed to apply a payment that is not exactly what the invoice still asks: "
        "less leaves it open for the rest, more pays it and keeps the surplus as the site's credit"))


class InvoiceOut(ApiModel):
    id: str
    number: str = Field(examples=["PI-2026-000001"])
    amount: int
    currency: str
    status: Literal["open", "paid"]
    payment_details: str
    created_at: str
    paid_at: str | None
    pdf_url: str
    kind: Literal["proforma", "card_topup"] = Field(default="proforma", description=(
        "a proforma paid by bank transfer, or a card top-up (its PDF is then the receipt)"))
    amount_paid: int = Field(description="paid so far (parts of transfers an operator applied)")
    amount_due: int = Field(description="what is still to pay: amount − amount_paid (0 once paid)")


class InvoiceList(ApiModel):
    items: list[InvoiceOut]
    next_cursor: str | None


class PaymentOut(ApiModel):
    id: str
    event_id: str
    amount: int
    currency: str
    purpose: str
    payer: dict
    received_at: str
    status: Literal["credited", "unmatched", "applied", "returned"]
    reason: str | None
    invoice_id: str | None
    resolved_by: str | None
    resolved_at: str | None


class PaymentList(ApiModel):
    items: list[PaymentOut]
    next_cursor: str | None


class PayoutOut(ApiModel):
    id: str
    amount: int
    currency: str
    method: Literal["card", "iban"]
    destination: str = Field(description="masked: •••• 1111 for a card, DE89 •••• 3000 for an IBAN")
    status: Literal["pending", "paid", "failed"]
    created_at: str
    sent_at: str | None
    decided_at: str | None
    failure_reason: str | None


class PayoutList(ApiModel):
    items: list[PayoutOut]
    next_cursor: str | None


class WebhookAck(ApiModel):
    received: bool
    duplicate: bool = False
    ignored: bool = False
    payment: PaymentOut | None = None
    payout: PayoutOut | None = None


class TrialBalanceLine(ApiModel):
    currency: str
    total: int
    balanced: bool
    accounts: dict[str, int]


class TrialBalanceOut(ApiModel):
    items: list[TrialBalanceLine]
    balanced: bool


class Destination(RequestModel):
    type: Literal["card", "iban"]
    number: str = Field(min_length=1, max_length=64, description="card number (Luhn-checked) or IBAN")


class PayoutIn(RequestModel):
    amount: StrictInt = Field(gt=0, le=MAX_AMOUNT, description="minor units")
    currency: str = CurrencyCode
    destination: Destination


class PayoutEventIn(RequestModel):
    event_id: str = Field(min_length=1, max_length=200)
    type: Literal["payout.paid", "payout.failed"]
    payout_id: str = Field(min_length=1, max_length=100)
    reason: str = Field(default="", max_length=1000)


class TopupIn(RequestModel):
    amount: StrictInt = Field(gt=0, le=MAX_AMOUNT, description="minor units credited to the balance; a fee, if any, "
                                                                "is charged on top")
    currency: str = CurrencyCode


class TopupOut(ApiModel):
    id: str = Field(examples=["top_01j..."])
    number: str
    amount: int
    currency: str
    status: Literal["pending", "paid"]
    payment_url: str | None = Field(description="the acquirer's payment page (POST …/payment-link renews it)")
    expires_at: str | None
    fee: MoneyOut = Field(description="charged on top of the amount (CARD_TOPUP_FEE_BPS; none by default)")
    total: MoneyOut = Field(description="what the card pays: amount + fee")
    action: dict | None = Field(description="what the top-up completes once paid: {kind: place_order|accept_offer|"
                                            "pay_extra|fund_contract, ids}")
    action_result: dict | None = Field(description="{status: completed, order_id|contract_id} or {status: failed, "
                                                   "reason}: a failed action leaves the money on the balance")
    created_at: str
    paid_at: str | None
    receipt_url: str


class ConsoleApplyPaymentForm(ApiModel):
    """The console's form applying an unmatched payment to an invoice (checked by the page, which says what is
    missing in the reader's language)."""

    csrf: str = Field(min_length=1, max_length=100)
    invoice_id: str = Field(default="", max_length=100, description="the chosen candidate invoice's id")
    invoice_number: str = Field(default="", max_length=100, description="or another invoice's number or id, typed "
                                                                        "(it wins over the choice)")
    reason: str = Field(default="", max_length=500, description="why (kept in the audit trail); the console asks "
                                                                "for it on every application")


class ConsoleReturnPaymentForm(ApiModel):
    csrf: str = Field(min_length=1, max_length=100)
    reason: str = Field(default="", max_length=500, description="why it goes back (kept in the audit trail)")


class ConsoleBooksAuditForm(ApiModel):
    csrf: str = Field(min_length=1, max_length=100)

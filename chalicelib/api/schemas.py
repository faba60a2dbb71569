"""Request and response shapes. Requests are validated with these models; responses are
documented with them in the OpenAPI document."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StrictInt

Locale = Literal["en", "ru", "uk", "fa"]
CurrencyCode = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code: USD, EUR, UAH or IRR")


class _In(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)


# Requests ------------------------------------------------------------------------------------

class SignupIn(_In):
    email: EmailStr
    password: str = Field(min_length=8, max_length=128)
    name: str = Field(min_length=1, max_length=100)
    locale: Locale = "en"


class LoginIn(_In):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=128)


class InvoiceIn(_In):
    amount: StrictInt = Field(gt=0, description="minor units, e.g. 150000 = 1,500.00 USD")
    currency: str = CurrencyCode


class Payer(_In):
    name: str = Field(max_length=200)
    iban: str = Field(default="", max_length=64)


class BankEventIn(_In):
    event_id: str = Field(min_length=1, max_length=200)
    type: str = Field(min_length=1, max_length=100)


class TransferIncomingIn(BankEventIn):
    type: Literal["transfer.incoming"]
    amount: StrictInt = Field(gt=0)
    currency: str = CurrencyCode
    purpose: str = Field(max_length=2000)
    payer: Payer
    received_at: str = Field(min_length=1, max_length=64)


class ApplyPaymentIn(_In):
    invoice_id: str = Field(min_length=1, max_length=100)


class GigIn(_In):
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=5000)
    amount: StrictInt = Field(gt=0, description="minor units")
    currency: str = CurrencyCode
    delivery_days: StrictInt = Field(ge=1, le=365)


class OrderIn(_In):
    gig_id: str = Field(min_length=1, max_length=100)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$",
                                 description="optional: refuse unless the gig is priced in this currency")


class MessageIn(_In):
    message: str = Field(min_length=1, max_length=5000)


class ReasonIn(_In):
    reason: str = Field(min_length=1, max_length=1000)


class ClockIn(_In):
    advance_seconds: StrictInt = Field(ge=0, le=10 * 365 * 24 * 3600)


# Responses -----------------------------------------------------------------------------------

class ErrorBody(BaseModel):
    code: str
    message: str
    field: str | None = None


class ErrorOut(BaseModel):
    error: ErrorBody


class UserOut(BaseModel):
    id: str
    email: str
    name: str
    locale: Locale
    roles: list[str]
    created_at: str


class SignupOut(BaseModel):
    user: UserOut
    token: str


class TokenOut(BaseModel):
    token: str


class BalanceLine(BaseModel):
    currency: str
    available: int
    held: int


class BalancesOut(BaseModel):
    items: list[BalanceLine]


class InvoiceOut(BaseModel):
    id: str
    number: str = Field(examples=["PI-2026-000001"])
    amount: int
    currency: str
    status: Literal["open", "paid"]
    payment_details: str
    created_at: str
    paid_at: str | None
    pdf_url: str


class InvoiceList(BaseModel):
    items: list[InvoiceOut]
    next_cursor: str | None


class PaymentOut(BaseModel):
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


class PaymentList(BaseModel):
    items: list[PaymentOut]
    next_cursor: str | None


class WebhookAck(BaseModel):
    received: bool
    duplicate: bool = False
    ignored: bool = False
    payment: PaymentOut | None = None


class StatementLine(BaseModel):
    entry_id: str
    kind: str
    currency: str
    bucket: Literal["available", "held"]
    amount: int
    ref: str | None
    created_at: str


class StatementList(BaseModel):
    items: list[StatementLine]
    next_cursor: str | None


class TrialBalanceLine(BaseModel):
    currency: str
    total: int
    balanced: bool
    accounts: dict[str, int]


class TrialBalanceOut(BaseModel):
    items: list[TrialBalanceLine]
    balanced: bool


class NotificationOut(BaseModel):
    id: str
    kind: str
    title: str
    body: str
    params: dict
    created_at: str
    read_at: str | None


class NotificationList(BaseModel):
    items: list[NotificationOut]
    next_cursor: str | None


class GigOut(BaseModel):
    id: str
    contractor_id: str
    title: str
    description: str
    amount: int
    currency: str
    delivery_days: int
    status: Literal["active", "paused"]
    created_at: str


class GigList(BaseModel):
    items: list[GigOut]
    next_cursor: str | None


class OrderOut(BaseModel):
    id: str
    gig_id: str
    client_id: str
    contractor_id: str
    title: str
    amount: int
    currency: str
    commission: int
    status: Literal["not_started", "in_progress", "on_review", "completed", "cancelled"]
    delivery_days: int
    deadline_at: str | None
    review_due_at: str | None
    last_message: str | None
    closed_reason: str | None
    created_at: str
    version: int
    history: list[dict]


class OrderList(BaseModel):
    items: list[OrderOut]
    next_cursor: str | None


class ClockOut(BaseModel):
    now: str
    offset_seconds: float


class JobsOut(BaseModel):
    now: str
    jobs: dict[str, dict]

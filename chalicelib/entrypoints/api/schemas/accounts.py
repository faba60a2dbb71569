"""Accounts: sign-up, log-in, the user, passwords, balances, statements and the notification feed."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import EmailStr, Field, StrictBool, StringConstraints

from chalicelib.entrypoints.api.schemas.common import ApiModel, Locale, RequestModel, TimeZone


class SignupIn(RequestModel):
    email: EmailStr
    password: str = Field(min_length=8, max_length=128)
    name: str = Field(min_length=1, max_length=100)
    locale: Locale = "en"
    timezone: TimeZone | None = Field(default=None, description="default: the locale's marketplace's zone")


class MeIn(RequestModel):
    """What a user may change about himself; a field left out stays as it is."""

    locale: Locale | None = None
    timezone: TimeZone | None = None


class LoginIn(RequestModel):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=128)


class PasswordChangeIn(RequestModel):
    current_password: str = Field(min_length=1, max_length=128)
    new_password: str = Field(min_length=8, max_length=128)


class PasswordResetIn(RequestModel):
    email: str = Field(min_length=3, max_length=254)


class EmailConfirmIn(RequestModel):
    token: str = Field(min_length=1, max_length=200, description="from the confirmation link e-mailed at sign-up")


class PasswordResetConfirmIn(RequestModel):
    token: str = Field(min_length=1, max_length=200,
                       description="from the link e-mailed by POST /v1/auth/password-reset")
    password: str = Field(min_length=8, max_length=128)


class EmailConfirmationHint(ApiModel):
    resend: str = Field(description="the route that e-mails a new confirmation link")
    message: str


class UserOut(ApiModel):
    id: str
    email: str
    name: str
    locale: Locale
    timezone: str = Field(description="IANA time zone name")
    roles: list[str]
    created_at: str
    email_confirmed: bool = Field(description="whether the address was proven by its e-mailed link")
    email_confirmation: EmailConfirmationHint | None = Field(
        default=None, description="until the address is confirmed: how to get a new link")


class SignupOut(ApiModel):
    user: UserOut
    token: str | None = Field(default=None, description="absent when a stored answer is replayed (Idempotency-Key): "
                                                        "a replay never starts a session; log in instead")


class TokenOut(ApiModel):
    token: str | None = Field(default=None, description="absent when a stored answer is replayed (Idempotency-Key)")


class BalanceLine(ApiModel):
    currency: str
    available: int
    held: int


class BalancesOut(ApiModel):
    items: list[BalanceLine]


class StatementLine(ApiModel):
    entry_id: str
    kind: str
    currency: str
    bucket: Literal["available", "held"]
    amount: int
    ref: str | None
    created_at: str


class StatementList(ApiModel):
    items: list[StatementLine]
    next_cursor: str | None


class NotificationOut(ApiModel):
    id: str
    kind: str
    title: str
    body: str
    link: str = Field(description="the page where the reader acts on it (the same as the e-mail's button)")
    params: dict
    created_at: str
    read_at: str | None


class NotificationList(ApiModel):
    items: list[NotificationOut]
    next_cursor: str | None


NotificationKind = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class EmailSettingOut(ApiModel):
    kind: str = Field(description="a notification kind")
    group: Literal["security", "action", "money", "deadline", "other_party", "account"] = Field(
        description="security and action: always e-mailed (action: something a party must act on); the others "
                    "optional")
    mandatory: bool = Field(description="whether its e-mail can be turned off (false: it can)")
    email: bool = Field(description="whether it is e-mailed (the cabinet feed has every kind whatever this says)")


class EmailSettingsOut(ApiModel):
    own_actions: bool = Field(description="whether notifications of the user's own actions are e-mailed too "
                                          "(default false; security e-mails always are)")
    items: list[EmailSettingOut]


class EmailSettingsIn(RequestModel):
    """What to change; a kind left out keeps its setting."""

    email: dict[NotificationKind, StrictBool] = Field(default_factory=dict, max_length=100,
                                                description="kind → e-mail on (true) or off (false)")
    own_actions: StrictBool | None = None

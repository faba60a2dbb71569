"""Sign-up, log-in, the current user, balances, statement and notifications."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.http import Call, endpoint
from chalicelib.api.http import schema_names as s
from chalicelib.services import accounts, balances, notifications

bp = Blueprint(__name__)


@endpoint(bp, "POST", "/v1/auth/signup", summary="Create an account", tag="accounts", status=201,
          request=s.SignupIn, response=s.SignupOut, auth_="none", errors=(409,))
def signup(call: Call):
    body = call.body
    return accounts.signup(str(body.email), body.password, body.name, body.locale, body.timezone)


@endpoint(bp, "POST", "/v1/auth/login", summary="Log in and get a bearer token", tag="accounts",
          request=s.LoginIn, response=s.TokenOut, auth_="none", errors=(401,))
def login(call: Call):
    return accounts.login(call.body.email, call.body.password)


@endpoint(bp, "GET", "/v1/me", summary="The signed-in user", tag="accounts", response=s.UserOut)
def me(call: Call):
    return accounts.me(call.user)


@endpoint(bp, "PATCH", "/v1/me", summary="Change the signed-in user's language or time zone", tag="accounts",
          request=s.MeIn, response=s.UserOut, errors=(422,))
def update_me(call: Call):
    return accounts.update_me(call.user, locale=call.body.locale, timezone=call.body.timezone)


@endpoint(bp, "GET", "/v1/balances", summary="Balances, one line per currency", tag="money", response=s.BalancesOut)
def get_balances(call: Call):
    return balances.balances(call.user)


@endpoint(bp, "GET", "/v1/ledger", summary="The user's own journal lines, newest first", tag="money",
          response=s.StatementList, query=("limit", "cursor", "currency"), errors=(422,))
def get_ledger(call: Call):
    return balances.statement(call.user, call.limit, call.cursor, call.query.get("currency"))


@endpoint(bp, "GET", "/v1/notifications", summary="In-cabinet notifications, newest first", tag="notifications",
          response=s.NotificationList, query=("limit", "cursor"), errors=(422,))
def list_notifications(call: Call):
    return notifications.list_for(call.user.user_id, call.limit, call.cursor)


@endpoint(bp, "POST", "/v1/notifications/{notification_id}/read", summary="Mark a notification read",
          tag="notifications", response=s.NotificationOut)
def read_notification(call: Call):
    return notifications.mark_read(call.user.user_id, call.params["notification_id"])

"""Sign-up, log-in, the current user, balances, statement and notifications."""
from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint

from chalicelib.entrypoints.api.http import Call, endpoint
from chalicelib.entrypoints.api.http import schema_names as s
from chalicelib.platform.lazy import lazy_modules

if TYPE_CHECKING:
    from chalicelib.services import accounts, balances, email_settings, notifications
else:  # loaded when a route first runs (chalicelib/platform/lazy.py)
    accounts, balances, email_settings, notifications = lazy_modules("chalicelib.services", "accounts", "balances",
                                                                     "email_settings", "notifications")

bp = Blueprint(__name__)


@endpoint(bp, "POST", "/v1/auth/signup", summary="Create an account", tag="accounts", status=201,
          request=s.SignupIn, response=s.SignupOut, auth_="none", errors=(409, 429), issues_token=True)
def signup(call: Call):
    body = call.body
    return accounts.signup(str(body.email), body.password, body.name, body.locale, body.timezone,
                           source_ip=call.source_ip)


@endpoint(bp, "POST", "/v1/me/email-confirmation", summary="E-mail a new link to confirm the address (limited like "
          "reset e-mails)", tag="accounts", status=202, response=s.StatusOut, errors=(409, 429))
def resend_email_confirmation(call: Call):
    return accounts.resend_confirmation(call.user, call.source_ip)


@endpoint(bp, "POST", "/v1/auth/email-confirmation/confirm", summary="Confirm the address with the e-mailed link's "
          "token, once", tag="accounts", request=s.EmailConfirmIn, response=s.StatusOut, auth_="none",
          errors=(404, 409))
def confirm_email(call: Call):
    return accounts.confirm_email(call.body.token)


@endpoint(bp, "POST", "/v1/auth/login", summary="Log in and get a bearer token (429 after too many failures)",
          tag="accounts", request=s.LoginIn, response=s.TokenOut, auth_="none", errors=(401, 429),
          keeps_record=False)
def login(call: Call):
    return accounts.login(call.body.email, call.body.password, call.source_ip)


@endpoint(bp, "POST", "/v1/auth/logout", summary="End this session: its token is refused from now on",
          tag="accounts", response=s.StatusOut)
def logout(call: Call):
    return accounts.log_out(call.user)


@endpoint(bp, "POST", "/v1/me/password", summary="Change the password: every session ends, a new token comes back",
          tag="accounts", request=s.PasswordChangeIn, response=s.TokenOut, errors=(429,), issues_token=True)
def change_password(call: Call):
    return accounts.change_password(call.user, call.body.current_password, call.body.new_password)


@endpoint(bp, "POST", "/v1/auth/password-reset", summary="E-mail a one-time link to set a new password "
          "(the same answer whether or not an account uses the address)", tag="accounts", status=202,
          request=s.PasswordResetIn, response=s.StatusOut, auth_="none", errors=(429,))
def request_password_reset(call: Call):
    return accounts.request_password_reset(call.body.email, call.source_ip)


@endpoint(bp, "POST", "/v1/auth/password-reset/confirm", summary="Set a new password with the e-mailed link's "
          "token, once: every session ends", tag="accounts", request=s.PasswordResetConfirmIn,
          response=s.StatusOut, auth_="none", errors=(404, 409))
def confirm_password_reset(call: Call):
    return accounts.reset_password(call.body.token, call.body.password, call.source_ip)


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


@endpoint(bp, "GET", "/v1/me/notification-settings", summary="Which notification kinds are e-mailed to me (the "
          "cabinet feed has them all)", tag="notifications", response=s.EmailSettingsOut)
def get_notification_settings(call: Call):
    return email_settings.get(call.user)


@endpoint(bp, "PATCH", "/v1/me/notification-settings", summary="Turn e-mail on or off per notification kind "
          "(security and must-act kinds stay on)", tag="notifications", request=s.EmailSettingsIn,
          response=s.EmailSettingsOut, errors=(409, 422))
def update_notification_settings(call: Call):
    return email_settings.change(call.user, call.body.email, call.body.own_actions)

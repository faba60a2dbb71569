"""Which notifications are e-mailed: every kind's class in one table (`KINDS`), each user's choices, and the
signed one-click link that turns one kind's e-mail off (RFC 8058 `List-Unsubscribe`).

The cabinet feed always has every notification; only the e-mail is chosen. A kind is

  security     a password reset, an address's confirmation, an invitation, a change to who owns or is paid
               for an account: always e-mailed, even to whoever asked for it; it cannot be turned off
  action       something a party must act on (start an order, review a delivery, pay an invoice): always
               e-mailed to that party; it cannot be turned off
  money, deadline, other_party, account
               optional: e-mailed unless the user turned the kind off (`choices`)

and, whatever its class but security, a notification of what the user did himself (the outbox's `actor` is
the recipient) is not e-mailed unless he asked for those too (`own_actions`): the feed has it.

The unsubscribe token names the user, the kind and when the link stops working, and carries an HMAC of
them made by the one-time link signer (`links.one_time_token`), so it opens nothing else and needs no log-in.
"""
from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib.notify import links
from chalicelib.platform import clock, config
from chalicelib.platform.i18n import N_

SECURITY, ACTION, MONEY, DEADLINE, OTHER_PARTY, ACCOUNT = (
    "security", "action", "money", "deadline", "other_party", "account")
MANDATORY = frozenset((SECURITY, ACTION))
# Each class, as the docs table explains it.
CLASSES: dict[str, str] = {
    SECURITY: "always e-mailed, also to whoever asked for it; cannot be turned off",
    ACTION: "a party must act on it: always e-mailed to that party; cannot be turned off",
    MONEY: "money moved or is owed: e-mailed unless turned off",
    DEADLINE: "a time ran out: e-mailed unless turned off",
    OTHER_PARTY: "what the other party did: e-mailed unless turned off",
    ACCOUNT: "what the service tells about the account: e-mailed unless turned off",
}


@dataclass(frozen=True)
class Mail:
    group: str
    label: str | None = None  # an optional kind's name on the unsubscribe page (a msgid)

    @property
    def mandatory(self) -> bool:
        return self.group in MANDATORY


KINDS: dict[str, Mail] = {
    # security
    "password_reset": Mail(SECURITY),
    "email_confirmation": Mail(SECURITY),
    "team_invitation": Mail(SECURITY),
    "team_join_request": Mail(SECURITY),
    "owner_changed": Mail(SECURITY),
    "requisites_changed": Mail(SECURITY),
    "deletion_requested": Mail(SECURITY),
    "deletion_completed": Mail(SECURITY),
    "deletion_refused": Mail(SECURITY),
    # a party must act
    "order_placed": Mail(ACTION),  # the contractor starts it or declines
    "order_delivered": Mail(ACTION),  # the client accepts or asks for a revision
    "order_revision_requested": Mail(ACTION),
    "offer_received": Mail(ACTION),
    "cancellation_requested": Mail(ACTION),
    "extra_offered": Mail(ACTION),
    "dispute_opened": Mail(ACTION),
    "contract_created": Mail(ACTION),
    "contract_changes_requested": Mail(ACTION),
    "contract_fund_reminder": Mail(ACTION),
    "contract_fund_extended": Mail(ACTION),
    "work_submitted": Mail(ACTION),
    "task_sent": Mail(ACTION),
    "payment_unmatched": Mail(ACTION),  # operators
    "service_invoice_issued": Mail(ACTION),
    "service_invoice_due_soon": Mail(ACTION),
    "service_invoice_overdue": Mail(ACTION),
    "card_charge_declined": Mail(ACTION),
    "site_blocked": Mail(ACTION),
    "autopay_stopped": Mail(ACTION),
    "counter_limit_reached": Mail(ACTION),
    "domain_claimed_elsewhere": Mail(ACTION),
    "payout_failed": Mail(ACTION),
    "offer_requested": Mail(ACTION),  # the contractor answers with an offer or declines
    "task_disputed": Mail(ACTION),  # operators decide; the parties may add their side
    "task_unassigned": Mail(ACTION),  # the company assigns the drafts again
    "topup_action_failed": Mail(ACTION),  # the money is on the balance, the action to do again
    # money
    "invoice_created": Mail(MONEY, N_("Top-up invoice issued")),
    "invoice_paid": Mail(MONEY, N_("Top-up invoice paid")),
    "payout_requested": Mail(MONEY, N_("Withdrawal requested")),
    "payout_paid": Mail(MONEY, N_("Withdrawal paid")),
    "extra_paid": Mail(MONEY, N_("Extra paid")),
    "order_completed": Mail(MONEY, N_("Order completed")),
    "order_auto_accepted": Mail(MONEY, N_("Order accepted automatically")),
    "order_cancelled": Mail(MONEY, N_("Order cancelled")),
    "cancellation_accepted": Mail(MONEY, N_("Cancellation accepted")),
    "dispute_resolved": Mail(MONEY, N_("Dispute resolved")),
    "contract_funded": Mail(MONEY, N_("Contract funded")),
    "contract_completed": Mail(MONEY, N_("Contract completed")),
    "contract_auto_released": Mail(MONEY, N_("Contract paid out automatically")),
    "contract_closed_unfunded": Mail(MONEY, N_("Contract closed without full payment")),
    "card_charge_succeeded": Mail(MONEY, N_("Card charged")),
    "card_payment_refunded": Mail(MONEY, N_("Card payment refunded")),
    "card_verification_refunded": Mail(MONEY, N_("Card check refunded")),
    "card_saved": Mail(MONEY, N_("Card saved for auto-pay")),
    "service_invoice_paid": Mail(MONEY, N_("Service invoice paid")),
    "service_invoice_written_off": Mail(MONEY, N_("Service invoice written off")),
    "transfer_to_be_returned": Mail(MONEY, N_("Transfer to be returned")),
    "act_sent": Mail(MONEY, N_("Act sent to Vchasno")),
    "service_invoice_part_paid": Mail(MONEY, N_("Service invoice partly paid")),
    "site_credit_added": Mail(MONEY, N_("Site credit added")),
    "site_credit_refunded": Mail(MONEY, N_("Site credit refunded")),
    "task_dispute_resolved": Mail(MONEY, N_("Task dispute resolved")),
    # deadlines
    "order_auto_cancelled": Mail(DEADLINE, N_("Order cancelled automatically")),
    "offer_expired": Mail(DEADLINE, N_("Offer expired")),
    "contract_lapsed": Mail(DEADLINE, N_("Contract lapsed")),
    "offer_request_expired": Mail(DEADLINE, N_("Request for an offer expired")),
    # the other party's actions
    "order_started": Mail(OTHER_PARTY, N_("Order started")),
    "order_declined": Mail(OTHER_PARTY, N_("Order declined")),
    "offer_accepted": Mail(OTHER_PARTY, N_("Offer accepted")),
    "offer_rejected": Mail(OTHER_PARTY, N_("Offer rejected")),
    "offer_withdrawn": Mail(OTHER_PARTY, N_("Offer withdrawn")),
    "message_received": Mail(OTHER_PARTY, N_("New message")),
    "review_received": Mail(OTHER_PARTY, N_("New review")),
    "cancellation_refused": Mail(OTHER_PARTY, N_("Cancellation refused")),
    "extra_rejected": Mail(OTHER_PARTY, N_("Extra rejected")),
    "contract_accepted": Mail(OTHER_PARTY, N_("Contract accepted")),
    "contract_declined": Mail(OTHER_PARTY, N_("Contract declined")),
    "contract_cancelled": Mail(OTHER_PARTY, N_("Contract cancelled")),
    "proposal_received": Mail(OTHER_PARTY, N_("New proposal")),
    "proposal_not_selected": Mail(OTHER_PARTY, N_("Proposal not chosen")),
    "project_closed": Mail(OTHER_PARTY, N_("Project closed")),
    "project_changed": Mail(OTHER_PARTY, N_("Project changed")),
    "task_done": Mail(OTHER_PARTY, N_("Task done")),
    "task_cancelled": Mail(OTHER_PARTY, N_("Task cancelled")),
    "offer_request_declined": Mail(OTHER_PARTY, N_("Request for an offer declined")),
    # the account
    "welcome": Mail(ACCOUNT, N_("Welcome")),
    "site_created": Mail(ACCOUNT, N_("Site created")),
    "vchasno_activated": Mail(ACCOUNT, N_("Vchasno connected")),
    "vchasno_deactivated": Mail(ACCOUNT, N_("Vchasno disconnected")),
    "deletion_withdrawn": Mail(ACCOUNT, N_("Site deletion withdrawn")),
    "site_unblocked": Mail(ACCOUNT, N_("Site unblocked")),
}


def optional(kind: str) -> bool:
    return not KINDS[kind].mandatory


def own_move_held_back(kind: str) -> bool:
    """Whether a notification of `kind` telling its recipient of his own move stays out of e-mail with the
    default choices (every class but security): the outbox then writes it `not_emailed` at once, and its
    delivery sends it only to a user who asked for his own moves too."""
    mail = KINDS.get(kind)
    return mail is not None and mail.group != SECURITY


def emailed(kind: str, choices: dict | None, *, own: bool) -> bool:
    """Whether a notification of `kind` goes out by e-mail to a user with these `choices` (the stored
    `{"kinds": {kind: bool}, "own_actions": bool}`); `own`: it tells of the user's own action."""
    mail = KINDS[kind]
    choices = choices or {}
    if mail.group == SECURITY:
        return True
    if own and not choices.get("own_actions", False):
        return False
    return mail.mandatory or bool(choices.get("kinds", {}).get(kind, True))


# The one-click link -----------------------------------------------------------------------------------

UNSUBSCRIBE_PATH = "/web/unsubscribe/{token}"
ONE_CLICK = "List-Unsubscribe=One-Click"


class BadLink(Exception):
    """The token is not one this service made (`code`: `invalid_unsubscribe_link`) or has run out
    (`unsubscribe_link_expired`)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Unsubscribe:
    user_id: str
    kind: str


def unsubscribe_token(user_id: str, kind: str, now: datetime | None = None) -> str:
    expires = int(((now or clock.now()) + timedelta(days=config.settings.unsubscribe_link_days)).timestamp())
    payload = _b64(f"{user_id}\n{kind}\n{expires}")
    return f"{payload}.{links.one_time_token(_signed(payload))}"


def unsubscribe_url(user_id: str, kind: str) -> str:
    return config.settings.app_url.rstrip("/") + UNSUBSCRIBE_PATH.format(token=unsubscribe_token(user_id, kind))


def unsubscribe_headers(url: str) -> tuple[tuple[str, str], ...]:
    """RFC 8058's two headers: the one-click link, and that a POST to it is enough."""
    return (("List-Unsubscribe", f"<{url}>"), ("List-Unsubscribe-Post", ONE_CLICK))


def read_unsubscribe_token(token: str, now: datetime | None = None) -> Unsubscribe:
    """The user and kind a token turns off; raises `BadLink` for a forged, garbled or expired one."""
    payload, _, mac = token.partition(".")
    if not payload or not hmac.compare_digest(mac.encode(), links.one_time_token(_signed(payload)).encode()):
        raise BadLink("invalid_unsubscribe_link")
    try:
        user_id, kind, expires = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode().split("\n")
        expires_at = int(expires)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise BadLink("invalid_unsubscribe_link") from None
    if kind not in KINDS or not optional(kind):
        raise BadLink("invalid_unsubscribe_link")
    if (now or clock.now()).timestamp() >= expires_at:
        raise BadLink("unsubscribe_link_expired")
    return Unsubscribe(user_id, kind)


def _signed(payload: str) -> str:
    return f"unsubscribe:{payload}"


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

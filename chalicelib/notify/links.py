"""Where each notification leads: the one page its reader acts on, for the e-mail's button and the
in-cabinet notification's `link`.

A kind names the parameter that holds its object's id; the id's type prefix (`ord_`, `ctr_`, …) says
which kind of object it is, and `WEB_PATHS` where the marketplace's web client shows that object,
below `WEB_APP_URL`. An invitation, a request to join, a password reset and an address confirmation lead to
the service's own pages instead (`chalicelib/entrypoints/web`, below `APP_URL`), by a one-time link.

No working one-time link is ever stored. The stored notification holds a `link_seed`; the link's token is an
HMAC of that seed under a key derived from the JWT keyring's key the seed names (`one_time_token`; a seed is
`<kid>.<random>`, so a link made after the key rotated still matches the token stored when it was asked for), and
the seed alone opens nothing. The
e-mail is rendered with the link once, when it is sent (`with_link`), and the seed is then removed: the feed
shows the notification without its link, leading to the web client's home page.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from chalicelib.platform import config, secret_store
from chalicelib.platform.i18n import N_

# kind → the params that may hold the id of the object it is about, the first one present wins;
# () leads to the web client's home page, and None to the kind's own `link` parameter.
TARGETS: dict[str, tuple[str, ...] | None] = {
    "welcome": (),
    "team_invitation": None,
    "team_join_request": None,
    "password_reset": None,
    "email_confirmation": None,
    "invoice_created": ("invoice_id",),
    "invoice_paid": ("invoice_id",),
    "payment_unmatched": ("payment_id",),
    "payout_requested": ("payout_id",),
    "payout_paid": ("payout_id",),
    "payout_failed": ("payout_id",),
    "offer_received": ("offer_id",),
    "offer_accepted": ("order_id", "offer_id"),
    "offer_rejected": ("offer_id",),
    "offer_expired": ("offer_id",),
    "offer_withdrawn": ("offer_id",),
    "message_received": ("order_id", "conversation_id"),
    "offer_requested": ("conversation_id",),
    "offer_request_declined": ("conversation_id",),
    "offer_request_expired": ("conversation_id",),
    "proposal_received": ("project_id",),
    "proposal_not_selected": ("project_id",),
    "project_closed": ("project_id",),
    "project_changed": ("project_id",),
    "task_sent": ("task_id",),
    "task_done": ("task_id",),
    "task_cancelled": ("task_id",),
    "task_unassigned": ("task_id",),
    "task_disputed": ("task_id",),
    "task_dispute_resolved": ("task_id",),
    "service_invoice_issued": ("invoice_id",),
    "service_invoice_paid": ("invoice_id",),
    "service_invoice_due_soon": ("invoice_id",),
    "card_charge_succeeded": ("invoice_id",),
    "card_charge_declined": ("invoice_id",),
    "service_invoice_written_off": ("invoice_id",),
    "card_payment_refunded": ("invoice_id",),
    "transfer_to_be_returned": ("invoice_id",),
    "topup_action_failed": ("invoice_id",),
    "service_invoice_part_paid": ("invoice_id",),
    **{kind: ("site_id",) for kind in ("site_created", "counter_limit_reached", "requisites_changed",
                                        "vchasno_activated", "vchasno_deactivated", "deletion_requested",
                                        "deletion_withdrawn", "deletion_completed", "deletion_refused",
                                        "owner_changed", "card_saved", "card_verification_refunded",
                                        "service_invoice_overdue", "site_blocked",
                                        "site_unblocked", "autopay_stopped", "act_sent",
                                        "domain_claimed_elsewhere", "site_credit_added", "site_credit_refunded")},
}
# Every other kind is about a deal: an order, or a project's contract.
DEAL = ("order_id",)

# an id's type prefix → the object WEB_PATHS knows it by
OBJECTS = {"ord": "order", "ctr": "contract", "ofr": "offer", "prj": "project", "tsk": "task", "inv": "invoice",
           "po": "payout", "pay": "unmatched_payment", "cnv": "conversation", "site": "site",
           "sin": "service_invoice", "top": "invoice"}

# What the button says, by the object it opens (msgids: translated where they are shown).
LABELS = {
    "home": N_("Open escrowdesk"),
    "team_invitation": N_("Open the invitation"),
    "team_join_request": N_("Answer the request"),
    "password_reset": N_("Set a new password"),
    "email_confirmation": N_("Confirm the address"),
    "order": N_("Open the order"),
    "contract": N_("Open the contract"),
    "offer": N_("Open the offer"),
    "project": N_("Open the project"),
    "task": N_("Open the task"),
    "invoice": N_("Open the invoice"),
    "payout": N_("Open the payout"),
    "unmatched_payment": N_("Review the payment"),
    "conversation": N_("Open the conversation"),
    "site": N_("Open the site's billing"),
    "service_invoice": N_("Open the invoice"),
}


SEED = "link_seed"
# kind → the service's page its one-time link opens (below APP_URL)
ONE_TIME_PATHS = {
    "team_invitation": "/web/invitations/{token}",
    "team_join_request": "/web/invitations/{token}",
    "password_reset": "/web/password-reset/{token}",
    "email_confirmation": "/web/email-confirmations/{token}",
}


def new_seed() -> str:
    kid, _ = secret_store.signing_key()
    return f"{kid}.{secrets.token_urlsafe(16)}"


def one_time_token(seed: str) -> str:
    """The token of a one-time link: only whoever holds the JWT key its seed names can make it from the seed."""
    kid, _, _ = seed.rpartition(".")
    secret = secret_store.verifying_key(kid) or secret_store.signing_key()[1]
    key = hmac.new(secret.encode(), b"one-time-links", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(hmac.new(key, seed.encode(), hashlib.sha256).digest()).decode().rstrip("=")


def one_time_link(kind: str, seed: str) -> str:
    return config.settings.app_url + ONE_TIME_PATHS[kind].format(token=one_time_token(seed))


def with_link(kind: str, params: dict) -> dict:
    """The params an e-mail is rendered with: its one-time link made from the seed, the seed itself left out."""
    seed = params.get(SEED)
    if seed is None or kind not in ONE_TIME_PATHS:
        return params
    return {**{name: value for name, value in params.items() if name != SEED}, "link": one_time_link(kind, seed)}


@dataclass(frozen=True)
class Link:
    url: str
    label: str  # a msgid


def link_for(kind: str, params: dict) -> Link:
    """The page a notification of `kind` with `params` leads to."""
    targets = TARGETS.get(kind, DEAL)
    if targets is None:  # a page of the service itself (chalicelib/entrypoints/web), by its one-time link
        if params.get("link"):  # only while the e-mail is rendered: the stored notification keeps no link
            return Link(params["link"], LABELS[kind])
        return Link(_web_url("home"), LABELS["home"])
    for param in targets:
        object_id = params.get(param)
        if object_id:
            target = OBJECTS[str(object_id).split("_", 1)[0]]
            others = {name: str(value) for name, value in params.items() if name.endswith("_id") and value}
            return Link(_web_url(target, **{**others, "id": object_id}), LABELS[target])
    return Link(_web_url("home"), LABELS["home"])


def _web_url(target: str, **ids: str) -> str:
    settings = config.settings
    return settings.web_app_url + settings.web_paths[target].format(**ids)

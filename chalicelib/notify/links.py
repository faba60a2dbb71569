"""Where each notification leads: the one page its reader acts on, for the e-mail's button and the
in-cabinet notification's `link`.

A kind names the parameter that holds its object's id; the id's type prefix (`ord_`, `ctr_`, …) says
which kind of object it is, and `WEB_PATHS` where the marketplace's web client shows that object,
below `WEB_APP_URL`. An invitation, a request to join and a password reset lead to the service's own
pages instead (`chalicelib/entrypoints/web`, by the one-time link in their `link` parameter, below `APP_URL`).
"""
from __future__ import annotations

from dataclasses import dataclass

from chalicelib.platform import config
from chalicelib.platform.i18n import N_

# kind → the params that may hold the id of the object it is about, the first one present wins;
# () leads to the web client's home page, and None to the kind's own `link` parameter.
TARGETS: dict[str, tuple[str, ...] | None] = {
    "welcome": (),
    "team_invitation": None,
    "team_join_request": None,
    "password_reset": None,
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
    "proposal_received": ("project_id",),
    "proposal_not_selected": ("project_id",),
    "project_closed": ("project_id",),
    "project_changed": ("project_id",),
    "task_sent": ("task_id",),
    "task_done": ("task_id",),
    "task_cancelled": ("task_id",),
    "service_invoice_issued": ("invoice_id",),
    "service_invoice_paid": ("invoice_id",),
    "service_invoice_due_soon": ("invoice_id",),
    "card_charge_succeeded": ("invoice_id",),
    "card_charge_declined": ("invoice_id",),
    **{kind: ("site_id",) for kind in ("site_created", "counter_limit_reached", "requisites_changed",
                                        "vchasno_activated", "vchasno_deactivated", "deletion_requested",
                                        "deletion_withdrawn", "deletion_completed", "owner_changed", "card_saved",
                                        "card_verification_refunded", "service_invoice_overdue", "site_blocked",
                                        "site_unblocked", "autopay_stopped", "act_sent")},
}
# Every other kind is about a deal: an order, or a project's contract.
DEAL = ("order_id",)

# an id's type prefix → the object WEB_PATHS knows it by
OBJECTS = {"ord": "order", "ctr": "contract", "ofr": "offer", "prj": "project", "tsk": "task", "inv": "invoice",
           "po": "payout", "pay": "unmatched_payment", "cnv": "conversation", "site": "site",
           "sin": "service_invoice"}

# What the button says, by the object it opens (msgids: translated where they are shown).
LABELS = {
    "home": N_("Open escrowdesk"),
    "team_invitation": N_("Open the invitation"),
    "team_join_request": N_("Answer the request"),
    "password_reset": N_("Set a new password"),
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


@dataclass(frozen=True)
class Link:
    url: str
    label: str  # a msgid


def link_for(kind: str, params: dict) -> Link:
    """The page a notification of `kind` with `params` leads to."""
    targets = TARGETS.get(kind, DEAL)
    if targets is None:  # a page of the service itself (chalicelib/entrypoints/web), by its one-time link
        return Link(params["link"], LABELS[kind])
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

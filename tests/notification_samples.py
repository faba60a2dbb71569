"""The params each deal, offer and conversation notification kind is rendered with — one sample per
recipient role. `chalicelib/services/views.py` builds exactly these shapes; the template tests render every
sample in every locale.

Every order kind goes to both parties (`role` is `client` or `contractor`); the dispute kinds also go
to operators (`role: operator`). `amount` is the order's total in escrow, `payout` what the contractor
receives once it is released (`amount` less `commission`).
"""
from __future__ import annotations

USD = "USD"


def _money(amount: int) -> dict:
    return {"amount": amount, "currency": USD}


ORDER = {
    "order_id": "ord_01J", "title": "Logo for a coffee shop", "amount": _money(150000), "payout": _money(120000),
    "commission": _money(30000), "deadline_at": "2025-02-20T10:30:00Z", "review_due_at": None, "message": "",
    "reason": "",
}
EXTRA = {"title": "Source files in SVG", "amount": _money(2500), "extra_days": 2}
ON_REVIEW = {**ORDER, "review_due_at": "2025-02-23T10:30:00Z", "message": "Here is the logo.\nSources attached."}
NOT_STARTED = {**ORDER, "deadline_at": None}
CANCELLATION = {"by": "contractor", "reason": "requirements_exceed_gig", "message": "The brief asks for 5 logos."}
DISPUTE_OPENED = {"reason": "The logo is not what we agreed <b>at all</b>.", "note": "", "refund": None,
                  "release": None, "payout": None}
DISPUTE_RESOLVED = {"reason": "The logo is not what we agreed.", "note": "Half the work was delivered as agreed.",
                    "refund": _money(75000), "release": _money(75000), "payout": _money(60000)}
OFFER = {
    "offer_id": "ofr_01J", "gig_title": "Logo design", "description": "Three logo concepts and two revisions.",
    "amount": _money(40000), "delivery_days": 5, "revision_limit": 2, "accept_by": "2025-02-25T10:30:00Z",
    "order_id": None, "reason": "", "commission": _money(8000), "payout": _money(32000),
}

OFFER_REQUEST = {
    "request_id": "orq_01J", "conversation_id": "cnv_01J", "gig_title": "Logo design",
    "description": "A logo for a <b>coffee</b> shop, in green.", "budget": _money(30000),
    "deadline_at": "2025-03-10T10:00:00Z", "accept_by": "2025-03-01T10:00:00Z", "reason": "", "offer_id": None,
}

ROLES = ("client", "contractor")

# kind → the params of each recipient (the sender adds `name`, the recipient's display name)
SAMPLES: dict[str, list[dict]] = {
    "order_placed": [{**NOT_STARTED, "role": role} for role in ROLES],
    "order_started": [{**ORDER, "role": role} for role in ROLES],
    "order_declined": [{**NOT_STARTED, "reason": "requirements_not_matching_gig", "role": role} for role in ROLES]
    + [{**NOT_STARTED, "reason": "other", "message": "Fully booked this week", "role": role} for role in ROLES],
    "order_auto_cancelled": [{**NOT_STARTED, "role": role} for role in ROLES],
    "order_delivered": [{**ON_REVIEW, "role": role, "files": [{"filename": "logo.png", "size": 20480},
                                                              {"filename": "лого-исходник.zip", "size": 1048576}]}
                        for role in ROLES],
    "order_revision_requested": [{**ORDER, "message": "Please make the cup <b>bigger</b>.", "role": role}
                                 for role in ROLES],
    "order_cancelled": [{**ORDER, "role": role} for role in ROLES],  # late: the client cancelled after the deadline
    "order_completed": [{**ON_REVIEW, "role": role} for role in ROLES],  # the client accepted
    "order_auto_accepted": [{**ON_REVIEW, "role": role} for role in ROLES],
    "extra_offered": [{**ORDER, "extra": EXTRA, "role": role} for role in ROLES],
    "extra_paid": [{**ORDER, "extra": EXTRA, "role": role} for role in ROLES],  # amount/deadline_at already include it
    "extra_rejected": [{**ORDER, "extra": EXTRA, "role": role} for role in ROLES],
    "cancellation_requested": [{**ORDER, "cancellation": CANCELLATION, "role": role} for role in ROLES]
    + [{**ORDER, "cancellation": {"by": "client", "reason": "no_longer_needed", "message": ""}, "role": "contractor"}],
    "cancellation_accepted": [{**ORDER, "cancellation": CANCELLATION, "role": role} for role in ROLES],  # refunded
    "cancellation_refused": [{**ORDER, "cancellation": CANCELLATION, "role": role} for role in ROLES],
    "dispute_opened": [{**ON_REVIEW, "dispute": DISPUTE_OPENED, "role": role} for role in (*ROLES, "operator")],
    "dispute_resolved": [{**ON_REVIEW, "dispute": DISPUTE_RESOLVED, "role": role} for role in (*ROLES, "operator")],
    "review_received": [{**ORDER, "review": {"rating": 5, "text": "Great work, fast <and> clean."}, "role": role}
                        for role in ROLES]
    + [{**ORDER, "review": {"rating": 1, "text": "Declined at the last moment.", "outcome": "declined_by_contractor"},
        "role": "contractor"}],
    "offer_received": [{**OFFER, "role": role} for role in ROLES],
    "offer_accepted": [{**OFFER, "order_id": "ord_01K", "role": role} for role in ROLES],  # order created and paid
    "offer_rejected": [{**OFFER, "reason": "Too expensive for us", "role": role} for role in ROLES],
    "offer_expired": [{**OFFER, "role": role} for role in ROLES],
    "offer_withdrawn": [{**OFFER, "role": role} for role in ROLES],
    "offer_requested": [{**OFFER_REQUEST, "role": role} for role in ROLES]
    + [{**OFFER_REQUEST, "gig_title": "", "budget": None, "deadline_at": None, "role": role} for role in ROLES],
    "offer_request_declined": [{**OFFER_REQUEST, "reason": "Fully booked until March", "role": role}
                               for role in ROLES],
    "offer_request_expired": [{**OFFER_REQUEST, "role": role} for role in ROLES],
    "message_received": [
        {"sender_name": "Taras", "conversation_id": "cnv_01J", "order_id": None, "title": "",
         "text": "Hi! Could you do a logo <b>by Friday</b>?", "attachments": 0},
        {"sender_name": "Olena", "conversation_id": None, "order_id": "ord_01J", "title": "Logo for a coffee shop",
         "text": "Here are the references.", "attachments": 2},
    ],
}

# The fixed lists whose codes the templates show as words (see `templates/kinds/cancellation_requested.html.j2`).
CANCELLATION_REASONS = {
    "contractor": ("requirements_exceed_gig", "client_unresponsive", "unable_to_complete", "mutual_agreement", "other"),
    "client": ("no_longer_needed", "contractor_unresponsive", "mutual_agreement", "other"),
}


def _merge(*modules: str) -> None:
    """Other areas keep their samples in `tests/notification_samples_<area>.py` (a SAMPLES dict)."""
    import importlib

    for name in modules:
        SAMPLES.update(importlib.import_module(f"tests.notification_samples_{name}").SAMPLES)
_merge("payouts")
_merge("projects")
_merge("tasks")
_merge("billing")
_merge("topups")

# Disputes on a project's contract: either party may open one.
from tests.notification_samples_projects import CONTRACT  # noqa: E402

SAMPLES["dispute_opened"] += [{**CONTRACT, "dispute": {**DISPUTE_OPENED, "by": by, "reason": f"The {by} says no."},
                               "role": role} for by in ROLES for role in (*ROLES, "operator")]
# A contractor who asks an operator to cancel a started order opens one on the order.
SAMPLES["dispute_opened"] += [{**ORDER, "dispute": {**DISPUTE_OPENED, "by": "contractor", "reason": "No brief"},
                               "role": role} for role in (*ROLES, "operator")]
SAMPLES["dispute_resolved"] += [{**CONTRACT, "dispute": DISPUTE_RESOLVED, "role": role}
                                for role in (*ROLES, "operator")]

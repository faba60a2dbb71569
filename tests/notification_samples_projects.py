"""Project and contract notifications: `amount` is what is in escrow now, `price` the agreed price."""
from __future__ import annotations

USD = "USD"


def _money(amount: int) -> dict:
    return {"amount": amount, "currency": USD}


CONTRACT = {
    "order_id": "ctr_01J", "title": "Landing page", "amount": _money(50000), "payout": _money(45000),
    "commission": _money(5000), "price": _money(100000), "deadline_at": "2025-03-01T10:00:00Z",
    "review_due_at": None, "message": "", "reason": "", "deal": "contract", "fund_due_at": None,
    "rest": _money(50000), "rework": {"used": 0, "limit": 3}, "price_payout": _money(90000),
    "price_commission": _money(10000),
}
ROLES = ("client", "contractor")

SAMPLES: dict[str, list[dict]] = {
    "proposal_received": [{"project_id": "prj_01J", "title": "Landing page", "price": _money(100000), "days": 7,
                           "text": "I built 30 landing pages <b>like this</b>."}],
    "contract_created": [{**CONTRACT, "deadline_at": None, "role": role} for role in ROLES],
    "contract_accepted": [{**CONTRACT, "role": role} for role in ROLES],
    "contract_declined": [{**CONTRACT, "role": role} for role in ROLES],
    "contract_funded": [{**CONTRACT, "amount": _money(100000), "role": role} for role in ROLES],
    "work_submitted": [{**CONTRACT, "review_due_at": "2025-03-03T10:00:00Z", "role": role} for role in ROLES]
    + [{**CONTRACT, "fund_due_at": "2025-03-03T10:00:00Z", "role": role} for role in ROLES],  # half funded
    "contract_completed": [{**CONTRACT, "amount": _money(100000), "payout": _money(90000),
                            "commission": _money(10000), "role": role} for role in ROLES],
    "contract_auto_released": [{**CONTRACT, "role": role} for role in ROLES],
    "contract_lapsed": [{**CONTRACT, "deadline_at": None, "role": role} for role in ROLES],
    "contract_cancelled": [{**CONTRACT, "amount": _money(100000), "role": role} for role in ROLES],
    "contract_closed_unfunded": [{**CONTRACT, "role": role} for role in ROLES],
    "contract_changes_requested": [{**CONTRACT, "message": "The form does not send", "rework": {"used": 1, "limit": 3},
                                    "role": role} for role in ROLES],
    "contract_fund_reminder": [{**CONTRACT, "fund_due_at": "2025-03-03T10:00:00Z", "role": role} for role in ROLES],
    "contract_fund_extended": [{**CONTRACT, "fund_due_at": "2025-03-05T10:00:00Z", "role": role} for role in ROLES],
    # to a bidder: his own bid's price and the project as it now stands
    "proposal_not_selected": [{"project_id": "prj_01J", "title": "Landing page", "status": "contracted",
                               "price": _money(100000)}],
    "project_closed": [{"project_id": "prj_01J", "title": "Landing page", "status": "closed", "price": _money(100000)}],
    "project_changed": [{"project_id": "prj_01J", "title": "Landing page", "status": "open", "price": _money(100000)}],
}

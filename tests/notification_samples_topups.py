"""Card top-up notifications: one recipient, the client whose balance was topped up."""
from __future__ import annotations

TOPUP = {"invoice_id": "top_01J", "number": "PI-2026-000042", "amount": {"amount": 4500, "currency": "USD"}}

SAMPLES: dict[str, list[dict]] = {
    "topup_action_failed": [
        {**TOPUP, "action": action, "reason": reason}
        for action, reason in (("place_order", "gig_not_active"), ("accept_offer", "offer_expired"),
                               ("pay_extra", "extra_decided"), ("fund_contract", "already_funded"),
                               ("place_order", "insufficient_funds"), ("accept_offer", "no_longer_possible"))],
}

"""Payout notifications: one recipient, the owner of the money."""
from __future__ import annotations

PAYOUT = {"payout_id": "po_01J", "amount": {"amount": 150000, "currency": "UAH"}, "destination": "•••• 1111",
          "reason": ""}

SAMPLES: dict[str, list[dict]] = {
    "payout_requested": [PAYOUT],
    "payout_paid": [{**PAYOUT, "destination": "UA21 •••• 1234"}],
    "payout_failed": [{**PAYOUT, "reason": "Card blocked by the issuer <X>"}, PAYOUT],
}

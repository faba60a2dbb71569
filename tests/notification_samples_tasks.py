"""Team and B2B task notifications. `role` "client" is the company."""
from __future__ import annotations

TASK = {"task_id": "tsk_01J", "title": "Translate the price list", "amount": {"amount": 250000, "currency": "UAH"},
        "payout": {"amount": 250000, "currency": "UAH"}, "commission": {"amount": 0, "currency": "UAH"},
        "deadline_at": "2025-03-01T10:00:00Z", "reason": ""}
TASK_DISPUTE = {"reason": "The translation was machine-made", "held": {"amount": 250000, "currency": "UAH"},
                "refund": None, "release": None, "note": ""}
ROLES = ("client", "contractor")

SAMPLES: dict[str, list[dict]] = {
    "team_invitation": [{"company_id": "usr_01J", "company_name": "ACME LLC", "greeting": "Welcome <aboard>!",
                         "locale": "en", "expires_at": "2025-03-04T10:00:00Z",
                         "link": "http://127.0.0.1:8000/web/invitations/abc"}],
    "team_join_request": [{"company_id": "usr_01J", "company_name": "ACME LLC", "greeting": greeting,
                           "expires_at": "2025-03-04T10:00:00Z", "link": "http://127.0.0.1:8000/web/invitations/abc"}
                          for greeting in ("", "Hi!")],
    "password_reset": [{"name": "Olena", "locale": "en", "expires_at": "2025-03-04T10:00:00Z",
                        "link": "http://127.0.0.1:8000/web/password-reset/abc"}],
    "email_confirmation": [{"expires_at": "2025-03-04T10:00:00Z", "resend": "POST /v1/me/email-confirmation",
                            "link": "http://127.0.0.1:8000/web/email-confirmations/abc"}],
    "task_sent": [{**TASK, "role": role} for role in ROLES],
    "task_done": [{**TASK, "role": role} for role in ROLES],
    "task_cancelled": [{**TASK, "role": role} for role in ROLES],
    "task_disputed": [{**TASK, "dispute": TASK_DISPUTE, "role": role} for role in (*ROLES, "operator")],
    "task_dispute_resolved": [{**TASK, "role": "client", "dispute": {
        **TASK_DISPUTE, "refund": {"amount": 100000, "currency": "UAH"},
        "release": {"amount": 150000, "currency": "UAH"}, "note": note}}
        for note in ("", "Half the list was not translated")],
    "task_unassigned": [{**TASK, "role": "client", "email": "newbie@example.com", "reason": reason}
                        for reason in ("declined", "expired")],
}

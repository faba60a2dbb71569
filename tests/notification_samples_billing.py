"""Subscription billing notifications (sites, seed 003). They go to the site's owner; a deletion request
also goes to operators (`role: operator`), an owner change also to the former owner."""
from __future__ import annotations

SITE = {"site_id": "site_01J", "site_name": "Квіткова крамниця", "service_code": "10001", "role": "client"}
UAH = {"amount": 49900, "currency": "UAH"}
INVOICE = {"site_id": "site_01J", "invoice_id": "sin_01J", "number": "HOR-10001-007", "period": "2026-12",
           "amount": UAH}
CONTACT = {"name": "Олена Петренко", "email": "olena@example.ua", "phone": "+380501234567"}
DELETION = {"reasons": ["too_expensive", "missing_features", "moving_to_another_platform", "closing_business", "other"],
            "comment": "We are closing <the shop> for winter."}

SAMPLES: dict[str, list[dict]] = {
    "site_created": [{**SITE, "tariff_name": "Business"}],
    "service_invoice_issued": [{**SITE, **INVOICE, "due_at": "2026-12-06T21:59:59Z"},
                               {**SITE, **INVOICE, "due_at": "2026-12-06T21:59:59Z",
                                "credit_applied": {"amount": 9900, "currency": "UAH"},
                                "amount_due": {"amount": 40000, "currency": "UAH"}},
                               {**SITE, **INVOICE, "due_at": "2026-12-06T21:59:59Z", "credit_applied": UAH,
                                "amount_due": {"amount": 0, "currency": "UAH"}}],
    "service_invoice_part_paid": [{**INVOICE, "amount": {"amount": 20000, "currency": "UAH"},
                                   "amount_due": {"amount": 29900, "currency": "UAH"}}],
    "site_credit_added": [{"site_id": "site_01J", "invoice_id": "sin_01J", "number": "HOR-10001-007",
                           "amount": {"amount": 5100, "currency": "UAH"}}],
    "site_credit_refunded": [{**SITE, "amount": {"amount": 5100, "currency": "UAH"}}],
    "service_invoice_paid": [{**INVOICE, "paid_at": "2026-12-03T10:00:00Z"}],
    "counter_limit_reached": [{**SITE, "counter": "products", "value": 1000, "limit": 1000},
                              {**SITE, "counter": "orders", "value": 300, "limit": 300}],
    "requisites_changed": [{**SITE, "tax_id": "32855961", "iban": "UA213223130000026007233566001",
                            "company_name": "ТОВ «Квіти»"}],
    "vchasno_activated": [{**SITE, "tax_id": "32855961"}],
    "domain_claimed_elsewhere": [{**SITE, "domain": "магазин.укр"}],
    "vchasno_deactivated": [{**SITE, "tax_id": "32855961"}],
    "deletion_requested": [{**SITE, **DELETION}, {**SITE, **DELETION, "role": "operator"}],
    "deletion_withdrawn": [SITE],
    "deletion_completed": [SITE],
    "deletion_refused": [{**SITE, "reason": "The owner's partner asked to keep <the shop> open"}],
    "owner_changed": [{**SITE, "contact": CONTACT, "role": "owner"},
                      {**SITE, "contact": CONTACT, "role": "previous_owner"},
                      {**SITE, "contact": CONTACT, "role": "new_owner"}],
    "service_invoice_written_off": [{**INVOICE, "reason": "Goodwill: the shop was down for a week"}],
    "card_saved": [{**SITE, "card_mask": "537541******1234", "holder": "OLENA PETRENKO"}],
    "card_verification_refunded": [{"site_id": "site_01J", "amount": {"amount": 100, "currency": "UAH"},
                                    "card_mask": "537541******1234"}],
    "card_payment_refunded": [{"site_id": "site_01J", "invoice_id": "sin_01J", "number": "HOR-10001-007",
                               "amount": {"amount": 31000, "currency": "UAH"}, "card_mask": "537541******1234",
                               "reason": "invoice_already_paid"}],
    "transfer_to_be_returned": [{"site_id": "site_01J", "invoice_id": "sin_01J", "number": "HOR-10001-007",
                                 "amount": {"amount": 31000, "currency": "UAH"}, "payment_id": "pay_01J"}],
    "card_charge_succeeded": [{**INVOICE, "paid_at": "2026-12-01T00:01:00Z"}],
    "card_charge_declined": [{**SITE, "invoice_id": "sin_01J", "number": "HOR-10001-007", "amount": UAH,
                              "payment_url": "https://pay.example/checkout/cpy_01J",
                              "retry_at": "2026-12-02T00:01:00Z"}],
    "service_invoice_due_soon": [{**SITE, **INVOICE, "due_at": "2026-12-06T21:59:59Z"}],
    "service_invoice_overdue": [{**SITE, "invoices": [{"number": "HOR-10001-007", "amount": UAH,
                                                       "due_at": "2026-12-06T21:59:59Z"}]}],
    "site_blocked": [{**SITE, "invoices": [{"number": "HOR-10001-007", "amount": UAH,
                                            "due_at": "2026-12-06T21:59:59Z"}]}],
    "site_unblocked": [SITE],
    "autopay_stopped": [SITE],
    "act_sent": [{**SITE, "period": "2026-11", "amount": UAH, "vchasno_document_id": "doc-1"}],
}

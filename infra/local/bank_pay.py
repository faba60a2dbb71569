"""Play the bank by hand: send a signed webhook to the local stage — an incoming transfer that
pays an invoice, or the bank's answer to a payout request (see var/bank/payout_requests.jsonl).

    python -m infra.local.bank_pay PI-2026-000001 150000 USD [--purpose TEXT] [--url URL] [--event-id ID]
    python -m infra.local.bank_pay payout po_01... paid|failed [--reason TEXT]
"""
from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid


def signed_request(url: str, secret: str, event: dict) -> urllib.request.Request:
    body = json.dumps(event).encode()
    timestamp = str(int(time.time()))
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json", "X-Bank-Signature": f"t={timestamp},v1={mac}"})


def _send(url: str, secret: str, event: dict) -> int:
    try:
        with urllib.request.urlopen(signed_request(url, secret, event), timeout=10) as response:
            print(response.status, response.read().decode())
    except urllib.error.HTTPError as error:
        print(error.code, error.read().decode())
        return 1
    return 0


def _default_url() -> str:
    return f"http://127.0.0.1:{os.environ.get('PORT', '8000')}/v1/webhooks/bank"


def answer_payout(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.local.bank_pay payout")
    parser.add_argument("payout_id")
    parser.add_argument("outcome", choices=("paid", "failed"))
    parser.add_argument("--reason", default="")
    parser.add_argument("--url", default=_default_url())
    parser.add_argument("--secret", default=os.environ.get("BANK_WEBHOOK_SECRET", "local-bank-secret"))
    args = parser.parse_args(argv)
    event = {"event_id": f"evt_{uuid.uuid4().hex}", "type": f"payout.{args.outcome}", "payout_id": args.payout_id,
             "reason": args.reason}
    return _send(args.url, args.secret, event)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["payout"]:
        return answer_payout(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m infra.local.bank_pay")
    parser.add_argument("number", help="invoice number to quote, e.g. PI-2026-000001")
    parser.add_argument("amount", type=int, help="minor units")
    parser.add_argument("currency")
    parser.add_argument("--purpose", help="payment purpose (default: quotes the number)")
    parser.add_argument("--event-id", default=None)
    parser.add_argument("--url", default=_default_url())
    parser.add_argument("--secret", default=os.environ.get("BANK_WEBHOOK_SECRET", "local-bank-secret"))
    args = parser.parse_args(argv)
    event = {
        "event_id": args.event_id or f"evt_{uuid.uuid4().hex}", "type": "transfer.incoming",
        "amount": args.amount, "currency": args.currency, "purpose": args.purpose or f"Invoice № {args.number}",
        "payer": {"name": "Local Payer", "iban": "DE89370400440532013000"},
        "received_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    return _send(args.url, args.secret, event)


if __name__ == "__main__":
    sys.exit(main())

"""Play the bank by hand: send a signed `transfer.incoming` webhook to the local stage.

    python -m infra.local.bank_pay PI-2026-000001 150000 USD [--purpose TEXT] [--url URL] [--event-id ID]
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.local.bank_pay")
    parser.add_argument("number", help="invoice number to quote, e.g. PI-2026-000001")
    parser.add_argument("amount", type=int, help="minor units")
    parser.add_argument("currency")
    parser.add_argument("--purpose", help="payment purpose (default: quotes the number)")
    parser.add_argument("--event-id", default=None)
    parser.add_argument("--url", default=f"http://127.0.0.1:{os.environ.get('PORT', '8000')}/v1/webhooks/bank")
    parser.add_argument("--secret", default=os.environ.get("BANK_WEBHOOK_SECRET", "local-bank-secret"))
    args = parser.parse_args(argv)
    event = {
        "event_id": args.event_id or f"evt_{uuid.uuid4().hex}", "type": "transfer.incoming",
        "amount": args.amount, "currency": args.currency, "purpose": args.purpose or f"Invoice № {args.number}",
        "payer": {"name": "Local Payer", "iban": "DE89370400440532013000"},
        "received_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    try:
        with urllib.request.urlopen(signed_request(args.url, args.secret, event), timeout=10) as response:
            print(response.status, response.read().decode())
    except urllib.error.HTTPError as error:
        print(error.code, error.read().decode())
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

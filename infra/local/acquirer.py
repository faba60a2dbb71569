"""Play the card acquirer by hand on the local stage: pay, decline or refund a payment the service asked
for (its id is the `payment_id` of a payment link or of the card page), then deliver the signed webhook.
The local runner delivers the fake's queued webhooks every second as well (`deliver_forever`).

    python -m infra.local.acquirer pay <payment_id> [--card 4111111111111111] [--holder "TEST HOLDER"]
    python -m infra.local.acquirer fail <payment_id>
    python -m infra.local.acquirer refund <payment_id>
    python -m infra.local.acquirer refuse-next <card token or site id>   # its next call answers HTTP 4xx
    python -m infra.local.acquirer timeout-next <card token or site id>  # its next call is lost (times out)

A site id names the card the site's auto-pay charges (read off its subscription on the local stage's
DynamoDB); a card token is what the fake gave the card (`tok_…`, in its payment files).
"""
from __future__ import annotations

import argparse
import os
import sys
import threading
import urllib.error
import urllib.request

from chalicelib.adapters import acquirer


def _default_url() -> str:
    return f"http://127.0.0.1:{os.environ.get('PORT', '8000')}"


def post_to(base_url: str):
    """A `post(body, signature)` for `acquirer.deliver`, to the service at `base_url`."""
    def post(body: bytes, signature: str) -> int:
        request = urllib.request.Request(f"{base_url}/v1/webhooks/acquirer", data=body, method="POST", headers={
            "Content-Type": "application/json", "X-Acquirer-Signature": signature})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            return int(error.code)
        except (urllib.error.URLError, TimeoutError):
            return 0
    return post


def deliver_forever(base_url: str, stop: threading.Event, interval: float = 1.0) -> None:
    """The local runner's worker: the fake's queued webhooks, delivered every `interval` seconds."""
    while not stop.wait(interval):
        events = acquirer.LocalAcquirer().take_outbox()
        if events:
            acquirer.deliver(events, post_to(base_url))


def card_token(name: str) -> str | None:
    """A card token as it is, or the token a site's auto-pay charges."""
    if name.startswith("tok_"):
        return name
    from pynamodb.exceptions import PynamoDBException

    from chalicelib.store.models import DealModel

    try:
        deal = DealModel.get(name, consistent_read=True)
    except (DealModel.DoesNotExist, PynamoDBException):  # no such site, or no local stage to ask
        return None
    token = (deal.data or {}).get("card_token")
    return str(token) if token else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.local.acquirer")
    parser.add_argument("action", choices=("pay", "fail", "refund", "refuse-next", "timeout-next"))
    parser.add_argument("payment_id", help="the payment's id (pay, fail, refund), or a card token or site id")
    parser.add_argument("--card", default="4111111111111111")
    parser.add_argument("--holder", default="TEST HOLDER")
    parser.add_argument("--url", default=_default_url())
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    fake = acquirer.LocalAcquirer()
    if args.action in ("refuse-next", "timeout-next"):
        token = card_token(args.payment_id)
        if token is None:
            print(f"{args.payment_id} is no card token, nor a site with a saved card", file=sys.stderr)
            return 1
        fake.arm(token, "refuse" if args.action == "refuse-next" else "timeout")
        what = "be refused (HTTP 400)" if args.action == "refuse-next" else "time out"
        print(f"the next call for card {token} will {what}")
        return 0
    try:
        if args.action == "refund":
            if fake.refund_by_hand(args.payment_id) is None:
                print(f"{args.payment_id} is not a succeeded payment", file=sys.stderr)
                return 1
        else:
            fake.answer(args.payment_id, args.action == "pay", args.card, args.holder)
    except KeyError:
        print(f"no payment {args.payment_id} at the local acquirer", file=sys.stderr)
        return 1
    events = fake.take_outbox()
    delivered = acquirer.deliver(events, post_to(args.url))
    print(f"{delivered} of {len(events)} webhook(s) delivered to {args.url}")
    return 0 if delivered == len(events) else 1


if __name__ == "__main__":
    sys.exit(main())

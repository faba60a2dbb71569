"""Command line for platform staff:

- `python -m chalicelib.entrypoints.cli create-operator --email E --password P`: operators never come from
  sign-up; the first one is made here (the local runner calls this with OPERATOR_EMAIL / OPERATOR_PASSWORD). It
  talks to the DynamoDB configured in the environment.
- `python -m chalicelib.entrypoints.cli rotate-secret <name> [--secret-id ARN] [--value-stdin] [--force]`: writes
  the secret's next value in Secrets Manager (chalicelib/platform/secret_store.py; the runbook is in
  docs/operations.md). It prints the new key id or the rotation's time, never a value.
- `python -m chalicelib.entrypoints.cli backfill-lookups`: once at deploy, gives the items written before them
  the keys the operators' look-ups read (chalicelib/services/index_backfill.py); a second run changes nothing.
- `python -m chalicelib.entrypoints.cli restand-catalog`: once after `LEVEL_RULES` changed, rewrites every listed
  gig's catalog rows with its contractor's standing as his profile holds it (chalicelib/services/catalog.py).
"""
from __future__ import annotations

import argparse
import sys

from chalicelib.platform import config, secret_store
from chalicelib.platform.errors import DomainError
from chalicelib.store import models


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chalicelib.entrypoints.cli")
    commands = parser.add_subparsers(dest="command", required=True)
    operator = commands.add_parser("create-operator", help="create a platform operator account")
    operator.add_argument("--email", required=True)
    operator.add_argument("--password", required=True)
    operator.add_argument("--name", default="Operator")
    rotate = commands.add_parser("rotate-secret", help="rotate one secret in Secrets Manager")
    rotate.add_argument("name", choices=sorted(secret_store.SECRETS))
    rotate.add_argument("--secret-id", help="the secret's ARN or name (the stack's output <Name>SecretArn); "
                                            "by default the ARN in the environment's <NAME>_ARN")
    rotate.add_argument("--value-stdin", action="store_true",
                        help="read the new value from standard input: a token or key the outside party issued")
    rotate.add_argument("--force", action="store_true",
                        help="rotate even while the previous rotation's key or value is still honoured")
    commands.add_parser("backfill-lookups", help="give existing items the keys the operators' look-ups read")
    commands.add_parser("restand-catalog", help="after LEVEL_RULES changed: rewrite the catalog rows' standings")
    args = parser.parse_args(argv)
    if args.command == "rotate-secret":
        return _rotate_secret(args)

    models.bind(config.reload())
    if args.command == "backfill-lookups":
        from chalicelib.services import index_backfill

        print(" ".join(f"{kind}={count}" for kind, count in index_backfill.run().items()))
        return 0
    if args.command == "restand-catalog":
        from chalicelib.services import catalog

        print(f"contractors={catalog.restand_all()}")
        return 0
    from chalicelib.services import accounts

    try:
        created = accounts.create_operator(args.email, args.password, args.name)
    except DomainError as error:
        print(f"{error.code}: {error.message}", file=sys.stderr)
        return 1 if error.code != "email_taken" else 0
    print(f"operator {created['user']['id']} <{created['user']['email']}>")
    return 0


def _rotate_secret(args: argparse.Namespace) -> int:
    config.reload()
    value = sys.stdin.read().strip() if args.value_stdin else None
    if args.value_stdin and not value:
        print("no value on standard input", file=sys.stderr)
        return 2
    try:
        shown = secret_store.rotate(args.name, value=value, secret_id=args.secret_id, force=args.force)
    except secret_store.RotationRefused as refused:
        print(f"not rotated: {refused}", file=sys.stderr)
        return 1
    print(" ".join(f"{key}={value}" for key, value in shown.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())

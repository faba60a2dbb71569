"""Command line for platform staff: `python -m chalicelib.entrypoints.cli create-operator --email E --password P`.

Operators never come from sign-up; the first one is made here (the local runner calls this with
OPERATOR_EMAIL / OPERATOR_PASSWORD). It talks to the DynamoDB configured in the environment.
"""
from __future__ import annotations

import argparse
import sys

from chalicelib.platform import config
from chalicelib.platform.errors import DomainError
from chalicelib.store import models


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chalicelib.entrypoints.cli")
    commands = parser.add_subparsers(dest="command", required=True)
    operator = commands.add_parser("create-operator", help="create a platform operator account")
    operator.add_argument("--email", required=True)
    operator.add_argument("--password", required=True)
    operator.add_argument("--name", default="Operator")
    args = parser.parse_args(argv)

    models.bind(config.reload())
    from chalicelib.services import accounts

    try:
        created = accounts.create_operator(args.email, args.password, args.name)
    except DomainError as error:
        print(f"{error.code}: {error.message}", file=sys.stderr)
        return 1 if error.code != "email_taken" else 0
    print(f"operator {created['user']['id']} <{created['user']['email']}>")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Play Vchasno on the local stage: the fake knows the tax ids added here (and only those), so
activating the e-document integration succeeds for them and is refused for every other.

    python -m infra.local.vchasno add <tax_id>
    python -m infra.local.vchasno list
"""
from __future__ import annotations

import argparse
import sys

from chalicelib.adapters.vchasno import LocalVchasno


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.local.vchasno")
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add", help="register a company (EDRPOU or RNOKPP) with the fake Vchasno")
    add.add_argument("tax_id")
    commands.add_parser("list", help="the tax ids the fake Vchasno knows")
    args = parser.parse_args(argv)
    fake = LocalVchasno()
    if args.command == "add":
        if not (args.tax_id.isdigit() and len(args.tax_id) in (8, 10)):
            parser.error("tax_id must be 8 (EDRPOU) or 10 (RNOKPP) digits")
        fake.add(args.tax_id)
        print(f"Vchasno (local) knows {args.tax_id}")
    else:
        print("\n".join(fake.accounts()))
    return 0


if __name__ == "__main__":
    sys.exit(main())

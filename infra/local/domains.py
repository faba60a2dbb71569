"""Play the owner's DNS on the local stage: the fake domain verifier proves a domain once it is "published" here,
as the owner would publish the TXT record `escrowdesk-verify=<token>` (or the file at
`https://<domain>/.well-known/escrowdesk-verify`). Then the site's owner asks for verification
(`POST /v1/sites/{site_id}/domains/{domain}/verify`) and the domain is his, unless another site proved it first.

    python -m infra.local.domains verify <domain>                 # proven for whichever site asks
    python -m infra.local.domains verify <domain> --token <token> # proven only with that site's token
    python -m infra.local.domains list
"""
from __future__ import annotations

import argparse
import sys

from chalicelib.adapters.domains import ANY_TOKEN, LocalVerifier
from chalicelib.platform.errors import Unprocessable
from chalicelib.services.site_identifiers import host


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.local.domains")
    commands = parser.add_subparsers(dest="command", required=True)
    verify = commands.add_parser("verify", help="publish the proof of a domain with the fake verifier")
    verify.add_argument("domain")
    verify.add_argument("--token", default=ANY_TOKEN, help="the site's token (GET …/domains/<domain>); "
                                                           "without it any site that asks proves the domain")
    commands.add_parser("list", help="the domains published with the fake verifier, and their tokens")
    args = parser.parse_args(argv)
    fake = LocalVerifier()
    if args.command == "verify":
        try:
            name = host(args.domain, field="domain").ascii
        except Unprocessable as error:
            parser.error(error.message)
        fake.publish(name, args.token)
        print(f"published {name}: the site's owner may now ask to verify it")
    else:
        print("\n".join(f"{name} {token}" for name, token in sorted(fake.published().items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())

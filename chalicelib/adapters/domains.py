"""Domain verification, behind one small interface: `proves(host, token)` — whether whoever controls the host
published the site's token, as a DNS TXT record `escrowdesk-verify=<token>` on the host, or as the body of
`https://<host>/.well-known/escrowdesk-verify`.

On AWS the DNS check asks the resolver the function has (dnspython), and the HTTPS check fetches the file
with no redirect to another host (a redirect to another host proves nothing about this one) and never to an
address that is not public (loopback, private, link-local: the function's own neighbourhood). Locally a fake
knows what was "published" with `python -m infra.local.domains verify <domain> [--token T]`, kept in
`DOMAINS_LOCAL_FILE`.
"""
from __future__ import annotations

import ipaddress
import json
import socket
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from chalicelib.platform.config import settings

TXT_PREFIX = "escrowdesk-verify="
WELL_KNOWN_PATH = "/.well-known/escrowdesk-verify"
MAX_BODY_BYTES = 1024
ANY_TOKEN = "*"  # the local fake: published for whichever site asks


def txt_record(token: str) -> str:
    return f"{TXT_PREFIX}{token}"


def well_known_url(host: str) -> str:
    return f"https://{host}{WELL_KNOWN_PATH}"


class DomainVerifier(Protocol):
    def proves(self, host: str, token: str) -> bool: ...


class DnsHttpsVerifier:
    """The real checks. `scheme`, `port`, `nameservers` and `public_only` exist for tests against stand-ins on
    127.0.0.1; the defaults are what a deployed function uses."""

    def __init__(self, *, scheme: str = "https", port: int | None = None, nameservers: list[str] | None = None,
                 dns_port: int = 53, public_only: bool = True) -> None:
        self.scheme, self.port, self.public_only = scheme, port, public_only
        self.nameservers, self.dns_port = nameservers, dns_port

    def proves(self, host: str, token: str) -> bool:
        return self.txt_proves(host, token) or self.https_proves(host, token)

    def txt_proves(self, host: str, token: str) -> bool:
        import dns.exception
        import dns.resolver

        resolver = dns.resolver.Resolver(configure=self.nameservers is None)
        if self.nameservers is not None:
            resolver.nameservers, resolver.port = self.nameservers, self.dns_port
        try:
            answer = resolver.resolve(host, "TXT", lifetime=settings.domain_verify_timeout_seconds)
        except dns.exception.DNSException:  # NXDOMAIN, no answer, no nameservers, timeout
            return False
        expected = txt_record(token).encode()
        return any(b"".join(record.strings).strip() == expected for record in answer)

    def _url(self, host: str) -> str:
        return f"{self.scheme}://{host}{f':{self.port}' if self.port else ''}{WELL_KNOWN_PATH}"

    def _public(self, host: str) -> bool:
        if not self.public_only:
            return True
        try:
            addresses = {info[4][0] for info in socket.getaddrinfo(host, self.port or 443, type=socket.SOCK_STREAM)}
        except (OSError, UnicodeError):
            return False
        return bool(addresses) and all(ipaddress.ip_address(str(address).split("%")[0]).is_global
                                       for address in addresses)

    def https_proves(self, host: str, token: str) -> bool:
        if not self._public(host):
            return False
        opener = urllib.request.build_opener(_SameHostRedirects(host, self.scheme))
        try:
            with opener.open(urllib.request.Request(self._url(host), headers={"Accept": "text/plain"}),
                             timeout=settings.domain_verify_timeout_seconds) as response:
                body = response.read(MAX_BODY_BYTES + 1)
        except (urllib.error.URLError, OSError, ValueError):
            return False
        return len(body) <= MAX_BODY_BYTES and body.strip() == token.encode()


class _SameHostRedirects(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only within the host being verified (http → https on it, another path)."""

    max_redirections = 3

    def __init__(self, host: str, scheme: str) -> None:
        self.host, self.scheme = host.lower(), scheme

    def redirect_request(self, req: urllib.request.Request, fp: Any, code: int, msg: str, headers: Any,
                         newurl: str) -> urllib.request.Request | None:
        target = urlsplit(newurl)
        if (target.hostname or "").lower() != self.host or target.scheme != self.scheme:
            return None  # urllib raises HTTPError: not proven
        return super().redirect_request(req, fp, code, msg, headers, newurl)


class LocalVerifier:
    """Published proofs in a JSON file: `{"published": {"shop.example.ua": "<token>" or "*"}}`."""

    @property
    def _path(self) -> Path:
        return Path(settings.domains_local_file)

    def published(self) -> dict[str, str]:
        try:
            return dict(json.loads(self._path.read_text(encoding="utf-8")).get("published", {}))
        except FileNotFoundError:
            return {}

    def publish(self, host: str, token: str = ANY_TOKEN) -> None:
        known = {**self.published(), host: token}
        self._path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self._path.with_suffix(".tmp")
        temporary.write_text(json.dumps({"published": known}, sort_keys=True), encoding="utf-8")
        temporary.replace(self._path)

    def proves(self, host: str, token: str) -> bool:
        return self.published().get(host) in (token, ANY_TOKEN)


def get_domain_verifier() -> DomainVerifier:
    """DNS and HTTPS on every deployed stage; the local fake on the local stage."""
    return LocalVerifier() if settings.is_local else DnsHttpsVerifier()

"""Credentials never follow a redirect: the adapters that send a token or a signature (Vchasno, the state
registry, the card acquirer, the payout bank) against a stand-in on 127.0.0.1 that answers every request with
a redirect to a second stand-in, the attacker's host. The attacker's host never hears from us; and on a
deployed stage a plain `http:` address is refused before anything is sent."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest

from chalicelib.adapters.acquirer import HttpAcquirer
from chalicelib.adapters.payout_bank import HttpBank
from chalicelib.adapters.state_registry import HttpRegistry
from chalicelib.adapters.vchasno import HttpVchasno
from chalicelib.money.amounts import Money
from chalicelib.platform import config, outgoing
from chalicelib.platform.errors import UpstreamUnavailable

EDRPOU = "32855961"


@dataclass
class Host:
    url: str = ""
    heard: list[dict[str, str]] = field(default_factory=list)


def _serve(host: Host, redirect_to: Host | None, status: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # quiet
            pass

        def _handle(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            host.heard.append({key.lower(): value for key, value in self.headers.items()})
            if redirect_to is None:
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")
                return
            self.send_response(status)
            self.send_header("Location", f"{redirect_to.url}{self.path}")
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST = _handle

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    host.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(params=[301, 302, 307, 308])
def redirecting(request, monkeypatch) -> Iterator[tuple[Host, Host]]:
    """Every adapter's URL points at a host that redirects to the attacker's."""
    attacker, upstream = Host(), Host()
    servers = [_serve(attacker, None, 200)]
    servers.append(_serve(upstream, attacker, request.param))
    for name, value in (("VCHASNO_URL", upstream.url), ("VCHASNO_TOKEN", "vchasno-secret"),
                        ("REGISTRY_URL", upstream.url), ("REGISTRY_TOKEN", "registry-secret"),
                        ("ACQUIRER_URL", upstream.url), ("ACQUIRER_KEY", "acquirer-secret"),
                        ("BANK_PAYOUT_URL", f"{upstream.url}/payouts")):
        monkeypatch.setenv(name, value)
    config.reload()
    try:
        yield upstream, attacker
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


PAYOUT = SimpleNamespace(id="payout-1", amount=1000, currency="UAH", method="iban", destination="UA21322313")

CALLS = {
    "vchasno company check": lambda: HttpVchasno().has_account(EDRPOU),
    "vchasno upload": lambda: HttpVchasno().upload(EDRPOU, "act.pdf", b"%PDF"),
    "registry": lambda: HttpRegistry().company(EDRPOU),
    "acquirer charge": lambda: HttpAcquirer().charge("pay-1", "card-token", Money(100, "UAH"), "x", "key-1"),
    "bank payout": lambda: HttpBank().request_payout(PAYOUT),  # type: ignore[arg-type]
}


@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS.keys())
def test_a_redirecting_upstream_cannot_lead_our_credentials_to_another_host(redirecting, call):
    upstream, attacker = redirecting
    with pytest.raises(Exception) as refused:
        call()
    assert isinstance(refused.value, UpstreamUnavailable | outgoing.urllib.error.HTTPError)
    assert len(upstream.heard) == 1  # asked once, and the redirect was not followed
    assert attacker.heard == []


def test_the_credentials_reach_the_upstream_itself(monkeypatch):
    """The same adapters still speak to a host that answers (so the refusal above is the redirect's)."""
    host = Host()
    server = _serve(host, None, 200)
    try:
        monkeypatch.setenv("ACQUIRER_URL", host.url)
        monkeypatch.setenv("ACQUIRER_KEY", "acquirer-secret")
        config.reload()
        HttpAcquirer().refund("pay-1", Money(100, "UAH"))
        assert host.heard[0]["x-token"] == "acquirer-secret"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS.keys())
def test_a_plain_http_upstream_on_a_deployed_stage_is_refused_before_any_byte_is_sent(redirecting, monkeypatch,
                                                                                       call):
    upstream, attacker = redirecting
    monkeypatch.setenv("STAGE", "prod")
    config.reload()
    with pytest.raises(outgoing.InsecureUpstream) as refused:
        call()
    assert refused.value.status == 503 and refused.value.code == "upstream_insecure"
    assert upstream.heard == [] and attacker.heard == []


def test_https_addresses_pass_the_deployed_stage_check(monkeypatch):
    monkeypatch.setenv("STAGE", "prod")
    config.reload()
    outgoing.require_secure("https://api.vchasno.ua/api/v2/companies/1")
    with pytest.raises(outgoing.InsecureUpstream):
        outgoing.require_secure("http://api.vchasno.ua/api/v2/companies/1")

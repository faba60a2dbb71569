"""A domain is claimed by proving it. A domain added to a site stays `pending` until its owner publishes the site's
token (a DNS TXT record `escrowdesk-verify=<token>`, or the token at `https://<domain>/.well-known/escrowdesk-verify`)
and asks for verification; until then other sites may claim it too, the first to prove it holds it, and the others'
owners are told. The verifier's real checks run against stand-ins on 127.0.0.1 (a DNS server and a web server);
the API runs on the local stage's fake (`python -m infra.local.domains`)."""
from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import dns.message
import dns.rdatatype
import dns.rrset
import pytest

from chalicelib.adapters.domains import DnsHttpsVerifier, LocalVerifier
from chalicelib.store.models import KeyModel, NotificationModel
from infra.local import domains as domains_cli
from tests.billing_support import add_tariffs, new_site

SHOP = "shop.example.ua"


@pytest.fixture
def rivals(api, operator_token) -> dict:
    """Given a squatter who typed the shop's domain first, and the real shop adding it after him."""
    add_tariffs(api, operator_token)
    squatter, shop = api.signup("squatter@example.com"), api.signup("owner@shop.example.ua")
    squatters_site = new_site(api, squatter, domains=(SHOP,), name="Not the shop")
    shops_site = new_site(api, shop, domains=(SHOP,), name="The shop")  # not refused: nobody proved it yet
    return {"squatter": squatter, "shop": shop, "squatters_site": squatters_site["id"], "shops_site": shops_site["id"]}


def _status(api, token: str, site_id: str, domain: str = SHOP):
    return api.get(f"/v1/sites/{site_id}/domains/{domain}", token=token)


def _verify(api, token: str, site_id: str, domain: str = SHOP):
    return api.post(f"/v1/sites/{site_id}/domains/{domain}/verify", token=token)


def _user_id(api, token: str) -> str:
    return api.get("/v1/me", token=token).json_body["id"]


def test_a_stranger_who_types_a_shops_domain_first_does_not_take_it_from_the_shop(api, rivals):
    squatter, shop = rivals["squatter"], rivals["shop"]
    pending = _status(api, squatter, rivals["squatters_site"])
    assert pending.status_code == 200 and pending.json_body["status"] == "pending"
    not_proven = _verify(api, squatter, rivals["squatters_site"])  # he cannot publish the shop's DNS
    assert not_proven.status_code == 422 and not_proven.json_body["error"]["code"] == "domain_not_proven"
    assert not KeyModel.count(f"domain#{SHOP}")

    token = _status(api, shop, rivals["shops_site"]).json_body["token"]
    LocalVerifier().publish(SHOP, token)  # the shop publishes its own token, and only its own
    assert _verify(api, squatter, rivals["squatters_site"]).status_code == 422
    won = _verify(api, shop, rivals["shops_site"])
    assert won.status_code == 200 and won.json_body["status"] == "verified"

    lost = _status(api, squatter, rivals["squatters_site"]).json_body
    assert lost["status"] == "taken"
    refused = _verify(api, squatter, rivals["squatters_site"])
    assert refused.status_code == 409 and refused.json_body["error"]["code"] == "domain_taken"
    told = [n for n in NotificationModel.query(_user_id(api, squatter)) if n.kind == "domain_claimed_elsewhere"]
    assert [n.params["domain"] for n in told] == [SHOP]
    assert not [n for n in NotificationModel.query(_user_id(api, shop)) if n.kind == "domain_claimed_elsewhere"]
    assert _verify(api, shop, rivals["shops_site"]).json_body["status"] == "verified"  # asking again changes nothing


def test_once_proved_a_domain_is_refused_to_every_new_claim_and_a_losers_removal_does_not_free_it(api, rivals):
    LocalVerifier().publish(SHOP)
    assert _verify(api, rivals["shop"], rivals["shops_site"]).status_code == 200
    late = api.signup("late@example.com")
    taken = api.post("/v1/sites", {"name": "Late", "domains": [SHOP], "owner": {
        "name": "Late", "email": "late@example.com", "phone": "+380501234567"}, "tariff": "start"}, token=late)
    assert taken.status_code == 409 and taken.json_body["error"]["code"] == "domain_taken"
    removed = api.request("DELETE", f"/v1/sites/{rivals['squatters_site']}/domains/{SHOP}", token=rivals["squatter"])
    assert removed.status_code == 200
    assert KeyModel.get(f"domain#{SHOP}").target_id == rivals["shops_site"]


def test_each_site_has_its_own_stable_token_and_the_answer_says_how_to_publish_it(api, rivals):
    mine = _status(api, rivals["shop"], rivals["shops_site"]).json_body
    theirs = _status(api, rivals["squatter"], rivals["squatters_site"]).json_body
    assert mine["token"] != theirs["token"] and mine == _status(api, rivals["shop"], rivals["shops_site"]).json_body
    assert mine["txt_record"] == f"escrowdesk-verify={mine['token']}"
    assert mine["well_known_url"] == f"https://{SHOP}/.well-known/escrowdesk-verify"
    assert _status(api, rivals["squatter"], rivals["shops_site"]).status_code == 404  # not his site
    assert _verify(api, rivals["shop"], rivals["shops_site"], "other.example.ua").status_code == 404


def test_the_local_fake_publishes_by_its_command_line(capsys):
    assert domains_cli.main(["verify", "Магазин.укр"]) == 0
    assert domains_cli.main(["verify", SHOP, "--token", "abc"]) == 0
    assert LocalVerifier().proves("xn--80aairftm.xn--j1amh", "any site's token")
    assert LocalVerifier().proves(SHOP, "abc") and not LocalVerifier().proves(SHOP, "def")
    capsys.readouterr()
    assert domains_cli.main(["list"]) == 0
    assert capsys.readouterr().out.split() == [SHOP, "abc", "xn--80aairftm.xn--j1amh", "*"]


# The real verifier -------------------------------------------------------------------------------------------------

TOKEN = "0123456789abcdef"


@pytest.fixture
def dns_server() -> Iterator[tuple[int, dict[str, list[str]]]]:
    """A DNS server on 127.0.0.1 answering TXT questions from `records` (name → strings)."""
    records: dict[str, list[str]] = {}
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                wire, peer = sock.recvfrom(4096)
            except TimeoutError:
                continue
            query = dns.message.from_wire(wire)
            answer = dns.message.make_response(query)
            question = query.question[0]
            name = question.name.to_text().rstrip(".")
            if question.rdtype == dns.rdatatype.TXT and name in records:
                answer.answer.append(dns.rrset.from_text(question.name, 60, "IN", "TXT",
                                                         *(f'"{text}"' for text in records[name])))
            sock.sendto(answer.to_wire(), peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1], records
    finally:
        stop.set()
        thread.join()
        sock.close()


def test_a_txt_record_with_the_sites_token_proves_the_domain_and_anything_else_does_not(dns_server):
    port, records = dns_server
    verifier = DnsHttpsVerifier(nameservers=["127.0.0.1"], dns_port=port)
    assert not verifier.txt_proves(SHOP, TOKEN)  # no record
    records[SHOP] = ["v=spf1 -all", f"escrowdesk-verify={TOKEN}x"]
    assert not verifier.txt_proves(SHOP, TOKEN)  # another token
    records[SHOP].append(f"escrowdesk-verify={TOKEN}")
    assert verifier.txt_proves(SHOP, TOKEN)
    assert not verifier.txt_proves(SHOP, "another site's token")


@pytest.fixture
def web() -> Iterator[tuple[int, dict[str, tuple[int, str]]]]:
    """A web server on 127.0.0.1: path → (status, body or Location)."""
    answers: dict[str, tuple[int, str]] = {}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            status, text = answers.get(self.path, (404, ""))
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("Location", text)
                text = ""
            self.send_header("Content-Length", str(len(text.encode())))
            self.end_headers()
            self.wfile.write(text.encode())

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1], answers
    finally:
        server.shutdown()
        server.server_close()


def test_the_token_served_at_the_well_known_address_proves_the_domain(web):
    port, answers = web
    verifier = DnsHttpsVerifier(scheme="http", port=port, public_only=False)
    assert not verifier.https_proves("127.0.0.1", TOKEN)
    answers["/.well-known/escrowdesk-verify"] = (200, "wrong token\n")
    assert not verifier.https_proves("127.0.0.1", TOKEN)
    answers["/.well-known/escrowdesk-verify"] = (200, f"{TOKEN}\n")
    assert verifier.https_proves("127.0.0.1", TOKEN)


def test_a_redirect_to_another_host_proves_nothing_about_this_one(web):
    """An attacker who controls a redirect on the shop's site (an open redirect) must not prove the shop's domain
    with a token served from his own host. Within the same host a redirect is followed."""
    port, answers = web
    verifier = DnsHttpsVerifier(scheme="http", port=port, public_only=False)
    answers["/attacker/token"] = (200, TOKEN)
    answers["/.well-known/escrowdesk-verify"] = (302, f"http://localhost:{port}/attacker/token")
    assert not verifier.https_proves("127.0.0.1", TOKEN)
    answers["/.well-known/escrowdesk-verify"] = (302, f"http://127.0.0.1:{port}/attacker/token")
    assert verifier.https_proves("127.0.0.1", TOKEN)


def test_a_domain_pointing_at_a_private_address_is_never_fetched(web):
    """On a deployed stage the check only fetches public addresses: a domain resolving to 127.0.0.1 or the cloud's
    link-local services proves nothing and reaches nothing."""
    port, answers = web
    answers["/.well-known/escrowdesk-verify"] = (200, TOKEN)
    assert not DnsHttpsVerifier(scheme="http", port=port).https_proves("127.0.0.1", TOKEN)
    assert not DnsHttpsVerifier(scheme="http", port=port).https_proves("localhost", TOKEN)

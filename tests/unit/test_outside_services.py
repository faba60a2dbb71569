"""The outside services' HTTP adapters — Vchasno (company check, document upload) and the state
registry — against a stand-in HTTP server on this machine, and the local Vchasno's command line.

The stand-in answers as the real API is documented to (`chalicelib/adapters/vchasno.py`,
`chalicelib/adapters/state_registry.py`)
and records each request, so the tests check what the adapters send as well as what they make of the
answers: the token, the paths, the multipart upload, and every failure a 503 or a 422 that changes
nothing."""
from __future__ import annotations

import email.parser
import email.policy
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from chalicelib.adapters.state_registry import Company, HttpRegistry, LocalRegistry, get_registry
from chalicelib.adapters.vchasno import HttpVchasno, LocalVchasno, get_vchasno
from chalicelib.platform import config
from chalicelib.platform.errors import Unprocessable, UpstreamUnavailable
from chalicelib.store.models import SiteModel
from infra.local import vchasno as vchasno_cli
from tests.billing_support import EDRPOU, IBAN, add_tariffs, new_site

TOKEN = "vchasno-secret-token"
REGISTRY_TOKEN = "registry-secret-token"
RNOKPP = "1759013776"


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Upstream:
    """What the stand-in knows, and what it was asked."""

    url: str
    vchasno_accounts: set[str] = field(default_factory=set)
    companies: dict[str, dict] = field(default_factory=dict)
    failing: bool = False  # answer 500 to everything
    seen: list[Seen] = field(default_factory=list)


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    state = Upstream(url="")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # quiet
            pass

        def _answer(self, status: int, body: dict | None = None) -> None:
            payload = json.dumps(body or {}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _record(self) -> Seen:
            length = int(self.headers.get("Content-Length") or 0)
            seen = Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()},
                        self.rfile.read(length))
            state.seen.append(seen)
            return seen

        def do_GET(self) -> None:
            seen = self._record()
            if state.failing:
                return self._answer(500)
            if seen.path.startswith("/vchasno/api/v2/companies/"):
                tax_id = seen.path.rsplit("/", 1)[1]
                known = seen.headers.get("authorization") == TOKEN and tax_id in state.vchasno_accounts
                return self._answer(200, {"edrpou": tax_id}) if known else self._answer(404)
            if seen.path.startswith("/registry/companies/"):
                if seen.headers.get("authorization") != f"Bearer {REGISTRY_TOKEN}":
                    return self._answer(401)
                found = state.companies.get(seen.path.rsplit("/", 1)[1])
                return self._answer(200, found) if found else self._answer(404)
            return self._answer(404)

        def do_POST(self) -> None:
            seen = self._record()
            if state.failing or seen.path != "/vchasno/api/v2/documents":
                return self._answer(500)
            return self._answer(201, {"id": "doc-0001"})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def wired(upstream, monkeypatch) -> Upstream:
    """The app configured for the stand-in, as a deployed stage would be for the real services."""
    monkeypatch.setenv("VCHASNO_URL", f"{upstream.url}/vchasno/")
    monkeypatch.setenv("VCHASNO_TOKEN", TOKEN)
    monkeypatch.setenv("REGISTRY_URL", f"{upstream.url}/registry")
    monkeypatch.setenv("REGISTRY_TOKEN", REGISTRY_TOKEN)
    config.reload()
    return upstream


def test_a_configured_url_selects_the_http_adapters_and_the_local_stage_the_fakes(wired, monkeypatch):
    assert isinstance(get_vchasno(), HttpVchasno) and isinstance(get_registry(), HttpRegistry)
    for name in ("VCHASNO_URL", "REGISTRY_URL"):
        monkeypatch.delenv(name)
    config.reload()
    assert config.settings.is_local
    assert isinstance(get_vchasno(), LocalVchasno) and isinstance(get_registry(), LocalRegistry)


def test_vchasnos_company_check_sends_the_token_and_reads_200_and_404(wired):
    wired.vchasno_accounts.add(EDRPOU)
    assert HttpVchasno().has_account(EDRPOU) is True
    assert HttpVchasno().has_account(RNOKPP) is False
    first = wired.seen[0]
    assert (first.method, first.path) == ("GET", f"/vchasno/api/v2/companies/{EDRPOU}")
    assert first.headers["authorization"] == TOKEN


def test_a_document_is_uploaded_as_multipart_with_the_recipients_tax_id(wired):
    pdf = b"%PDF-1.4 an act of completed work"
    assert HttpVchasno().upload(EDRPOU, "act-2027-01.pdf", pdf) == "doc-0001"
    (seen,) = wired.seen
    assert (seen.method, seen.path) == ("POST", "/vchasno/api/v2/documents")
    assert seen.headers["authorization"] == TOKEN
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {seen.headers['content-type']}\r\n\r\n".encode() + seen.body)
    parts = {part.get_param("name", header="content-disposition"): part for part in message.iter_parts()}
    assert parts["recipient_edrpou"].get_content().strip() == EDRPOU
    assert parts["file"].get_filename() == "act-2027-01.pdf"
    assert parts["file"].get_content_type() == "application/pdf" and parts["file"].get_content() == pdf


def test_an_unreachable_or_failing_vchasno_is_a_503_that_says_retry(wired, monkeypatch):
    wired.failing = True
    with pytest.raises(UpstreamUnavailable) as failing:
        HttpVchasno().has_account(EDRPOU)
    assert failing.value.status == 503
    monkeypatch.setenv("VCHASNO_URL", "http://127.0.0.1:9")  # nothing listens on the discard port
    config.reload()
    with pytest.raises(UpstreamUnavailable):
        HttpVchasno().upload(EDRPOU, "act.pdf", b"%PDF")


def test_the_registry_gives_name_address_and_director_with_a_bearer_token(wired):
    wired.companies[EDRPOU] = {"name": "ТОВ «Квітка»", "address": "01001, м. Київ, вул. Хрещатик, 1",
                               "director": "Петренко Олена Іванівна"}
    assert HttpRegistry().company(EDRPOU) == Company("ТОВ «Квітка»", "01001, м. Київ, вул. Хрещатик, 1",
                                                     "Петренко Олена Іванівна")
    assert wired.seen[0].path == f"/registry/companies/{EDRPOU}"
    with pytest.raises(Unprocessable) as unknown:
        HttpRegistry().company(RNOKPP)
    assert unknown.value.code == "company_not_found" and unknown.value.status == 422
    wired.failing = True
    with pytest.raises(UpstreamUnavailable):
        HttpRegistry().company(EDRPOU)


def test_through_the_api_requisites_and_activation_use_the_real_services_answers(api, operator_token, wired):
    add_tariffs(api, operator_token)
    owner = api.signup("owner@example.ua", locale="uk", name="Olena")
    site = new_site(api, owner)
    path = f"/v1/sites/{site['id']}"
    unknown = api.request("PUT", f"{path}/requisites", {"tax_id": EDRPOU, "iban": IBAN}, token=owner)
    assert unknown.status_code == 422 and unknown.json_body["error"]["code"] == "company_not_found"
    assert SiteModel.get(site["id"], consistent_read=True).requisites is None  # nothing was kept

    wired.companies[EDRPOU] = {"name": "ТОВ «Квітка»", "address": "м. Київ", "director": "Петренко О. І."}
    saved = api.request("PUT", f"{path}/requisites", {"tax_id": EDRPOU, "iban": IBAN}, token=owner)
    assert saved.status_code == 200 and saved.json_body["company_name"] == "ТОВ «Квітка»"
    refused = api.post(f"{path}/vchasno/activate", token=owner)
    assert refused.status_code == 422 and refused.json_body["error"]["code"] == "vchasno_account_not_found"
    wired.vchasno_accounts.add(EDRPOU)
    assert api.post(f"{path}/vchasno/activate", token=owner).json_body == {"status": "activated"}

    wired.failing = True
    down = api.request("PUT", f"{path}/requisites", {"tax_id": RNOKPP, "iban": IBAN}, token=owner)
    assert down.status_code == 409 and down.json_body["error"]["code"] == "vchasno_active"  # locked before asking
    assert api.post(f"{path}/vchasno/deactivate", token=owner).status_code == 200
    down = api.request("PUT", f"{path}/requisites", {"tax_id": RNOKPP, "iban": IBAN}, token=owner)
    assert down.status_code == 503 and down.json_body["error"]["code"] == "upstream_unavailable"
    assert SiteModel.get(site["id"], consistent_read=True).requisites["tax_id"] == EDRPOU


def test_the_local_vchasnos_command_line_adds_and_lists_known_companies(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("VCHASNO_LOCAL_FILE", str(tmp_path / "vchasno" / "accounts.json"))
    config.reload()
    assert not LocalVchasno().has_account(EDRPOU)
    assert vchasno_cli.main(["add", EDRPOU]) == 0
    assert vchasno_cli.main(["add", RNOKPP]) == 0
    assert LocalVchasno().has_account(EDRPOU) and LocalVchasno().has_account(RNOKPP)
    capsys.readouterr()
    assert vchasno_cli.main(["list"]) == 0
    assert capsys.readouterr().out.split() == sorted([EDRPOU, RNOKPP])
    with pytest.raises(SystemExit) as refused:
        vchasno_cli.main(["add", "12345"])
    assert refused.value.code == 2

"""Hostile and careless callers get a clear 4xx in the API's error shape, never a 500, and change
nothing. One table sends every route of the authorization matrix's world the inputs that
once reached a 500 or worse — JSON nested 100,000 deep, integers beyond any bound, another user's or
another list's cursor, file names and archives that attack the reader, attachment links that run
code, a path's other methods, a file route without Accept — and checks the answer's shape and that
no deal, balance, journal line or payout moved."""
from __future__ import annotations

import io
import json
import zipfile

import pytest

import app  # noqa: F401  (registers every route, so OPERATIONS is complete)
from chalicelib.entrypoints.api.http import OPERATIONS, ROUTE_METHODS
from chalicelib.money.amounts import MAX_AMOUNT_MINOR
from chalicelib.services.pagination import encode_cursor, list_scope
from chalicelib.store.models import UploadModel
from tests.support import assert_books_balance, declare_upload, sign, transfer_event, upload
from tests.unit.test_authz_matrix import (
    NOBODY,
    OWNER,
    SITE_KEY,
    USERS,
    _rows,
    _snapshot,
    _template,
    _world,
    credentials,
)

DEEP = b"[" * 100_000
CLIENT_ERRORS = range(400, 500)
HUGE = [10**16, 10**40]
DIGITS_5000 = "9" * 5000
# The ends of a session: calling them with their (ignored) hostile bodies would log the caller out.
ENDS_SESSION = {"/v1/auth/logout", "/v1/me/password"}


def _int_fields(body) -> list[str]:
    return [name for name, value in (body or {}).items() if isinstance(value, int) and not isinstance(value, bool)]


def _shaped(response) -> bool:
    if response.headers.get("Content-Type", "").startswith("text/html"):
        return True  # a page (chalicelib/entrypoints/web) answers in HTML, its refusals too
    try:
        error = json.loads(response.body)["error"]
    except (ValueError, KeyError, TypeError):
        return False
    return isinstance(error, dict) and {"code", "message"} <= set(error)


@pytest.fixture
def world(api):
    return _world(api)


def _caller(row, w) -> str | None:
    """Someone the route would serve, so that the hostile part of the request is what gets judged."""
    for who in (OWNER, *sorted(USERS)):
        if who in row.may:
            return w["tokens"][who]
    return w["tokens"][OWNER] if row.may else None


def test_every_route_answers_hostile_input_with_a_clear_4xx_and_moves_nothing(api, world):
    w = world
    rows = [row for row in _rows(w) if row.path not in ENDS_SESSION]
    by_route = {(op.method, op.path): op for op in OPERATIONS}
    wrong: list[str] = []

    def send(row, label, *, raw=None, body=None, path=None, token=..., headers=None, expect=CLIENT_ERRORS,
             method=None):
        key_headers: dict = {}
        if token is ... and row.may == {SITE_KEY}:  # the usage route: the site's key, no bearer
            token, key_headers = credentials(w, SITE_KEY)
        response = api.request(method or row.method, path or row.path, body, raw=raw,
                               token=_caller(row, w) if token is ... else token,
                               headers={**row.headers, **key_headers, **(headers or {})})
        if response.status_code not in expect or not _shaped(response):
            wrong.append(f"{row.method} {row.path} [{label}]: {response.status_code} {response.body[:160]!r}")
        return response

    for row in rows:
        before = _snapshot()
        _hostile_row(row, w, by_route, send, wrong)
        if _snapshot() != before:
            wrong.append(f"{row.method} {row.path}: refused, but the books or a deal changed")

    assert wrong == [], "\n".join(wrong)
    assert_books_balance()


def _hostile_row(row, w, by_route, send, wrong) -> None:
    """Every hostile input that applies to the route of `row`."""
    operation = by_route[(row.method, _template(row.path, w))]
    if row.path.startswith("/v1/webhooks/"):
        return  # the bank's own test below: signed bodies
    if operation.request is not None:
        send(row, "JSON nested 100,000 deep", raw=DEEP, expect={400})
        for number in HUGE:
            for name in _int_fields(row.body):
                send(row, f"{name}={number:.0e}", body={**row.body, name: number}, expect={422})
        for name in _int_fields(row.body):
            raw = json.dumps({**row.body, name: 0}).replace(f'"{name}": 0', f'"{name}": {DIGITS_5000}').encode()
            send(row, f"{name} of 5,000 digits", raw=raw, expect={400})
    # The API's lists (a bearer's, with `limit`); a console page's cursor is signed for its operator and filters
    # alike, and refused on a page (tests/unit/test_audit_log.py).
    if "cursor" in operation.query and operation.produces != "text/html":
        other = w["ids"][OWNER] if _caller(row, w) != w["tokens"][OWNER] else w["ids"]["other client"]
        with list_scope(json.dumps([other, "GET", operation.path, [], []])):  # another user's list
            theirs = encode_cursor({"id": {"S": "x"}})
        with list_scope(json.dumps([w["ids"][OWNER], "GET", "/v1/elsewhere", [], []])):  # another list
            elsewhere = encode_cursor({"id": {"S": "x"}})
        for label, cursor in (("another user's cursor", theirs), ("another list's cursor", elsewhere)):
            response = send(row, label, path=f"{row.path}?cursor={cursor}", expect={400})
            if response.status_code == 400 and json.loads(response.body)["error"]["code"] != "invalid_cursor":
                wrong.append(f"{row.path} [{label}]: {response.body!r}")
        send(row, "a limit of 5,000 digits", path=f"{row.path}?limit={DIGITS_5000}", expect={422})
    for method in ROUTE_METHODS:
        if (method, operation.path) not in by_route:
            response = send(row, f"{method}: not served", expect={405}, method=method)
            if response.status_code == 405 and "Allow" not in response.headers:
                wrong.append(f"{method} {row.path}: 405 without Allow")
    if operation.produces not in ("application/json", "text/html"):  # 406 where the file is answered
        send(row, "a file without Accept", headers={"Accept": "application/json"})


def test_a_real_cursor_serves_only_its_own_caller_and_list(api, world):
    w = world
    owner, other = w["tokens"][OWNER], w["tokens"]["other client"]
    api.invoice(owner, 2_000, "USD")
    first = api.get("/v1/invoices?limit=1", token=owner).json_body
    cursor = first["next_cursor"]
    assert cursor and api.get(f"/v1/invoices?limit=1&cursor={cursor}", token=owner).status_code == 200
    for token, path in ((other, "/v1/invoices"), (owner, "/v1/payouts"), (owner, "/v1/orders"),
                        (owner, "/v1/orders?role=contractor")):
        joiner = "&" if "?" in path else "?"
        refused = api.get(f"{path}{joiner}cursor={cursor}", token=token)
        assert refused.status_code == 400, (path, refused.body)
        assert refused.json_body["error"]["code"] == "invalid_cursor"


def test_the_bank_webhook_answers_hostile_bodies_without_a_500(api, world):
    before = _snapshot()
    deep = api.post("/v1/webhooks/bank", raw=DEEP, headers={"X-Bank-Signature": sign(DEEP)})
    assert deep.status_code == 400 and deep.json_body["error"]["code"] == "too_deeply_nested"
    for header in ("t=" + "1" * 5000 + ",v1=00", "t=²,v1=00", "t=-1,v1=00"):
        assert api.post("/v1/webhooks/bank", raw=b"{}", headers={"X-Bank-Signature": header}).status_code == 401
    huge = json.loads(transfer_event("evt-huge-int", 1, "USD", "x"))
    raw = json.dumps(huge).replace('"amount": 1', f'"amount": {DIGITS_5000}').encode()
    assert api.webhook(raw).status_code == 400
    assert api.webhook(transfer_event("evt-38", 10**38, "USD", "x")).status_code == 422
    assert _snapshot() == before
    assert_books_balance()


@pytest.mark.parametrize("amount", [MAX_AMOUNT_MINOR["USD"] + 1, 10**20, 10**38 - 1])
def test_a_signed_transfer_beyond_the_bound_is_parked_as_unmatched_and_moves_no_money(api, world, amount):
    invoice = api.invoice(world["tokens"][OWNER], 1_000, "USD")
    before = _snapshot()
    answer = api.webhook(transfer_event(f"evt-big-{amount}", amount, "USD", invoice["payment_details"]))
    assert answer.status_code == 200 and answer.json_body["payment"]["status"] == "unmatched"
    assert answer.json_body["payment"]["reason"] == "amount_out_of_range"
    assert _snapshot() == before  # parked without a posting: no balance can overflow
    assert api.webhook(transfer_event(f"evt-big-{amount}", amount, "USD", "x")).json_body["duplicate"] is True
    operator = world["tokens"]["operator"]
    payment = answer.json_body["payment"]["id"]
    assert api.post(f"/v1/operator/payments/{payment}/apply", {"invoice_id": invoice["id"]},
                    token=operator).status_code == 422
    assert api.post(f"/v1/operator/payments/{payment}/return", token=operator).status_code == 200
    assert _snapshot() == before
    assert_books_balance()


def test_an_irr_invoice_at_the_bound_renders_its_pdf(api, world):
    invoice = api.invoice(world["tokens"][OWNER], MAX_AMOUNT_MINOR["IRR"], "IRR")
    pdf = api.get(f"/v1/invoices/{invoice['id']}/pdf", token=world["tokens"][OWNER], headers={"Accept": "*/*"})
    assert pdf.status_code == 200 and pdf.body.startswith(b"%PDF")
    for accept in ({}, {"Accept": "application/json"}):  # no Accept that allows a PDF: a 406 in the error shape
        refused = api.get(f"/v1/invoices/{invoice['id']}/pdf", token=world["tokens"][OWNER], headers=accept)
        assert refused.status_code == 406 and refused.json_body["error"]["code"] == "not_acceptable"
    above = api.post("/v1/invoices", {"amount": MAX_AMOUNT_MINOR["IRR"] + 1, "currency": "IRR"},
                     token=world["tokens"][OWNER])
    assert above.status_code == 422


def _zip_of(*names: str, size: int = 10) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "x" * size)
    return buffer.getvalue()


def _symlink_zip() -> str:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        link = zipfile.ZipInfo("site/link")
        link.external_attr = (0o120777 << 16)
        archive.writestr(link, "/etc/passwd")
    return buffer.getvalue()


def test_a_deliverable_must_be_a_zip_safe_to_unpack(api, world, monkeypatch):
    from chalicelib.platform import config

    w = world
    contract, coder = w["contract"], w["tokens"]["deal contractor"]
    assert api.post(f"/v1/contracts/{contract}/accept", token=coder).status_code == 200
    monkeypatch.setenv("ZIP_MAX_ENTRIES", "3")
    monkeypatch.setenv("ZIP_MAX_UNPACKED_BYTES", "1000")
    config.reload()
    refused = {
        "not_a_zip": b"PK\x03\x04 not really",
        "zip_unsafe_path": _zip_of("../../etc/cron.d/evil"),
        "zip_too_many_entries": _zip_of("a", "b", "c", "d"),
        "zip_too_large_unpacked": _zip_of("big", size=2000),
    }
    uploaded = {code: upload(api, coder, "site.zip", content, "application/zip") for code, content in {
        **refused, "absolute": _zip_of("/etc/passwd"), "drive": _zip_of("C:/windows/x"),
        "backslash": _zip_of("..\\..\\evil"), "link": _symlink_zip()}.items()}
    before = _snapshot()
    for code, file_id in uploaded.items():
        answer = api.post(f"/v1/contracts/{contract}/deliverable", {"file_id": file_id}, token=coder)
        assert answer.status_code == 422, (code, answer.body)
        assert answer.json_body["error"]["code"] == (code if code in refused else "zip_unsafe_path"), (code,
                                                                                                      answer.body)
        assert UploadModel.get(file_id).status == "pending"  # still his to attach elsewhere, or to lapse
    assert _snapshot() == before
    for name in ("a/b.zip", "..\\b.zip"):
        assert declare_upload(api, coder, name, 10, "application/zip").status_code == 422


def test_a_header_injection_file_name_is_stored_safe_and_downloads(api, world):
    w = world
    contract, coder, owner = w["contract"], w["tokens"]["deal contractor"], w["tokens"][OWNER]
    api.post(f"/v1/contracts/{contract}/accept", token=coder)
    evil = 'report"; filename=evil.exe\r\nSet-Cookie: session=stolen\x00.pdf.zip'
    answer = api.post(f"/v1/contracts/{contract}/deliverable",
                      {"file_id": upload(api, coder, evil, _zip_of("a"), "application/zip")}, token=coder)
    assert answer.status_code == 200, answer.body
    stored = answer.json_body["deliverable"]["filename"]
    assert stored.endswith(".zip") and not set(stored) & set('"\r\n\x00/\\;')
    assert api.post(f"/v1/contracts/{contract}/fund", token=owner).status_code == 200
    link = api.get(f"/v1/contracts/{contract}/deliverable", token=owner).json_body
    download = api.get(link["url"], headers={"Accept": "*/*"})
    assert download.status_code == 200 and zipfile.is_zipfile(io.BytesIO(download.body))
    disposition = download.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="') and "filename*=UTF-8''" in disposition
    assert "\r" not in disposition and "\n" not in disposition and "Set-Cookie" not in download.headers

    order = w["delivered"]
    odd = api.post(f"/v1/orders/{order}/messages", {"text": "see", "links": ["javascript:alert(1)"]}, token=owner)
    assert odd.status_code == 422


@pytest.mark.parametrize("url", ["javascript:alert(document.cookie)", "JAVASCRIPT:alert(1)", "data:text/html,<b>x",
                                 "http://in-the-clear.example/x", "vbscript:x", "file:///etc/passwd",
                                 "//evil.example/v1/files/x", "https:///no-host"])
def test_attachment_links_must_be_https_or_the_services_own(api, world, url):
    w = world
    before = _snapshot()
    for path in (f"/v1/conversations/{w['conversation']}/messages", f"/v1/orders/{w['order']}/messages"):
        answer = api.post(path, {"text": "look", "links": [url]}, token=w["tokens"][OWNER])
        assert answer.status_code == 422 and answer.json_body["error"]["field"].startswith("links"), (path, answer.body)
    assert _snapshot() == before
    fine = api.post(f"/v1/conversations/{w['conversation']}/messages", {"text": "look", "links": [
        "https://cdn.example/x.png", "/v1/files/abc"]}, token=w["tokens"][OWNER])
    assert fine.status_code == 201


def test_currency_mismatch_is_422_on_every_route_that_pays(api, world):
    """The owner holds only USD: whatever would have to be paid in EUR is a currency mismatch, not 409."""
    w = world
    owner, seller = w["tokens"][OWNER], w["tokens"]["deal contractor"]
    eur_gig = api.post("/v1/gigs", {"title": "EUR logo", "amount": 1_000, "currency": "EUR", "delivery_days": 2},
                       token=seller).json_body["id"]
    eur_project = api.post("/v1/projects", {"title": "EUR", "description": "d", "skills": ["python"],
                                            "budget_min": 100, "budget_max": 2000, "currency": "EUR"},
                           token=owner).json_body["id"]
    api.post(f"/v1/projects/{eur_project}/proposals", {"price": 1000, "days": 2, "text": "me"}, token=seller)
    api.request("PATCH", "/v1/me/profile", {"custom_offers": True}, token=seller)
    eur_offer = api.post("/v1/offers", {"client_id": w["ids"][OWNER], "gig_id": eur_gig, "description": "EUR",
                                        "amount": 1_000, "currency": "EUR", "delivery_days": 2}, token=seller)
    eur_task = api.post("/v1/tasks", {"contractor_id": w["ids"]["deal contractor"], "title": "EUR task",
                                      "amount": 1_000, "currency": "EUR"}, token=owner).json_body["id"]
    attempts = {
        "order": api.post("/v1/orders", {"gig_id": eur_gig}, token=owner),
        "proposal": api.post(f"/v1/projects/{eur_project}/proposals/{w['ids']['deal contractor']}/select", token=owner),
        "task": api.post(f"/v1/tasks/{eur_task}/send", token=owner),
        "payout": api.post("/v1/payouts", {"amount": 2_000, "currency": "EUR",
                                           "destination": {"type": "card", "number": "4111 1111 1111 1111"}},
                           token=owner),
    }
    if eur_offer.status_code == 201:
        attempts["offer"] = api.post(f"/v1/offers/{eur_offer.json_body['id']}/accept", token=owner)
    for what, answer in attempts.items():
        assert answer.status_code == 422 and answer.json_body["error"]["code"] == "currency_mismatch", (what,
                                                                                                        answer.body)
    broke = api.signup("broke@example.com")
    nothing = api.post("/v1/orders", {"gig_id": eur_gig}, token=broke)
    assert nothing.status_code == 402 and nothing.json_body["error"]["code"] == "insufficient_funds"
    assert_books_balance()


def test_nobody_gets_a_500_for_a_token_that_is_not_one(api, world):
    for header in ("Bearer " + "a" * 10_000, "Bearer \x00", "Bearer eyJhbGciOiJub25lIn0.e30.", "Basic x"):
        answer = api.get("/v1/me", headers={"Authorization": header})
        assert answer.status_code == 401 and _shaped(answer), header
    assert NOBODY


# Every header and cookie the service reads, filled with non-ASCII, overlong and empty values -----------------

NON_ASCII, OVERLONG = "é\u0663ß", "a" * 10_000


def _signature(value: str) -> str:
    import time

    return f"t={int(time.time())},v1={value}"  # a fresh timestamp, so that the signature itself is compared


# header → how each hostile value is put into it (a signature keeps a fresh t=, a cookie its name)
HOSTILE_HEADERS = {
    "Authorization": lambda value: f"Bearer {value}",
    "Idempotency-Key": lambda value: value,
    "X-Site-Key": lambda value: value,
    "X-Bank-Signature": _signature,
    "X-Acquirer-Signature": _signature,
    "Accept": lambda value: value,
    "Accept-Language": lambda value: value,
    "Origin": lambda value: value,
    "Cookie": lambda value: f"escrowdesk_link={value}",
}
HOSTILE_VALUES = {"non-ASCII": NON_ASCII, "overlong": OVERLONG, "empty": "",
                  "non-ASCII signature": "x." + NON_ASCII, "quoted octal escape": '"x.\\351"'}


@pytest.fixture
def readers(api, operator_token):
    """A request for each header the service reads, every other part of it right."""
    from chalicelib.entrypoints.web import cookies
    from tests.billing_support import add_tariffs, key_for, new_site

    add_tariffs(api, operator_token)
    owner = api.signup("owner@shop.example")
    site = new_site(api, owner)
    key = key_for(api, owner, site["id"])
    invoice = api.invoice(owner, 1_000, "USD")
    _, reset_cookie = cookies.seal("reset", "not-a-real-token", "en")
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    return {  # header → (method, path, body, raw, other headers, bearer)
        "Authorization": ("GET", "/v1/me", None, None, {}, None),
        "Idempotency-Key": ("POST", "/v1/invoices", {"amount": 1_000, "currency": "USD"}, None, {}, owner),
        "X-Site-Key": ("POST", f"/v1/sites/{site['id']}/usage", {"event_id": "e1", "products": 1}, None, {}, None),
        "X-Bank-Signature": ("POST", "/v1/webhooks/bank", None, b"{}", {}, None),
        "X-Acquirer-Signature": ("POST", "/v1/webhooks/acquirer", None, b"{}", {}, None),
        "Accept": ("GET", f"/v1/invoices/{invoice['id']}/pdf", None, None, {}, owner),
        "Accept-Language": ("GET", "/web/password", None, None, {}, None),
        "Origin": ("POST", "/web/password", None, b"csrf=x&password=p&password_again=p",
                   {**form, "Cookie": reset_cookie.split(";")[0]}, None),
        "Cookie": ("POST", "/web/password", None, b"csrf=x&password=p&password_again=p", form, None),
        "_site_key": key,
    }


@pytest.mark.parametrize("header", HOSTILE_HEADERS, ids=list(HOSTILE_HEADERS))
def test_a_hostile_header_or_cookie_is_a_clear_4xx_never_a_500(api, readers, header):
    method, path, body, raw, headers, bearer = readers[header]
    if header != "X-Site-Key" and path.endswith("/usage"):
        headers = {**headers, "X-Site-Key": readers["_site_key"]}
    wrong = []
    for label, value in HOSTILE_VALUES.items():
        sent = {**headers, header: HOSTILE_HEADERS[header](value)}
        if header != "Authorization" and bearer:
            sent["Authorization"] = f"Bearer {bearer}"
        answer = api.request(method, path, body, raw=raw, headers=sent)
        # printable ASCII is a fine Idempotency-Key, whatever it looks like
        fine = header == "Idempotency-Key" and value.isascii() and value.isprintable() and 0 < len(value) <= 255
        if not (answer.status_code < 300 if fine else 400 <= answer.status_code < 500 and _shaped(answer)):
            wrong.append(f"{label}: {answer.status_code} {answer.body[:160]!r}")
    assert wrong == []


def test_a_webhook_signature_with_non_ascii_is_refused_not_a_type_error(api):
    for name, path in (("X-Bank-Signature", "/v1/webhooks/bank"), ("X-Acquirer-Signature", "/v1/webhooks/acquirer")):
        answer = api.post(path, raw=b"{}", headers={name: _signature("\u00e9" * 64)})
        assert answer.status_code == 401 and answer.json_body["error"]["code"] == "invalid_signature"


def test_a_quoted_cookie_with_an_octal_escape_on_the_password_page_is_refused_not_a_type_error(api):
    answer = api.get("/web/password", headers={"Cookie": 'escrowdesk_link="x.\\351"'})
    assert answer.status_code == 400 and answer.headers["Content-Type"].startswith("text/html")

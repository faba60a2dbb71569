"""Proforma invoices: numbering, payment details, PDF, Documents, and who may see them."""
from __future__ import annotations

import re

import pytest

from chalicelib.platform import clock
from chalicelib.store.models import InvoiceModel
from tests.support import transfer_event


def test_invoice_has_number_payment_details_and_opens_unpaid(api):
    token = api.signup("c@example.com")
    invoice = api.invoice(token, 150000, "USD")
    dated = clock.on_marketplace_calendar(clock.now())  # the marketplace's day: past 22:00 UTC in Kyiv, tomorrow
    year = dated.year
    assert re.fullmatch(rf"PI-{year}-\d{{6}}", invoice["number"])
    assert invoice["id"].startswith("inv_")
    assert invoice["status"] == "open" and invoice["amount"] == 150000 and invoice["currency"] == "USD"
    assert invoice["number"] in invoice["payment_details"]
    assert invoice["payment_details"] == f"Invoice № {invoice['number']} dated {dated:%d/%m/%Y}"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", invoice["created_at"])


def test_numbers_are_sequential_and_unique(api):
    token = api.signup("c@example.com")
    numbers = [api.invoice(token)["number"] for _ in range(5)]
    assert len(set(numbers)) == 5
    assert [int(n[-6:]) for n in numbers] == sorted(int(n[-6:]) for n in numbers)


def test_environments_number_from_blocks_of_their_own_unique_and_increasing_within_each(store, monkeypatch):
    """Given two Lambda environments numbering at once, when they hand out numbers in turn, then no number is
    given twice, each environment's numbers increase, and the year's counter is written once per block."""
    from chalicelib.platform import config
    from chalicelib.services import invoices
    from chalicelib.store.models import KeyModel

    monkeypatch.setenv("INVOICE_NUMBER_BLOCK", "4")
    config.reload()
    first, second = invoices._Blocks(), invoices._Blocks()
    taken: dict[str, list[int]] = {"first": [], "second": []}
    for _ in range(6):
        taken["first"].append(first.take(2026))
        taken["second"].append(second.take(2026))
    assert taken["first"] == [1, 2, 3, 4, 9, 10] and taken["second"] == [5, 6, 7, 8, 13, 14]
    assert int(KeyModel.get("counter#invoice#2026").seq) == 16  # four blocks of four: the last two half used
    assert invoices.next_number(2027).startswith("PI-2027-")


@pytest.mark.parametrize("body, code", [
    ({"amount": 0, "currency": "USD"}, "validation_error"),
    ({"amount": -5, "currency": "USD"}, "validation_error"),
    ({"amount": 10.5, "currency": "USD"}, "validation_error"),
    ({"amount": "100", "currency": "USD"}, "validation_error"),
    ({"amount": 100, "currency": "GBP"}, "unsupported_currency"),
    ({"amount": 100, "currency": "usd"}, "validation_error"),
    ({"currency": "USD"}, "validation_error"),
])
def test_invalid_invoice_is_422_and_creates_nothing(api, body, code):
    token = api.signup("c@example.com")
    response = api.post("/v1/invoices", body, token=token)
    assert response.status_code == 422, response.body
    assert response.json_body["error"]["code"] == code
    assert list(InvoiceModel.scan()) == []


def test_invoice_of_another_client_is_404(api):
    owner, stranger = api.signup("o@example.com"), api.signup("s@example.com")
    invoice = api.invoice(owner)
    assert api.get(f"/v1/invoices/{invoice['id']}", token=stranger).status_code == 404
    assert api.get(f"/v1/invoices/{invoice['id']}/pdf", token=stranger,
                   headers={"Accept": "application/pdf"}).status_code == 404
    assert api.get("/v1/invoices/inv_unknown", token=owner).status_code == 404


def test_pdf_downloads_at_once(api):
    token = api.signup("c@example.com", locale="ru", name="Иван Петров")
    invoice = api.invoice(token, 250000, "UAH")
    response = api.get(f"/v1/invoices/{invoice['id']}/pdf", token=token, headers={"Accept": "application/pdf"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.body.startswith(b"%PDF")


def test_documents_list_newest_first_with_pages(api):
    token = api.signup("c@example.com")
    other = api.signup("d@example.com")
    created = [api.invoice(token, amount=100 + i)["id"] for i in range(5)]
    api.invoice(other)
    first = api.get("/v1/invoices?limit=2", token=token).json_body
    assert [i["id"] for i in first["items"]] == created[::-1][:2]
    seen = [i["id"] for i in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        page = api.get(f"/v1/invoices?limit=2&cursor={cursor}", token=token).json_body
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
    assert seen == created[::-1]


@pytest.mark.parametrize(("query", "status"), [
    ("limit=0", 422), ("limit=101", 422), ("limit=abc", 422), ("limit=" + "9" * 5000, 422),
    ("cursor=%25%25", 400), ("cursor=e30", 400), ("cursor=eyJ4IjogMX0", 400), ("cursor=" + "a" * 5000, 400)])
def test_bad_list_parameters_are_a_clear_4xx(api, query, status):
    token = api.signup("c@example.com")
    api.invoice(token)
    response = api.get(f"/v1/invoices?{query}", token=token)
    assert response.status_code == status
    assert response.json_body["error"]["field"] in ("limit", "cursor")


def test_ledger_shows_the_users_own_lines(api):
    token = api.signup("c@example.com")
    invoice = api.invoice(token, 9900, "EUR")
    api.webhook(transfer_event("evt-l", 9900, "EUR", invoice["payment_details"]))
    lines = api.get("/v1/ledger", token=token).json_body["items"]
    assert lines == [{"entry_id": lines[0]["entry_id"], "kind": "top_up", "currency": "EUR", "bucket": "available",
                      "amount": 9900, "ref": invoice["id"], "created_at": lines[0]["created_at"]}]
    assert api.get("/v1/ledger", token=api.signup("x@example.com")).json_body["items"] == []


def test_balances_show_one_line_per_currency(api):
    token = api.signup("c@example.com")
    items = api.get("/v1/balances", token=token).json_body["items"]
    assert [i["currency"] for i in items] == ["USD", "EUR", "UAH", "IRR"]
    assert all(i["available"] == 0 and i["held"] == 0 for i in items)

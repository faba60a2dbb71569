"""Acts of services rendered to a site (seed 003): for a closed, paid month, while Vchasno is
activated, uploaded through the Vchasno adapter; asking twice for one month returns the same act."""
from __future__ import annotations

import io
from pathlib import Path

import pytest
from pypdf import PdfReader

from chalicelib.adapters.vchasno import LocalVchasno
from chalicelib.platform import config
from tests.billing_support import EDRPOU, IBAN, add_tariffs, at, invoices, new_site
from tests.support import transfer_event


@pytest.fixture
def owner(api, operator_token, monkeypatch, tmp_path):
    monkeypatch.setenv("VCHASNO_LOCAL_FILE", str(tmp_path / "vchasno" / "accounts.json"))
    config.reload()
    add_tariffs(api, operator_token)
    return api.signup("owner@example.ua", locale="uk", name="Olena")


def _kinds(api, token: str) -> list[str]:
    return [n["kind"] for n in api.get("/v1/notifications?limit=100", token=token).json_body["items"]]


@pytest.mark.parametrize(("vat_bps", "vat_line"), [(0, "Без ПДВ"), (2000, "У тому числі ПДВ 20 %: 25,00")])
def test_an_act_for_a_closed_paid_month_goes_to_vchasno_once_with_both_parties_and_the_amount(
        api, owner, tmp_path, monkeypatch, vat_bps, vat_line):
    monkeypatch.setenv("SERVICE_VAT_BPS", str(vat_bps))
    config.reload()
    at(2027, 3, 17)
    site = new_site(api, owner)
    path = f"/v1/sites/{site['id']}"
    (march,) = invoices(api, owner, site["id"])
    ask = lambda period="2027-03": api.post(f"{path}/acts", {"period": period}, token=owner)  # noqa: E731

    assert ask().json_body["error"]["code"] == "vchasno_not_activated"
    api.request("PUT", f"{path}/requisites", {"tax_id": EDRPOU, "iban": IBAN}, token=owner)
    LocalVchasno().add(EDRPOU)
    assert api.post(f"{path}/vchasno/activate", token=owner).status_code == 200
    refused = ask()
    assert refused.status_code == 409 and refused.json_body["error"]["code"] == "period_not_closed"
    at(2027, 4, 1, 12)
    assert ask().json_body["error"]["code"] == "invoice_unpaid"
    assert ask("2027-02").json_body["error"]["code"] == "invoice_unpaid"  # nothing billed then
    api.webhook(transfer_event("evt-march", march["amount"], "UAH", march["number"]))

    sent = ask()
    assert sent.status_code == 201, sent.body
    act = sent.json_body
    assert act["period"] == "2027-03" and act["status"] == "sent" and act["vchasno_document_id"]
    again = ask()
    assert again.status_code == 200 and again.json_body == act
    assert api.get(f"{path}/acts", token=owner).json_body["items"] == [act]
    (uploaded,) = (tmp_path / "vchasno" / "documents" / EDRPOU).iterdir()
    assert uploaded.name.startswith(act["vchasno_document_id"])
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(Path(uploaded).read_bytes())).pages)
    assert "Акт наданих послуг № 10001-2027-03" in text and EDRPOU in text and IBAN in text
    assert "150,00" in text and "Постачальник" in text and "Замовник" in text
    # the month in words, the VAT as its invoice shows it, and how it is signed
    assert "березень 2027" in text and vat_line in text and "Сто п'ятдесят гривень 00 копійок" in text
    assert "Підписується кваліфікованими електронними підписами сторін у сервісі «Вчасно»" in " ".join(text.split())
    assert "act_sent" in _kinds(api, owner)
    bad = api.post(f"{path}/acts", {"period": "2027-13"}, token=owner)
    assert bad.status_code == 422 and bad.json_body["error"]["field"] == "period"


def test_an_act_downloads_as_the_very_pdf_that_went_to_vchasno_and_only_for_those_who_see_the_site(api, owner,
                                                                                                    tmp_path):
    at(2027, 3, 17)
    site = new_site(api, owner)
    path = f"/v1/sites/{site['id']}"
    (march,) = invoices(api, owner, site["id"])
    api.request("PUT", f"{path}/requisites", {"tax_id": EDRPOU, "iban": IBAN}, token=owner)
    LocalVchasno().add(EDRPOU)
    api.post(f"{path}/vchasno/activate", token=owner)
    at(2027, 4, 1, 12)
    api.webhook(transfer_event("evt-march", march["amount"], "UAH", march["number"]))
    act = api.post(f"{path}/acts", {"period": "2027-03"}, token=owner).json_body

    downloaded = api.get(f"{path}/acts/{act['id']}/pdf", token=owner, headers={"Accept": "application/pdf"})
    assert downloaded.status_code == 200 and downloaded.headers["Content-Type"] == "application/pdf"
    (uploaded,) = (tmp_path / "vchasno" / "documents" / EDRPOU).iterdir()
    assert downloaded.body == Path(uploaded).read_bytes()
    assert "act-10001-2027-03.pdf" in downloaded.headers["Content-Disposition"]
    unknown = api.get(f"{path}/acts/act_nope/pdf", token=owner, headers={"Accept": "application/pdf"})
    assert unknown.status_code == 404
    stranger = api.signup("stranger@example.ua")
    assert api.get(f"{path}/acts/{act['id']}/pdf", token=stranger,
                   headers={"Accept": "application/pdf"}).status_code == 404

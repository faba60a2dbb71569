"""One sample of every document kind, as an accountant would get it: a site billed for 2026-11 (a prorated
first invoice and an upgrade, so the act covers two invoices), a top-up proforma, a B2B task's act and the
public offer. Values mix scripts on purpose — Cyrillic names and addresses, a Latin contractor, IBANs,
numbers with punctuation — so a right-to-left document shows how they sit among its words.

`render_all(vat_bps)` renders each kind in each locale; `python -m tests.document_samples DIR` (what
`make pdf-preview` runs) writes them as PDFs and as PNG pages (pdftoppm, Debian's poppler-utils) for a
person to look at.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from chalicelib.documents.act import Act, render_act
from chalicelib.documents.offer import render_offer
from chalicelib.documents.proforma import ProformaInvoice, render_proforma_invoice
from chalicelib.documents.service_act import ServiceAct, render_service_act
from chalicelib.documents.service_invoice import ServiceInvoice, render_service_invoice
from chalicelib.money.amounts import Money
from chalicelib.platform.config import LOCALES

SITE_NAME = "Квітковий магазин"
SERVICE_CODE = "10001"
CUSTOMER_NAME = "ТОВ «Квітка»"
CUSTOMER_TAX_ID = "32855961"
CUSTOMER_IBAN = "UA213223130000026007233566001"
CUSTOMER_ADDRESS = "01001, м. Київ, вул. Хрещатик, 1"
PERIOD = "2026-11"
FIRST_LINE = {"tariff": "basic", "tariff_name": "Базовий", "start": "2026-11-11", "end": "2026-11-30", "days": 20,
              "month_days": 30, "amount": 20000}
UPGRADE_LINE = {"tariff": "business", "tariff_name": "Business", "start": "2026-11-21", "end": "2026-11-30",
                "days": 10, "month_days": 30, "amount": 30001}
INVOICED_MINOR = (20000, 30001)  # the two invoices the act covers, one line each
ACT_AMOUNT = Money(sum(INVOICED_MINOR), "UAH")


def service_invoice(vat_bps: int) -> ServiceInvoice:
    return ServiceInvoice(
        number="HOR-10001-001", issued_at=datetime(2026, 11, 11, 7, tzinfo=UTC),
        due_at=datetime(2026, 11, 16, 7, tzinfo=UTC), period=PERIOD, lines=[FIRST_LINE],
        amount=Money(INVOICED_MINOR[0], "UAH"), vat_bps=vat_bps, site_name=SITE_NAME, service_code=SERVICE_CODE,
        customer_name=CUSTOMER_NAME, customer_tax_id=CUSTOMER_TAX_ID, customer_iban=CUSTOMER_IBAN,
        customer_address=CUSTOMER_ADDRESS, customer_email="owner@kvitka.example", amount_paid=12000,
        credit_applied=5000)  # a part paid by the site's credit and a transfer: the rest is due


def service_act(vat_bps: int) -> ServiceAct:
    return ServiceAct(
        number=f"{SERVICE_CODE}-{PERIOD}", issued_at=datetime(2026, 12, 2, 9, tzinfo=UTC), period=PERIOD,
        lines=[FIRST_LINE, UPGRADE_LINE], amount=ACT_AMOUNT, invoiced_minor=INVOICED_MINOR, vat_bps=vat_bps,
        site_name=SITE_NAME, service_code=SERVICE_CODE, customer_name=CUSTOMER_NAME,
        customer_tax_id=CUSTOMER_TAX_ID, customer_iban=CUSTOMER_IBAN, customer_address=CUSTOMER_ADDRESS)


def proforma(vat_bps: int) -> ProformaInvoice:
    return ProformaInvoice(
        number="PI-2026-000001", issued_at=datetime(2026, 11, 22, 9, 15, tzinfo=UTC), amount=Money(50000, "UAH"),
        payment_details="Invoice № PI-2026-000001 dated 22/11/2026", payer_name="Олена Коваль",
        payer_email="olena@kvitka.example", vat_bps=vat_bps)


def task_act(vat_bps: int) -> Act:
    return Act(
        number="ACT-2026-000001", issued_at=datetime(2026, 12, 1, 10, 30, tzinfo=UTC),
        task_title="Переклад прайс-листа (EN → UK)", task_description="120 позицій, v2.1",
        amount=Money(50000, "UAH"), customer_name=CUSTOMER_NAME, customer_email="boss@kvitka.example",
        customer_details=f"{CUSTOMER_ADDRESS}; ЄДРПОУ {CUSTOMER_TAX_ID}", contractor_name="Olena Koval",
        contractor_email="olena@example.com", vat_bps=vat_bps)


# kind → how it renders in a locale at a VAT rate; "offer" has no amount and so no VAT
KINDS: dict[str, Callable[[str, int], bytes]] = {
    "service_invoice": lambda locale, vat_bps: render_service_invoice(service_invoice(vat_bps), locale),
    "service_act": lambda locale, vat_bps: render_service_act(service_act(vat_bps), locale),
    "proforma": lambda locale, vat_bps: render_proforma_invoice(proforma(vat_bps), locale),
    "task_act": lambda locale, vat_bps: render_act(task_act(vat_bps), locale),
    "offer": lambda locale, _vat_bps: render_offer(SITE_NAME, SERVICE_CODE, locale),
}
WITH_AMOUNT = ("service_invoice", "service_act", "proforma", "task_act")


def render_all(vat_bps: int) -> Iterator[tuple[str, str, bytes]]:
    for kind, render in KINDS.items():
        for locale in LOCALES:
            yield kind, locale, render(locale, vat_bps)


def write_previews(directory: Path) -> list[Path]:
    """Every document × locale (VAT 20 %, and without VAT as `-novat`) as a PDF and its PNG pages."""
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        raise SystemExit("pdftoppm is missing: apt-get install poppler-utils")
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.p[dn][fg]"):
        stale.unlink()
    for vat_bps, suffix in ((2000, ""), (0, "-novat")):
        for kind, locale, pdf in render_all(vat_bps):
            if suffix and kind not in WITH_AMOUNT:
                continue
            path = directory / f"{kind}-{locale}{suffix}.pdf"
            path.write_bytes(pdf)
            subprocess.run([pdftoppm, "-r", "80", "-png", str(path), str(path.with_suffix(""))], check=True)
    return sorted(directory.glob("*.png"))


if __name__ == "__main__":
    pages = write_previews(Path(sys.argv[1] if len(sys.argv) > 1 else "build/pdf-preview"))
    print(f"{len(pages)} pages in {pages[0].parent}" if pages else "no pages")

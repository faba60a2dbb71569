"""The public offer (публічна оферта) on access to the platform: one versioned text, its clauses msgids
in the catalogs, rendered for a site in its owner's language."""
from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.documents.layout import DocumentPdf
from chalicelib.documents.service_invoice import site_label
from chalicelib.notify import bidi
from chalicelib.platform import config, i18n

OFFER_VERSION = "1.0"
OFFER_EFFECTIVE = "2026-12-01"
CLAUSES = (
    i18n.N_("The supplier grants the customer access to the online store platform on the tariff the customer "
            "chooses. The tariffs, their prices and limits are shown in the billing section."),
    i18n.N_("Services are billed by calendar months. A month's invoice is issued on its first day; a new site's "
            "first month and a tariff upgrade are billed by the days left in the month."),
    i18n.N_("The customer pays each invoice by its due date, by bank transfer quoting the invoice number."),
    i18n.N_("The customer may ask to delete the site at any time; from then on no invoices are issued."),
    i18n.N_("Acts of completed work are sent on request through the Vchasno e-document service."),
    i18n.N_("Creating a site is the acceptance of this offer."),
)


def render_offer(site_name: str, service_code: str, locale: str, timezone: str | None = None) -> bytes:
    locale = i18n.resolve_locale(locale)
    _ = i18n.translations(locale).gettext
    settings = config.settings
    effective = datetime.fromisoformat(OFFER_EFFECTIVE).replace(hour=12, tzinfo=UTC)
    title = bidi.fill(_("Public offer on access to the platform, version %(version)s"), i18n.is_rtl(locale),
                      version=OFFER_VERSION)
    doc = DocumentPdf(title=title, lang=locale, rtl=i18n.is_rtl(locale), author=settings.supplier_name,
                      created_at=effective)
    doc.letterhead(settings.supplier_name)
    doc.title(title)
    doc.key_values([(_("Effective from"), i18n.format_date(effective, locale, i18n.zone_for(timezone, locale))),
                    (_("Site"), site_label(site_name, service_code, locale))])
    for number, clause in enumerate(CLAUSES, start=1):
        doc.section(f"{number}.")
        doc.note(_(clause))
    return doc.output()

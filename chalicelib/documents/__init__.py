"""PDF documents escrowdesk issues to its users, in their language (MISSION §8).

Pure rendering, no I/O: callers pass a document's data, a locale and a time zone and get PDF bytes back.
Fonts ship inside this package, so rendering needs no system libraries (AWS Lambda). Every fixed label is a
msgid in the gettext catalogs the e-mails use (`chalicelib.platform.i18n`).

  layout.py        the page and its building blocks, mirrored for right-to-left locales; values of the other
                   direction drawn as isolates (`notify.bidi`)
  amount_words.py  amounts in words
  vat.py           the VAT line ("Без ПДВ" at a rate of 0); an act's VAT is that of the invoices it covers
  proforma.py      the proforma (top-up) invoice
  act.py           the act of completed work for a B2B task
  service_invoice.py, service_act.py, offer.py   a site's monthly invoice, its act (signed in Vchasno), the offer

`make pdf-preview` draws every kind in every locale as PNG pages (tests/document_samples.py).
"""

from chalicelib.documents.proforma import ProformaInvoice, render_proforma_invoice

__all__ = ["ProformaInvoice", "render_proforma_invoice"]

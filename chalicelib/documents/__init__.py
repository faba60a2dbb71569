"""PDF documents escrowdesk issues to its users, in their language (MISSION §8).

Pure rendering, no I/O: callers pass a document's data, a locale and a time zone and get PDF bytes back.
Fonts ship inside this package, so rendering needs no system libraries (AWS Lambda). Every fixed label is a
msgid in the gettext catalogs the e-mails use (`chalicelib.platform.i18n`).

  layout.py        the page and its building blocks, mirrored for right-to-left locales
  amount_words.py  amounts in words
  proforma.py      the proforma (top-up) invoice
  act.py           the act of completed work for a B2B task
"""

from chalicelib.documents.proforma import ProformaInvoice, render_proforma_invoice

__all__ = ["ProformaInvoice", "render_proforma_invoice"]

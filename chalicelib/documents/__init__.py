"""PDF documents escrowdesk issues to its users, in their language (MISSION §8).

Pure rendering, no I/O: callers pass a document's data and a locale and get PDF bytes back.
Fonts ship inside this package, so rendering needs no system libraries (AWS Lambda).

  labels.py        locales, dates and every document's labels per locale
  layout.py        the page and its building blocks, mirrored for right-to-left locales
  amount_words.py  amounts in words
  proforma.py      the proforma (top-up) invoice
"""

from chalicelib.documents.proforma import ProformaInvoice, render_proforma_invoice

__all__ = ["ProformaInvoice", "render_proforma_invoice"]

"""The VAT line of an invoice or an act: "У тому числі ПДВ 20 %: 83,33 ₴", or "Без ПДВ" when the supplier is
not a VAT payer (a rate of 0).

An act covering several invoices shows the VAT of those invoices added up, each rounded as its invoice
rounded it, so the act and its invoices agree to the kopeck.
"""
from __future__ import annotations

from collections.abc import Sequence

from babel.numbers import format_decimal

from chalicelib.money.amounts import Money, format_money
from chalicelib.notify import bidi
from chalicelib.platform import i18n


def vat_included(amount_minor: int, vat_bps: int) -> int:
    """The VAT inside a gross amount at `vat_bps` (2000 = 20 %), rounded half up."""
    return (2 * amount_minor * vat_bps + 10_000 + vat_bps) // (2 * (10_000 + vat_bps))


def vat_line(invoiced_minor: Sequence[int], currency: str, vat_bps: int, locale: str) -> str:
    """The VAT in the invoices of these gross amounts, in words of `locale`."""
    _ = i18n.translations(locale).gettext
    if not vat_bps:
        return _("Without VAT")
    vat = Money(sum(vat_included(amount, vat_bps) for amount in invoiced_minor), currency)
    return bidi.fill(_("Including VAT %(rate)s %%: %(vat)s"), i18n.is_rtl(locale),
                     rate=format_decimal(vat_bps / 100, locale=locale), vat=format_money(vat, locale))

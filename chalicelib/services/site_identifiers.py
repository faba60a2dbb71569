"""Identifiers a site is made of, checked and normalised with well-kept libraries: host names (IDN
allowed, via idna's UTS #46 processing), phone numbers in E.164 (phonenumbers), and Ukrainian
requisites — EDRPOU (8 digits, companies) or RNOKPP (10 digits, sole proprietors) and a UA IBAN
(python-stdnum). Each refusal is a 422 naming the field. The libraries are imported when first used
(phonenumbers' metadata alone costs ~100 ms): a cold start that serves something else skips them."""
from __future__ import annotations

from dataclasses import dataclass

from chalicelib.platform.errors import Unprocessable

COMPANY, SOLE_PROPRIETOR = "company", "sole_proprietor"


@dataclass(frozen=True)
class Host:
    name: str  # as people read it (Unicode, lower case)
    ascii: str  # the IDNA form: what uniqueness is judged by


def host(value: str, *, field: str = "domains") -> Host:
    import idna

    text = value.strip().rstrip(".").lower()
    try:
        ascii_form = idna.encode(text, uts46=True).decode("ascii")
        unicode_form = idna.decode(ascii_form)
    except (idna.IDNAError, UnicodeError, ValueError):
        raise Unprocessable("invalid_domain", f"{value!r} is not a valid host name", field=field) from None
    if "." not in ascii_form or len(ascii_form) > 253 or ascii_form.rsplit(".", 1)[1].isdigit():
        raise Unprocessable("invalid_domain", f"{value!r} is not a valid host name (like shop.example.ua)",
                            field=field)
    return Host(unicode_form, ascii_form)


def phone(value: str, *, field: str = "owner.phone") -> str:
    """The number in E.164 (`+380501234567`); it must be written with its country code."""
    import phonenumbers

    try:
        parsed = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        raise Unprocessable("invalid_phone", "phone must be an international number, like +380501234567",
                            field=field) from None
    if not phonenumbers.is_valid_number(parsed):
        raise Unprocessable("invalid_phone", f"{value!r} is not a valid phone number", field=field)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def tax_id(value: str) -> tuple[str, str]:
    """(the number, company | sole_proprietor): EDRPOU has 8 digits, RNOKPP 10, each with its checksum."""
    from stdnum.exceptions import ValidationError as StdnumError
    from stdnum.ua import edrpou, rntrc

    digits = value.strip()
    checks = {8: (edrpou, COMPANY), 10: (rntrc, SOLE_PROPRIETOR)}
    if not digits.isascii() or not digits.isdigit() or len(digits) not in checks:
        raise Unprocessable("invalid_tax_id", "tax_id must be an EDRPOU (8 digits) or an RNOKPP (10 digits)",
                            field="tax_id")
    module, kind = checks[len(digits)]
    try:
        module.validate(digits)
    except StdnumError:
        raise Unprocessable("invalid_tax_id", f"{digits} fails the {'EDRPOU' if kind == COMPANY else 'RNOKPP'} "
                            "checksum", field="tax_id") from None
    return digits, kind


def ua_iban(value: str) -> str:
    from stdnum import iban as iban_number
    from stdnum.exceptions import ValidationError as StdnumError

    try:
        number = iban_number.validate(value)
    except StdnumError:
        raise Unprocessable("invalid_iban", "iban is not a valid IBAN (its checksum or length fails)",
                            field="iban") from None
    if not number.startswith("UA"):
        raise Unprocessable("invalid_iban", "iban must be a Ukrainian IBAN (UA…)", field="iban")
    return number

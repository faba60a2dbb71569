"""Everything a document says in each locale: which locales exist, which run right-to-left,
how dates read, and one label table per document type.

A new document type (act of completed work, service invoice) adds its own table here,
keyed by locale with the same keys in every locale; the unit tests check that.
"""

from __future__ import annotations

from datetime import UTC, datetime

SUPPORTED_LOCALES = ("en", "ru", "uk", "fa")
DEFAULT_LOCALE = "en"
_RTL_LOCALES = frozenset({"fa"})


def resolve_locale(locale: str) -> str:
    """A user's locale as documents know it; anything unknown reads in English."""
    return locale if locale in SUPPORTED_LOCALES else DEFAULT_LOCALE


def is_rtl(locale: str) -> bool:
    return locale in _RTL_LOCALES


def format_date(moment: datetime) -> str:
    """dd/mm/yyyy in UTC, the same in every locale, so it matches the payment details text."""
    return moment.astimezone(UTC).strftime("%d/%m/%Y")


PROFORMA_INVOICE: dict[str, dict[str, str]] = {
    "en": {
        "title": "Proforma invoice No. {number}",
        "issued_on": "Date of issue",
        "payer": "Payer",
        "payee": "Payee",
        "payer_name": "Name",
        "payee_name": "Name",
        "email": "Email",
        "bank": "Bank",
        "iban": "IBAN",
        "swift": "SWIFT/BIC",
        "description": "Description",
        "amount": "Amount",
        "top_up": "Top-up of the escrowdesk account balance",
        "total": "Total",
        "amount_in_words": "Amount in words",
        "payment_details": "Payment details — quote exactly in the bank transfer",
        "crediting_note": (
            "The payment is credited automatically when its purpose quotes the invoice number "
            "exactly and its amount and currency match this invoice."
        ),
    },
    "ru": {
        "title": "Счёт-фактура (проформа) № {number}",
        "issued_on": "Дата выставления",
        "payer": "Плательщик",
        "payee": "Получатель",
        "payer_name": "Имя",
        "payee_name": "Наименование",
        "email": "Эл. почта",
        "bank": "Банк",
        "iban": "IBAN",
        "swift": "SWIFT/BIC",
        "description": "Описание",
        "amount": "Сумма",
        "top_up": "Пополнение баланса счёта escrowdesk",
        "total": "Итого",
        "amount_in_words": "Сумма прописью",
        "payment_details": "Назначение платежа — укажите дословно в банковском переводе",
        "crediting_note": (
            "Платёж зачисляется автоматически, если в назначении платежа точно указан номер "
            "счёта, а сумма и валюта совпадают со счётом."
        ),
    },
    "uk": {
        "title": "Рахунок-фактура (проформа) № {number}",
        "issued_on": "Дата виставлення",
        "payer": "Платник",
        "payee": "Отримувач",
        "payer_name": "Ім’я",
        "payee_name": "Найменування",
        "email": "Ел. пошта",
        "bank": "Банк",
        "iban": "IBAN",
        "swift": "SWIFT/BIC",
        "description": "Опис",
        "amount": "Сума",
        "top_up": "Поповнення балансу рахунку escrowdesk",
        "total": "Разом",
        "amount_in_words": "Сума прописом",
        "payment_details": "Призначення платежу — вкажіть дослівно в банківському переказі",
        "crediting_note": (
            "Платіж зараховується автоматично, якщо в призначенні платежу точно вказано номер "
            "рахунку, а сума та валюта збігаються з рахунком."
        ),
    },
    "fa": {
        "title": "پیش‌فاکتور شماره {number}",
        "issued_on": "تاریخ صدور",
        "payer": "پرداخت‌کننده",
        "payee": "دریافت‌کننده",
        "payer_name": "نام",
        "payee_name": "نام",
        "email": "ایمیل",
        "bank": "بانک",
        "iban": "IBAN",
        "swift": "SWIFT/BIC",
        "description": "شرح",
        "amount": "مبلغ",
        "top_up": "افزایش موجودی حساب escrowdesk",
        "total": "جمع کل",
        "amount_in_words": "مبلغ به حروف",
        "payment_details": "شرح پرداخت — دقیقاً در حواله بانکی ذکر شود",
        "crediting_note": (
            "پرداخت زمانی به‌طور خودکار واریز می‌شود که شماره پیش‌فاکتور دقیقاً در شرح پرداخت "
            "ذکر شده باشد و مبلغ و ارز با این پیش‌فاکتور مطابقت داشته باشد."
        ),
    },
}


ACT: dict[str, dict[str, str]] = {
    "en": {
        "title": "Act of completed work No. {number}",
        "issued_on": "Date",
        "customer": "Customer",
        "contractor": "Contractor",
        "name": "Name",
        "email": "Email",
        "details": "Details",
        "description": "Work performed",
        "amount": "Amount",
        "total": "Total",
        "amount_in_words": "Amount in words",
        "statement": (
            "The work described above has been performed in full and on time. The customer has no claims "
            "regarding its scope, quality or timing."
        ),
    },
    "ru": {
        "title": "Акт выполненных работ № {number}",
        "issued_on": "Дата",
        "customer": "Заказчик",
        "contractor": "Исполнитель",
        "name": "Наименование",
        "email": "Эл. почта",
        "details": "Реквизиты",
        "description": "Выполненные работы",
        "amount": "Сумма",
        "total": "Итого",
        "amount_in_words": "Сумма прописью",
        "statement": (
            "Вышеперечисленные работы выполнены полностью и в срок. Заказчик претензий по объёму, качеству "
            "и срокам выполнения работ не имеет."
        ),
    },
    "uk": {
        "title": "Акт виконаних робіт № {number}",
        "issued_on": "Дата",
        "customer": "Замовник",
        "contractor": "Виконавець",
        "name": "Найменування",
        "email": "Ел. пошта",
        "details": "Реквізити",
        "description": "Виконані роботи",
        "amount": "Сума",
        "total": "Усього",
        "amount_in_words": "Сума прописом",
        "statement": (
            "Вищезазначені роботи виконано повністю та вчасно. Замовник претензій щодо обсягу, якості "
            "та строків виконання робіт не має."
        ),
    },
    "fa": {
        "title": "صورت‌جلسهٔ انجام کار شمارهٔ {number}",
        "issued_on": "تاریخ",
        "customer": "کارفرما",
        "contractor": "مجری",
        "name": "نام",
        "email": "ایمیل",
        "details": "مشخصات",
        "description": "کار انجام‌شده",
        "amount": "مبلغ",
        "total": "جمع کل",
        "amount_in_words": "مبلغ به حروف",
        "statement": "کار بالا به‌طور کامل و به‌موقع انجام شده است و کارفرما دربارهٔ حجم، کیفیت و زمان آن ادعایی ندارد.",
    },
}

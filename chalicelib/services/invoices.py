"""Top-up by proforma invoice: numbering, the invoice itself, its PDF and the client's documents.

Numbers are `PI-<year>-<6 digits or more>`, unique and readable. They come from blocks of
`INVOICE_NUMBER_BLOCK` reserved at once from the year's counter by each Lambda environment, and are handed out
in order within a block: at a thousand invoices a second the counter is written ten times a second, not a
thousand. Numbers therefore increase within one environment but not across them, and a block an environment did
not use up when it ended leaves a gap. That is allowed: a proforma is not a tax document. A site's service
invoices keep their own gap-free sequence per site (`services/service_invoices.py`)."""
from __future__ import annotations

import threading

from chalicelib.access.auth import Principal
from chalicelib.money import ledger
from chalicelib.money.amounts import Money, require_positive
from chalicelib.notify import outbox
from chalicelib.platform import clock, config, ids
from chalicelib.platform.config import settings
from chalicelib.platform.errors import NotFound
from chalicelib.services import accounts, idempotency, views
from chalicelib.services.pagination import page
from chalicelib.store import lookup
from chalicelib.store.models import InvoiceModel, KeyModel, open_due_key
from chalicelib.store.uow import UnitOfWork

OPEN, PAID = "open", "paid"
NUMBER_PATTERN = r"PI-\d{4}-\d{6,}"


def number_key(number: str) -> str:
    return f"invoice#{number}"


class _Blocks:
    """The numbers this environment reserved and has not handed out yet, per table and year."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._left: dict[tuple[str, int], tuple[int, int]] = {}  # (table, year) → (next, last)

    def take(self, year: int) -> int:
        where = (KeyModel.Meta.table_name, year)
        with self._lock:
            following, last = self._left.get(where, (1, 0))
            if following > last:
                following, last = self._reserve(year)
            self._left[where] = (following + 1, last)
            return following

    @staticmethod
    def _reserve(year: int) -> tuple[int, int]:
        """One atomic add to the year's counter: the block is ours whoever else reserves at the same time."""
        size = max(1, settings.invoice_number_block)
        counter = KeyModel(f"counter#invoice#{year}")
        counter.update(actions=[KeyModel.seq.add(size)])
        last = int(counter.seq)
        return last - size + 1, last


_blocks = _Blocks()


def next_number(year: int) -> str:
    """`PI-<year>-<6 digits>`: the next number of this environment's block, unique however many create at once."""
    return f"PI-{year}-{_blocks.take(year):06d}"


def create(principal: Principal, amount_minor: int, currency: str) -> tuple[int, dict]:
    money = require_positive(amount_minor, currency)
    now = clock.now()
    dated = clock.on_marketplace_calendar(now)
    number = next_number(dated.year)
    invoice = InvoiceModel(
        ids.new_id("inv"), owner_id=principal.user_id, number=number, amount=money.amount_minor,
        currency=money.currency, status=OPEN, created_at=clock.iso(now),
        payment_details=f"Invoice № {number} dated {dated:%d/%m/%Y}",
    )
    invoice.open_due = open_due_key(invoice.currency, money.amount_minor, invoice.id)
    uow = UnitOfWork()
    uow.put(invoice, condition=InvoiceModel.id.does_not_exist())
    uow.put(KeyModel(number_key(number), target_id=invoice.id), condition=KeyModel.key.does_not_exist())
    outbox.enqueue(uow, principal.user_id, "invoice_created", {
        "invoice_id": invoice.id, "number": number, "amount": money.to_json(),
        "payment_details": invoice.payment_details}, actor=principal.user_id)
    return idempotency.commit(uow, 201, views.invoice(invoice))


def load(invoice_id: str) -> InvoiceModel:
    return lookup.load(InvoiceModel, invoice_id, what="invoice")


def due(invoice: InvoiceModel) -> int:
    """What the invoice still asks for: its amount less the parts of transfers applied to it."""
    return int(invoice.amount) - int(invoice.amount_paid or 0)


def pay(uow: UnitOfWork, invoice: InvoiceModel, payment_id: str, source: str, on_fail: Exception, *,
        amount: int | None = None) -> None:
    """The bank matcher's (or an operator's) payment of a top-up invoice: the money on the client's balance (from
    the bank, or from the suspense account where it was parked), all of it, however much it is (a top-up's
    surplus is balance like the rest). The invoice is paid once `amount` (default: what is still due) covers
    the due; a part leaves it open for the rest."""
    received = due(invoice) if amount is None else int(amount)
    paid_so_far = int(invoice.amount_paid or 0)
    unchanged = (InvoiceModel.amount_paid == paid_so_far if invoice.amount_paid is not None
                 else InvoiceModel.amount_paid.does_not_exist())
    paid_at = clock.iso(clock.now())
    whole = received >= due(invoice)
    actions = [InvoiceModel.amount_paid.set(paid_so_far + received)]
    if whole:  # out of the open invoices' index in the same write as its status
        actions += [InvoiceModel.status.set(PAID), InvoiceModel.paid_at.set(paid_at),
                    InvoiceModel.payment_id.set(payment_id), InvoiceModel.open_due.remove()]
    elif invoice.kind is None:  # still open: the index holds what it asks for now
        actions.append(InvoiceModel.open_due.set(
            open_due_key(invoice.currency, due(invoice) - received, invoice.id)))
    uow.update(invoice, actions, condition=(InvoiceModel.status == OPEN) & unchanged, on_fail=on_fail)
    money = Money(received, invoice.currency)
    if source == "bank":
        ledger.record(uow, ledger.bank_top_up(payment_id, invoice.owner_id, money, ref=invoice.id))
    else:
        ledger.record(uow, ledger.apply_unmatched(f"{payment_id}:applied", invoice.owner_id, money, ref=invoice.id))
    invoice.amount_paid = paid_so_far + received
    if whole:
        outbox.enqueue(uow, invoice.owner_id, "invoice_paid", {
            "invoice_id": invoice.id, "number": invoice.number, "amount": money.to_json(), "paid_at": paid_at})


def load_visible(principal: Principal, invoice_id: str) -> InvoiceModel:
    """Someone else's invoice is as unknown as a missing one (404, not 403)."""
    invoice = load(invoice_id)
    if invoice.owner_id != principal.user_id and not principal.is_operator:
        raise NotFound("not_found", "No such invoice")
    return invoice


def find_by_number(number: str) -> InvoiceModel | None:
    try:
        key = KeyModel.get(number_key(number), consistent_read=True)
    except KeyModel.DoesNotExist:
        return None
    return load(key.target_id)


def get(principal: Principal, invoice_id: str) -> dict:
    return views.invoice(load_visible(principal, invoice_id))


def list_documents(principal: Principal, limit: int, cursor: str | None) -> dict:
    """The client's "Documents": every invoice, newest first."""
    return page(lambda **kw: InvoiceModel.by_owner.query(principal.user_id, scan_index_forward=False, **kw),
                limit, cursor, views.invoice)


def pdf(principal: Principal, invoice_id: str) -> tuple[str, bytes]:
    # fpdf and fontTools cost ~200 ms to import; only this route needs them, so cold starts skip them.
    from chalicelib.documents import ProformaInvoice, render_proforma_invoice

    invoice = load_visible(principal, invoice_id)
    owner = accounts.get_user(invoice.owner_id)
    document = ProformaInvoice(
        number=invoice.number, issued_at=clock.parse_iso(invoice.created_at),
        amount=Money(int(invoice.amount), invoice.currency), payment_details=invoice.payment_details,
        payer_name=owner.name, payer_email=owner.email, vat_bps=config.settings.payee_vat_bps,
        card=invoice.kind == "card_topup", fee=Money(int(invoice.fee or 0), invoice.currency),
        card_mask=invoice.card_mask or "", paid_at=clock.parse_iso(invoice.paid_at) if invoice.paid_at else None,
    )
    return f"{invoice.number}.pdf", render_proforma_invoice(document, owner.locale, owner.timezone)

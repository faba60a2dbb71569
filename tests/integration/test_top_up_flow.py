"""Top-up on real DynamoDB (Local) with its real stream: the paid invoice's e-mail is sent by the
stream handler exactly once, even when the stream is read again, and operators hear of strays."""
from __future__ import annotations

import email
from email import policy
from pathlib import Path

from chalicelib.services import accounts
from tests.support import assert_books_balance, transfer_event


def _mails(directory: str) -> list[email.message.EmailMessage]:
    return [email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in Path(directory).glob("*.eml")]


def _drain(stream) -> None:
    while stream.poll_once():
        pass


def test_paid_invoice_is_emailed_once_through_the_table_stream(api, store, notification_stream):
    # Given a client with an invoice
    token = api.signup("ann@example.com", locale="ru", name="Анна")
    invoice = api.invoice(token, 150000, "USD")

    # When the bank pays it (twice: a redelivered event) and the stream is read
    body = transfer_event("evt-flow", 150000, "USD", f"Оплата {invoice['payment_details']}")
    assert api.webhook(body).status_code == 200
    assert api.webhook(body).json_body["duplicate"] is True
    _drain(notification_stream)

    # Then the balance is credited once and each notification was mailed once
    assert api.balance(token) == (150000, 0)
    subjects = sorted(m["Subject"] for m in _mails(store.mail_sink_dir))
    # welcome, the address's confirmation, invoice paid; the invoice he asked for himself is in his feed only
    assert len(subjects) == 3
    assert sum(invoice["number"] in s for s in subjects) == 1
    assert_books_balance()


def test_operators_hear_of_an_unmatched_payment_through_the_stream(api, store, notification_stream):
    accounts.create_operator("ops@escrowdesk.local", "operator-pass")
    _drain(notification_stream)
    api.webhook(transfer_event("evt-stray", 990, "EUR", "what is this"))
    _drain(notification_stream)  # the broadcast fans out, and the copy's own insert is mailed
    mails = [m for m in _mails(store.mail_sink_dir) if m["To"] == "ops@escrowdesk.local"]
    assert len(mails) == 2  # welcome + the unmatched payment
    assert any("€9.90" in m.get_body(("plain",)).get_content() for m in mails)
    assert_books_balance()


def test_only_an_e_mail_that_failed_enters_the_retry_queue_and_the_job_sends_it(api, store, notification_stream,
                                                                                 monkeypatch):
    """On DynamoDB Local's sparse index and real stream: what goes out at the first try never writes the queue
    index; a send that fails enters it, and the job sends it five minutes later, once."""
    from chalicelib.notify import outbox
    from chalicelib.platform import clock
    from chalicelib.services import notifications
    from chalicelib.store.models import NotificationModel

    def queued() -> list[str]:
        return [key.id for queue in outbox.queue_keys() for key in NotificationModel.by_email_queue.query(queue)]

    token = api.signup("bob@example.com", name="Bob")
    invoice = api.invoice(token, 5000, "USD")
    _drain(notification_stream)
    assert queued() == [] and len(_mails(store.mail_sink_dir)) == 2  # welcome, the address's confirmation

    class Down:
        def send(self, **kwargs):
            raise ConnectionError("SES unavailable")

    with monkeypatch.context() as down:
        down.setattr(notifications, "get_sender", Down)
        assert api.webhook(transfer_event("evt-down", 5000, "USD", invoice["payment_details"])).status_code == 200
        _drain(notification_stream)
    [paid] = queued()
    assert [record.kind for record in NotificationModel.scan() if record.id == paid] == ["invoice_paid"]
    clock.advance(301)
    assert notifications.retry_unsent(clock.now())["sent"] == 1
    assert notifications.retry_unsent(clock.now())["sent"] == 0
    assert queued() == [] and sum(invoice["number"] in m["Subject"] for m in _mails(store.mail_sink_dir)) == 1
    assert_books_balance()

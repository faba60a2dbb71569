"""Outbox delivery: the stream handler, the only feed of the sending, e-mails each new notification exactly
once, in the recipient's language, and a notification that goes out at the first try never enters the retry
queue; the retry job retries only what failed, and gives up a claim whose sender died once it is stale."""
from __future__ import annotations

import email
from email import policy
from pathlib import Path

from chalicelib.notify import outbox
from chalicelib.platform import clock
from chalicelib.services import notifications
from chalicelib.store.models import NotificationModel
from tests.support import play_stream, stream_insert, transfer_event


def _stream_event(records: list[NotificationModel], event_name: str = "INSERT") -> dict:
    return {"Records": [{
        "eventID": f"e{i}", "eventName": event_name, "eventSource": "store:dynamodb", "awsRegion": "eu-central-1",
        "eventSourceARN": "arn:store:dynamodb:eu-central-1:000000000000:table/x/stream/1",
        "dynamodb": {"Keys": {"user_id": {"S": r.user_id}, "id": {"S": r.id}}, "SequenceNumber": str(i),
                     "ApproximateCreationDateTime": 1790000000,
                     "SizeBytes": 10, "StreamViewType": "NEW_IMAGE"},
    } for i, r in enumerate(records)]}


class Broken:
    def send(self, **kwargs):
        raise ConnectionError("SES unavailable")


def _queued() -> list[NotificationModel]:
    """What waits in the retry queue, every shard of it."""
    return [key for queue in outbox.queue_keys() for key in NotificationModel.by_email_queue.query(queue)]


def _mails(settings) -> list[email.message.EmailMessage]:
    return [email.message_from_bytes(p.read_bytes(), policy=policy.default)
            for p in sorted(Path(settings.mail_sink_dir).glob("*.eml"))]


class FakeContext:
    function_name = "escrowdesk-local-on_notification_record"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:store:lambda:eu-central-1:000000000000:function:x"
    aws_request_id = "req-1"


def test_invoice_paid_is_emailed_once_in_the_clients_language(api, store):
    import app as app_module

    token = api.signup("ivan@example.com", locale="ru", name="Иван")
    invoice = api.invoice(token)
    api.webhook(transfer_event("evt-n", 150000, "USD", invoice["payment_details"]))
    records = list(NotificationModel.scan())
    event = _stream_event(records)
    app_module.on_notification_record(event, FakeContext())
    app_module.on_notification_record(event, FakeContext())  # a retried batch
    mails = _mails(store)
    assert len(records) == 4  # welcome, address confirmation, invoice created, invoice paid
    assert len(mails) == 3  # not the invoice he asked for himself: that one is in his feed only
    paid = [m for m in mails if invoice["number"] in m["Subject"] and "оплачен" in m["Subject"].lower()]
    assert len(paid) == 1 and paid[0]["To"] == "ivan@example.com"
    assert sorted(r.email_state for r in NotificationModel.scan()) == ["not_emailed", "sent", "sent", "sent"]
    assert _queued() == [] and {r.email_queue for r in NotificationModel.scan()} == {None}  # sent at the first try


def test_the_stream_reads_the_notification_from_its_new_image_and_sends_it_once(api, store, monkeypatch):
    """Given the stream's INSERT with the item's new image, when it is handed over twice, then the e-mails go
    out once and the handler reads no notification to learn what to send."""
    import app as app_module

    api.signup("image@example.com")
    event = {"Records": [stream_insert(r) for r in NotificationModel.scan()]}
    monkeypatch.setattr(NotificationModel, "get", classmethod(lambda cls, *a, **kw: (_ for _ in ()).throw(
        AssertionError("read the notification the stream carries"))))
    assert app_module.on_notification_record(event, FakeContext()) == {"sent": 2}
    assert app_module.on_notification_record(event, FakeContext()) == {"already_claimed": 2}  # a retried batch
    assert len(_mails(store)) == 2 and _queued() == []


def test_modify_records_are_ignored(api, store):
    api.signup("a@example.com")
    outcome = notifications.deliver_stream_records([])
    assert outcome == {}
    import app as app_module

    app_module.on_notification_record(_stream_event(list(NotificationModel.scan()), "MODIFY"), FakeContext())
    assert _mails(store) == []


def test_the_retry_job_sends_what_failed_at_the_first_try_after_five_minutes(api, store, monkeypatch):
    api.signup("late@example.com")
    with monkeypatch.context() as down:
        down.setattr(notifications, "get_sender", lambda: Broken())
        assert play_stream() == {"failed_will_retry": 2}  # the welcome and the address confirmation
    assert len(_queued()) == 2 and _mails(store) == []
    assert notifications.retry_unsent(clock.now())["sent"] == 0  # not before five minutes
    clock.advance(301)
    assert notifications.retry_unsent(clock.now())["sent"] == 2
    assert notifications.retry_unsent(clock.now())["sent"] == 0
    assert len(_mails(store)) == 2 and _queued() == []


def test_the_retry_job_does_not_send_what_the_stream_has_not_handed_over(api, store):
    """The stream is the only feed of the sending: a notification it has not handed over yet is in no queue."""
    api.signup("waiting@example.com")
    clock.advance(3600)
    assert notifications.retry_unsent(clock.now()) == {"sent": 0, "failed": 0, "skipped": 0}
    assert _mails(store) == []
    assert play_stream() == {"sent": 2}
    assert len(_mails(store)) == 2


def test_the_email_queue_is_spread_over_its_shards_and_the_retry_job_reads_every_one(api, store, monkeypatch):
    """Given e-mails that failed at the first try (the sender down for everyone), then their queue keys spread
    over several of the index's shards (no hot partition), and the retry job still finds each, the unsharded
    key of older notifications too."""
    for n in range(12):
        api.signup(f"queued{n}@example.com")
    with monkeypatch.context() as down:
        down.setattr(notifications, "get_sender", lambda: Broken())
        play_stream()
    older = outbox.pending_record("usr_older", "ntf_older", "welcome", {}, clock.iso(clock.now()))
    older.email_queue = outbox.LEGACY_QUEUE
    older.save()
    keys = {record.email_queue for record in NotificationModel.scan()}
    assert len(keys) >= 6 and keys - {outbox.LEGACY_QUEUE} <= set(outbox.queue_keys())
    assert all(key.startswith("pending#") for key in keys - {outbox.LEGACY_QUEUE})
    waiting = sum(record.email_state == "pending" for record in NotificationModel.scan()) - 1
    clock.advance(301)
    outcome = notifications.retry_unsent(clock.now())
    assert outcome["sent"] == waiting and outcome["skipped"] == 1  # the older one's user has no account here
    assert {record.email_queue for record in NotificationModel.scan() if record.email_state == "sent"} == {None}


def test_failed_send_goes_back_to_pending_in_the_retry_queue_and_is_retried(api, store, monkeypatch):
    api.signup("flaky@example.com")
    record = next(iter(NotificationModel.scan()))
    assert record.email_queue is None  # in no queue while the stream has it

    monkeypatch.setattr(notifications, "get_sender", lambda: Broken())
    assert notifications.deliver(record.user_id, record.id) == "failed_will_retry"
    failed = NotificationModel.get(record.user_id, record.id)
    assert failed.email_state == "pending" and failed.email_queue == outbox.queue_key(record.id)
    monkeypatch.undo()
    assert notifications.deliver(record.user_id, record.id) == "sent"
    sent = NotificationModel.get(record.user_id, record.id)
    assert sent.email_state == "sent" and sent.email_queue is None


def test_a_claim_whose_sender_died_is_queued_when_the_batch_comes_again_and_given_up_when_stale(api, store):
    """Given the stream function claimed a notification and died before its sent mark (a timeout: Lambda hands
    the batch over again), when the batch comes again, then the claim enters the retry queue rather than being
    sent twice, the job leaves it while it may still finish, and gives it up as failed once stale; the batch's
    other notification, sent before the death, is not touched."""
    import app as app_module

    api.signup("died@example.com")
    stuck, done = sorted(NotificationModel.scan(), key=lambda r: r.kind)
    stuck.update(actions=[NotificationModel.email_state.set("sending")])  # the claim of the sender that died
    assert notifications.deliver(done.user_id, done.id) == "sent"
    again = app_module.on_notification_record(_stream_event([stuck, done]), FakeContext())
    assert again == {"queued_for_retry": 1, "already_claimed": 1}
    assert [key.id for key in _queued()] == [stuck.id]
    clock.advance(301)
    assert notifications.retry_unsent(clock.now()) == {"sent": 0, "failed": 0, "skipped": 0}
    clock.advance(1800)
    assert notifications.retry_unsent(clock.now()) == {"sent": 0, "failed": 1, "skipped": 0}
    assert NotificationModel.get(stuck.user_id, stuck.id).email_state == "failed" and _queued() == []
    assert len(_mails(store)) == 1  # the one sent before the death, never a second copy


def test_a_notification_whose_delivery_raises_is_queued_and_the_batch_goes_on(api, store, monkeypatch):
    """Given a record whose delivery raises before its claim (its recipient could not be read), then it enters
    the retry queue instead of failing the batch (Lambda would give the batch up after its retries), the
    others are sent, and the job sends it later."""
    import app as app_module
    from chalicelib.store.models import UserModel

    api.signup("one@example.com")
    api.signup("two@example.com")
    unreadable = next(user.id for user in UserModel.scan() if user.email == "one@example.com")
    reads = UserModel.get

    def flaky(cls, user_id, *args, **kwargs):
        if user_id == unreadable:
            raise ConnectionError("throttled")
        return reads(user_id, *args, **kwargs)

    with monkeypatch.context() as patched:
        patched.setattr(UserModel, "get", classmethod(flaky))
        outcome = app_module.on_notification_record(_stream_event(list(NotificationModel.scan())), FakeContext())
    assert outcome == {"queued_for_retry": 2, "sent": 2}
    assert {key.user_id for key in _queued()} == {unreadable}
    clock.advance(301)
    assert notifications.retry_unsent(clock.now())["sent"] == 2
    assert len(_mails(store)) == 4 and _queued() == []


def test_notifications_list_and_mark_read(api):
    token = api.signup("r@example.com", locale="uk")
    items = api.get("/v1/notifications", token=token).json_body["items"]
    assert [i["kind"] for i in items] == ["email_confirmation", "welcome"]
    assert items[0]["read_at"] is None and items[0]["title"]
    read = api.post(f"/v1/notifications/{items[0]['id']}/read", token=token)
    assert read.status_code == 200 and read.json_body["read_at"]
    other = api.signup("o@example.com")
    assert api.post(f"/v1/notifications/{items[0]['id']}/read", token=other).status_code == 404


def test_unmatched_payment_reaches_every_operator_once(api, store):
    import app as app_module
    from chalicelib.services import accounts

    first = accounts.create_operator("ops1@escrowdesk.local", "operator-pass")["user"]["id"]
    second = accounts.create_operator("ops2@escrowdesk.local", "operator-pass")["user"]["id"]
    api.webhook(transfer_event("evt-stray", 4200, "GBP", "no number here"))
    broadcast = [r for r in NotificationModel.scan() if r.user_id == outbox.OPERATORS]
    assert len(broadcast) == 1 and broadcast[0].kind == "payment_unmatched"

    for _ in range(2):  # the stream may deliver a record twice
        app_module.on_notification_record(_stream_event(broadcast), FakeContext())
    copies = [r for r in NotificationModel.scan()
              if r.kind == "payment_unmatched" and r.user_id != outbox.OPERATORS]
    assert sorted(r.user_id for r in copies) == sorted([first, second])

    app_module.on_notification_record(_stream_event(copies), FakeContext())
    mails = [m for m in _mails(store) if m["To"].startswith("ops")]
    assert sorted(m["To"] for m in mails) == ["ops1@escrowdesk.local", "ops2@escrowdesk.local"]
    assert all("£42.00" in m.get_body(("plain",)).get_content() for m in mails)
    token = api.post("/v1/auth/login", {"email": "ops1@escrowdesk.local", "password": "operator-pass"})
    feed = api.get("/v1/notifications", token=token.json_body["token"]).json_body["items"]
    assert "payment_unmatched" in [item["kind"] for item in feed]


def test_a_broadcast_the_stream_could_not_fan_out_is_fanned_out_by_the_retry_job(api, store, monkeypatch):
    from chalicelib.services import accounts

    accounts.create_operator("ops@escrowdesk.local", "operator-pass")
    play_stream()
    api.webhook(transfer_event("evt-late", 100, "USD", "?"))
    with monkeypatch.context() as patched:
        patched.setattr(notifications, "_members", lambda role: (_ for _ in ()).throw(ConnectionError("throttled")))
        assert play_stream() == {"queued_for_retry": 1}
    clock.advance(301)
    notifications.retry_unsent(clock.now())  # fanned out: the copy's own insert goes to the stream
    play_stream()
    assert any(m["To"] == "ops@escrowdesk.local" and "$1.00" in m["Subject"] + m.get_body(("plain",)).get_content()
               for m in _mails(store))



def test_a_stale_claim_settled_by_a_concurrent_job_run_is_skipped_not_a_crash(api, store, monkeypatch):
    """Found by the bank workload: two job runs at once both saw a stale "sending" claim; the one whose
    conditional update lost raised, and the whole jobs run answered 500 with the later jobs not run."""
    import app as app_module
    from chalicelib.entrypoints import jobs

    api.signup("stuck@example.com")
    record = next(iter(NotificationModel.scan()))
    record.update(actions=[NotificationModel.email_state.set("sending")])  # its sender died: the batch comes again
    app_module.on_notification_record(_stream_event([record]), FakeContext())
    clock.advance(3 * 3600)
    seen = NotificationModel.get(record.user_id, record.id)  # what the losing run read: still "sending"
    NotificationModel.get(record.user_id, record.id).update(  # meanwhile the winner settled it
        actions=[NotificationModel.email_state.set("failed")])
    monkeypatch.setattr(NotificationModel, "get", classmethod(lambda cls, *key, **kw: seen))
    ran = jobs.run_all(clock.now())
    # the queued claim reads as settled by the winner
    assert ran["retry_unsent_email"] == {"sent": 0, "failed": 0, "skipped": 1}
    assert set(ran) == set(jobs.JOBS)


def test_one_failing_job_does_not_stop_the_others(monkeypatch):
    import pytest

    from chalicelib.entrypoints import jobs

    ran = []

    def broken(now):
        raise RuntimeError("boom")

    monkeypatch.setattr(jobs, "JOBS", {"first": broken, "second": lambda now: ran.append(now) or {}})
    with pytest.raises(jobs.JobsFailed, match="first"):
        jobs.run_all(clock.now())
    assert len(ran) == 1


def _own_moves_of_plain_and_keen(api, store) -> tuple[list[NotificationModel], int]:
    """Two users' notifications of their own moves, written by the outbox (keen's first: he asked to be e-mailed
    his own moves, plain kept the default), and how many e-mails had gone out before them."""
    from chalicelib.store.models import UserModel
    from chalicelib.store.uow import UnitOfWork
    from tests.notification_samples import SAMPLES

    api.signup("plain@example.com")
    api.signup("keen@example.com")
    play_stream()
    before = len(_mails(store))
    users = {user.email: user for user in UserModel.scan()}
    users["keen@example.com"].update(actions=[UserModel.email_choices.set({"own_actions": True})])
    uow = UnitOfWork()
    ids = {address: outbox.enqueue(uow, user.id, "order_completed", SAMPLES["order_completed"][0], actor=user.id)
           for address, user in users.items()}
    uow.commit()
    return [NotificationModel.get(users[address].id, ids[address]) for address in sorted(ids)], before


def test_a_partys_own_move_is_written_not_emailed_and_sent_once_only_to_one_who_asked_for_his_own_moves(api, store):
    """Given two users' notifications of their own moves, when the stream hands them over twice, then the one with
    the default choices stays `not_emailed` with no write of the stream's, and the one who asked for his own moves
    gets it once."""
    import app as app_module
    written, before = _own_moves_of_plain_and_keen(api, store)
    assert [record.email_state for record in written] == ["not_emailed", "not_emailed"]  # keen, plain
    event = {"Records": [stream_insert(record) for record in written]}
    assert app_module.on_notification_record(event, FakeContext()) == {"sent": 1, "not_emailed": 1}
    assert app_module.on_notification_record(event, FakeContext()) == {"already_claimed": 1, "not_emailed": 1}
    after = [NotificationModel.get(record.user_id, record.id) for record in written]
    assert [record.email_state for record in after] == ["sent", "not_emailed"]
    assert after[1].serialize() == written[1].serialize()  # the stream wrote nothing to it
    mails = _mails(store)[before:]
    assert [mail["To"] for mail in mails] == ["keen@example.com"] and _queued() == []


def test_an_own_move_whose_recipient_could_not_be_read_is_queued_and_the_job_settles_it_as_he_chose(api, store,
                                                                                                     monkeypatch):
    """Given two users' own-move notifications whose first delivery cannot read the users, then both wait in the
    retry queue, and the job five minutes later e-mails the one who asked for his own moves, once, and takes the
    other out of the queue unsent."""
    import app as app_module
    from chalicelib.store.models import UserModel

    written, before = _own_moves_of_plain_and_keen(api, store)
    with monkeypatch.context() as down:
        down.setattr(UserModel, "get", classmethod(lambda cls, *a, **kw: (_ for _ in ()).throw(
            ConnectionError("users unreadable"))))
        event = {"Records": [stream_insert(record) for record in written]}
        assert app_module.on_notification_record(event, FakeContext()) == {"queued_for_retry": 2}
    assert sorted(key.id for key in _queued()) == sorted(record.id for record in written)
    clock.advance(301)
    assert notifications.retry_unsent(clock.now()) == {"sent": 1, "failed": 0, "skipped": 1}
    assert notifications.retry_unsent(clock.now()) == {"sent": 0, "failed": 0, "skipped": 0}
    after = [NotificationModel.get(record.user_id, record.id) for record in written]
    assert [record.email_state for record in after] == ["sent", "not_emailed"] and _queued() == []
    assert [mail["To"] for mail in _mails(store)[before:]] == ["keen@example.com"]

"""E-mails people want: each user turns e-mail on or off per notification kind, the feed keeps everything, nobody
is e-mailed about his own moves by default, and every optional e-mail carries an RFC 8058 one-click link that
turns its kind off without a log-in."""
from __future__ import annotations

import email
import re
from email import policy
from pathlib import Path

import pytest

from chalicelib.notify import outbox, preferences
from chalicelib.notify.render import KINDS as TEMPLATES
from chalicelib.platform import clock, config
from chalicelib.services import notifications
from chalicelib.store.models import NotificationModel, UserModel
from chalicelib.store.uow import UnitOfWork
from tests.notification_samples import SAMPLES
from tests.support import act, assert_books_balance, place_order

SETTINGS = "/v1/me/notification-settings"
OTHER_SAMPLES = {"welcome": {}, "invoice_paid": {"invoice_id": "inv_1", "number": "PI-2025-000123",
                                                 "amount": {"amount": 150000, "currency": "USD"},
                                                 "paid_at": "2025-02-17T10:30:00Z"}}


def _deliver_everything() -> None:
    for record in NotificationModel.scan():
        if record.email_state == outbox.PENDING or (record.email_state == outbox.NOT_EMAILED
                                                     and record.actor_id == record.user_id):  # his own move
            notifications.deliver(record.user_id, record.id)


def _emailed(user_id: str) -> list[str]:
    return sorted(r.kind for r in NotificationModel.query(user_id) if r.email_state == notifications.SENT)


def _feed(api, token: str) -> list[str]:
    return sorted(item["kind"] for item in api.get("/v1/notifications?limit=100", token=token).json_body["items"])


def _mails() -> list[email.message.EmailMessage]:
    return [email.message_from_bytes(p.read_bytes(), policy=policy.default)
            for p in sorted(Path(config.settings.mail_sink_dir).glob("*.eml"))]


def _setting(api, token: str, kind: str) -> bool:
    items = api.get(SETTINGS, token=token).json_body["items"]
    return next(item["email"] for item in items if item["kind"] == kind)


def _patch(api, token: str, body: dict):
    return api.request("PATCH", SETTINGS, body, token=token)


def _complete_order(api, deal) -> dict:
    _deliver_everything()  # the set-up's e-mails (sign-ups, the client's top-up) are not the order's
    order = place_order(api, deal)
    for token, action in ((deal["contractor"], "start"), (deal["contractor"], "deliver"), (deal["client"], "accept")):
        response = act(api, token, order, action, {"message": "Here it is"} if action == "deliver" else None)
        assert response.status_code == 200, response.body
    _deliver_everything()
    return order


def _order_mails(user_id: str) -> list[str]:
    return [kind for kind in _emailed(user_id) if kind.startswith("order_")]


# --- the table ---------------------------------------------------------------------------------------------------

def test_every_notification_kind_has_exactly_one_e_mail_class_and_every_optional_one_a_name():
    assert set(preferences.KINDS) == set(TEMPLATES)
    assert all(mail.group in preferences.CLASSES for mail in preferences.KINDS.values())
    assert all((mail.label is None) == mail.mandatory for mail in preferences.KINDS.values())


@pytest.mark.parametrize("kind", sorted(preferences.KINDS))
def test_by_default_every_kind_is_e_mailed_but_of_his_own_moves_a_user_gets_only_security_mail(kind):
    assert preferences.emailed(kind, None, own=False) is True
    assert preferences.emailed(kind, None, own=True) is (preferences.KINDS[kind].group == preferences.SECURITY)


@pytest.mark.parametrize("kind", ["password_reset", "email_confirmation", "team_invitation", "order_placed",
                                  "order_delivered", "service_invoice_overdue", "payout_failed"])
def test_security_and_must_act_kinds_are_mandatory(kind):
    assert not preferences.optional(kind)
    assert preferences.emailed(kind, {"kinds": {kind: False}}, own=False)


# --- defaults on a completed order ---------------------------------------------------------------------------------

def test_a_completed_order_e_mails_each_party_the_other_partys_moves_and_the_money_not_his_own_moves(api, deal):
    """Given a client and a contractor with default settings, when an order is placed, started, delivered and
    accepted, then the client is e-mailed that it started and was delivered (he must review it), the contractor
    that it was placed (he must start it) and completed (his money); each party's feed still has all four."""
    _complete_order(api, deal)
    assert _order_mails(deal["client_id"]) == ["order_delivered", "order_started"]
    assert _order_mails(deal["contractor_id"]) == ["order_completed", "order_placed"]
    everything = ["order_completed", "order_delivered", "order_placed", "order_started"]
    assert [k for k in _feed(api, deal["client"]) if k.startswith("order_")] == everything
    assert [k for k in _feed(api, deal["contractor"]) if k.startswith("order_")] == everything
    assert_books_balance()


def test_a_top_up_invoice_the_client_asked_for_is_not_e_mailed_but_its_payment_is(api, deal):
    _deliver_everything()
    client = UserModel.get(deal["client_id"])
    assert "invoice_created" not in _emailed(client.id) and "invoice_paid" in _emailed(client.id)
    assert {"invoice_created", "invoice_paid"} <= set(_feed(api, deal["client"]))


def test_a_user_who_asks_for_his_own_moves_too_gets_them(api, deal):
    answer = _patch(api, deal["client"], {"own_actions": True})
    assert answer.status_code == 200 and answer.json_body["own_actions"] is True
    _complete_order(api, deal)
    assert _order_mails(deal["client_id"]) == ["order_completed", "order_delivered", "order_placed", "order_started"]


# --- the settings ------------------------------------------------------------------------------------------------

def test_the_settings_list_every_kind_with_its_class_and_whether_it_is_e_mailed(api, deal):
    body = api.get(SETTINGS, token=deal["client"]).json_body
    assert body["own_actions"] is False
    assert {item["kind"] for item in body["items"]} == set(preferences.KINDS)
    assert all(item["email"] for item in body["items"])
    by_kind = {item["kind"]: item for item in body["items"]}
    assert by_kind["order_delivered"] == {"kind": "order_delivered", "group": "action", "mandatory": True,
                                          "email": True}
    assert by_kind["order_started"]["mandatory"] is False


def test_turning_a_kind_off_stops_its_e_mail_but_the_feed_keeps_it(api, deal):
    answer = _patch(api, deal["client"], {"email": {"order_started": False}})
    assert answer.status_code == 200, answer.body
    assert _setting(api, deal["client"], "order_started") is False
    _complete_order(api, deal)
    assert _order_mails(deal["client_id"]) == ["order_delivered"]
    assert "order_started" in _feed(api, deal["client"])
    assert _order_mails(deal["contractor_id"]) == ["order_completed", "order_placed"]  # his settings are his own


def test_a_kind_turned_off_can_be_turned_on_again_and_other_kinds_keep_their_setting(api, deal):
    _patch(api, deal["client"], {"email": {"order_started": False, "message_received": False}})
    _patch(api, deal["client"], {"email": {"order_started": True}})
    assert _setting(api, deal["client"], "order_started") is True
    assert _setting(api, deal["client"], "message_received") is False


@pytest.mark.parametrize("kind", ["order_delivered", "password_reset", "payment_unmatched", "service_invoice_issued"])
def test_a_mandatory_kind_cannot_be_turned_off(api, deal, kind):
    answer = _patch(api, deal["client"], {"email": {"order_started": False, kind: False}})
    assert answer.status_code == 422
    assert answer.json_body["error"]["code"] == "notification_mandatory"
    assert _setting(api, deal["client"], "order_started") is True  # nothing changed
    assert _patch(api, deal["client"], {"email": {kind: True}}).status_code == 200  # on it is anyway


def test_an_unknown_kind_is_refused_and_nothing_changes(api, deal):
    answer = _patch(api, deal["client"], {"email": {"order_started": False, "horoscope": False}})
    assert answer.status_code == 422
    assert answer.json_body["error"]["code"] == "unknown_notification_kind"
    assert _setting(api, deal["client"], "order_started") is True


@pytest.mark.parametrize("body", [{"email": {"order_started": "maybe"}}, {"email": ["order_started"]},
                                  {"email": {"k" * 65: False}}, {"own_actions": "yes"}, {"email": {"": False}},
                                  {"email": {f"kind_{n}": False for n in range(101)}}])
def test_malformed_settings_are_refused_with_a_4xx(api, deal, body):
    answer = _patch(api, deal["client"], body)
    assert 400 <= answer.status_code < 500 and "error" in answer.json_body
    assert UserModel.get(deal["client_id"]).email_choices is None


def test_the_settings_are_the_signed_in_users_only(api):
    assert api.get(SETTINGS).status_code == 401
    assert _patch(api, "not-a-token", {"email": {"order_started": False}}).status_code == 401


# --- the one-click link ------------------------------------------------------------------------------------------

def _user(kind: str = "order_started") -> UserModel:
    user = UserModel("usr_reader", email="reader@example.com", name="Reader", locale="en", password_hash="x",
                     roles=["client"], created_at=clock.iso(clock.now()))
    user.save()
    return user


def _notify(user: UserModel, kind: str, params: dict) -> NotificationModel:
    uow = UnitOfWork()
    notification_id = outbox.enqueue(uow, user.id, kind, params)
    uow.commit()
    notifications.deliver(user.id, notification_id)
    return NotificationModel.get(user.id, notification_id)


def _samples() -> list[tuple[str, dict]]:
    return sorted({**{kind: params[0] for kind, params in SAMPLES.items()}, **OTHER_SAMPLES}.items())


@pytest.mark.parametrize(("kind", "params"), _samples(), ids=[kind for kind, _ in _samples()])
def test_list_unsubscribe_headers_are_on_exactly_the_optional_kinds(kind, params):
    """RFC 8058: an optional kind's e-mail names its one-click link and that a POST to it is enough; a security
    or must-act e-mail has neither."""
    user = _user()
    assert _notify(user, kind, params).email_state == notifications.SENT
    (mail,) = _mails()
    if preferences.optional(kind):
        link = re.fullmatch(r"<(.+)>", mail["List-Unsubscribe"])
        assert link and link[1].startswith(config.settings.app_url + "/web/unsubscribe/")
        assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert link[1] in mail.get_body(("html",)).get_content()  # and a visible link in the message
    else:
        assert mail["List-Unsubscribe"] is None and mail["List-Unsubscribe-Post"] is None


def _unsubscribe_link(kind: str = "order_started") -> str:
    user = UserModel.get("usr_reader") if UserModel.count("usr_reader") else _user()
    _notify(user, kind, {**SAMPLES[kind][0]})
    mail = _mails()[-1]
    return re.fullmatch(r"<(.+)>", mail["List-Unsubscribe"])[1].removeprefix(config.settings.app_url)  # type: ignore[index]


def _one_click(api, path: str):
    return api.request("POST", path, raw=b"List-Unsubscribe=One-Click",
                       headers={"Content-Type": "application/x-www-form-urlencoded"})


def test_a_one_click_post_turns_that_kind_off_without_a_log_in_and_the_feed_keeps_it(api):
    path = _unsubscribe_link("order_started")
    answer = _one_click(api, path)
    assert answer.status_code == 200 and "Order started" in answer.body.decode()
    assert UserModel.get("usr_reader").email_choices == {"kinds": {"order_started": False}}
    assert _one_click(api, path).status_code == 200  # twice changes nothing more
    again = _notify(UserModel.get("usr_reader"), "order_started", SAMPLES["order_started"][0])
    assert again.email_state == notifications.NOT_EMAILED
    assert len(_mails()) == 1
    assert _notify(UserModel.get("usr_reader"), "order_completed", SAMPLES["order_completed"][0]).email_state == (
        notifications.SENT)  # only that kind


def test_opening_the_link_asks_first_and_changes_nothing(api):
    path = _unsubscribe_link("message_received")
    page = api.get(path, headers={"Accept-Language": "uk"})
    assert page.status_code == 200 and 'name="List-Unsubscribe" value="One-Click"' in page.body.decode()
    assert 'method="post"' in page.body.decode() and "csrf" not in page.body.decode()
    assert UserModel.get("usr_reader").email_choices is None


def test_the_page_speaks_the_users_language(api):
    path = _unsubscribe_link("order_started")
    UserModel.get("usr_reader").update(actions=[UserModel.locale.set("ru")])
    assert "Заказ начат" in _one_click(api, path).body.decode()


@pytest.mark.parametrize("forge", [
    lambda path: path[:-3] + ("aaa" if not path.endswith("aaa") else "bbb"),  # another MAC
    lambda path: path.replace("/web/unsubscribe/", "/web/unsubscribe/x"),  # another payload
    lambda path: path.split(".")[0],  # no MAC
    lambda path: "/web/unsubscribe/" + preferences._b64("usr_reader\norder_started\n99999999999") + "."
                 + path.rsplit(".", 1)[1],  # the MAC of another payload
])
def test_a_forged_link_turns_nothing_off(api, forge):
    path = forge(_unsubscribe_link("order_started"))
    assert _one_click(api, path).status_code == 404
    assert api.get(path).status_code == 404
    assert UserModel.get("usr_reader").email_choices is None


def test_a_signed_link_for_a_mandatory_kind_turns_nothing_off(api):
    _user()
    path = preferences.unsubscribe_url("usr_reader", "order_delivered").removeprefix(config.settings.app_url)
    assert _one_click(api, path).status_code == 404
    assert UserModel.get("usr_reader").email_choices is None


def test_an_expired_link_turns_nothing_off(api):
    path = _unsubscribe_link("order_started")
    clock.advance(config.settings.unsubscribe_link_days * 86400 + 1)
    answer = _one_click(api, path)
    assert answer.status_code == 410 and "expired" in answer.body.decode()
    assert UserModel.get("usr_reader").email_choices is None


def test_ses_sends_the_unsubscribe_headers_with_the_message():
    from chalicelib.adapters.mail import SesSender
    from chalicelib.notify.render import RenderedMessage

    class Recording:
        def __init__(self) -> None:
            self.sent: list[dict] = []

        def send_email(self, **request):
            self.sent.append(request)

    url = preferences.unsubscribe_url("usr_reader", "order_started")
    message = RenderedMessage("Order started", "text\n", "<p>text</p>", preferences.unsubscribe_headers(url))
    client = Recording()
    SesSender(client).send(to="reader@example.com", message=message, message_id="ntf_1")
    headers = {h["Name"]: h["Value"] for h in client.sent[0]["Content"]["Simple"]["Headers"]}
    assert headers["List-Unsubscribe"] == f"<{url}>"
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

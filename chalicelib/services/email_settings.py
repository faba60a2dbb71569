"""Each user's e-mail settings: which optional notification kinds reach his inbox, and whether he is e-mailed
about his own actions too (`chalicelib.notify.preferences` classifies the kinds). The cabinet feed is not
affected: it always has every notification. A one-click link in an optional e-mail turns its kind off
without a log-in (`unsubscribe`)."""
from __future__ import annotations

from pynamodb.exceptions import UpdateError

from chalicelib.access.auth import Principal
from chalicelib.notify import preferences
from chalicelib.platform.errors import Conflict, NotFound, Unprocessable
from chalicelib.store.models import UserModel

ATTEMPTS = 3  # writes of the choices raced by another change before giving up (409)


def view(user: UserModel) -> dict:
    choices = user.email_choices or {}
    kinds = choices.get("kinds", {})
    return {
        "own_actions": bool(choices.get("own_actions", False)),
        "items": [{"kind": kind, "group": mail.group, "mandatory": mail.mandatory,
                   "email": mail.mandatory or bool(kinds.get(kind, True))}
                  for kind, mail in preferences.KINDS.items()],
    }


def get(principal: Principal) -> dict:
    return view(principal.user or UserModel.get(principal.user_id))


def change(principal: Principal, email: dict[str, bool], own_actions: bool | None) -> dict:
    """Turn the named kinds' e-mail on or off (kinds left out keep theirs); 422 for an unknown kind or a
    mandatory one turned off, and then nothing changes."""
    for kind, wanted in email.items():
        if kind not in preferences.KINDS:
            raise Unprocessable("unknown_notification_kind", f"There is no notification kind {kind!r}",
                                field="email")
        if not wanted and not preferences.optional(kind):
            raise Unprocessable("notification_mandatory", f"E-mails of the kind {kind!r} cannot be turned off: "
                                                          "they are about security or something you must act on",
                                field="email")
    return view(_write(principal.user_id, lambda kinds: {**kinds, **email}, own_actions))


def unsubscribe_target(token: str) -> tuple[UserModel, str]:
    """The user and kind a one-click link turns off (404 forged or garbled, 409 expired)."""
    try:
        target = preferences.read_unsubscribe_token(token)
    except preferences.BadLink as bad:
        if bad.code == "unsubscribe_link_expired":
            raise Conflict("unsubscribe_link_expired",
                           "This link has expired; change your e-mail settings in your account") from None
        raise NotFound("invalid_unsubscribe_link", "This link is not valid") from None
    try:
        return UserModel.get(target.user_id), target.kind
    except UserModel.DoesNotExist:
        raise NotFound("invalid_unsubscribe_link", "This link is not valid") from None


def unsubscribe(token: str) -> tuple[UserModel, str]:
    """RFC 8058's one-click POST: that kind's e-mail is off for that user; doing it twice changes nothing."""
    user, kind = unsubscribe_target(token)
    _write(user.id, lambda kinds: {**kinds, kind: False}, None)
    return user, kind


def _write(user_id: str, new_kinds, own_actions: bool | None) -> UserModel:  # type: ignore[no-untyped-def]
    """Read, change and write the choices, conditional on what was read (a concurrent change is retried)."""
    for _ in range(ATTEMPTS):
        user = UserModel.get(user_id, consistent_read=True)
        read = user.email_choices
        choices = dict(read or {})
        choices["kinds"] = new_kinds(dict(choices.get("kinds", {})))
        if own_actions is not None:
            choices["own_actions"] = own_actions
        condition = UserModel.email_choices.does_not_exist() if read is None else UserModel.email_choices == read
        try:
            user.update(actions=[UserModel.email_choices.set(choices)], condition=condition)
        except UpdateError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                continue
            raise
        return user
    raise Conflict("state_changed", "Your e-mail settings changed meanwhile; try again")

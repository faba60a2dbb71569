"""Sign-up, log-in, profiles and operators."""
from __future__ import annotations

from collections.abc import Callable

from pynamodb.expressions.update import Action

from chalicelib import auth, clock, i18n, idempotency, ids, views
from chalicelib.errors import Conflict, Unauthorized
from chalicelib.services import notifications
from chalicelib.store import lookup
from chalicelib.store.models import KeyModel, UserModel
from chalicelib.store.uow import UnitOfWork


def _email_key(email: str) -> str:
    return f"email#{email.strip().lower()}"


def signup(email: str, password: str, name: str, locale: str, timezone: str | None = None) -> tuple[int, dict]:
    """Everyone who signs up may act as a client and as a contractor."""
    return _create_user(email, password, name, locale, roles=[auth.CLIENT, auth.CONTRACTOR], timezone=timezone)


def create_operator(email: str, password: str, name: str = "Operator", locale: str = "en") -> dict:
    """Operators are made here (CLI, configuration), never through sign-up."""
    return _create_user(email, password, name, locale, roles=[auth.OPERATOR])[1]


def signup_invited(email: str, password: str, name: str, locale: str,
                   join: Callable[[UnitOfWork, UserModel], None], timezone: str | None = None) -> tuple[int, dict]:
    """Sign-up through an invitation: `join` adds the joining (team, invitation) to the same transaction."""
    return _create_user(email, password, name, locale, roles=[auth.CLIENT, auth.CONTRACTOR], join=join,
                        timezone=timezone)


def _create_user(email: str, password: str, name: str, locale: str, roles: list[str],
                 join: Callable[[UnitOfWork, UserModel], None] | None = None,
                 timezone: str | None = None) -> tuple[int, dict]:
    user = UserModel(ids.new_id("usr"), email=email.strip().lower(), name=name.strip(), locale=locale,
                     timezone=timezone or i18n.default_zone(locale), password_hash=auth.hash_password(password),
                     roles=roles, created_at=clock.iso(clock.now()))
    uow = UnitOfWork()
    uow.put(user, condition=UserModel.id.does_not_exist())
    uow.put(KeyModel(_email_key(email), target_id=user.id), condition=KeyModel.key.does_not_exist(),
            on_fail=Conflict("email_taken", "An account with this e-mail already exists"))
    if auth.OPERATOR in roles:
        uow.update(KeyModel(notifications.OPERATORS_KEY),
                   [KeyModel.members.set((KeyModel.members | []).append([user.id]))])
    notifications.enqueue(uow, user.id, "welcome", {})
    if join is not None:
        join(uow, user)
    body = {"user": views.user(user), "token": auth.issue_token(user.id, roles)}
    return idempotency.commit(uow, 201, body)


def login(email: str, password: str) -> dict:
    user = find_by_email(email)
    if user is None or not auth.verify_password(user.password_hash, password):
        raise Unauthorized("invalid_credentials", "E-mail or password is wrong")
    return {"token": auth.issue_token(user.id, [str(role) for role in user.roles])}


def find_by_email(email: str) -> UserModel | None:
    try:
        key = KeyModel.get(_email_key(email), consistent_read=True)
    except KeyModel.DoesNotExist:
        return None
    return UserModel.get(key.target_id, consistent_read=True)


def get_user(user_id: str) -> UserModel:
    return lookup.load(UserModel, user_id, what="user")


def me(principal: auth.Principal) -> dict:
    return views.user(get_user(principal.user_id))


def update_me(principal: auth.Principal, *, locale: str | None, timezone: str | None) -> dict:
    """A new language or time zone, for everything the user is shown from now on."""
    user = get_user(principal.user_id)
    changes = ((UserModel.locale, locale), (UserModel.timezone, timezone))
    actions: list[Action] = [attribute.set(value) for attribute, value in changes if value is not None]
    if actions:
        user.update(actions=actions)
    return views.user(user)

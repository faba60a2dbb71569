"""Accounts and who may do what: users, the lookup keys (e-mail, tokens, site keys), profiles, team members,
idempotency records and abuse-limit counters."""
from __future__ import annotations

import json
import zlib

from pynamodb.attributes import (
    BinaryAttribute,
    BooleanAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
)
from pynamodb.models import Model

from chalicelib.store.models.base import BaseMeta, JSONAttribute


class UserModel(Model):
    class Meta(BaseMeta):
        logical_name = "users"
        table_name = "users"

    id = UnicodeAttribute(hash_key=True)
    email = UnicodeAttribute()
    name = UnicodeAttribute()
    locale = UnicodeAttribute()
    timezone = UnicodeAttribute(null=True)  # IANA name; None on accounts made before time zones
    password_hash = UnicodeAttribute()
    roles = ListAttribute(of=UnicodeAttribute)
    created_at = UnicodeAttribute()
    # Tokens carry the epoch they were issued in; a password change or reset moves it on, which revokes
    # every earlier token. Logged-out sessions until their tokens expire: {session id: expiry (unix)}.
    token_epoch = NumberAttribute(null=True)
    revoked_sessions = JSONAttribute(null=True)
    # When the address was proven (its e-mailed confirmation link used, or the account made by an invitation
    # link); None until then.
    email_confirmed_at = UnicodeAttribute(null=True)
    # Which optional notification kinds he wants e-mailed (`chalicelib.notify.preferences`):
    # {"kinds": {kind: bool}, "own_actions": bool}; None: the defaults.
    email_choices = JSONAttribute(null=True)
    # An operator's second factor for the console (`chalicelib/access/totp.py`): the TOTP secret, encrypted with
    # TOTP_ENCRYPTION_KEY; one offered at log-in until a code confirms it; when it was confirmed; and the last
    # time step a code was accepted for, so that no code works twice.
    totp_secret = UnicodeAttribute(null=True)
    totp_pending = UnicodeAttribute(null=True)
    totp_enrolled_at = UnicodeAttribute(null=True)
    totp_last_step = NumberAttribute(null=True)


class KeyModel(Model):
    """Unique claims and counters: `email#<address>` → user, `invoice#<number>` → invoice,
    `counter#invoice#<year>` → last sequence number, `operators` → the operators' user ids."""

    class Meta(BaseMeta):
        logical_name = "keys"
        table_name = "keys"

    key = UnicodeAttribute(hash_key=True)
    target_id = UnicodeAttribute(null=True)
    seq = NumberAttribute(null=True)
    data = JSONAttribute(null=True)
    members = ListAttribute(of=UnicodeAttribute, null=True)


class IdempotencyModel(Model):
    """The first response to `(scope, Idempotency-Key)`. Records of money-moving requests are
    written in the movement's own transaction and never expire; others expire by TTL.

    The response's body is kept compressed (`answer_z`: zlib of its JSON), so that a record stays under
    the 1 KB a write unit buys even for a whole order's answer; records written before keep it in `body`.
    Read it with `answer()`."""

    class Meta(BaseMeta):
        logical_name = "idempotency"
        table_name = "idempotency"
        ttl_attribute = "expires_at"

    id = UnicodeAttribute(hash_key=True)
    request_hash = UnicodeAttribute()
    status_code = NumberAttribute()
    body = JSONAttribute(null=True)  # records written before the answer was compressed
    answer_z = BinaryAttribute(attr_name="z", null=True, legacy_encoding=False)
    created_at = UnicodeAttribute()
    expires_at = NumberAttribute(null=True)

    @staticmethod
    def compress(answer: dict) -> bytes:
        return zlib.compress(json.dumps(answer, ensure_ascii=False, separators=(",", ":")).encode(), 9)

    def answer(self) -> dict:
        """The response's body as it was first answered."""
        if self.answer_z is not None:
            return dict(json.loads(zlib.decompress(self.answer_z)))
        return dict(self.body or {})


class ProfileModel(Model):
    """What others see of a contractor besides his gigs: his level, whether he takes custom offers,
    and the counters behind his responsibility rating (updated inside the deals' transactions)."""

    class Meta(BaseMeta):
        logical_name = "profiles"
        table_name = "profiles"

    user_id = UnicodeAttribute(hash_key=True)
    level = UnicodeAttribute(null=True)  # an operator's override; without it the level follows LEVEL_RULES
    level_set_by = UnicodeAttribute(null=True)  # the operator who set the override,
    level_set_at = UnicodeAttribute(null=True)  # and when
    custom_offers = UnicodeAttribute(null=True)  # "enabled" when the contractor takes custom offers
    orders_completed = NumberAttribute(null=True)
    orders_failed = NumberAttribute(null=True)  # declined, auto-cancelled, or cancelled by the client once late
    orders_cancelled = NumberAttribute(null=True)  # cancelled by agreement: no rating drop
    # the ratings others gave him on completed project contracts, as a contractor and as a client
    contractor_rating_sum = NumberAttribute(null=True)
    contractor_rating_count = NumberAttribute(null=True)
    client_rating_sum = NumberAttribute(null=True)
    client_rating_count = NumberAttribute(null=True)
    review_sum = NumberAttribute(null=True)  # his reviews' 1–5 ratings across all his gigs,
    review_count = NumberAttribute(null=True)  # and how many
    # The catalog (chalicelib/store/catalog.py): his listed gigs and their index rows ({gig id: [listing]}), and a
    # version every change to them or to what ranks them moves on, written only over the version read.
    catalog_gigs = JSONAttribute(null=True)
    rank_version = NumberAttribute(null=True)
    skills = ListAttribute(of=UnicodeAttribute, null=True)
    company_name = UnicodeAttribute(null=True)  # a company's settings: its name on acts,
    company_details = UnicodeAttribute(null=True)  # its requisites as printed,
    send_tasks_immediately = BooleanAttribute(null=True)  # and whether new tasks skip the draft


class TeamMemberModel(Model):
    """A company's team: one item per contractor, keyed by e-mail; `invited` until the invitee sets a
    password, `requested` until someone who already has an account accepts (or `declined`), then `active`."""

    class Meta(BaseMeta):
        logical_name = "team"
        table_name = "team"

    company_id = UnicodeAttribute(hash_key=True)
    email = UnicodeAttribute(range_key=True)
    user_id = UnicodeAttribute(null=True)
    state = UnicodeAttribute()  # invited | requested | active | declined
    greeting = UnicodeAttribute(null=True)
    invited_at = UnicodeAttribute()
    joined_at = UnicodeAttribute(null=True)
    expires_at = UnicodeAttribute(null=True)  # when the pending invitation (or request to join) expires


class LimitModel(Model):
    """An abuse limit's counter for one key and window (failed log-ins per e-mail or address, invitations
    per company and day, e-mails per address and day, password resets): items expire by TTL."""

    class Meta(BaseMeta):
        logical_name = "limits"
        table_name = "limits"
        ttl_attribute = "expires_at"

    key = UnicodeAttribute(hash_key=True)
    hits = NumberAttribute(default=0)
    window_ends = NumberAttribute()  # unix seconds: the window's counting stops here
    expires_at = NumberAttribute()


"""Secrets: the one place the service's keys and outside services' tokens are read, and how each rotates.

On a deployed stage every secret lives in AWS Secrets Manager. A function's environment names only the
secret's ARN (`JWT_SECRET_ARN`, …, one setting each); the value is read with Powertools' Parameters utility
and cached for `SECRET_MAX_AGE_SECONDS`, so a rotation reaches every warm function within that time. Without
an ARN (the local stage, tests) the secret is its plain local setting (`JWT_SECRET`, …), one key that never
rotates.

A secret has one of three shapes, stored as JSON:
- a keyring (`jwt`: bearer tokens, list cursors, download links and the pages' own links; `totp`: the
  operators' second factors at rest): `{"current": kid, "keys": {kid: key}, "rotated_at": iso}`. What is
  signed carries its key's id (`kid`); only the current key signs, every key in the ring verifies. A rotation
  adds a new current key and keeps the one before it (`jwt`), or every key before it (`totp`: what it
  encrypted stays readable until written again);
- a secret shared with an outside party that signs its webhooks with it (`bank-webhook`, `acquirer-webhook`):
  `{"current": value, "previous": value, "rotated_at": iso}`. A webhook signed with the previous value is
  accepted for `WEBHOOK_SECRET_OVERLAP_HOURS` after the rotation, so the party can switch at its own pace;
- a token an outside service issued us (`acquirer-key`, `vchasno-token`, `registry-token`): `{"current": value}`.
A plain string, which is what the stack puts in a secret it creates, is a keyring of the one key `0`, or the
current value with no previous one.

While a rotation spreads, a warm function may still hold the secret as it was. What a fresher function signed
names a kid it does not know, and a party that switched signs with a value it does not know: before refusing, it
reads the secret again (`refresh`), at most once per `REFRESH_SECONDS` per secret, so forged kids cannot turn
into a flood of reads.

`rotate()` (`python -m chalicelib.entrypoints.cli rotate-secret <name>`) writes the next value; see
docs/operations.md for the runbook.
"""
from __future__ import annotations

import json
import secrets as random
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from chalicelib.platform import clock, config

KEYRING, WEBHOOK, TOKEN = "keyring", "webhook", "token"
FIRST_KID = "0"  # the id of a keyring's only key before its first rotation (and of a local key)
REFRESH_SECONDS = 30  # the least time between two reads of one secret forced by something it did not know


@dataclass(frozen=True)
class Secret:
    name: str
    shape: str
    setting: str  # the Settings attribute of its local value; `<setting>_arn` holds its ARN on a deployed stage
    keep_all: bool = False  # a keyring that keeps every key a rotation replaces (what it encrypted stays readable)

    @property
    def arn_variable(self) -> str:
        return f"{self.setting.upper()}_ARN"


SECRETS: dict[str, Secret] = {secret.name: secret for secret in (
    Secret("jwt", KEYRING, "jwt_secret"),
    Secret("totp", KEYRING, "totp_encryption_key", keep_all=True),
    Secret("bank-webhook", WEBHOOK, "bank_webhook_secret"),
    Secret("acquirer-webhook", WEBHOOK, "acquirer_webhook_secret"),
    Secret("acquirer-key", TOKEN, "acquirer_key"),
    Secret("vchasno-token", TOKEN, "vchasno_token"),
    Secret("registry-token", TOKEN, "registry_token"),
)}


class RotationRefused(Exception):
    """Rotating now would refuse what the previous rotation still lets through (or the secret cannot rotate)."""


@dataclass(frozen=True)
class Keyring:
    current: str
    keys: Mapping[str, str]

    def signing(self) -> tuple[str, str]:
        """The current key's id and the key: the only one that signs."""
        return self.current, self.keys[self.current]

    def key(self, kid: object) -> str | None:
        """The key with this id, if the ring still holds it."""
        return self.keys.get(kid) if isinstance(kid, str) else None


# Reading --------------------------------------------------------------------------------------

def arn(name: str) -> str:
    """The secret's ARN on a deployed stage; empty where the local value is used."""
    return str(getattr(config.settings, f"{SECRETS[name].setting}_arn"))


_refreshed: dict[str, float] = {}  # secret → when (monotonic) it was last read again before its maximum age
_refresh_lock = threading.Lock()


def _document(name: str, *, fresh: bool = False) -> dict[str, Any]:
    secret_arn = arn(name)
    if not secret_arn:
        return {"current": getattr(config.settings, SECRETS[name].setting)}
    from aws_lambda_powertools.utilities import parameters

    raw = parameters.get_secret(secret_arn, max_age=config.settings.secret_max_age_seconds, force_fetch=fresh)
    return parse(raw if isinstance(raw, str) else bytes(raw).decode())  # type: ignore[arg-type]


def parse(raw: str) -> dict[str, Any]:
    """A stored secret as a document; a plain string is its current value."""
    try:
        document = json.loads(raw)
    except ValueError:
        document = None
    if not isinstance(document, dict) or not isinstance(document.get("current"), str):
        return {"current": raw}
    return document


def _as_keyring(document: Mapping[str, Any]) -> Keyring:
    keys = document.get("keys")
    if not isinstance(keys, dict):
        return Keyring(FIRST_KID, {FIRST_KID: document["current"]})
    if document["current"] not in keys:
        raise ValueError("a keyring's current kid must name one of its keys")
    return Keyring(document["current"], dict(keys))


def keyring(name: str = "jwt", *, fresh: bool = False) -> Keyring:
    assert SECRETS[name].shape == KEYRING, f"{name} is not a keyring"
    return _as_keyring(_document(name, fresh=fresh))


def may_refresh(name: str) -> bool:
    """Whether the secret may be read again now, before its maximum age, because something named a key or carried
    a signature the cached value does not know (a rotation another function has already seen). Claims the read."""
    if not arn(name):
        return False
    with _refresh_lock:
        now = time.monotonic()
        if now - _refreshed.get(name, float("-inf")) < REFRESH_SECONDS:
            return False
        _refreshed[name] = now
        return True


def signing_key(name: str = "jwt") -> tuple[str, str]:
    """(kid, key) of the key that signs now."""
    return keyring(name).signing()


def verifying_key(kid: object, name: str = "jwt") -> str | None:
    """The key that checks what was signed under `kid`, while the ring holds it (read again once if the cached
    ring does not know the kid)."""
    key = keyring(name).key(kid)
    if key is None and isinstance(kid, str) and kid and may_refresh(name):
        key = keyring(name, fresh=True).key(kid)
    return key


def _overlap_ends(document: Mapping[str, Any]) -> datetime | None:
    rotated_at = document.get("rotated_at")
    if not isinstance(rotated_at, str):
        return None
    return datetime.fromisoformat(rotated_at) + timedelta(hours=config.settings.webhook_secret_overlap_hours)


def webhook_secrets(name: str, *, fresh: bool = False) -> list[str]:
    """The values a webhook may be signed with now: the current one, and the previous one within the overlap
    (judged by the real clock, as the signatures' own freshness is)."""
    assert SECRETS[name].shape == WEBHOOK, f"{name} is not a webhook secret"
    document = _document(name, fresh=fresh)
    values = [document["current"]]
    ends = _overlap_ends(document)
    if isinstance(document.get("previous"), str) and ends is not None and clock.wall() < ends:
        values.append(document["previous"])
    return values


def current(name: str) -> str:
    """The value we sign with or send now: a webhook secret's current value, or an outside service's token."""
    assert SECRETS[name].shape in (WEBHOOK, TOKEN), f"{name} is a keyring: use signing_key()"
    return str(_document(name)["current"])


def forget() -> None:
    """Drop the values Powertools cached, as their maximum age would."""
    from aws_lambda_powertools.utilities import parameters

    parameters.clear_caches()
    with _refresh_lock:
        _refreshed.clear()


# Rotating -------------------------------------------------------------------------------------

def new_value() -> str:
    return random.token_urlsafe(48)


def next_document(name: str, stored: str, *, value: str | None, now: datetime, force: bool = False) -> dict:
    """What the secret holds after a rotation at `now`. A keyring gets a new current key (kid: the time); a
    webhook secret a new current value, the old one kept as previous; a token the value its service issued.
    Refused while the previous rotation's overlap lasts (unless `force`): rotating again would drop a key or
    value that is still honoured."""
    secret = SECRETS[name]
    document = parse(stored)
    stamp = now.isoformat(timespec="seconds")
    if secret.shape == TOKEN:
        if not value:
            raise RotationRefused(f"{name} is issued by its service: pass the new value it issued")
        return {"current": value}
    if secret.shape == WEBHOOK:
        ends = _overlap_ends(document)
        if not force and "previous" in document and ends is not None and now < ends:
            raise RotationRefused(f"{name}'s previous value is honoured until {ends.isoformat(timespec='seconds')}")
        return {"current": value or new_value(), "previous": document["current"], "rotated_at": stamp}
    ring = _as_keyring(document)
    rotated_at = document.get("rotated_at")
    if not force and not secret.keep_all and isinstance(rotated_at, str) and len(ring.keys) > 1:
        honoured_until = datetime.fromisoformat(rotated_at) + timedelta(seconds=config.settings.token_ttl_seconds)
        if now < honoured_until:
            raise RotationRefused(f"{name}'s previous key verifies tokens until "
                                  f"{honoured_until.isoformat(timespec='seconds')}")
    kid = f"{now:%Y%m%d%H%M%S}"
    if kid in ring.keys:
        raise RotationRefused(f"{name} was rotated this second already")
    kept = dict(ring.keys) if secret.keep_all else {ring.current: ring.keys[ring.current]}
    return {"current": kid, "keys": {**kept, kid: value or new_value()}, "rotated_at": stamp}


def rotate(name: str, *, value: str | None = None, secret_id: str | None = None, force: bool = False) -> dict:
    """Write the secret's next value in Secrets Manager (`secret_id`, by default the ARN the environment
    names) and forget the cached one here. Returns what a person may see: the secret's new kid or rotation
    time, never a value."""
    import boto3

    target = secret_id or arn(name)
    if not target:
        raise RotationRefused(f"{name} has no secret here: pass its ARN, or set {SECRETS[name].arn_variable}")
    client = boto3.client("secretsmanager", region_name=config.settings.region)
    stored = client.get_secret_value(SecretId=target)["SecretString"]
    document = next_document(name, stored, value=value, now=clock.wall(), force=force)
    client.put_secret_value(SecretId=target, SecretString=json.dumps(document, separators=(",", ":")))
    forget()
    shown = {"secret": name}
    if SECRETS[name].shape == KEYRING:
        shown["kid"] = document["current"]
    if "rotated_at" in document:
        shown["rotated_at"] = document["rotated_at"]
    return shown

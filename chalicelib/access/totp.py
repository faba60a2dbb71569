"""Operators' second factor: time-based one-time passwords (RFC 6238, 30-second steps, 6 digits, via `pyotp`).

The secret is stored encrypted with the `totp` keyring's current key (`chalicelib/platform/secret_store.py`; the
sealed value names its key id, and the keyring keeps every old key, so a rotation never locks an operator out):
a random 16-byte nonce, the secret XORed with an
HMAC-SHA256 keystream (HMAC as a pseudo-random function in counter mode) and an HMAC-SHA256 tag over nonce
and ciphertext, each under its own key derived from that key (encrypt-then-MAC). Only the standard
library: the Lambda bundle carries no `cryptography` (`chalicelib/access/auth.py` says why). A code is accepted
for the current step or the one before (a clock a little behind), and never for a step at or before the last
one accepted, so a code seen over a shoulder cannot be used again.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from chalicelib.platform import clock, secret_store

ISSUER = "escrowdesk"
STEP_SECONDS = 30
_NONCE = 16


def _key(master: str, purpose: bytes) -> bytes:
    return hmac.new(master.encode(), b"totp-" + purpose, hashlib.sha256).digest()


def _keystream(master: str, nonce: bytes, length: int) -> bytes:
    blocks = (hmac.new(_key(master, b"stream"), nonce + counter.to_bytes(4, "big"), hashlib.sha256).digest()
              for counter in range((length + 31) // 32))
    return b"".join(blocks)[:length]


def encrypt(secret: str) -> str:
    kid, master = secret_store.signing_key("totp")
    nonce = secrets.token_bytes(_NONCE)
    plain = secret.encode()
    cipher = bytes(a ^ b for a, b in zip(plain, _keystream(master, nonce, len(plain)), strict=True))
    tag = hmac.new(_key(master, b"tag"), nonce + cipher, hashlib.sha256).digest()
    return f"v1.{kid}." + base64.urlsafe_b64encode(nonce + cipher + tag).decode()


def decrypt(sealed: str) -> str | None:
    """The secret, or None if it was not sealed with a key of the keyring (or was tampered with)."""
    version, kid, data = [*sealed.split(".", 2), "", ""][:3]
    master = secret_store.verifying_key(kid, "totp")
    if master is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(data.encode())
    except ValueError:
        return None
    if version != "v1" or len(raw) < _NONCE + 32:
        return None
    nonce, cipher, tag = raw[:_NONCE], raw[_NONCE:-32], raw[-32:]
    if not hmac.compare_digest(tag, hmac.new(_key(master, b"tag"), nonce + cipher, hashlib.sha256).digest()):
        return None
    return bytes(a ^ b for a, b in zip(cipher, _keystream(master, nonce, len(cipher)), strict=True)).decode()


def new_secret() -> str:
    import pyotp

    return pyotp.random_base32()


def provisioning_uri(secret: str, email: str) -> str:
    import pyotp

    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def current_step() -> int:
    # Codes are judged by the real clock: moving the local test clock must not change them.
    return int(clock.wall().timestamp()) // STEP_SECONDS


def matching_step(secret: str, code: str, last_step: int | None) -> int | None:
    """The time step `code` is good for (now or one step ago, later than `last_step`), or None."""
    import pyotp

    code = "".join(code.split())
    if not (code.isascii() and code.isdigit() and len(code) == 6):
        return None
    totp, now = pyotp.TOTP(secret), current_step()
    for step in (now, now - 1):
        if (last_step is None or step > last_step) and hmac.compare_digest(
                totp.at(step * STEP_SECONDS).encode(), code.encode()):
            return step
    return None

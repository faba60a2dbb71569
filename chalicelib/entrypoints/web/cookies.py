"""The page flow's state between opening a link and submitting its form: one signed cookie holding the
link's token, the form's CSRF token and the reader's language, scoped to the pages and short-lived. It names the
key that signed it (`<payload>.<kid>.<mac>`), so a rotation of the key does not end a form half filled in."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import urllib.parse
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie

from chalicelib.platform import secret_store
from chalicelib.platform.config import settings

NAME = "escrowdesk_link"
LIFETIME_SECONDS = 3600  # long enough to fill a form in, short enough not to outlive its purpose


@dataclass(frozen=True)
class LinkState:
    kind: str  # "invitation" | "reset" | "confirmation" | "checkout"
    token: str
    csrf: str
    locale: str


def base_url() -> str:
    return settings.app_url.rstrip("/")


def pages_path() -> str:
    """The cookie's path: the pages below APP_URL (which may carry an API Gateway stage, e.g. /v1)."""
    return urllib.parse.urlsplit(base_url()).path + "/web"


def _mac(key: str, payload: str) -> str:
    return hmac.new(key.encode(), b"web-link:" + payload.encode(), hashlib.sha256).hexdigest()


def seal(kind: str, token: str, locale: str, *, name: str = NAME, path: str = "", same_site: str = "Lax",
         ) -> tuple[LinkState, str]:
    """A new state for `kind`'s link and the Set-Cookie header that keeps it (by default the pages' cookie)."""
    state = LinkState(kind, token, secrets.token_urlsafe(24), locale)
    payload = base64.urlsafe_b64encode(json.dumps(
        {"k": kind, "t": token, "c": state.csrf, "l": locale, "e": int(time.time()) + LIFETIME_SECONDS},
        separators=(",", ":")).encode()).decode()
    kid, key = secret_store.signing_key()
    return state, set_cookie(f"{payload}.{kid}.{_mac(key, payload)}", LIFETIME_SECONDS, name=name, path=path,
                             same_site=same_site)


def clear() -> str:
    return set_cookie("", 0)


def set_cookie(value: str, max_age: int, *, name: str = NAME, path: str = "", same_site: str = "Lax") -> str:
    """A Set-Cookie header: HttpOnly always, Secure whenever the service is reached over HTTPS (deployed stages)."""
    secure = "; Secure" if base_url().startswith("https://") else ""
    return f"{name}={value}; Max-Age={max_age}; Path={path or pages_path()}; HttpOnly; SameSite={same_site}{secure}"


def cookie_value(cookie_header: str | None, name: str) -> str | None:
    if not cookie_header or len(cookie_header) > 8192:
        return None
    try:
        morsel = SimpleCookie(cookie_header).get(name)
    except CookieError:
        return None
    return morsel.value if morsel is not None else None


def read(cookie_header: str | None, kind: str, name: str = NAME) -> LinkState | None:
    """The state of a `kind` link from the request's cookies, if it is ours, intact and not too old."""
    value = cookie_value(cookie_header, name)
    if value is None or value.count(".") != 2:
        return None
    payload, kid, mac = value.split(".")
    key = secret_store.verifying_key(kid)
    # as bytes: a quoted cookie may unescape to non-ASCII (`"x.\351"`), which compare_digest refuses as str
    if key is None or not payload.isascii() or not hmac.compare_digest(mac.encode(), _mac(key, payload).encode()):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(payload.encode()))
    except ValueError:
        return None
    if data.get("k") != kind or int(data.get("e", 0)) < time.time():
        return None
    return LinkState(kind, str(data["t"]), str(data["c"]), str(data["l"]))


def csrf_matches(state: LinkState, submitted: str | None) -> bool:
    return bool(submitted) and hmac.compare_digest(state.csrf.encode(), (submitted or "").encode())

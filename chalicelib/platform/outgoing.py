"""Outgoing HTTP calls that carry credentials (Vchasno's token, the registry's bearer, the acquirer's X-Token,
the bank's signature): `urlopen` that never follows a redirect, and refuses plain `http:` on a deployed stage.

urllib's default opener follows 30x answers and copies every header but a few to the new address, so a
compromised or misconfigured upstream could send our token to any host. Here a redirect is an answer like a
failure (`urllib.error.HTTPError` with its 30x code), and the adapters treat it as the service not answering.
"""
from __future__ import annotations

import urllib.error
import urllib.request
from http.client import HTTPResponse
from typing import Any
from urllib.parse import urlsplit

from chalicelib.platform.config import settings
from chalicelib.platform.errors import UpstreamUnavailable


class InsecureUpstream(UpstreamUnavailable):
    """A deployed stage was configured to send credentials over plain HTTP: nothing is sent."""

    default_code = "upstream_insecure"


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req: urllib.request.Request, fp: Any, code: int, msg: str, headers: Any,
                         newurl: str) -> None:
        return None  # urllib then raises HTTPError with the 30x code: the redirect is never followed


_opener = urllib.request.build_opener(_RefuseRedirects())


def require_secure(url: str) -> None:
    """Only the local stage may speak plain HTTP (its fakes and stand-ins on 127.0.0.1)."""
    if urlsplit(url).scheme != "https" and not settings.is_local:
        raise InsecureUpstream(message=f"Outgoing calls with credentials need https on stage {settings.stage!r}")


def urlopen(request: urllib.request.Request, timeout: float) -> HTTPResponse:
    require_secure(request.full_url)
    response: HTTPResponse = _opener.open(request, timeout=timeout)
    return response

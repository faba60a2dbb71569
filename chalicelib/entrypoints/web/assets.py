"""The pages' one stylesheet: every `static/*.css` part joined in name order and served as
`/static/site.<hash>.css`. The hash is of the content, so the answer is cached for a year and a changed stylesheet
has a new address. No page has inline style or script: the pages' Content-Security-Policy allows styles and images
from this origin only (and the console's QR code as a `data:` image), scripts from nowhere."""
from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from chalice import Blueprint, Response

from chalicelib.entrypoints.api.http import OPERATIONS, Operation, error_response
from chalicelib.entrypoints.web import cookies
from chalicelib.platform.errors import NotAcceptable, NotFound

STATIC_DIR = Path(__file__).parent / "static"
CSS = "text/css"
CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; "
       "frame-ancestors 'none'")
YEAR = 365 * 24 * 3600

bp = Blueprint(__name__)


@functools.cache
def stylesheet() -> tuple[str, str]:
    """The joined stylesheet and the first 12 hex digits of its SHA-256."""
    text = "\n".join(part.read_text(encoding="utf-8").strip() for part in sorted(STATIC_DIR.glob("*.css"))) + "\n"
    return text, hashlib.sha256(text.encode()).hexdigest()[:12]


def stylesheet_url() -> str:
    return f"{cookies.base_url()}/static/site.{stylesheet()[1]}.css"


OPERATIONS.append(Operation("GET", "/static/{name}", "The pages' stylesheet, named by its content's hash and cached "
                            "for a year", "assets", "none", 200, None, None, (), CSS, (404,), "stylesheet_file"))


@bp.route("/static/{name}", methods=["GET"], content_types=["*/*"])
def stylesheet_file(name: str) -> Response:
    text, digest = stylesheet()
    accept = bp.current_request.headers.get("accept")
    if accept and not {kind.split(";")[0].strip() for kind in accept.split(",")} & {CSS, "text/*", "*/*"}:
        return error_response(NotAcceptable("not_acceptable", f"This route answers {CSS}: send Accept: {CSS} "
                                                              "(or */*)"))
    if name != f"site.{digest}.css":
        return error_response(NotFound("not_found", "No such file: the stylesheet's name carries its hash"))
    return Response(body=text, status_code=200,
                    headers={"Content-Type": f"{CSS}; charset=utf-8", "X-Content-Type-Options": "nosniff",
                             "Cache-Control": f"public, max-age={YEAR}, immutable"})

"""The one HTTP adapter every route goes through.

`endpoint()` registers a Chalice route together with its OpenAPI description, and at request
time authenticates, parses and validates the body with pydantic, applies the Idempotency-Key
rules to POSTs, and maps domain errors to the API's error shape in this one place.

Routes name their request and response models (`schema_names.SignupIn`) rather than import them:
pydantic and the models of `schemas/` cost more import time than the rest of the app, so they load
with the first request that has a body to validate (or `GET /openapi.json`), not with every cold start.
"""
from __future__ import annotations

import functools
import hashlib
import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from chalice import Blueprint, Response
from chalice.app import Request
from pynamodb.exceptions import PynamoDBException

from chalicelib.access import auth, sessions
from chalicelib.platform.config import settings
from chalicelib.platform.errors import (
    BadRequest,
    Conflict,
    DomainError,
    Forbidden,
    MethodNotAllowed,
    NotAcceptable,
    TooManyRequests,
    Unauthorized,
    Unavailable,
    Unprocessable,
)
from chalicelib.platform.observability import logger
from chalicelib.services import idempotency
from chalicelib.services.pagination import list_scope, parse_limit
from chalicelib.store.uow import THROTTLING_CODES

if TYPE_CHECKING:
    from pydantic import BaseModel, ValidationError

# bank, acquirer: their HMAC signature (X-Bank-Signature, X-Acquirer-Signature); site: a site's usage key
# (X-Site-Key), no bearer
Auth = Literal["user", "operator", "bank", "acquirer", "site", "none"]
JSON_HEADERS: dict[str, str | list[str]] = {"Content-Type": "application/json"}
SCHEMAS_PACKAGE = "chalicelib.entrypoints.api.schemas"
SCHEMA_AREAS = ("common", "accounts", "bank", "uploads", "orders", "offers", "projects", "tasks", "sites", "pages",
                "dev", "catalog", "billing_pages")


@dataclass(frozen=True)
class Schema:
    """A model of `schemas/<area>.py` by name; `.model` imports it (and pydantic) when first needed."""

    name: str

    @property
    def model(self) -> type[BaseModel]:
        for area in SCHEMA_AREAS:
            module = importlib.import_module(f"{SCHEMAS_PACKAGE}.{area}")
            model: type[BaseModel] | None = getattr(module, self.name, None)
            if model is not None:
                return model
        raise LookupError(f"no request or response model named {self.name} in {SCHEMAS_PACKAGE}")


class _SchemaNames:
    """`schema_names.SignupIn` is `Schema("SignupIn")`: what a route declares without importing pydantic."""

    def __getattr__(self, name: str) -> Schema:
        if name.startswith("__"):
            raise AttributeError(name)
        return Schema(name)


schema_names = _SchemaNames()
# No request of ours nests deeper than a few levels; 32 leaves room and keeps every walk cheap.
MAX_JSON_DEPTH = 32


@dataclass(frozen=True)
class Operation:
    """What OpenAPI says about one route."""

    method: str
    path: str
    summary: str
    tag: str
    auth: Auth
    status: int
    request: Schema | None
    response: Schema | None
    query: tuple[str, ...]
    produces: str
    errors: tuple[int, ...]
    name: str
    guard: Callable[[], None] | None = None
    moves_money: bool = False
    also: tuple[int, ...] = ()  # other success statuses (e.g. 200 when a POST finds what it would create)
    # Its answer carries a bearer token ("token"). Idempotency records never keep one, and a replay never
    # starts a session: it answers without a token (log in for one). Log-in keeps no record at all: logging in
    # again is its replay.
    issues_token: bool = False
    keeps_record: bool = True
    # Its answer carries a secret shown once ("key"), which the record does not keep: a replay is refused.
    issues_secret: bool = False
    # A server-rendered page (chalicelib/entrypoints/web): forms in, HTML out (or a download it offers), its
    # refusals pages too.
    page: bool = False


OPERATIONS: list[Operation] = []


@dataclass
class Call:
    """What a handler gets: who calls, the validated body, path and query parameters."""

    request: Request
    principal: auth.Principal | None
    body: Any
    params: dict[str, str]
    query: dict[str, str] = field(default_factory=dict)

    @property
    def user(self) -> auth.Principal:
        assert self.principal is not None
        return self.principal

    @property
    def limit(self) -> int:
        return parse_limit(self.query.get("limit"))

    @property
    def cursor(self) -> str | None:
        return self.query.get("cursor") or None

    def every(self) -> dict[str, list[str]]:
        """Every query parameter with all the values it was given (`?tag=a&tag=b`)."""
        params = self.request.query_params
        if params is None:
            return {}
        getlist = getattr(params, "getlist", None)
        return {name: list(getlist(name)) if getlist else [params[name]] for name in params}

    @property
    def source_ip(self) -> str:
        """The caller's address as API Gateway (or the local server) saw it."""
        identity = (self.request.context or {}).get("identity") or {}
        return str(identity.get("sourceIp") or "unknown")

    @property
    def party(self) -> str:
        """`?role=client|contractor`: which side of their deals a user lists (client by default)."""
        role = self.query.get("role", "client")
        if role not in ("client", "contractor"):
            raise Unprocessable("validation_error", "role must be client or contractor", field="role")
        return role


def endpoint(bp: Blueprint, method: str, path: str, *, summary: str, tag: str, status: int = 200,
             request: Schema | None = None, response: Schema | None = None,
             auth_: Auth = "user", query: tuple[str, ...] = (), produces: str = "application/json",
             errors: tuple[int, ...] = (), guard: Callable[[], None] | None = None,
             moves_money: bool = False, also: tuple[int, ...] = (), issues_token: bool = False,
             keeps_record: bool = True, issues_secret: bool = False) -> Callable:
    def register(handler: Callable[[Call], Any]) -> Callable:
        operation = Operation(method, path, summary, tag, auth_, status, request, response, query, produces,
                              _errors_for(method, auth_, request, path,
                                          errors + ((406,) if produces != "application/json" else ())
                                          + ((400,) if "cursor" in query else ())),  # invalid_cursor
                              handler.__name__, guard,
                              moves_money, also, issues_token, keeps_record, issues_secret)
        OPERATIONS.append(operation)

        @bp.route(path, methods=[method], content_types=["*/*"])
        @functools.wraps(handler)
        def route(**params: str) -> Response:
            return dispatch(bp.current_request, operation, handler, params)

        return handler

    return register


def _errors_for(method: str, auth_: Auth, request: Schema | None, path: str,
                extra: tuple[int, ...]) -> tuple[int, ...]:
    """Every error status a route can answer, for OpenAPI."""
    codes = set(extra) | {503}  # DynamoDB throttled past the SDK's retries: Retry-After, nothing written
    if auth_ in ("user", "operator", "bank", "acquirer", "site"):
        codes.add(401)
    if auth_ in ("user", "operator"):
        codes.add(403)  # an operator-only route, or a move that is not the caller's in the deal
    if request is not None:
        codes.update({400, 422})
    if "{" in path or (request is not None and auth_ == "user"):
        codes.add(404)  # an unknown id in the path, or one named in the body
    if method == "POST" and auth_ not in ("bank", "acquirer"):
        codes.update({409, 422})  # the Idempotency-Key reused for another request, or malformed
    return tuple(sorted(codes))


def dispatch(request: Request, operation: Operation, handler: Callable[[Call], Any], params: dict) -> Response:
    try:
        if operation.guard is not None:
            operation.guard()
        principal = _authenticate(request, operation.auth, params)
        body = parse_body(operation.request, raw_body(request)) if operation.request else None
        call = Call(request, principal, body, params, dict(request.query_params or {}))
        with list_scope(_list_identity(call, operation)):
            if request.method == "POST":
                return _with_idempotency(call, operation, handler)
            response = _to_response(operation.status, handler(call))
        if operation.produces != "application/json" and response.status_code < 300:
            _require_accept(request, str(response.headers.get("Content-Type", operation.produces)))
        return response
    except DomainError as error:
        return error_response(error)
    except PynamoDBException as error:
        if error.cause_response_code in THROTTLING_CODES:
            logger.warning("store throttled", extra={"route": operation.name, "code": error.cause_response_code})
            return error_response(Unavailable())
        logger.exception("store error", extra={"route": operation.name})
        return internal_error()
    except Exception:
        logger.exception("unhandled error", extra={"route": operation.name})
        return internal_error()


def _require_accept(request: Request, produces: str) -> None:
    """A file route answers the file to a caller that accepts it (`*/*` included); refusals stay JSON.
    Without such an Accept header chalice would answer its own 400: say so in our shape instead."""
    accept = (request.headers.get("accept") or "").lower()
    kinds = {part.split(";")[0].strip() for part in accept.split(",")}
    if not kinds & {produces, produces.split("/")[0] + "/*", "*/*"}:
        raise NotAcceptable("not_acceptable", f"This route answers {produces}: send Accept: {produces} (or */*)")


def _list_identity(call: Call, operation: Operation) -> str:
    """Who lists what: a cursor is good only for the same caller, route, path parameters and filters."""
    caller = call.principal.user_id if call.principal else operation.auth
    filters = sorted((k, v) for k, v in call.every().items() if k not in ("limit", "cursor"))
    return json.dumps([caller, operation.method, operation.path, sorted(call.params.items()), filters])


def _authenticate(request: Request, mode: Auth, params: dict | None = None) -> auth.Principal | None:
    if mode == "bank":  # the bank's HMAC over the raw body, before anything reads the body
        auth.verify_bank_signature(request.headers.get("x-bank-signature"), raw_body(request))
        return None
    if mode == "acquirer":
        auth.verify_acquirer_signature(request.headers.get("x-acquirer-signature"), raw_body(request))
        return None
    if mode == "site":  # the site's key, before anything else (an Idempotency-Key's replay included)
        from chalicelib.services import sites

        if not request.headers.get("x-site-key"):
            raise Unauthorized("invalid_site_key", "Send the site's usage key in X-Site-Key")
        if sites.site_for_key(request.headers.get("x-site-key")) != (params or {}).get("site_id"):
            raise Unauthorized("invalid_site_key", "X-Site-Key is missing or is not this site's key")
        return None
    if mode == "none":
        return None
    principal = sessions.authenticate(request.headers.get("authorization"))
    if mode == "operator":
        principal.require_operator()
        if settings.operator_totp_required and not getattr(principal.user, "totp_enrolled_at", None):
            raise Forbidden("totp_enrolment_required", "Operators must enrol a TOTP authenticator first: log in "
                                                       "to the console (/console/login) once")
    return principal


def raw_body(request: Request) -> bytes:
    body = request.raw_body
    return body.encode() if isinstance(body, str) else body


def parse_body(schema: Schema, raw: bytes) -> Any:
    """The body validated by the schema's model; malformed JSON is a 400, an invalid field a 422."""
    from pydantic import ValidationError

    try:
        data = json.loads(raw or b"null")
    except RecursionError:
        raise BadRequest("too_deeply_nested", f"JSON may nest at most {MAX_JSON_DEPTH} levels") from None
    except (ValueError, UnicodeDecodeError):  # ValueError includes an integer of more than 4300 digits
        raise BadRequest("malformed_json", "The request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise BadRequest("malformed_json", "The request body must be a JSON object")
    if _depth(data) > MAX_JSON_DEPTH:
        raise BadRequest("too_deeply_nested", f"JSON may nest at most {MAX_JSON_DEPTH} levels")
    try:
        return schema.model.model_validate(data)
    except ValidationError as error:
        raise _unprocessable(error) from None


def _depth(data: Any) -> int:
    """How deep containers nest, counted without recursion (the parser's own limit is Python's stack)."""
    deepest, stack = 0, [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            deepest = max(deepest, depth)
            if depth <= MAX_JSON_DEPTH:
                stack.extend((child, depth + 1) for child in (value.values() if isinstance(value, dict) else value))
    return deepest


def _unprocessable(error: ValidationError) -> Unprocessable:
    first = error.errors()[0]
    location = ".".join(str(part) for part in first["loc"]) or "body"
    return Unprocessable("validation_error", f"{location}: {first['msg']}", field=location)


def _with_idempotency(call: Call, operation: Operation, handler: Callable[[Call], Any]) -> Response:
    key = call.request.headers.get("idempotency-key")
    if key is None or not operation.keeps_record:
        return _to_response(operation.status, handler(call))
    claim = idempotency.make_claim(_scope(call, operation), key, call.request.method, _identity(call),
                                   raw_body(call.request))

    def replay(previous: tuple[int, dict] | None) -> Response:
        return _replay(previous, call, operation)

    if not operation.moves_money:
        previous = idempotency.previous_response(claim)
        if previous is not None:
            return replay(previous)
    token = idempotency.activate(claim)
    try:
        status, body = _normalize(operation.status, handler(call))
        if not claim.stored:
            idempotency.store_after(claim, status, body)
        return Response(body=body, status_code=status, headers=JSON_HEADERS)
    except idempotency.ReplayRace:
        return replay(idempotency.previous_response(claim))
    except DomainError:
        # Money-moving routes skip the read up front: their record is a conditional put inside the
        # movement's transaction. A retry whose state already moved on is recognised here instead.
        previous = idempotency.previous_response(claim) if operation.moves_money else None
        if previous is None:
            raise
        return replay(previous)
    finally:
        idempotency.deactivate(token)


def _scope(call: Call, operation: Operation) -> str:
    """Whose keys these are: a signed-in caller's own; the bank's; and on anonymous routes the request
    itself (route and body), so one visitor's key can never meet another visitor's request."""
    if call.principal is not None:
        return call.principal.user_id
    if operation.auth == "site":  # each site's keys are its own
        return f"site:{call.params.get('site_id', '')}"
    if operation.auth != "none":
        return operation.auth
    request = hashlib.sha256(_identity(call).encode() + b"\n" + raw_body(call.request)).hexdigest()
    return f"anonymous:{request}"


def _identity(call: Call) -> str:
    """The route and its parameters: the same key on another resource is another request."""
    params = "&".join(f"{k}={v}" for k, v in sorted(call.params.items()))
    return f"{call.request.path}?{params}"


def _replay(previous: tuple[int, dict] | None, call: Call, operation: Operation) -> Response:
    assert previous is not None
    status, body = previous
    if operation.issues_secret and status < 300:  # the record kept no secret, and none is made again
        raise Conflict("key_already_issued", "This key was already issued and is shown only once; issue another "
                                             "(the previous one then stops working)")
    # A replay never starts a session (the record kept no token): it answers without one.
    headers: dict[str, str | list[str]] = {**JSON_HEADERS, "Idempotent-Replayed": "true"}
    return Response(body=body, status_code=status, headers=headers)


def _normalize(default_status: int, result: Any) -> tuple[int, Any]:
    if isinstance(result, tuple):
        return result
    return default_status, result


def _to_response(default_status: int, result: Any) -> Response:
    if isinstance(result, Response):
        return result
    status, body = _normalize(default_status, result)
    return Response(body=body, status_code=status, headers=JSON_HEADERS)


def error_response(error: DomainError) -> Response:
    headers = dict(JSON_HEADERS)
    if isinstance(error, TooManyRequests):
        headers["Retry-After"] = str(error.retry_after)
    elif isinstance(error, MethodNotAllowed):
        headers["Allow"] = error.allow
    if error.status == 503:
        headers["Retry-After"] = "1"  # nothing was written: the same request may simply be sent again
    elif error.status >= 500:
        logger.error("server error", extra={"code": error.code})
    return Response(body=error.to_json(), status_code=error.status, headers=headers)


ROUTE_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def refuse_other_methods(app: Any) -> None:
    """Every path answers the methods it has no route for with a 405 in the API's shape (and `Allow`),
    from our own code: API Gateway would answer them with its 403 "Missing Authentication Token" (or,
    to a caller with a bearer token, a message that echoes the token back), chalice with its own body."""
    for path, routes in list(app.routes.items()):
        missing = [method for method in ROUTE_METHODS if method not in routes]
        if not missing:
            continue
        allowed = ", ".join(sorted(routes))

        def method_not_allowed(allowed: str = allowed, **_params: str) -> Response:
            method = app.current_request.method if app.current_request else "This method"
            return error_response(MethodNotAllowed(f"{method} is not served here; this path answers {allowed}",
                                                   allow=allowed))

        app.route(path, methods=missing, content_types=["*/*"], name="method_not_allowed")(method_not_allowed)


# A JSON answer with any of these fields (or a field ending in one: "reset_link", "download_url") hands the
# caller something that works by itself: no cache (browser, proxy) may keep it.
SECRET_FIELDS = ("token", "key", "link", "secret", "url", "password")
HSTS = "max-age=63072000; includeSubDomains"  # two years, as hstspreload.org asks


def secure_headers(response: Response) -> Response:
    """Every answer of a deployed stage tells the browser to speak HTTPS only (the local stage serves plain
    HTTP on 127.0.0.1); every JSON answer that carries a token, key, link or secret is never cached."""
    extra: dict[str, str | list[str]] = {}
    if not settings.is_local:
        extra["Strict-Transport-Security"] = HSTS
    if _carries_secret(response.body):
        extra["Cache-Control"] = "no-store"
    if extra:  # a new dict: many answers share one headers dict (JSON_HEADERS)
        response.headers = {**response.headers, **extra}
    return response


def _carries_secret(body: Any) -> bool:
    stack = [body]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            if any(isinstance(name, str) and name.lower().endswith(SECRET_FIELDS) and item not in (None, "")
                   for name, item in value.items()):
                return True
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return False


def internal_error() -> Response:
    return Response(body={"error": {"code": "internal_error", "message": "Something went wrong on our side"}},
                    status_code=500, headers=JSON_HEADERS)

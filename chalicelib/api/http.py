"""The one HTTP adapter every route goes through.

`endpoint()` registers a Chalice route together with its OpenAPI description, and at request
time authenticates, parses and validates the body with pydantic, applies the Idempotency-Key
rules to POSTs, and maps domain errors to the API's error shape in this one place.

Routes name their request and response models (`schema_names.SignupIn`) rather than import them:
pydantic and the models of `schemas.py` cost more import time than the rest of the app, so they load
with the first request that has a body to validate (or `GET /openapi.json`), not with every cold start.
"""
from __future__ import annotations

import functools
import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from chalice import Blueprint, Response
from chalice.app import Request
from pynamodb.exceptions import PynamoDBException

from chalicelib import auth, idempotency
from chalicelib.errors import BadRequest, DomainError, Unavailable, Unprocessable
from chalicelib.observability import logger
from chalicelib.pagination import parse_limit
from chalicelib.store.uow import THROTTLING_CODES

if TYPE_CHECKING:
    from pydantic import BaseModel, ValidationError

Auth = Literal["user", "operator", "bank", "none"]
JSON_HEADERS: dict[str, str | list[str]] = {"Content-Type": "application/json"}
SCHEMAS_MODULE = "chalicelib.api.schemas"


@dataclass(frozen=True)
class Schema:
    """A model of `schemas.py` by name; `.model` imports it (and pydantic) when first needed."""

    name: str

    @property
    def model(self) -> type[BaseModel]:
        model: type[BaseModel] = getattr(importlib.import_module(SCHEMAS_MODULE), self.name)
        return model


class _SchemaNames:
    """`schema_names.SignupIn` is `Schema("SignupIn")`: what a route declares without importing pydantic."""

    def __getattr__(self, name: str) -> Schema:
        if name.startswith("__"):
            raise AttributeError(name)
        return Schema(name)


schema_names = _SchemaNames()


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
             moves_money: bool = False, also: tuple[int, ...] = ()) -> Callable:
    def register(handler: Callable[[Call], Any]) -> Callable:
        operation = Operation(method, path, summary, tag, auth_, status, request, response, query, produces,
                              _errors_for(method, auth_, request, path, errors), handler.__name__, guard,
                              moves_money, also)
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
    if auth_ in ("user", "operator", "bank"):
        codes.add(401)
    if auth_ in ("user", "operator"):
        codes.add(403)  # an operator-only route, or a move that is not the caller's in the deal
    if request is not None:
        codes.update({400, 422})
    if "{" in path or (request is not None and auth_ == "user"):
        codes.add(404)  # an unknown id in the path, or one named in the body
    if method == "POST" and auth_ != "bank":
        codes.update({409, 422})  # the Idempotency-Key reused for another request, or malformed
    return tuple(sorted(codes))


def dispatch(request: Request, operation: Operation, handler: Callable[[Call], Any], params: dict) -> Response:
    try:
        if operation.guard is not None:
            operation.guard()
        principal = _authenticate(request, operation.auth)
        body = parse_body(operation.request, raw_body(request)) if operation.request else None
        call = Call(request, principal, body, params, dict(request.query_params or {}))
        if request.method == "POST":
            return _with_idempotency(call, operation, handler)
        return _to_response(operation.status, handler(call))
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


def _authenticate(request: Request, mode: Auth) -> auth.Principal | None:
    if mode == "bank":  # the bank's HMAC over the raw body, before anything reads the body
        auth.verify_bank_signature(request.headers.get("x-bank-signature"), raw_body(request))
        return None
    if mode == "none":
        return None
    principal = auth.principal_from_header(request.headers.get("authorization"))
    if mode == "operator":
        principal.require_operator()
    return principal


def raw_body(request: Request) -> bytes:
    body = request.raw_body
    return body.encode() if isinstance(body, str) else body


def parse_body(schema: Schema, raw: bytes) -> Any:
    """The body validated by the schema's model; malformed JSON is a 400, an invalid field a 422."""
    from pydantic import ValidationError

    try:
        data = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("malformed_json", "The request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise BadRequest("malformed_json", "The request body must be a JSON object")
    try:
        return schema.model.model_validate(data)
    except ValidationError as error:
        raise _unprocessable(error) from None


def _unprocessable(error: ValidationError) -> Unprocessable:
    first = error.errors()[0]
    location = ".".join(str(part) for part in first["loc"]) or "body"
    return Unprocessable("validation_error", f"{location}: {first['msg']}", field=location)


def _with_idempotency(call: Call, operation: Operation, handler: Callable[[Call], Any]) -> Response:
    key = call.request.headers.get("idempotency-key")
    if key is None:
        return _to_response(operation.status, handler(call))
    scope = call.principal.user_id if call.principal else operation.auth
    claim = idempotency.make_claim(scope, key, call.request.method, _identity(call), raw_body(call.request))
    if not operation.moves_money:
        previous = idempotency.previous_response(claim)
        if previous is not None:
            return _replay(previous)
    token = idempotency.activate(claim)
    try:
        status, body = _normalize(operation.status, handler(call))
        if not claim.stored:
            idempotency.store_after(claim, status, body)
        return Response(body=body, status_code=status, headers=JSON_HEADERS)
    except idempotency.ReplayRace:
        return _replay(idempotency.previous_response(claim))
    except DomainError:
        # Money-moving routes skip the read up front: their record is a conditional put inside the
        # movement's transaction. A retry whose state already moved on is recognised here instead.
        previous = idempotency.previous_response(claim) if operation.moves_money else None
        if previous is None:
            raise
        return _replay(previous)
    finally:
        idempotency.deactivate(token)


def _identity(call: Call) -> str:
    """The route and its parameters: the same key on another resource is another request."""
    params = "&".join(f"{k}={v}" for k, v in sorted(call.params.items()))
    return f"{call.request.path}?{params}"


def _replay(previous: tuple[int, dict] | None) -> Response:
    assert previous is not None
    status, body = previous
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
    if error.status == 503:
        headers["Retry-After"] = "1"  # nothing was written: the same request may simply be sent again
    elif error.status >= 500:
        logger.error("server error", extra={"code": error.code})
    return Response(body=error.to_json(), status_code=error.status, headers=headers)


def internal_error() -> Response:
    return Response(body={"error": {"code": "internal_error", "message": "Something went wrong on our side"}},
                    status_code=500, headers=JSON_HEADERS)

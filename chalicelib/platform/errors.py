"""Typed domain errors. They are mapped to the API's error shape in exactly one place
(`chalicelib.entrypoints.api.http`), so services raise meaning, not HTTP."""
from __future__ import annotations


class DomainError(Exception):
    status = 400
    default_code = "bad_request"

    def __init__(self, code: str | None = None, message: str = "", *, field: str | None = None) -> None:
        self.code = code or self.default_code
        self.message = message or self.code.replace("_", " ")
        self.field = field
        super().__init__(self.message)

    def to_json(self) -> dict:
        body: dict = {"code": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        return {"error": body}


class BadRequest(DomainError):
    status = 400
    default_code = "bad_request"


class Unauthorized(DomainError):
    status = 401
    default_code = "unauthorized"


class Forbidden(DomainError):
    status = 403
    default_code = "forbidden"


class NotFound(DomainError):
    status = 404
    default_code = "not_found"


class MethodNotAllowed(DomainError):
    status = 405
    default_code = "method_not_allowed"

    def __init__(self, message: str, *, allow: str) -> None:
        super().__init__(message=message)
        self.allow = allow


class NotAcceptable(DomainError):
    status = 406
    default_code = "not_acceptable"


class Conflict(DomainError):
    status = 409
    default_code = "conflict"


class InsufficientFunds(Conflict):
    default_code = "insufficient_funds"


class PaymentRequired(DomainError):
    """Too little available balance for an action a card top-up can complete: what is missing and, when cards
    are taken in its currency, the top-up whose payment completes the action (`topup`: {id, payment_url,
    expires_at}, or None)."""

    status = 402
    default_code = "insufficient_funds"

    def __init__(self, message: str, *, missing: dict, topup: dict | None) -> None:
        super().__init__(self.default_code, message)
        self.missing, self.topup = missing, topup

    def to_json(self) -> dict:
        body = super().to_json()
        body["error"].update(missing=self.missing, topup=self.topup)
        return body


class Unprocessable(DomainError):
    status = 422
    default_code = "validation_error"


class TooManyRequests(DomainError):
    """An abuse limit: the same request may succeed after `retry_after` seconds."""
    status = 429
    default_code = "too_many_requests"

    def __init__(self, code: str, message: str, *, retry_after: int) -> None:
        super().__init__(code, message)
        self.retry_after = max(1, retry_after)


class Unavailable(DomainError):
    """DynamoDB kept throttling after the SDK's own retries: nothing was written; retry later."""
    status = 503
    default_code = "unavailable"

    def __init__(self) -> None:
        super().__init__(message="The service is busy; retry the request (with the same Idempotency-Key) in a moment")


class Retryable(Exception):
    """A transaction lost a race with another writer; the whole use case may be run again."""


class UpstreamUnavailable(DomainError):
    """An outside service (the registry, Vchasno, the acquirer) did not answer: nothing was changed; retry later."""

    status = 503
    default_code = "upstream_unavailable"


class UpstreamRefused(DomainError):
    """An outside service answered and refused the request (an HTTP 4xx: a bad token, an expired card, the
    bank said no): asking again the same way gets the same answer, so it is an outcome, not a pause."""

    status = 502
    default_code = "upstream_refused"

"""The one error vocabulary of the domain, and its mapping to HTTP answers.

Services raise these; the REST exception handler below and the socket consumer each map
them in one place (status code here, ``error`` event code there).
"""

from rest_framework import status
from rest_framework.exceptions import Throttled
from rest_framework.response import Response
from rest_framework.views import exception_handler


class DomainError(Exception):
    http_status: int = status.HTTP_400_BAD_REQUEST
    code = "invalid"

    def __init__(
        self, message: str, *, code: str | None = None, field: str | None = None, retry_after: int | None = None
    ):
        super().__init__(message)
        self.message = message
        self.field = field
        self.retry_after = retry_after
        if code:
            self.code = code

    def as_payload(self) -> dict:
        payload: dict = {"code": self.code, "detail": self.message}
        if self.field:
            payload[self.field] = [self.message]
        return payload


class Invalid(DomainError):
    http_status = status.HTTP_400_BAD_REQUEST
    code = "invalid"


class NotAllowed(DomainError):
    http_status = status.HTTP_403_FORBIDDEN
    code = "forbidden"


class ProviderSuspended(NotAllowed):
    """A suspended provider's write or call; their reads go on (``accounts.suspension``)."""

    code = "provider_suspended"


class NotFound(DomainError):
    """Also what a non-member gets, so that existence is never revealed."""

    http_status = status.HTTP_404_NOT_FOUND
    code = "not_found"


class Conflict(DomainError):
    http_status = status.HTTP_409_CONFLICT
    code = "conflict"


class Unavailable(DomainError):
    http_status = status.HTTP_503_SERVICE_UNAVAILABLE
    code = "unavailable"


class BodyTooLarge(DomainError):
    """A request body over its path's limit (config.body_limits), refused before it is read."""

    http_status = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    code = "body_too_large"


class RateLimited(DomainError):
    """Too many requests of one kind from one user; ``retry_after`` seconds from now one is admitted again."""

    http_status = status.HTTP_429_TOO_MANY_REQUESTS
    code = "rate_limited"


def api_exception_handler(exc, context):
    if isinstance(exc, DomainError):
        response = Response(exc.as_payload(), status=exc.http_status)
        if exc.retry_after:
            response["Retry-After"] = str(exc.retry_after)
        return response
    response = exception_handler(exc, context)
    if isinstance(exc, Throttled) and response is not None:
        # One vocabulary with RateLimited and the socket's rate_limited error.
        response.data = {"code": RateLimited.code, "detail": str(exc.detail)}
    return response

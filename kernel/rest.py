"""The API's one exception handler: every refusal, the domain's and DRF's own, answers with the wire error
shape of ``kernel.errors`` (``{"code", "detail", "fields"?, "retryAfter"?}``)."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler

from kernel.errors import DomainError, Invalid, RateLimited, wire_error

# DRF's default codes that the house names otherwise: one vocabulary with the socket's errors.
_CODES = {exceptions.Throttled.default_code: RateLimited.code, exceptions.ValidationError.default_code: Invalid.code}
_VALIDATION_DETAIL = "The input is invalid: see fields."


def api_exception_handler(exc, context):
    if isinstance(exc, DomainError):
        response = Response(exc.as_payload(), status=exc.http_status)
        if exc.retry_after:
            response["Retry-After"] = str(exc.retry_after)
        return response
    # As DRF's handler does, so that their answers get the shape too (get_object_or_404 raises Django's).
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(*exc.args)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)
    response = exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.APIException):
        response.data = _framework_error(exc)
    return response


def _framework_error(exc: exceptions.APIException) -> dict:
    retry_after = getattr(exc, "wait", None)
    retry_after = int(retry_after) if retry_after is not None else None
    detail: object = exc.detail
    if isinstance(exc, exceptions.ValidationError) and isinstance(detail, dict | list):
        return wire_error(Invalid.code, _VALIDATION_DETAIL, fields=_fields(detail), retry_after=retry_after)
    if isinstance(detail, dict):  # simplejwt's refusals: {"detail", "code", "messages"}
        detail = detail.get("detail", exc.default_detail)
    if isinstance(detail, list):
        detail = " ".join(str(message) for message in detail)
    codes = exc.get_codes()
    code = codes.get("code") if isinstance(codes, dict) else codes
    code = code if isinstance(code, str) else exc.default_code
    return wire_error(_CODES.get(code, code), str(detail), retry_after=retry_after)


def _fields(detail: dict | list) -> dict:
    """``{field: [messages]}``; a bare list of messages under DRF's non-field key."""
    if isinstance(detail, list):
        return {api_settings.NON_FIELD_ERRORS_KEY: [str(message) for message in detail]}
    return {
        field: [str(message) for message in messages] if isinstance(messages, list) else messages
        for field, messages in detail.items()
    }

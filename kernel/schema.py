"""The OpenAPI schema as the API answers: drf-spectacular's, plus one ``Error`` shape declared on each
operation for the statuses it can answer with, and request inputs as the views read them.

The statuses the framework answers with follow from the view (authentication, permissions, throttles,
inputs, lookups) and are added here; the domain errors a service raises (kernel.errors) are declared on
the view with ``errors(Conflict, ...)`` in its ``extend_schema(responses=...)``.
"""

from collections.abc import Callable
from typing import Any

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import ResolvedComponent, force_instance
from drf_spectacular.utils import OpenApiParameter
from rest_framework import permissions, serializers
from rest_framework.authentication import SessionAuthentication

from kernel.errors import DomainError
from kernel.ids import ID_MAX, ID_MIN


# Mixed into a read-only serializer whose fields document (for OpenAPI) what ``build`` returns. ``build`` is
# a payload builder of an app's ``events`` module: it writes the answer, so a REST answer and a socket push of
# the same object are the same dict, shaped in one place. (A comment, not a docstring: drf-spectacular would
# describe each such serializer's schema with it.)
class BuiltPayload:
    build: Callable[[Any], dict]

    def to_representation(self, instance) -> dict:
        return type(self).build(instance)


ERROR_COMPONENT = ResolvedComponent(
    name="Error",
    type=ResolvedComponent.SCHEMA,
    object="Error",
    schema={
        "type": "object",
        "description": (
            'Every error answer, and every socket `error` event\'s data (docs/realtime.md, "Errors"): a stable '
            "`code` (kernel/errors.py), a human `detail`, the offending input fields' messages, and for a rate "
            "limit or an overload the seconds to wait."
        ),
        "properties": {
            "code": {
                "type": "string",
                "pattern": "^[a-z][a-z0-9_]*$",
                "description": "Machine-readable reason in snake_case, e.g. `invalid`, `not_found`, `terms_changed`.",
            },
            "detail": {"type": "string", "description": "Human-readable reason."},
            "fields": {
                "type": "object",
                "additionalProperties": {},
                "description": (
                    "With `code: invalid`: each offending input field (camelCase, or `non_field_errors`) and its "
                    "messages (a nested input's fields nest the same way)."
                ),
            },
            "retryAfter": {"type": "integer", "minimum": 0, "description": "Seconds to wait before retrying."},
        },
        "required": ["code", "detail"],
        "additionalProperties": False,
    },
)

STATUS_DESCRIPTIONS = {
    400: "The input is invalid: `detail` or the offending fields say why.",
    401: "No valid credentials: a missing, malformed or expired token, or wrong username and password.",
    403: "Not allowed: the caller's role or the object's rules forbid this (or a session's CSRF check failed).",
    404: "No such object, or not one the caller takes part in: existence is never revealed to outsiders.",
    409: "The object's current state does not allow this (`code` names the state).",
    413: "The body is over this path's limit (`code: body_too_large`); it was refused before it was read.",
    429: "Too many requests: retry after `Retry-After` seconds.",
    503: "Temporarily unavailable (`code` says why): retry after `Retry-After` seconds when it is given.",
}
RETRY_AFTER_STATUSES = {429, 503}
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# Permissions that refuse only the anonymous (401), never an authenticated caller (403).
AUTHENTICATION_ONLY_PERMISSIONS = (permissions.AllowAny, permissions.IsAuthenticated)


def path_id(name: str, description: str) -> OpenApiParameter:
    """A path's id (``kernel.ids``' ``id`` converter), as the schema documents it: an integer of 1..2**63-1."""
    return OpenApiParameter(
        name, {"type": "integer", "minimum": ID_MIN, "maximum": ID_MAX}, OpenApiParameter.PATH, description=description
    )


def errors(*domain_errors: type[DomainError]) -> dict[int, dict]:
    """``extend_schema`` responses for the domain errors a view's service raises: ``**errors(Conflict)``."""
    return {error.http_status: ERROR_COMPONENT.ref for error in domain_errors}


def error_response(status_code: int) -> dict:
    response = {
        "description": STATUS_DESCRIPTIONS[status_code],
        "content": {"application/json": {"schema": ERROR_COMPONENT.ref}},
    }
    if status_code in RETRY_AFTER_STATUSES:
        response["headers"] = {
            "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait before retrying."}
        }
    return response


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's schema plus the error answers of each operation, for a JSON API."""

    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        self.registry.register_on_missing(ERROR_COMPONENT)
        responses = operation["responses"]
        declared = {int(code) for code in responses if int(code) >= 400}
        for status_code in declared | self._framework_error_statuses(operation):
            responses[str(status_code)] = error_response(status_code)
        operation["responses"] = dict(sorted(responses.items()))
        for parameter in operation.get("parameters", []):
            # DRF's serializers and paginator, and the views' own parsing, read ``?name=`` as no ``name``.
            if parameter["in"] == "query" and not parameter.get("required"):
                parameter["allowEmptyValue"] = True
        return operation

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if direction == "request" and isinstance(field, serializers.DecimalField) and schema.get("type") == "string":
            # DRF reads a JSON number as well as the decimal string the API answers with.
            string_form = {key: schema.pop(key) for key in ("type", "format", "pattern") if key in schema}
            number_form = {"type": "number"}
            if field.min_value is not None:
                number_form["minimum"] = float(field.min_value)
            if field.max_whole_digits is not None:
                number_form.update(maximum=10**field.max_whole_digits, exclusiveMaximum=True)
            schema["anyOf"] = [string_form, number_form]
        return schema

    def map_parsers(self) -> list[str]:
        """Request bodies are documented as JSON, and as multipart where a file travels.

        The views' parsers also take HTML forms, for the browsable API; a form cannot say null, so
        documenting the same fields for it would describe requests the fields then reject.
        """
        documented = {"application/json"}
        fields = getattr(force_instance(self.get_request_serializer()), "fields", {})
        if any(isinstance(field, serializers.FileField) for field in fields.values()):
            documented.add("multipart/form-data")
        return [media_type for media_type in super().map_parsers() if media_type in documented]

    def _framework_error_statuses(self, operation: dict) -> set[int]:
        parameters = operation.get("parameters", [])
        query = [parameter for parameter in parameters if parameter["in"] == "query" and parameter["name"] != "page"]
        in_path = [parameter for parameter in parameters if parameter["in"] == "path"]
        # Every operation reads credentials: a bearer token, a session, or the token endpoints' body.
        statuses = {401}
        # A path value that a regex route passes untyped (no ``<id:...>`` converter) is the view's to validate.
        if "requestBody" in operation or query or (in_path and "(?P<" in self.path_regex):
            statuses.add(400)
        if "requestBody" in operation:
            statuses.add(413)  # config.body_limits
        if in_path or any(parameter["name"] == "page" for parameter in parameters):
            statuses.add(404)
        if self._may_forbid():
            statuses.add(403)
        if self.view.get_throttles():
            statuses.add(429)
        return statuses

    def _may_forbid(self) -> bool:
        if not all(isinstance(check, AUTHENTICATION_ONLY_PERMISSIONS) for check in self.view.get_permissions()):
            return True
        # A session-authenticated write must pass the CSRF check.
        return self.method in UNSAFE_METHODS and any(
            isinstance(authenticator, SessionAuthentication) for authenticator in self.view.get_authenticators()
        )

"""The OpenAPI schema describes every API route, generates without a warning and validates."""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

# Served to document the API, not part of it.
UNDOCUMENTED_ROUTES = {"/api/schema/", "/api/docs/"}
ERROR_REF = "#/components/schemas/Error"


def generate_schema() -> dict:
    GENERATOR_STATS.reset()
    schema = SchemaGenerator().get_schema(request=None, public=True)
    assert not GENERATOR_STATS, "drf-spectacular warned or erred while generating the schema (see the log)"
    return schema


@pytest.fixture(scope="module")
def schema() -> dict:
    return generate_schema()


def api_routes() -> dict[str, set[str]]:
    """Every route under /api/, in the schema's path notation, with the HTTP methods its view answers."""
    routes: dict[str, set[str]] = {}

    def walk(patterns, prefix: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern).removeprefix("^").removesuffix("$")
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern) and route.startswith("api/"):
                path = "/" + re.sub(r"\(\?P<(\w+)>[^)]*\)|<(?:\w+:)?(\w+)>", _path_variable, route)
                routes.setdefault(path, set()).update(_methods(pattern.callback))

    walk(get_resolver().url_patterns, "")
    return {path: methods for path, methods in routes.items() if path not in UNDOCUMENTED_ROUTES}


def _path_variable(match: re.Match) -> str:
    name = match.group(1) or match.group(2)
    return "{" + ("id" if name == "pk" else name) + "}"


def _methods(callback) -> set[str]:
    actions = getattr(callback, "actions", None)
    if actions is not None:
        return {method for method in actions if method not in {"head", "options"}}
    # A DRF view's class, or a Django view's (messaging.send's POST /api/messages, which the DRF route documents).
    view_class = getattr(callback, "cls", None) or callback.view_class
    return {
        method
        for method in view_class.http_method_names
        if method not in {"head", "options"} and hasattr(view_class, method)
    }


def operations(schema: dict):
    for path, path_item in schema["paths"].items():
        for method, operation in path_item.items():
            yield f"{method.upper()} {path}", operation


def test_schema_generates_without_warnings_and_validates():
    validate_schema(generate_schema())


def test_every_api_route_and_method_is_in_the_schema(schema):
    documented = {path: set(path_item) for path, path_item in schema["paths"].items()}

    assert documented == api_routes()


def test_path_ids_are_bounded_integers(schema):
    path_parameters = [
        (name, parameter)
        for name, operation in operations(schema)
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "path"
    ]

    assert path_parameters
    for name, parameter in path_parameters:
        schema = parameter["schema"]
        assert schema["type"] == "integer", name
        assert schema["minimum"] >= 1 and schema["maximum"] <= 2**63 - 1, name


def test_request_bodies_are_json_and_multipart_only_where_a_file_travels(schema):
    media_types = {
        name: set(operation["requestBody"]["content"])
        for name, operation in operations(schema)
        if "requestBody" in operation
    }

    assert media_types.pop("POST /api/messages") == {"application/json", "multipart/form-data"}
    assert set().union(*media_types.values()) == {"application/json"}


def test_every_operation_documents_its_error_answers_with_the_error_shape(schema):
    for name, operation in operations(schema):
        errors = {code: response for code, response in operation["responses"].items() if int(code) >= 400}

        assert "401" in errors, name
        for response in errors.values():
            assert response["content"]["application/json"]["schema"] == {"$ref": ERROR_REF}, name


def test_retryable_answers_say_when_to_retry(schema):
    retryable = [
        (name, response)
        for name, operation in operations(schema)
        for code, response in operation["responses"].items()
        if code in {"429", "503"}
    ]

    assert retryable
    for name, response in retryable:
        assert "Retry-After" in response["headers"], name


def test_schema_and_its_docs_page_are_served_with_no_outside_asset(api):
    assert api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()["paths"]
    docs = api.get("/api/docs/")

    assert docs.status_code == 200
    assets = re.findall(rb'(?:src|href)="([^"]+)"', docs.content)
    # Swagger UI from the sidecar package, its page style and start-up script from the app itself.
    assert assets and all(asset.startswith(b"/") and not asset.startswith(b"//") for asset in assets)
    assert any(asset.startswith(b"/static/drf_spectacular_sidecar/") for asset in assets)


@pytest.mark.parametrize(
    "method, path", [("get", "/api/meetings/abc"), ("post", "/api/providers/abc/approve"), ("get", "/api/nothing-here")]
)
def test_a_path_no_api_route_matches_is_a_json_404(api, client_user, method, path):
    response = getattr(api.as_user(client_user), method)(path)

    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "detail": "Not found."}

"""JSON bodies nested too deeply are answered 400, on every endpoint, instead of failing as a 500."""

import pytest

from kernel.parsers import JSON_MAX_DEPTH

pytestmark = pytest.mark.django_db


def _nested(depth: int) -> str:
    return '{"a": ' * (depth - 1) + "{}" + "}" * (depth - 1)


def test_json_nested_past_the_interpreters_recursion_limit_is_answered_400(api):
    response = api.post("/api/auth/token/refresh", "[" * 100_000, content_type="application/json")

    assert response.status_code == 400
    assert "nested deeper" in response.json()["detail"]


def test_json_nested_deeper_than_the_limit_is_answered_400(api, client_user):
    response = api.as_user(client_user).post(
        "/api/requests", _nested(JSON_MAX_DEPTH + 1), content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["detail"] == f"JSON parse error - nested deeper than {JSON_MAX_DEPTH} levels."


def test_json_as_deep_as_the_limit_is_read(api, client_user):
    response = api.as_user(client_user).post("/api/requests", _nested(JSON_MAX_DEPTH), content_type="application/json")

    assert response.status_code == 400
    assert "title" in response.json()["fields"], "the body was read and its fields judged"


def test_deep_json_to_a_message_send_is_answered_400(api, client_user, conversation):
    response = api.as_user(client_user).post("/api/messages", "[" * 100_000, content_type="application/json")

    assert response.status_code == 400
    assert "nested deeper" in response.json()["detail"]

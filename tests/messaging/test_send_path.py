"""POST /api/messages as messaging.send serves a JSON text message: who may call it (Bearer JWT, the session
with its CSRF token), what it costs in queries, and that its answers are the general DRF path's."""

import json
import uuid

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from accounts import services as account_services
from accounts import tokens
from accounts.models import User
from messaging.models import Conversation, Message, Participant
from projects import services as project_services

pytestmark = pytest.mark.django_db

CSRF_SECRET = "a" * 32


def _text(conversation, content="hello", **fields) -> dict:
    return {"conversationId": conversation.pk, "content": content, **fields}


def _bearer(user) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
    return api


def _browser(user, *, csrf_header: bool) -> APIClient:
    """A page's fetch: the session cookie, the CSRF cookie and, unless left out, the CSRF header."""
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(user)
    browser.cookies[settings.CSRF_COOKIE_NAME] = CSRF_SECRET
    if csrf_header:
        browser.credentials(HTTP_X_CSRFTOKEN=CSRF_SECRET)
    return browser


# ---- who may send -------------------------------------------------------------------------------------


def test_a_bearer_token_sends(client_user, conversation):
    response = _bearer(client_user).post("/api/messages", _text(conversation), format="json")

    assert response.status_code == 201
    assert response.json()["sender"]["username"] == client_user.username


def test_a_revoked_bearer_token_is_refused_with_401(client_user, conversation):
    access = tokens.refresh_token_for(client_user).access_token
    client_user.credentials_generation += 1
    client_user.save(update_fields=["credentials_generation"])
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")

    response = api.post("/api/messages", _text(conversation), format="json")

    assert response.status_code == 401
    assert response.json() == api.get("/api/conversations").json()  # as every DRF view answers it
    assert "revoked" in response.json()["detail"]
    assert not Message.objects.exists()


def test_an_anonymous_send_is_refused_with_401_and_the_bearer_challenge(conversation):
    response = APIClient().post("/api/messages", _text(conversation), format="json")
    elsewhere = APIClient().get("/api/conversations")

    assert response.status_code == elsewhere.status_code == 401
    assert response.headers["WWW-Authenticate"] == elsewhere.headers["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response.json() == elsewhere.json()


def test_an_inactive_users_token_is_refused(client_user, conversation):
    api = _bearer(client_user)
    User.objects.filter(pk=client_user.pk).update(is_active=False)

    response = api.post("/api/messages", _text(conversation), format="json")

    assert response.status_code == 401
    assert not Message.objects.exists()


def test_a_page_sends_with_its_session_and_csrf_token(client_user, conversation):
    response = _browser(client_user, csrf_header=True).post("/api/messages", _text(conversation), format="json")

    assert response.status_code == 201


def test_a_session_send_without_the_csrf_token_is_refused_with_403(client_user, conversation):
    response = _browser(client_user, csrf_header=False).post("/api/messages", _text(conversation), format="json")

    assert response.status_code == 403
    assert response.json()["detail"].startswith("CSRF Failed")
    assert not Message.objects.exists()


# ---- what a send costs --------------------------------------------------------------------------------


def _statements_of_one_send(api, conversation, **fields) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        response = api.post("/api/messages", _text(conversation, **fields), format="json")
    assert response.status_code == 201, response.json()
    return [query["sql"] for query in queries.captured_queries if not query["sql"].upper().startswith(_TXN)]


# Transaction bookkeeping: the test's own transaction makes the send's a savepoint on both backends.
_TXN = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT", "BEGIN", "COMMIT")


def test_a_send_on_postgresql_is_the_callers_lookup_the_lock_and_one_statement(client_user, conversation):
    if connection.vendor != "postgresql":
        pytest.skip("the two-statement send is PostgreSQL's; SQLite takes the ORM path")
    statements = _statements_of_one_send(_bearer(client_user), conversation, clientMessageId=str(uuid.uuid4()))

    assert len(statements) == 3
    caller, lock, append = statements
    assert "accounts_user" in caller
    assert lock.rstrip().endswith("FOR UPDATE OF conversation")
    assert append.lstrip().startswith("WITH member AS")
    assert "INSERT INTO integrations_event" in append


def test_a_send_on_sqlite_takes_the_orm_path_in_eight_statements(client_user, conversation):
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL takes the two-statement path")
    statements = _statements_of_one_send(_bearer(client_user), conversation, clientMessageId=str(uuid.uuid4()))

    # The caller, the lock, membership after it, the retry's original, the insert, the two updates and the
    # outbox's message.created event.
    assert len(statements) == 8
    assert "integrations_event" in statements[-1]


# ---- the send's rules, on this path -------------------------------------------------------------------


def test_a_send_moves_the_conversation_and_the_senders_read_marker(client_user, conversation):
    response = _bearer(client_user).post("/api/messages", _text(conversation), format="json")

    message_id = response.json()["id"]
    conversation.refresh_from_db()
    marker = Participant.objects.get(conversation=conversation, user=client_user)
    assert (conversation.last_message_id, conversation.last_message_seq) == (message_id, 1)
    assert (marker.last_read_message_id, marker.last_read_seq) == (message_id, 1)
    assert marker.last_read_at == conversation.last_activity_at


def test_a_suspended_provider_is_refused_but_their_retry_gets_the_original(provider, conversation):
    payload = _text(conversation, "before", clientMessageId=str(uuid.uuid4()))
    first = _bearer(provider).post("/api/messages", payload, format="json")
    account_services.provider_set_status(provider_id=provider.pk, status=User.ProviderStatus.SUSPENDED)

    retry = _bearer(provider).post("/api/messages", payload, format="json")
    new = _bearer(provider).post("/api/messages", _text(conversation, "after"), format="json")

    assert (first.status_code, retry.status_code) == (201, 200)
    assert retry.json() == first.json()
    assert new.status_code == 403
    assert new.json()["code"] == "provider_suspended"


def test_an_outsider_with_an_empty_text_is_told_not_found_first(outsider, conversation):
    response = _bearer(outsider).post("/api/messages", _text(conversation, "\u200b"), format="json")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_a_json_body_that_does_not_parse_is_refused_with_400(client_user):
    response = _bearer(client_user).post("/api/messages", "{not json", content_type="application/json")

    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]


def test_a_json_file_message_is_refused_as_the_general_path_refuses_it(client_user, conversation):
    response = _bearer(client_user).post("/api/messages", _text(conversation, type="file"), format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "file" in response.json()["fields"]


def test_a_get_is_answered_405_as_by_the_drf_view(client_user):
    response = _bearer(client_user).get("/api/messages")

    assert response.status_code == 405


@pytest.mark.parametrize("status", ["completed", "cancelled"])
def test_json_and_multipart_sends_to_a_closed_project_get_the_same_answer(client_user, conversation, status):
    project_services.project_set_status(project_id=conversation.project_id, status=status)

    as_json = _bearer(client_user).post("/api/messages", _text(conversation, "late"), format="json")
    as_form = _bearer(client_user).post("/api/messages", _text(conversation, "late"), format="multipart")

    assert as_json.status_code == as_form.status_code == 409
    assert as_json.json() == as_form.json()
    assert as_json.json()["code"] == "conversation_read_only"
    assert as_json.headers["Content-Type"] == as_form.headers["Content-Type"]
    assert as_json.headers["Allow"] == as_form.headers["Allow"]


def test_json_and_multipart_sends_answer_the_same_message_shape(client_user, conversation):
    as_json = _bearer(client_user).post("/api/messages", _text(conversation, "one"), format="json")
    as_form = _bearer(client_user).post("/api/messages", _text(conversation, "two"), format="multipart")

    assert (as_json.status_code, as_form.status_code) == (201, 201)
    assert as_json.json().keys() == as_form.json().keys()
    assert json.loads(as_json.content)["seq"] + 1 == json.loads(as_form.content)["seq"]


def test_a_send_to_a_conversation_that_does_not_exist_is_404(client_user):
    missing = Conversation.objects.count() + 1000

    response = _bearer(client_user).post("/api/messages", {"conversationId": missing, "content": "hi"}, format="json")

    assert response.status_code == 404
    assert response.json()["fields"]["conversationId"] == ["No such conversation."]

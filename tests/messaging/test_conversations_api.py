"""GET /api/conversations, /api/conversations/{id} and /api/conversations/project/{projectId}."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from projects import services as project_services
from tests.conftest import make_project, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def others_project(outsider):
    """Charlie's own project with another provider: real, but none of alice's or bob's business."""
    return make_project(outsider, make_user("dave", role=User.Role.PROVIDER), title="Logo")


def test_list_shows_the_callers_conversations_with_project_participants_last_message_and_unread(
    api, client_user, provider, conversation, others_project, send
):
    send(provider, conversation, "First draft is up")

    response = api.as_user(client_user).get("/api/conversations")

    assert response.status_code == 200
    assert response.data["count"] == 1
    [item] = response.data["results"]
    assert item["id"] == conversation.pk
    assert item["project"]["id"] == conversation.project_id
    assert item["project"]["title"] == "Website"
    assert item["project"]["status"] == "active"
    assert {p["user"]["username"] for p in item["participants"]} == {"alice", "bob"}
    assert item["lastMessage"]["content"] == "First draft is up"
    assert item["lastMessage"]["senderId"] == provider.pk
    assert item["unreadCount"] == 1
    assert item["readOnly"] is False


def test_list_orders_by_newest_activity_first(api, client_user, provider, conversation, send):
    newer = make_project(client_user, provider, title="Shop").conversation
    send(client_user, newer, "about the shop")
    send(provider, conversation, "about the website")

    response = api.as_user(client_user).get("/api/conversations")

    assert [item["id"] for item in response.data["results"]] == [conversation.pk, newer.pk]


def test_list_is_empty_for_a_user_in_no_conversation(api, staff, conversation):
    response = api.as_user(staff).get("/api/conversations")

    assert response.status_code == 200
    assert response.data["results"] == []


def test_list_refuses_anonymous(api, conversation):
    assert api.get("/api/conversations").status_code == 401


def _list_queries(api, user) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = api.as_user(user).get("/api/conversations")
    assert response.status_code == 200
    return len(queries)


def test_list_costs_the_same_queries_for_1_or_25_conversations(api, client_user, provider, send):
    """Each conversation brings its project, participants and last message without extra queries."""
    send(provider, make_project(client_user, provider, title="Project 0").conversation)
    one = _list_queries(api, client_user)

    for number in range(1, 25):
        send(provider, make_project(client_user, provider, title=f"Project {number}").conversation)
    twenty_five = _list_queries(api, client_user)

    assert api.get("/api/conversations").data["count"] == 25
    assert one == twenty_five


def test_retrieve_shows_participants_with_their_read_markers(api, client_user, provider, conversation, send):
    message = send(provider, conversation, "hi")

    response = api.as_user(client_user).get(f"/api/conversations/{conversation.pk}")

    assert response.status_code == 200
    markers = {p["user"]["username"]: p for p in response.data["participants"]}
    assert markers["bob"]["lastReadMessageId"] == message.pk
    assert markers["bob"]["lastReadAt"] is not None
    assert markers["alice"]["lastReadMessageId"] is None
    assert markers["alice"]["lastReadAt"] is None
    assert response.data["unreadCount"] == 1


def test_retrieve_answers_an_outsider_exactly_as_for_a_conversation_that_does_not_exist(api, outsider, conversation):
    foreign = api.as_user(outsider).get(f"/api/conversations/{conversation.pk}")
    missing = api.as_user(outsider).get(f"/api/conversations/{conversation.pk + 1000}")

    assert foreign.status_code == missing.status_code == 404
    assert foreign.data == missing.data


def test_retrieve_refuses_anonymous(api, conversation):
    assert api.get(f"/api/conversations/{conversation.pk}").status_code == 401


def test_retrieve_marks_a_finished_projects_conversation_read_only(api, client_user, conversation):
    project_services.project_set_status(project_id=conversation.project_id, status="completed")

    response = api.as_user(client_user).get(f"/api/conversations/{conversation.pk}")

    assert response.data["readOnly"] is True
    assert response.data["project"]["status"] == "completed"


def test_for_project_finds_the_projects_conversation(api, provider, project, conversation):
    response = api.as_user(provider).get(f"/api/conversations/project/{project.pk}")

    assert response.status_code == 200
    assert response.data["id"] == conversation.pk


def test_for_project_answers_an_outsider_exactly_as_for_a_project_that_does_not_exist(api, outsider, project):
    foreign = api.as_user(outsider).get(f"/api/conversations/project/{project.pk}")
    missing = api.as_user(outsider).get(f"/api/conversations/project/{project.pk + 1000}")

    assert foreign.status_code == missing.status_code == 404
    assert foreign.data == missing.data


def test_for_project_refuses_anonymous(api, project):
    assert api.get(f"/api/conversations/project/{project.pk}").status_code == 401


@pytest.mark.parametrize(
    "path",
    [
        "/api/conversations/abc",
        "/api/conversations/0",
        f"/api/conversations/{2**63}",
        "/api/conversations/project/abc",
        "/api/messages/conversation/abc",
        "/api/messages/conversation/1x/read",
        "/api/messages/abc/file",
    ],
)
def test_an_id_that_is_no_id_matches_no_route_as_in_the_other_apps(api, client_user, path):
    response = api.as_user(client_user).get(path)

    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "detail": "Not found."}

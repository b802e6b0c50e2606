"""Requests and proposals over REST, and who sees what."""

from datetime import timedelta

from django.utils import timezone

from accounts.models import User
from tests.conftest import make_project, make_user


def _deadline():
    return (timezone.now() + timedelta(days=20)).date().isoformat()


def test_client_creates_a_request(api, client_user):
    response = api.as_user(client_user).post("/api/requests", {"title": "Shop", "budget": "900.00"}, format="json")
    assert response.status_code == 201
    assert response.json()["status"] == "open"


def test_provider_cannot_create_a_request(api, provider):
    assert api.as_user(provider).post("/api/requests", {"title": "Shop"}, format="json").status_code == 403


def test_request_list_refuses_anonymous(api, db):
    assert api.get("/api/requests").status_code == 401


def test_approved_provider_proposes(api, client_user, provider):
    request_id = api.as_user(client_user).post("/api/requests", {"title": "Shop"}, format="json").json()["id"]
    response = api.as_user(provider).post(
        f"/api/requests/{request_id}/proposals",
        {"price": "500.00", "scope": "All of it", "deadline": _deadline()},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["termsHash"]


def test_one_live_proposal_per_provider_and_request(api, client_user, provider):
    request_id = api.as_user(client_user).post("/api/requests", {"title": "Shop"}, format="json").json()["id"]
    body = {"price": "500.00", "scope": "All of it", "deadline": _deadline()}
    api.as_user(provider).post(f"/api/requests/{request_id}/proposals", body, format="json")
    second = api.as_user(provider).post(f"/api/requests/{request_id}/proposals", body, format="json")
    assert second.status_code == 409


def test_pending_provider_cannot_propose(api, client_user):
    pending = make_user("newbie", role=User.Role.PROVIDER, provider_status=User.ProviderStatus.PENDING)
    request_id = api.as_user(client_user).post("/api/requests", {"title": "Shop"}, format="json").json()["id"]
    response = api.as_user(pending).post(
        f"/api/requests/{request_id}/proposals",
        {"price": "500.00", "scope": "x", "deadline": _deadline()},
        format="json",
    )
    # The same refusal, and status, as a client's accept of such a provider's proposal (test_accept).
    assert response.status_code == 409 and response.json()["code"] == "provider_not_approved"


def test_proposal_refuses_a_non_positive_price(api, client_user, provider):
    request_id = api.as_user(client_user).post("/api/requests", {"title": "Shop"}, format="json").json()["id"]
    response = api.as_user(provider).post(
        f"/api/requests/{request_id}/proposals", {"price": "0", "scope": "x", "deadline": _deadline()}, format="json"
    )
    assert response.status_code == 400 and "price" in response.json()["fields"]


def test_a_client_sees_only_their_own_requests(api, client_user, outsider):
    api.as_user(outsider).post("/api/requests", {"title": "Theirs"}, format="json")
    mine = api.as_user(client_user).post("/api/requests", {"title": "Mine"}, format="json").json()
    assert [r["id"] for r in api.as_user(client_user).get("/api/requests").json()["results"]] == [mine["id"]]


def test_projects_list_only_the_callers(api, project, outsider, client_user, provider):
    make_project(outsider, provider, title="Other")
    assert [p["id"] for p in api.as_user(client_user).get("/api/projects").json()["results"]] == [project.pk]


def test_another_users_project_answers_404(api, project, outsider):
    assert api.as_user(outsider).get(f"/api/projects/{project.pk}").status_code == 404


def test_another_users_proposal_answers_404(api, project, outsider):
    assert api.as_user(outsider).get(f"/api/proposals/{project.proposal_id}").status_code == 404


def test_project_detail_for_a_member(api, project, provider):
    body = api.as_user(provider).get(f"/api/projects/{project.pk}").json()
    assert body["conversationId"] == project.conversation.pk
    assert body["termsHash"] == project.terms_hash

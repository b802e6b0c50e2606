"""Registration, JWT, the caller's profile, socket tickets and provider approval."""

import pytest

from accounts.models import User, WebSocketTicket
from accounts.services import ws_ticket_redeem
from tests.conftest import PASSWORD, make_user

STRONG = "an-unusual-passphrase-91"


def test_register_creates_a_client(api, db):
    response = api.post(
        "/api/auth/register",
        {"username": "dana", "email": "d@example.com", "password": STRONG, "role": "client"},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["role"] == "client"
    assert User.objects.get(username="dana").check_password(STRONG)


def test_register_starts_a_provider_pending(api, db):
    response = api.post(
        "/api/auth/register",
        {"username": "erin", "email": "e@example.com", "password": STRONG, "role": "provider"},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["providerStatus"] == "pending"


def test_register_applies_password_validators(api, db):
    response = api.post(
        "/api/auth/register",
        {"username": "fred", "email": "f@example.com", "password": "123", "role": "client"},
        format="json",
    )
    assert response.status_code == 400
    assert "password" in response.json()["fields"]
    assert not User.objects.filter(username="fred").exists()


def test_register_refuses_an_unknown_role(api, db):
    response = api.post(
        "/api/auth/register",
        {"username": "gil", "email": "g@example.com", "password": STRONG, "role": "admin"},
        format="json",
    )
    assert response.status_code == 400
    assert "role" in response.json()["fields"]


def test_token_pair_and_me(api, client_user):
    tokens = api.post("/api/auth/token", {"username": "alice", "password": PASSWORD}, format="json").json()
    assert set(tokens) == {"access", "refresh"}
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    me = api.get("/api/auth/me")
    assert me.status_code == 200
    assert me.json()["username"] == "alice"
    refreshed = api.post("/api/auth/token/refresh", {"refresh": tokens["refresh"]}, format="json")
    assert refreshed.status_code == 200 and "access" in refreshed.json()


def test_me_refuses_anonymous(api, db):
    assert api.get("/api/auth/me").status_code == 401


def test_ws_ticket_is_single_use(api, client_user):
    response = api.as_user(client_user).post("/api/auth/ws-ticket")
    assert response.status_code == 201
    ticket = response.json()["ticket"]
    assert ws_ticket_redeem(ticket=ticket).user == client_user
    assert ws_ticket_redeem(ticket=ticket) is None


def test_ws_ticket_stores_only_a_digest(api, client_user):
    ticket = api.as_user(client_user).post("/api/auth/ws-ticket").json()["ticket"]
    assert not WebSocketTicket.objects.filter(digest=ticket).exists()


def test_ws_ticket_refuses_anonymous(api, db):
    assert api.post("/api/auth/ws-ticket").status_code == 401


def test_staff_approves_a_pending_provider(api, staff):
    pending = make_user("pat", role=User.Role.PROVIDER, provider_status=User.ProviderStatus.PENDING)
    response = api.as_user(staff).post(f"/api/providers/{pending.pk}/approve")
    assert response.status_code == 200
    pending.refresh_from_db()
    assert pending.provider_status == User.ProviderStatus.APPROVED


def test_staff_suspends_a_provider(api, staff, provider):
    assert api.as_user(staff).post(f"/api/providers/{provider.pk}/suspend").status_code == 200
    provider.refresh_from_db()
    assert provider.provider_status == User.ProviderStatus.SUSPENDED


@pytest.mark.parametrize("persona", ["client_user", "provider"])
def test_provider_approval_refuses_non_staff(api, request, persona, provider):
    user = request.getfixturevalue(persona)
    assert api.as_user(user).post(f"/api/providers/{provider.pk}/approve").status_code == 403


def test_provider_approval_answers_404_for_a_client_id(api, staff, client_user):
    assert api.as_user(staff).post(f"/api/providers/{client_user.pk}/approve").status_code == 404

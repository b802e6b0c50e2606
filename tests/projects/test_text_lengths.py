"""Free text has an upper bound: a request's description, a proposal's scope (settings), and a new
account's email and password; longer input is answered 400 on that field and nothing is stored."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from accounts.models import User
from projects.models import Proposal, ServiceRequest

pytestmark = pytest.mark.django_db


def _request(api, client_user, description: str):
    return api.as_user(client_user).post("/api/requests", {"title": "Shop", "description": description}, format="json")


def _propose(api, provider, request_id: int, scope: str):
    deadline = (timezone.now() + timedelta(days=20)).date().isoformat()
    return api.as_user(provider).post(
        f"/api/requests/{request_id}/proposals",
        {"price": "500.00", "scope": scope, "deadline": deadline},
        format="json",
    )


def _register(api, **fields):
    body = {"username": "dana", "email": "d@example.com", "password": "an-unusual-passphrase-91", "role": "client"}
    return api.post("/api/auth/register", {**body, **fields}, format="json")


def test_a_description_up_to_the_limit_is_stored_and_past_it_refused_400_on_its_field(api, client_user):
    limit = settings.SERVICE_REQUEST_DESCRIPTION_MAX_LENGTH
    at_limit = _request(api, client_user, "d" * limit)

    past_limit = _request(api, client_user, "d" * (limit + 1))

    assert at_limit.status_code == 201
    assert (past_limit.status_code, list(past_limit.json()["fields"])) == (400, ["description"])
    assert ServiceRequest.objects.count() == 1


def test_a_scope_up_to_the_limit_is_stored_and_past_it_refused_400_on_its_field(api, client_user, provider):
    limit = settings.PROPOSAL_SCOPE_MAX_LENGTH
    refused = _propose(api, provider, _request(api, client_user, "").json()["id"], "s" * (limit + 1))

    admitted = _propose(api, provider, _request(api, client_user, "").json()["id"], "s" * limit)

    assert (refused.status_code, list(refused.json()["fields"])) == (400, ["scope"])
    assert admitted.status_code == 201
    assert Proposal.objects.count() == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("email", "d" * 250 + "@example.com"),
        ("password", "p" * (settings.PASSWORD_MAX_LENGTH + 1)),
    ],
)
def test_registration_refuses_an_overlong_field_with_400_on_it(api, field, value):
    response = _register(api, **{field: value})

    assert response.status_code == 400
    assert list(response.json()["fields"]) == [field]
    assert not User.objects.filter(username="dana").exists()

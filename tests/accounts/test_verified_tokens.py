"""A Bearer access token is verified once and then kept by its bytes (accounts.authentication): later requests
with it skip the signature check, but never its expiry, and never the user's row (revocation, deactivation)."""

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.backends import TokenBackend

from accounts import authentication, tokens

pytestmark = pytest.mark.django_db

ME = "/api/auth/me"


@pytest.fixture(autouse=True)
def no_kept_tokens(monkeypatch):
    monkeypatch.setattr(authentication, "_verified_tokens", authentication._VerifiedTokens(size=4096))


@pytest.fixture
def decodes(monkeypatch):
    """The raw tokens simplejwt decoded (verified) during the test."""
    decoded = []
    decode = TokenBackend.decode

    def counted(backend, token, verify=True):
        decoded.append(token)
        return decode(backend, token, verify=verify)

    monkeypatch.setattr(TokenBackend, "decode", counted)
    return decoded


def _bearer(access) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return api


def test_a_token_is_verified_once_for_all_its_requests(client_user, decodes):
    api = _bearer(tokens.refresh_token_for(client_user).access_token)

    answers = [api.get(ME).status_code for _ in range(3)]

    assert answers == [200, 200, 200]
    assert len(decodes) == 1


def test_a_kept_token_is_refused_past_its_expiry_with_simplejwts_answer(client_user, decodes):
    access = tokens.refresh_token_for(client_user).access_token
    api = _bearer(access)
    assert api.get(ME).status_code == 200

    with time_machine.travel(timezone.now() + settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"] + timedelta(seconds=1)):
        response = api.get(ME)

    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"
    assert len(decodes) == 2  # verified afresh, and refused there


def test_a_kept_token_is_refused_once_its_credentials_are_revoked(client_user):
    api = _bearer(tokens.refresh_token_for(client_user).access_token)
    assert api.get(ME).status_code == 200
    client_user.credentials_generation += 1
    client_user.save(update_fields=["credentials_generation"])

    response = api.get(ME)

    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


def test_a_kept_token_of_a_deactivated_user_is_refused(client_user):
    api = _bearer(tokens.refresh_token_for(client_user).access_token)
    assert api.get(ME).status_code == 200
    client_user.is_active = False
    client_user.save(update_fields=["is_active"])

    assert api.get(ME).status_code == 401


def test_the_kept_tokens_are_bounded_the_least_recently_used_going_first(client_user, provider, decodes, monkeypatch):
    monkeypatch.setattr(authentication, "_verified_tokens", authentication._VerifiedTokens(size=1))
    first = _bearer(tokens.refresh_token_for(client_user).access_token)
    second = _bearer(tokens.refresh_token_for(provider).access_token)

    assert [first.get(ME).status_code, second.get(ME).status_code, first.get(ME).status_code] == [200, 200, 200]

    assert len(decodes) == 3  # the first token was forgotten when the second was kept

"""JWTs are signed with this installation's own key, never a constant of the repository: a token signed with
the former public development key is refused over REST and on the socket, and each development checkout
makes keys of its own."""

import jwt
import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from config.dev_secrets import dev_secret
from realtime.consumers import CLOSE_UNAUTHENTICATED
from tests.accounts.test_settings import PUBLISHED_DEV_SECRET
from tests.realtime.sockets import assert_closed_with, socket


def _signed_with_the_published_key(token) -> str:
    return jwt.encode(token.payload, PUBLISHED_DEV_SECRET, algorithm="HS256")


def _api_with_bearer(token: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return api


def test_a_jwt_signed_with_this_installations_key_authenticates(staff):
    response = _api_with_bearer(str(AccessToken.for_user(staff))).get("/api/auth/me")

    assert response.status_code == 200
    assert response.json()["username"] == staff.username


def test_a_jwt_signed_with_the_published_development_key_is_refused(staff):
    response = _api_with_bearer(_signed_with_the_published_key(AccessToken.for_user(staff))).get("/api/auth/me")

    assert response.status_code == 401


def test_a_refresh_token_signed_with_the_published_development_key_is_refused(staff):
    forged = _signed_with_the_published_key(RefreshToken.for_user(staff))

    response = APIClient().post("/api/auth/token/refresh", {"refresh": forged}, format="json")

    assert response.status_code == 401


@pytest.mark.django_db(transaction=True)
async def test_a_socket_with_a_jwt_signed_with_the_published_development_key_is_closed_with_4401(staff):
    forged = _signed_with_the_published_key(AccessToken.for_user(staff))
    communicator = socket((b"authorization", f"Bearer {forged}".encode()))

    await communicator.connect()

    await assert_closed_with(communicator, CLOSE_UNAUTHENTICATED)


def test_each_development_checkout_makes_keys_of_its_own(tmp_path):
    key = dev_secret(tmp_path / "checkout", "JWT_SIGNING_KEY")

    assert dev_secret(tmp_path / "checkout", "JWT_SIGNING_KEY") == key
    assert dev_secret(tmp_path / "other-checkout", "JWT_SIGNING_KEY") != key
    assert len(key) >= 32

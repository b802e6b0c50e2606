"""Open sockets end with the credential they were opened with: a session's logout closes that session's
sockets (cookie and tickets it asked for), a password change or a logout everywhere closes all of the user's,
and a JWT or ticket socket closes when its credential expires, even while it sends nothing."""

import time
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from realtime.consumers import CLOSE_AUTH_EXPIRED, CLOSE_UNAUTHENTICATED
from tests.conftest import PASSWORD
from tests.realtime.sockets import (
    FRAME_TIMEOUT,
    assert_closed_with,
    assert_no_frame,
    connect_as,
    join,
    session_cookie,
    signed_in_browser,
    socket,
)

pytestmark = pytest.mark.django_db(transaction=True)

NEW_PASSWORD = "a-different-passphrase-58"


async def _open(*headers, path: str = "/ws/"):
    communicator = socket(*headers, path=path)
    connected, _ = await communicator.connect(timeout=FRAME_TIMEOUT)
    assert connected
    return communicator


async def _still_open(communicator, conversation) -> None:
    """Nothing was forwarded to it, and it still answers."""
    await assert_no_frame(communicator)
    assert (await join(communicator, conversation.pk))["data"]["conversationId"] == conversation.pk
    await communicator.disconnect()


def _jwt_client(user) -> tuple[APIClient, dict]:
    """An API client logged in with username and password, and the token pair it got."""
    api = APIClient()
    pair = api.post("/api/auth/token", {"username": user.username, "password": PASSWORD}, format="json").json()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {pair['access']}")
    return api, pair


async def _session_socket(user):
    """A browser's session and the socket its page opened with the session cookie."""
    browser = await database_sync_to_async(signed_in_browser)(user)
    return browser, await _open(session_cookie(browser))


async def _ticket_socket(api_or_browser):
    ticket = (await sync_to_async(api_or_browser.post)("/api/auth/ws-ticket")).json()["ticket"]
    return await _open(path=f"/ws/?ticket={ticket}")


async def test_logout_closes_the_sessions_sockets_with_4401_and_not_another_sessions(client_user, conversation):
    browser, own = await _session_socket(client_user)
    own_ticket_socket = await _ticket_socket(browser)
    _, other_session = await _session_socket(client_user)

    response = await sync_to_async(browser.post)("/api/auth/logout", {}, content_type="application/json")

    assert response.status_code == 204
    await assert_closed_with(own, CLOSE_UNAUTHENTICATED)
    await assert_closed_with(own_ticket_socket, CLOSE_UNAUTHENTICATED)
    await _still_open(other_session, conversation)


async def test_the_pages_logout_closes_the_sessions_socket_with_4401_and_not_another_sessions(
    client_user, conversation
):
    browser, own = await _session_socket(client_user)
    _, other_session = await _session_socket(client_user)

    response = await sync_to_async(browser.post)("/logout")

    assert response.status_code == 302
    await assert_closed_with(own, CLOSE_UNAUTHENTICATED)
    await _still_open(other_session, conversation)


async def test_logout_with_a_refresh_token_leaves_the_users_sockets_open(client_user, conversation):
    api, pair = await sync_to_async(_jwt_client)(client_user)
    jwt_socket = await connect_as(client_user)

    response = await sync_to_async(api.post)("/api/auth/logout", {"refresh": pair["refresh"]}, format="json")

    assert response.status_code == 204
    await _still_open(jwt_socket, conversation)


async def test_a_password_change_closes_every_socket_of_the_user_with_4401(client_user, provider, conversation):
    api, _ = await sync_to_async(_jwt_client)(client_user)
    _, session_socket = await _session_socket(client_user)
    ticket_socket = await _ticket_socket(api)
    jwt_socket = await connect_as(client_user)
    others_socket = await connect_as(provider)

    response = await sync_to_async(api.post)(
        "/api/auth/password", {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}, format="json"
    )

    assert response.status_code == 200
    for communicator in (session_socket, ticket_socket, jwt_socket):
        await assert_closed_with(communicator, CLOSE_UNAUTHENTICATED)
    await _still_open(others_socket, conversation)


async def test_logout_everywhere_closes_every_socket_of_the_user_with_4401(client_user, provider, conversation):
    api, _ = await sync_to_async(_jwt_client)(client_user)
    browser, session_socket = await _session_socket(client_user)
    ticket_socket = await _ticket_socket(browser)
    jwt_socket = await connect_as(client_user)
    others_socket = await connect_as(provider)

    response = await sync_to_async(api.post)("/api/auth/logout", {"everywhere": True}, format="json")

    assert response.status_code == 204
    for communicator in (session_socket, ticket_socket, jwt_socket):
        await assert_closed_with(communicator, CLOSE_UNAUTHENTICATED)
    await _still_open(others_socket, conversation)


async def test_a_token_revoked_by_a_password_change_cannot_open_a_socket(client_user):
    api, pair = await sync_to_async(_jwt_client)(client_user)
    await sync_to_async(api.post)(
        "/api/auth/password", {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}, format="json"
    )

    communicator = socket((b"authorization", f"Bearer {pair['access']}".encode()))
    await communicator.connect()

    await assert_closed_with(communicator, CLOSE_UNAUTHENTICATED)


async def test_a_ticket_issued_before_a_logout_everywhere_cannot_open_a_socket(client_user):
    api, _ = await sync_to_async(_jwt_client)(client_user)
    ticket = (await sync_to_async(api.post)("/api/auth/ws-ticket")).json()["ticket"]
    await sync_to_async(api.post)("/api/auth/logout", {"everywhere": True}, format="json")

    communicator = socket(path=f"/ws/?ticket={ticket}")
    await communicator.connect()

    await assert_closed_with(communicator, CLOSE_UNAUTHENTICATED)


async def test_a_session_revoked_by_a_logout_everywhere_cannot_open_a_socket(client_user):
    api, _ = await sync_to_async(_jwt_client)(client_user)
    browser = await database_sync_to_async(signed_in_browser)(client_user)
    await sync_to_async(api.post)("/api/auth/logout", {"everywhere": True}, format="json")

    communicator = socket(session_cookie(browser))
    await communicator.connect()

    await assert_closed_with(communicator, CLOSE_UNAUTHENTICATED)


# Long enough for a loaded machine to log in and connect before the token expires.
SHORT_ACCESS_LIFETIME = timedelta(seconds=3)


@pytest.fixture
def short_access_tokens(monkeypatch):
    """ACCESS_TOKEN_LIFETIME, where simplejwt reads it: the token class takes it when imported."""
    monkeypatch.setattr(AccessToken, "lifetime", SHORT_ACCESS_LIFETIME)


async def _assert_closed_when_expired(communicator, access: str) -> None:
    """Closed with 4403 once the access token's expiry has passed, and not before; no frame was sent."""
    expires_at = AccessToken(access, verify=False)["exp"]
    output = await communicator.receive_output(timeout=max(0.0, expires_at - time.time()) + FRAME_TIMEOUT)
    assert output == {"type": "websocket.close", "code": CLOSE_AUTH_EXPIRED}
    assert time.time() >= expires_at
    await communicator.disconnect()


async def test_an_idle_jwt_socket_is_closed_with_4403_when_its_token_expires(short_access_tokens, client_user):
    _, pair = await sync_to_async(_jwt_client)(client_user)

    communicator = await _open((b"authorization", f"Bearer {pair['access']}".encode()))

    await _assert_closed_when_expired(communicator, pair["access"])


async def test_an_idle_ticket_socket_is_closed_with_4403_when_the_token_that_asked_for_it_expires(
    short_access_tokens, client_user
):
    api, pair = await sync_to_async(_jwt_client)(client_user)

    communicator = await _ticket_socket(api)

    await _assert_closed_when_expired(communicator, pair["access"])

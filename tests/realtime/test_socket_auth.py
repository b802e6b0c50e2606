"""Who may open /ws/: session cookie, Bearer JWT or one-use ticket, from an allowed origin; a session cookie only
from the site's own origin (scheme, host and port) or CSRF_TRUSTED_ORIGINS."""

import asyncio
import time
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken

from accounts import services as account_services
from accounts.models import WebSocketTicket
from config.asgi import application
from realtime.consumers import CLOSE_AUTH_EXPIRED, CLOSE_UNAUTHENTICATED
from tests.realtime.sockets import (
    HOST,
    assert_closed_with,
    bearer,
    connect_as,
    join,
    request,
    session_cookie,
    signed_in_browser,
    socket,
)

pytestmark = pytest.mark.django_db(transaction=True)


async def test_an_unauthenticated_socket_is_closed_with_4401():
    communicator = socket()

    connected, _ = await communicator.connect()

    assert connected
    await assert_closed_with(communicator, CLOSE_UNAUTHENTICATED)


async def test_a_bearer_jwt_authenticates(client_user, conversation):
    communicator = await connect_as(client_user)

    reply = await join(communicator, conversation.pk)

    assert reply["data"]["conversationId"] == conversation.pk
    await communicator.disconnect()


async def test_an_invalid_bearer_jwt_is_closed_with_4401_even_with_a_session(client_user):
    session = await database_sync_to_async(_session_cookie)(client_user)
    communicator = socket((b"authorization", b"Bearer not-a-token"), session)

    await communicator.connect()

    await assert_closed_with(communicator, CLOSE_UNAUTHENTICATED)


async def test_an_expired_bearer_jwt_is_closed_with_4401(client_user):
    token = AccessToken.for_user(client_user)
    token.set_exp(from_time=timezone.now() - timedelta(hours=1), lifetime=timedelta(minutes=1))
    communicator = socket((b"authorization", f"Bearer {token}".encode()))

    await communicator.connect()

    await assert_closed_with(communicator, CLOSE_UNAUTHENTICATED)


async def test_a_socket_whose_jwt_expires_meanwhile_is_closed_with_4403_at_its_next_frame(client_user):
    token = AccessToken.for_user(client_user)
    # Long enough for a slow machine to connect before it expires; the test then waits it out.
    token.set_exp(lifetime=timedelta(seconds=3))
    communicator = socket((b"authorization", f"Bearer {token}".encode()))
    assert (await communicator.connect())[0]
    await asyncio.sleep(max(0.0, token["exp"] - time.time()) + 0.1)

    await communicator.send_json_to({"event": "leave", "data": {"conversationId": 1}})

    await assert_closed_with(communicator, CLOSE_AUTH_EXPIRED)


def _ticket_path(user) -> str:
    ticket, _ = account_services.ws_ticket_issue(user=user)
    return f"/ws/?ticket={ticket}"


async def test_a_ticket_authenticates_once(client_user, conversation):
    path = await database_sync_to_async(_ticket_path)(client_user)
    first = socket(path=path)
    assert (await first.connect())[0]
    assert (await join(first, conversation.pk))["data"]["conversationId"] == conversation.pk

    reused = socket(path=path)
    await reused.connect()

    await assert_closed_with(reused, CLOSE_UNAUTHENTICATED)
    await first.disconnect()


async def test_an_expired_ticket_is_closed_with_4401(client_user):
    path = await database_sync_to_async(_ticket_path)(client_user)
    await database_sync_to_async(WebSocketTicket.objects.update)(expires_at=timezone.now() - timedelta(seconds=1))
    communicator = socket(path=path)

    await communicator.connect()

    await assert_closed_with(communicator, CLOSE_UNAUTHENTICATED)


def _session_cookie(user) -> tuple[bytes, bytes]:
    return session_cookie(signed_in_browser(user))


async def test_a_session_cookie_authenticates(client_user, conversation):
    communicator = socket(await database_sync_to_async(_session_cookie)(client_user))
    assert (await communicator.connect())[0]

    reply = await request(communicator, "join", {"conversationId": conversation.pk})

    assert reply["event"] == "join"
    await communicator.disconnect()


async def test_a_hostile_origin_is_refused_at_the_handshake(client_user):
    communicator = socket(bearer(client_user), origin=(b"origin", b"https://evil.example"))

    connected, _ = await communicator.connect()

    assert not connected
    await communicator.disconnect()


async def test_a_handshake_without_an_origin_authenticates_with_a_token(client_user, conversation):
    """Clients outside a browser (Node, Python) send no Origin by default."""
    communicator = WebsocketCommunicator(application, "/ws/", headers=[HOST, bearer(client_user)])

    connected, _ = await communicator.connect()
    reply = await join(communicator, conversation.pk)

    assert connected
    assert reply["data"]["conversationId"] == conversation.pk
    await communicator.disconnect()


async def test_a_handshake_without_an_origin_gets_nothing_from_a_session_cookie(client_user):
    cookie = await database_sync_to_async(_session_cookie)(client_user)
    communicator = WebsocketCommunicator(application, "/ws/", headers=[HOST, cookie])

    await communicator.connect()

    await assert_closed_with(communicator, CLOSE_UNAUTHENTICATED)


def _origin(value: str) -> tuple[bytes, bytes]:
    return (b"origin", value.encode())


@pytest.mark.parametrize(
    "origin",
    ["http://localhost:9999", "https://localhost", "http://127.0.0.1"],
    ids=["other port", "other scheme", "other allowed host"],
)
async def test_a_session_socket_from_another_origin_is_closed_with_4401(client_user, origin):
    communicator = socket(await database_sync_to_async(_session_cookie)(client_user), origin=_origin(origin))

    await communicator.connect()

    await assert_closed_with(communicator, CLOSE_UNAUTHENTICATED)


async def test_a_session_socket_from_a_csrf_trusted_origin_is_accepted(client_user, conversation, settings):
    settings.CSRF_TRUSTED_ORIGINS = ["http://localhost:9999"]
    communicator = socket(
        await database_sync_to_async(_session_cookie)(client_user), origin=_origin("http://localhost:9999")
    )
    assert (await communicator.connect())[0]

    reply = await join(communicator, conversation.pk)

    assert reply["data"]["conversationId"] == conversation.pk
    await communicator.disconnect()


async def test_a_session_socket_behind_a_tls_proxy_is_accepted_from_the_https_origin(
    client_user, conversation, settings
):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    communicator = socket(
        await database_sync_to_async(_session_cookie)(client_user),
        (b"x-forwarded-proto", b"https"),
        origin=_origin("https://localhost"),
    )
    assert (await communicator.connect())[0]

    reply = await join(communicator, conversation.pk)

    assert reply["data"]["conversationId"] == conversation.pk
    await communicator.disconnect()


async def test_a_jwt_socket_from_another_port_of_an_allowed_host_is_accepted(client_user, conversation):
    communicator = socket(bearer(client_user), origin=_origin("http://localhost:9999"))
    assert (await communicator.connect())[0]

    reply = await join(communicator, conversation.pk)

    assert reply["data"]["conversationId"] == conversation.pk
    await communicator.disconnect()


async def test_a_ticket_socket_from_another_port_of_an_allowed_host_is_accepted(client_user, conversation):
    communicator = socket(
        path=await database_sync_to_async(_ticket_path)(client_user), origin=_origin("http://localhost:9999")
    )
    assert (await communicator.connect())[0]

    reply = await join(communicator, conversation.pk)

    assert reply["data"]["conversationId"] == conversation.pk
    await communicator.disconnect()

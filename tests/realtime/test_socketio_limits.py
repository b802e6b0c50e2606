"""Socket.IO sessions keep /ws/'s bounds: the bounded outbox, the JWT's expiry, deactivation."""

import asyncio
import time
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from rest_framework_simplejwt.tokens import AccessToken

from realtime.session import CLOSE_AUTH_EXPIRED
from tests.realtime import sockets
from tests.realtime.socketio_frames import (
    WEBSOCKET_PATH,
    connect_packet,
    connected_session,
    emit_packet,
    http,
    next_packet,
    open_engine,
    sio_websocket,
    token_auth,
)
from tests.realtime.test_slow_consumer import ClientReadingOnDemand, push_to_conversation, send_text

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_websocket_client_that_stops_reading_is_closed_with_4408(provider, conversation, settings):
    settings.SOCKET_SEND_QUEUE_MAX = 2
    client = ClientReadingOnDemand()
    bob = WebsocketCommunicator(client, WEBSOCKET_PATH, headers=[sockets.ALLOWED_ORIGIN, sockets.HOST])
    await open_engine(bob)
    await bob.send_to(text_data=connect_packet(token_auth(provider)))
    await next_packet(bob)
    await bob.send_to(text_data=emit_packet("join", {"conversationId": conversation.pk}, ack_id=1))
    await next_packet(bob)
    client.stop_reading()

    await push_to_conversation(conversation, settings.SOCKET_SEND_QUEUE_MAX + 2)

    await sockets.assert_closed_too_slow(bob)


async def test_a_polling_client_that_stops_polling_loses_its_session_once_the_outbox_is_full(
    provider, conversation, settings
):
    settings.SOCKET_SEND_QUEUE_MAX = 2
    path = await connected_session(provider)
    await http("POST", path, emit_packet("join", {"conversationId": conversation.pk}, ack_id=1).encode())
    await http("GET", path)

    await push_to_conversation(conversation, settings.SOCKET_SEND_QUEUE_MAX + 1)

    # The pushes reach the session while these run. A pong, unlike a GET, takes nothing from the outbox: a GET
    # landing between two pushes would drain it and keep the session alive.
    statuses = []
    for _ in range(100):
        statuses.append((await http("POST", path, b"3"))[0])
        if statuses[-1] == 400:
            break
        await asyncio.sleep(0.05)
    assert statuses[-1] == 400
    assert (await http("GET", path))[0] == 400


async def test_a_session_whose_jwt_expires_meanwhile_is_closed_with_4403_at_its_next_event(client_user):
    token = AccessToken.for_user(client_user)
    # Long enough for a slow machine to connect before it expires; the test then waits it out.
    token.set_exp(lifetime=timedelta(seconds=3))
    communicator = sio_websocket()
    await open_engine(communicator)
    await communicator.send_to(text_data=connect_packet({"token": str(token)}))
    assert (await next_packet(communicator)).startswith("40{")
    await asyncio.sleep(max(0.0, token["exp"] - time.time()) + 0.1)

    await communicator.send_to(text_data=emit_packet("leave", {"conversationId": 1}))

    await sockets.assert_closed_with(communicator, CLOSE_AUTH_EXPIRED)


def _deactivate(user) -> None:
    user.is_active = False
    user.save()


async def test_deactivating_the_user_ends_a_polling_session_with_disconnect_then_close(client_user):
    path = await connected_session(client_user)
    waiting = asyncio.create_task(http("GET", path))
    await asyncio.sleep(0.1)

    await sync_to_async(_deactivate)(client_user)

    assert await waiting == (200, "41\x1e1")
    assert (await http("GET", path))[0] == 400


async def test_pushes_waiting_behind_a_replay_for_a_client_that_stopped_polling_are_bounded(
    client_user, provider, conversation, settings
):
    settings.SOCKET_SEND_QUEUE_MAX = 2
    settings.SOCKET_STALL_SECONDS = 60  # the replay alone would wait this long
    for number in range(5):
        await send_text(client_user, conversation, f"message {number}")
    path = await connected_session(provider)
    replaying = asyncio.create_task(
        http("POST", path, emit_packet("join", {"conversationId": conversation.pk, "after": 0}, ack_id=1).encode())
    )
    await asyncio.sleep(0.2)

    await push_to_conversation(conversation, settings.SOCKET_SEND_QUEUE_MAX + 1)

    assert await replaying == (200, "ok")
    assert (await http("GET", path))[0] == 400

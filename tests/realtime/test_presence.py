"""Presence on sockets: ``presence:update`` reaches a user's conversation peers when the user's first socket
opens and, after the grace period, when their last one closes; a reload within it, or one of two sockets
closing, sends nothing; an outsider hears nothing. Both dialects (``/ws/`` and Socket.IO)."""

import pytest
from channels.db import database_sync_to_async

from tests.realtime.socketio_frames import decode_event, sio_connected_as
from tests.realtime.sockets import FRAME_TIMEOUT, connect_as

# The shared helpers read past presence frames; these tests read every frame.


async def next_frame(communicator, timeout: float = FRAME_TIMEOUT) -> dict:
    return await communicator.receive_json_from(timeout=timeout)


async def assert_no_frame(communicator, timeout: float) -> None:
    assert await communicator.receive_nothing(timeout=timeout), "expected no frame"


pytestmark = pytest.mark.django_db(transaction=True)

GRACE_SECONDS = 1


@pytest.fixture(autouse=True)
def short_grace(settings):
    settings.PRESENCE_OFFLINE_GRACE_SECONDS = GRACE_SECONDS


async def last_seen_of(user) -> str:
    await database_sync_to_async(user.refresh_from_db)()
    return user.last_seen_at.isoformat().replace("+00:00", "Z")


async def test_a_users_first_socket_tells_a_peer_they_are_online(client_user, provider, conversation):
    bob = await connect_as(provider)

    alice = await connect_as(client_user)

    frame = await next_frame(bob)
    assert frame == {
        "event": "presence:update",
        "data": {"userId": client_user.pk, "online": True, "lastSeenAt": await last_seen_of(client_user)},
    }
    await alice.disconnect()
    await bob.disconnect()


async def test_the_last_socket_closing_tells_a_peer_offline_once_the_grace_period_is_over(
    client_user, provider, conversation
):
    bob = await connect_as(provider)
    alice = await connect_as(client_user)
    await next_frame(bob)  # alice online

    await alice.disconnect()

    await assert_no_frame(bob, timeout=GRACE_SECONDS / 2)
    frame = await next_frame(bob, timeout=GRACE_SECONDS + FRAME_TIMEOUT)
    assert frame["event"] == "presence:update"
    assert frame["data"]["userId"] == client_user.pk
    assert frame["data"]["online"] is False
    await bob.disconnect()


async def test_a_reload_within_the_grace_period_sends_nothing(client_user, provider, conversation):
    bob = await connect_as(provider)
    alice = await connect_as(client_user)
    await next_frame(bob)  # alice online

    await alice.disconnect()
    reloaded = await connect_as(client_user)

    await assert_no_frame(bob, timeout=GRACE_SECONDS + 1)
    await reloaded.disconnect()
    await bob.disconnect()


async def test_closing_one_of_two_sockets_keeps_the_user_online(client_user, provider, conversation):
    bob = await connect_as(provider)
    first_tab = await connect_as(client_user)
    second_tab = await connect_as(client_user)
    await next_frame(bob)  # alice online, once

    await first_tab.disconnect()

    await assert_no_frame(bob, timeout=GRACE_SECONDS + 1)
    await second_tab.disconnect()
    await bob.disconnect()


async def test_an_outsider_never_hears_a_users_presence(client_user, outsider, conversation):
    charlie = await connect_as(outsider)

    alice = await connect_as(client_user)
    await alice.disconnect()

    await assert_no_frame(charlie, timeout=GRACE_SECONDS + 1)
    await charlie.disconnect()


async def test_a_socketio_peer_hears_a_ws_user_come_online(client_user, provider, conversation):
    bob = await sio_connected_as(provider)

    alice = await connect_as(client_user)

    assert decode_event(await bob.receive_from(timeout=FRAME_TIMEOUT)) == (
        "presence:update",
        {"userId": client_user.pk, "online": True, "lastSeenAt": await last_seen_of(client_user)},
    )
    await alice.disconnect()
    await bob.disconnect()


async def test_a_ws_peer_hears_a_socketio_user_go_offline(client_user, provider, conversation):
    bob = await connect_as(provider)
    alice = await sio_connected_as(client_user)
    assert (await next_frame(bob))["data"]["online"] is True

    await alice.send_to(text_data="41")  # Socket.IO DISCONNECT, then the transport closes
    await alice.disconnect()

    frame = await next_frame(bob, timeout=GRACE_SECONDS + FRAME_TIMEOUT)
    assert (frame["event"], frame["data"]["userId"], frame["data"]["online"]) == (
        "presence:update",
        client_user.pk,
        False,
    )
    await bob.disconnect()

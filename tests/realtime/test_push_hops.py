"""A push reaches a socket, on either WebSocket transport, with no hop to a thread: Channels' dispatch hops
before every message to close stale database connections, which a session never leaves behind
(realtime.session.PushesOnTheLoop)."""

import pytest
from channels.layers import get_channel_layer

from realtime.events import user_group
from realtime.publish import group_message
from tests.realtime.socketio_frames import decode_event, emit_packet, next_packet, sio_connected_as
from tests.realtime.sockets import connect_as, next_frame, request

pytestmark = pytest.mark.django_db(transaction=True)


# A socket handles one message at a time: the answer to a frame sent after the connect means the connect's own
# work (the presence announcement, which reads the database) is over.
UNKNOWN_EVENT = "no-such-event"


async def _push(user) -> None:
    await get_channel_layer().group_send(user_group(user.pk), group_message("conversation:new", {"id": 7}))


async def test_a_push_reaches_a_ws_socket_without_a_thread_hop(client_user, hops):
    communicator = await connect_as(client_user)
    assert (await request(communicator, UNKNOWN_EVENT, {}))["event"] == "error"
    hops.clear()

    await _push(client_user)

    assert await next_frame(communicator) == {"event": "conversation:new", "data": {"id": 7}}
    assert hops == []
    await communicator.disconnect()


async def test_a_push_reaches_a_socketio_websocket_without_a_thread_hop(client_user, hops):
    communicator = await sio_connected_as(client_user)
    await communicator.send_to(text_data=emit_packet(UNKNOWN_EVENT, {}))
    assert decode_event(await next_packet(communicator))[0] == "error"
    hops.clear()

    await _push(client_user)

    assert decode_event(await next_packet(communicator)) == ("conversation:new", {"id": 7})
    assert hops == []
    await communicator.disconnect()

"""Socket.IO over HTTP long-polling (socket.io-client's default start) and its upgrade to a WebSocket, in raw frames."""

import asyncio
import json
import logging

import pytest
from channels.layers import get_channel_layer
from channels.testing import HttpCommunicator
from uvicorn.logging import AccessFormatter

from config.asgi import application
from config.log_redaction import redact
from realtime.events import user_group
from realtime.publish import group_message
from tests.realtime.socketio_frames import (
    POLLING_PATH,
    WEBSOCKET_PATH,
    close,
    connect_packet,
    connected_session,
    decode_ack,
    decode_event,
    emit_packet,
    handshake,
    http,
    next_packet,
    post,
    session_cookie_async,
    sio_websocket,
)
from tests.realtime.sockets import ALLOWED_ORIGIN, HOST, assert_no_frame

pytestmark = pytest.mark.django_db(transaction=True)

RS = "\x1e"


async def test_the_handshake_offers_the_websocket_upgrade():
    path, opened = await handshake()

    assert set(opened) == {"sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload"}
    assert opened["upgrades"] == ["websocket"]
    await close(path)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/socket.io/?transport=polling"),
        ("GET", "/socket.io/?EIO=3&transport=polling"),
        ("GET", "/socket.io/?EIO=4"),
        ("GET", "/socket.io/?EIO=4&transport=carrier-pigeon"),
        ("POST", POLLING_PATH),
        ("PUT", POLLING_PATH),
        ("GET", POLLING_PATH + "&sid=no-such-session"),
    ],
)
async def test_a_request_outside_the_protocol_gets_400(method, path):
    status, body = await http(method, path)

    assert status == 400 and set(json.loads(body)) == {"code", "message"}


async def test_a_request_from_a_foreign_origin_gets_403():
    status, _ = await http("GET", POLLING_PATH, b"", (b"origin", b"http://evil.example"))

    assert status == 403


async def test_an_event_posted_with_an_ack_id_gets_its_ack_on_the_next_get(client_user, conversation):
    path = await connected_session(client_user)

    assert await post(path, emit_packet("join", {"conversationId": conversation.pk}, ack_id=1)) == (200, "ok")

    status, body = await http("GET", path)
    assert decode_ack(body, 1) == [{"conversationId": conversation.pk, "replayed": 0}]
    await close(path)


async def test_connect_posted_with_the_session_cookie_is_accepted(client_user):
    path, _ = await handshake()

    assert await post(path, connect_packet(), await session_cookie_async(client_user), ALLOWED_ORIGIN) == (200, "ok")

    assert (await http("GET", path))[1].startswith("40{")
    await close(path)


async def test_the_handshakes_session_cookie_does_not_authenticate_a_connect_posted_without_it(client_user):
    """The credential is the one of the request carrying the CONNECT, checked with that request's Origin."""
    status, body = await http("GET", POLLING_PATH, b"", await session_cookie_async(client_user))
    path = f"{POLLING_PATH}&sid={json.loads(body[1:])['sid']}"

    await post(path, connect_packet(), ALLOWED_ORIGIN)

    assert await http("GET", path) == (200, '44{"message":"unauthenticated","data":{"code":"credential_missing"}}')
    await close(path)


async def test_connect_without_a_credential_over_polling_gets_connect_error():
    path, _ = await handshake()

    await post(path, connect_packet())

    assert await http("GET", path) == (200, '44{"message":"unauthenticated","data":{"code":"credential_missing"}}')
    await close(path)


async def test_a_waiting_get_returns_with_a_pushed_event(client_user):
    path = await connected_session(client_user)
    waiting = asyncio.create_task(http("GET", path))
    await asyncio.sleep(0.1)

    await get_channel_layer().group_send(user_group(client_user.pk), group_message("conversation:new", {"id": 7}))

    status, body = await waiting
    assert decode_event(body) == ("conversation:new", {"id": 7})
    await close(path)


async def test_several_packets_come_in_one_get_separated_by_the_record_separator(client_user, conversation):
    path = await connected_session(client_user)

    await post(path, RS.join([emit_packet("leave", {"conversationId": conversation.pk}, ack_id=n) for n in (1, 2)]))

    status, body = await http("GET", path)
    assert [decode_ack(packet, n) for n, packet in zip((1, 2), body.split(RS), strict=True)] == [
        [{"conversationId": conversation.pk}]
    ] * 2
    await close(path)


async def test_the_server_pings_through_get_and_takes_the_pong_by_post(settings):
    settings.SOCKETIO_PING_INTERVAL_SECONDS = 0.2
    path, _ = await handshake()

    for _ in range(3):
        assert await http("GET", path) == (200, "2")
        assert await post(path, "3") == (200, "ok")

    await close(path)


async def test_a_session_whose_client_stops_answering_expires(settings):
    settings.SOCKETIO_PING_INTERVAL_SECONDS, settings.SOCKETIO_PING_TIMEOUT_SECONDS = 0.2, 0.2
    path, _ = await handshake()
    assert await http("GET", path) == (200, "2")

    statuses = [(await http("GET", path))[0] for _ in range(5)]

    assert 400 in statuses


async def test_a_second_get_while_one_waits_gets_400_and_ends_the_session():
    path, _ = await handshake()
    first = asyncio.create_task(http("GET", path))
    await asyncio.sleep(0.1)

    second = await http("GET", path)

    assert second[0] == 400
    assert await first == (200, "1")
    assert (await http("GET", path))[0] == 400


async def test_a_close_packet_ends_the_waiting_get_with_a_noop_and_the_session():
    path, _ = await handshake()
    waiting = asyncio.create_task(http("GET", path))
    await asyncio.sleep(0.1)

    assert await post(path, "1") == (200, "ok")

    assert await waiting == (200, "6")
    assert (await http("GET", path))[0] == 400


async def test_an_invalid_payload_gets_400_and_ends_the_session():
    path, _ = await handshake()

    assert (await post(path, "abc"))[0] == 400

    assert (await http("GET", path))[0] == 400


async def test_a_payload_over_max_payload_gets_413_and_ends_the_session(client_user, settings):
    path = await connected_session(client_user)

    status, _ = await post(path, emit_packet("join", {"pad": "x" * settings.WS_MAX_FRAME_BYTES}))

    assert status == 413
    assert (await http("GET", path))[0] == 400


async def upgrade(path: str, sid: str):
    """Probe and upgrade a polling session to a WebSocket; returns the WebSocket and what the waiting GET got."""
    waiting = asyncio.create_task(http("GET", path))
    await asyncio.sleep(0.1)
    websocket = sio_websocket(path=f"{WEBSOCKET_PATH}&sid={sid}")
    assert (await websocket.connect())[0]
    await websocket.send_to(text_data="2probe")
    assert await next_packet(websocket) == "3probe"
    noop = await waiting
    await websocket.send_to(text_data="5")
    return websocket, noop


async def test_the_upgrade_ends_the_waiting_get_with_a_noop_and_moves_the_session(client_user, conversation):
    path = await connected_session(client_user)
    sid = path.rsplit("=", 1)[1]

    websocket, noop = await upgrade(path, sid)
    await websocket.send_to(text_data=emit_packet("join", {"conversationId": conversation.pk}, ack_id=3))

    assert noop == (200, "6")
    assert decode_ack(await next_packet(websocket), 3)[0]["conversationId"] == conversation.pk
    assert (await http("GET", path))[0] == 400
    await websocket.disconnect()


async def test_packets_queued_during_the_probe_arrive_once_on_the_websocket(client_user):
    path = await connected_session(client_user)
    sid = path.rsplit("=", 1)[1]
    waiting = asyncio.create_task(http("GET", path))
    await asyncio.sleep(0.1)
    websocket = sio_websocket(path=f"{WEBSOCKET_PATH}&sid={sid}")
    await websocket.connect()
    await websocket.send_to(text_data="2probe")
    assert await next_packet(websocket) == "3probe"
    assert await waiting == (200, "6")
    for n in range(3):
        await get_channel_layer().group_send(user_group(client_user.pk), group_message("conversation:new", {"id": n}))
    assert await http("GET", path) == (200, "6")  # the client is pausing: packets wait for the upgrade

    await websocket.send_to(text_data="5")

    assert [decode_event(await next_packet(websocket))[1]["id"] for _ in range(3)] == [0, 1, 2]
    await assert_no_frame(websocket)
    await websocket.disconnect()


async def test_a_second_websocket_for_an_upgrading_session_is_closed(client_user):
    path = await connected_session(client_user)
    sid = path.rsplit("=", 1)[1]
    websocket, _ = await upgrade(path, sid)

    second = sio_websocket(path=f"{WEBSOCKET_PATH}&sid={sid}")
    await second.connect()

    assert (await second.receive_output(timeout=3))["type"] == "websocket.close"
    await second.disconnect()
    await websocket.disconnect()


async def test_a_websocket_for_an_unknown_session_is_refused():
    websocket = sio_websocket(path=f"{WEBSOCKET_PATH}&sid=no-such-session")

    connected, _ = await websocket.connect()

    assert not connected


async def test_a_page_on_another_allowed_host_gets_cors_headers_for_its_origin():
    communicator = HttpCommunicator(application, "GET", POLLING_PATH, headers=[HOST, ALLOWED_ORIGIN])

    response = await communicator.get_response(timeout=3)

    headers = dict(response["headers"])
    assert headers[b"access-control-allow-origin"] == ALLOWED_ORIGIN[1]
    assert headers[b"access-control-allow-credentials"] == b"true"
    await close(f"{POLLING_PATH}&sid={json.loads(response['body'][1:])['sid']}")


async def test_a_cors_preflight_from_an_allowed_host_is_answered():
    communicator = HttpCommunicator(application, "OPTIONS", POLLING_PATH, headers=[HOST, ALLOWED_ORIGIN])

    response = await communicator.get_response(timeout=3)

    assert response["status"] == 204
    assert b"POST" in dict(response["headers"])[b"access-control-allow-methods"]


async def test_a_post_after_the_upgrade_gets_400_and_the_session_goes_on(client_user, conversation):
    path = await connected_session(client_user)
    websocket, _ = await upgrade(path, path.rsplit("=", 1)[1])
    # The owner handles the WebSocket's packets in order: once one sent after "5" is answered, the upgrade is
    # done (a POST racing the "5" could reach the owner first).
    await websocket.send_to(text_data=emit_packet("leave", {"conversationId": conversation.pk}, ack_id=1))
    assert decode_ack(await next_packet(websocket), 1) == [{"conversationId": conversation.pk}]

    assert (await post(path, emit_packet("leave", {"conversationId": conversation.pk})))[0] == 400

    await websocket.send_to(text_data=emit_packet("leave", {"conversationId": conversation.pk}, ack_id=2))
    assert decode_ack(await next_packet(websocket), 2) == [{"conversationId": conversation.pk}]
    await websocket.disconnect()


def test_a_sessions_sid_is_kept_out_of_log_lines():
    line = '127.0.0.1:5 - "GET /socket.io/?EIO=4&transport=polling&sid=GiwAI84UC6D_yg7_pFGn HTTP/1.1" 200'

    assert "GiwAI84UC6D_yg7_pFGn" not in redact(line)


def test_uvicorns_access_log_still_formats_a_polling_request_with_its_sid_redacted():
    record = logging.getLogger("uvicorn.access").makeRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "GET", "/socket.io/?EIO=4&transport=polling&sid=GiwAI84UC6D_yg7_pFGn", "1.1", 200),
        None,
    )

    line = AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s').format(record)

    assert line == '127.0.0.1:5 - "GET /socket.io/?EIO=4&transport=polling&sid=[redacted] HTTP/1.1" 200 OK'

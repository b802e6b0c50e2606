"""Socket.IO over a WebSocket only (``io(url, {transports: ['websocket']})``), in raw Engine.IO/Socket.IO frames."""

import json
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken

from accounts import services as account_services
from realtime.events import user_group
from realtime.publish import group_message
from realtime.session import CLOSE_UNAUTHENTICATED
from realtime.socketio.session import CLOSE_PROTOCOL_ERROR, CLOSE_TOO_LARGE
from tests.messaging.conftest import send  # noqa: F401  (fixture)
from tests.realtime.socketio_frames import (
    connect_packet,
    decode_ack,
    decode_event,
    emit_packet,
    next_packet,
    open_engine,
    session_cookie_async,
    sio_connected_as,
    sio_websocket,
    token_auth,
)
from tests.realtime.sockets import assert_closed_with, assert_no_frame

pytestmark = pytest.mark.django_db(transaction=True)


async def test_the_handshake_announces_the_session_and_its_limits():
    communicator = sio_websocket()

    handshake = await open_engine(communicator)

    assert set(handshake) == {"sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload"}
    assert handshake["upgrades"] == []
    assert handshake["maxPayload"] == settings.WS_MAX_FRAME_BYTES
    assert handshake["pingInterval"] == settings.SOCKETIO_PING_INTERVAL_SECONDS * 1000
    await communicator.disconnect()


async def test_a_websocket_without_engine_io_4_is_refused():
    communicator = sio_websocket(path="/socket.io/?EIO=3&transport=websocket")

    connected, _ = await communicator.connect()

    assert not connected


async def test_connect_with_a_jwt_in_auth_is_accepted_and_receives_the_users_pushes(client_user):
    communicator = await sio_connected_as(client_user)

    await get_channel_layer().group_send(user_group(client_user.pk), group_message("conversation:new", {"id": 7}))

    assert decode_event(await next_packet(communicator)) == ("conversation:new", {"id": 7})
    await communicator.disconnect()


async def test_connect_with_a_ticket_in_auth_is_accepted(client_user):
    ticket, _ = await database_sync_to_async(account_services.ws_ticket_issue)(user=client_user)
    communicator = sio_websocket()
    await open_engine(communicator)

    await communicator.send_to(text_data=connect_packet({"ticket": ticket}))

    reply = await next_packet(communicator)
    assert reply.startswith("40{") and set(json.loads(reply[2:])) == {"sid"}
    await communicator.disconnect()


async def test_connect_with_the_session_cookie_is_accepted(client_user):
    communicator = sio_websocket(await session_cookie_async(client_user))
    await open_engine(communicator)

    await communicator.send_to(text_data=connect_packet())

    assert (await next_packet(communicator)).startswith("40{")
    await communicator.disconnect()


@pytest.mark.parametrize(
    ("auth", "code"),
    [
        (None, "credential_missing"),
        ({"token": "not-a-token"}, "token_invalid"),
        ({"ticket": "no-such-ticket"}, "ticket_invalid"),
        ({"token": 12}, "token_invalid"),
    ],
)
async def test_connect_without_a_valid_credential_gets_connect_error_unauthenticated(auth, code):
    communicator = sio_websocket()
    await open_engine(communicator)

    await communicator.send_to(text_data=connect_packet(auth))

    assert await next_packet(communicator) == f'44{{"message":"unauthenticated","data":{{"code":"{code}"}}}}'
    await communicator.disconnect()


async def test_connect_with_an_expired_jwt_is_refused(client_user):
    token = AccessToken.for_user(client_user)
    token.set_exp(from_time=timezone.now() - timedelta(hours=1), lifetime=timedelta(minutes=1))
    communicator = sio_websocket()
    await open_engine(communicator)

    await communicator.send_to(text_data=connect_packet({"token": str(token)}))

    assert await next_packet(communicator) == '44{"message":"unauthenticated","data":{"code":"token_invalid"}}'
    await communicator.disconnect()


async def test_connect_to_another_namespace_gets_invalid_namespace(client_user):
    communicator = sio_websocket()
    await open_engine(communicator)

    await communicator.send_to(text_data="40/admin," + json.dumps(token_auth(client_user)))

    assert await next_packet(communicator) == '44/admin,{"message":"Invalid namespace"}'
    await communicator.disconnect()


async def test_an_event_before_connect_closes_the_connection(conversation):
    communicator = sio_websocket()
    await open_engine(communicator)

    await communicator.send_to(text_data=emit_packet("join", {"conversationId": conversation.pk}))

    await assert_closed_with(communicator, CLOSE_PROTOCOL_ERROR)


async def test_an_event_with_an_ack_id_gets_the_handlers_reply_as_its_ack(client_user, conversation):
    communicator = await sio_connected_as(client_user)

    await communicator.send_to(text_data=emit_packet("join", {"conversationId": conversation.pk}, ack_id=5))

    assert decode_ack(await next_packet(communicator), 5) == [{"conversationId": conversation.pk, "replayed": 0}]
    await communicator.disconnect()


async def test_join_with_after_replays_messages_as_events_before_the_ack(client_user, provider, conversation, send):
    sent = await sync_to_async(send)(provider, conversation, "while you were away")
    communicator = await sio_connected_as(client_user)

    await communicator.send_to(text_data=emit_packet("join", {"conversationId": conversation.pk, "after": 0}, ack_id=1))

    name, message = decode_event(await next_packet(communicator))
    assert (name, message["id"], message["content"]) == ("message:new", sent.pk, "while you were away")
    assert decode_ack(await next_packet(communicator), 1) == [{"conversationId": conversation.pk, "replayed": 1}]
    await communicator.disconnect()


async def test_an_event_without_an_ack_id_gets_its_reply_as_an_event_of_its_name(client_user, conversation):
    communicator = await sio_connected_as(client_user)

    await communicator.send_to(text_data=emit_packet("join", {"conversationId": conversation.pk}))

    assert decode_event(await next_packet(communicator)) == ("join", {"conversationId": conversation.pk, "replayed": 0})
    await communicator.disconnect()


async def test_a_refused_event_with_an_ack_id_gets_the_error_as_its_ack(outsider, conversation):
    communicator = await sio_connected_as(outsider)

    await communicator.send_to(text_data=emit_packet("join", {"conversationId": conversation.pk}, ack_id=3))

    [reply] = decode_ack(await next_packet(communicator), 3)
    assert reply["error"]["code"] == "not_found"
    await communicator.disconnect()


async def test_a_refused_event_without_an_ack_id_gets_an_error_event(outsider, conversation):
    communicator = await sio_connected_as(outsider)

    await communicator.send_to(text_data=emit_packet("join", {"conversationId": conversation.pk}))

    name, error = decode_event(await next_packet(communicator))
    assert (name, error["code"]) == ("error", "not_found")
    await communicator.disconnect()


async def test_a_rate_limited_event_gets_retry_after_in_its_ack(client_user, settings):
    settings.SOCKET_RATES = {**settings.SOCKET_RATES, "default": "1/10s"}
    communicator = await sio_connected_as(client_user)
    await communicator.send_to(text_data=emit_packet("leave", {"conversationId": 1}, ack_id=1))
    await next_packet(communicator)

    await communicator.send_to(text_data=emit_packet("leave", {"conversationId": 1}, ack_id=2))

    [reply] = decode_ack(await next_packet(communicator), 2)
    assert reply["error"]["code"] == "rate_limited" and reply["error"]["retryAfter"] >= 1
    await communicator.disconnect()


async def test_typing_is_acked_empty_and_reaches_the_other_member(client_user, provider, conversation):
    alice, bob = await sio_connected_as(client_user), await sio_connected_as(provider)
    for communicator in (alice, bob):
        await communicator.send_to(text_data=emit_packet("join", {"conversationId": conversation.pk}, ack_id=1))
        await next_packet(communicator)

    await alice.send_to(
        text_data=emit_packet("conversation:typing", {"conversationId": conversation.pk, "isTyping": True}, ack_id=2)
    )

    assert decode_ack(await next_packet(alice), 2) == []
    name, typing = decode_event(await next_packet(bob))
    assert (name, typing["userId"], typing["isTyping"]) == ("conversation:typing", client_user.pk, True)
    await alice.disconnect()
    await bob.disconnect()


async def test_an_unknown_event_gets_unknown_event(client_user):
    communicator = await sio_connected_as(client_user)

    await communicator.send_to(text_data=emit_packet("teleport", {}, ack_id=9))

    [reply] = decode_ack(await next_packet(communicator), 9)
    assert reply["error"]["code"] == "unknown_event"
    await communicator.disconnect()


async def test_a_binary_event_gets_binary_unsupported_and_the_session_stays_open(client_user, conversation):
    communicator = await sio_connected_as(client_user)

    await communicator.send_to(text_data='451-4["join",{"_placeholder":true,"num":0}]')
    await communicator.send_to(bytes_data=b"\x01\x02")
    [reply] = decode_ack(await next_packet(communicator), 4)
    await communicator.send_to(text_data=emit_packet("join", {"conversationId": conversation.pk}, ack_id=5))

    assert reply["error"]["code"] == "binary_unsupported"
    assert decode_ack(await next_packet(communicator), 5)[0]["conversationId"] == conversation.pk
    await communicator.disconnect()


async def test_a_packet_over_max_payload_gets_an_error_and_closes(client_user):
    communicator = await sio_connected_as(client_user)

    await communicator.send_to(text_data=emit_packet("join", {"pad": "x" * settings.WS_MAX_FRAME_BYTES}))

    name, error = decode_event(await next_packet(communicator))
    assert (name, error["code"]) == ("error", "frame_too_large")
    await assert_closed_with(communicator, CLOSE_TOO_LARGE)


@pytest.mark.parametrize("packet", ["4abc", '42{"not":"an array"}', '42abc["join",{}]', "9"])
async def test_an_invalid_packet_closes_the_connection(client_user, packet):
    communicator = await sio_connected_as(client_user)

    await communicator.send_to(text_data=packet)

    await assert_closed_with(communicator, CLOSE_PROTOCOL_ERROR)


async def test_the_server_pings_and_a_client_that_answers_stays_connected(client_user, settings):
    settings.SOCKETIO_PING_INTERVAL_SECONDS = 0.2
    communicator = await sio_connected_as(client_user)

    for _ in range(3):
        assert await next_packet(communicator) == "2"
        await communicator.send_to(text_data="3")

    await communicator.disconnect()


async def test_a_client_that_does_not_answer_the_ping_is_closed(client_user, settings):
    settings.SOCKETIO_PING_INTERVAL_SECONDS, settings.SOCKETIO_PING_TIMEOUT_SECONDS = 0.2, 0.2
    communicator = await sio_connected_as(client_user)

    assert await next_packet(communicator) == "2"

    await assert_closed_with(communicator, 1000)


async def test_a_session_that_never_connects_to_a_namespace_is_closed(settings):
    settings.SOCKETIO_PING_INTERVAL_SECONDS, settings.SOCKETIO_CONNECT_TIMEOUT_SECONDS = 0.2, 0.3
    communicator = sio_websocket()
    await open_engine(communicator)

    assert await next_packet(communicator) == "2"
    await communicator.send_to(text_data="3")

    await assert_closed_with(communicator, 1000)


async def test_a_disconnect_packet_leaves_the_groups(client_user, conversation):
    communicator = await sio_connected_as(client_user)
    await communicator.send_to(text_data=emit_packet("join", {"conversationId": conversation.pk}, ack_id=1))
    await next_packet(communicator)

    await communicator.send_to(text_data="41")
    await communicator.send_to(text_data="40/admin,")  # answered in order: the DISCONNECT is done
    assert (await next_packet(communicator)).startswith("44/admin,")
    await get_channel_layer().group_send(user_group(client_user.pk), group_message("conversation:new", {"id": 7}))

    await assert_no_frame(communicator)
    await communicator.disconnect()


def _deactivate(user) -> None:
    user.is_active = False
    user.save()


async def test_deactivating_the_user_sends_disconnect_and_closes_with_4401(client_user):
    communicator = await sio_connected_as(client_user)

    await sync_to_async(_deactivate)(client_user)

    assert await next_packet(communicator) == "41"
    await assert_closed_with(communicator, CLOSE_UNAUTHENTICATED)

"""Frames on /ws/: bad input answers an ``error`` event and the socket stays open; ``ref`` is echoed."""

import pytest
from django.conf import settings

from messaging.models import Message
from tests.realtime.sockets import connect_as, join, next_frame, request

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
async def alice_socket(client_user, conversation):
    communicator = await connect_as(client_user)
    yield communicator
    await communicator.disconnect()


async def _still_works(communicator, conversation) -> None:
    assert (await join(communicator, conversation.pk))["data"]["conversationId"] == conversation.pk


async def test_a_reply_echoes_the_ref(alice_socket, conversation):
    reply = await request(alice_socket, "join", {"conversationId": conversation.pk}, ref="abc-1")

    assert reply == {"event": "join", "data": {"conversationId": conversation.pk, "replayed": 0}, "ref": "abc-1"}


async def test_an_error_echoes_the_ref_on_the_frame_and_in_its_data(alice_socket):
    reply = await request(alice_socket, "no-such-event", {}, ref=7)

    assert reply["event"] == "error"
    assert reply["ref"] == 7
    assert reply["data"]["ref"] == 7
    assert reply["data"]["code"] == "unknown_event"


async def test_text_that_is_not_json_is_an_error_and_the_socket_stays_open(alice_socket, conversation):
    await alice_socket.send_to(text_data="{not json")

    reply = await next_frame(alice_socket)

    assert reply["event"] == "error"
    assert reply["data"]["code"] == "bad_json"
    await _still_works(alice_socket, conversation)


@pytest.mark.parametrize("frame", ['["join"]', '{"data": {}}', '{"event": "join", "data": [1]}'])
async def test_json_that_is_not_a_frame_is_an_error(alice_socket, conversation, frame):
    await alice_socket.send_to(text_data=frame)

    reply = await next_frame(alice_socket)

    assert reply["event"] == "error"
    assert reply["data"]["code"] == "bad_frame"
    await _still_works(alice_socket, conversation)


async def test_an_unknown_event_is_an_error_and_the_socket_stays_open(alice_socket, conversation):
    reply = await request(alice_socket, "message:delete", {"messageId": 1})

    assert reply["data"]["code"] == "unknown_event"
    await _still_works(alice_socket, conversation)


@pytest.mark.parametrize(
    ("event", "data", "field"),
    [
        ("join", {}, "conversationId"),
        ("join", {"conversationId": "1"}, "conversationId"),
        ("leave", {}, "conversationId"),
        ("conversation:typing", {"conversationId": 1, "isTyping": "yes"}, "isTyping"),
        ("message:read", {"conversationId": 1}, "messageId"),
        ("message:read", {"conversationId": 1, "messageId": True}, "messageId"),
    ],
)
async def test_a_missing_or_malformed_field_is_an_invalid_error_naming_it(
    alice_socket, conversation, event, data, field
):
    reply = await request(alice_socket, event, data)

    assert reply["event"] == "error"
    assert reply["data"]["code"] == "invalid"
    assert field in reply["data"]["fields"]
    await _still_works(alice_socket, conversation)


async def test_a_frame_over_the_size_limit_is_an_error_and_nothing_is_written(alice_socket, conversation):
    oversize = "x" * (settings.WS_MAX_FRAME_BYTES + 1)

    await alice_socket.send_json_to({"event": "join", "data": {"conversationId": conversation.pk, "pad": oversize}})
    reply = await next_frame(alice_socket)

    assert reply["event"] == "error"
    assert reply["data"]["code"] == "frame_too_large"
    await _still_works(alice_socket, conversation)


async def test_the_size_limit_counts_bytes_not_characters(alice_socket, conversation):
    multibyte = "é" * (settings.WS_MAX_FRAME_BYTES // 2)

    await alice_socket.send_json_to({"event": "join", "data": {"conversationId": conversation.pk, "pad": multibyte}})

    assert (await next_frame(alice_socket))["data"]["code"] == "frame_too_large"


async def test_bad_frames_write_nothing(alice_socket, conversation):
    await alice_socket.send_to(text_data='{"event": "message:new", "data": {"content": "sneaky"}}')
    await next_frame(alice_socket)

    assert not await Message.objects.aexists()

"""The channel layer unreachable: a POST is saved (201), logged, and recovered by catch-up; a typing frame
is logged and counted like any failed publish, and its sender gets no error."""

import logging
import socket as sockets

import pytest
from asgiref.sync import sync_to_async
from django.test import override_settings

from messaging.models import Message
from realtime.publish import publish_counters
from tests.realtime.sockets import assert_no_frame, connect_as, join, next_frame, request

pytestmark = pytest.mark.django_db(transaction=True)


def _closed_port() -> int:
    """A local port nothing listens on: bound, read, and released."""
    with sockets.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _unreachable_redis_layer() -> dict:
    return {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [f"redis://127.0.0.1:{_closed_port()}/0"]},
        }
    }


async def test_a_post_while_the_channel_layer_is_down_is_saved_logged_and_recovered_by_catch_up(
    api, client_user, provider, conversation, post_text, caplog
):
    bob = await connect_as(provider)
    await join(bob, conversation.pk)
    await post_text(client_user, conversation, "before the outage")
    last_seen = (await next_frame(bob))["data"]["id"]

    # Channels drops its cached layers when CHANNEL_LAYERS changes, so the publish meets the dead one.
    with override_settings(CHANNEL_LAYERS=_unreachable_redis_layer()), caplog.at_level(logging.WARNING):
        response = await sync_to_async(api.as_user(client_user).post)(
            "/api/messages", {"conversationId": conversation.pk, "content": "during the outage"}, format="json"
        )

    assert response.status_code == 201
    during = response.data
    assert await Message.objects.filter(pk=during["id"], content="during the outage").aexists()
    assert any(
        record.name == "realtime.publish" and record.levelno == logging.WARNING and "message:new" in record.message
        for record in caplog.records
    )
    await assert_no_frame(bob)
    await bob.disconnect()

    bob = await connect_as(provider)
    await bob.send_json_to({"event": "join", "data": {"conversationId": conversation.pk, "after": last_seen}})

    assert await next_frame(bob) == {"event": "message:new", "data": during}
    assert (await next_frame(bob))["data"]["replayed"] == 1
    await bob.disconnect()


async def test_a_typing_frame_while_the_channel_layer_is_down_is_logged_and_counted_not_an_error(
    client_user, conversation, caplog
):
    alice = await connect_as(client_user)
    await join(alice, conversation.pk)
    failed_before = publish_counters.snapshot()["failed"]

    # The socket keeps the layer it connected with; the publish helper meets the dead one.
    with override_settings(CHANNEL_LAYERS=_unreachable_redis_layer()), caplog.at_level(logging.WARNING):
        await alice.send_json_to(
            {"event": "conversation:typing", "data": {"conversationId": conversation.pk, "isTyping": True}}
        )
        # Frames are served in order: the next reply is the leave's only if the typing frame got no error.
        reply = await request(alice, "leave", {"conversationId": conversation.pk})

    assert reply["event"] == "leave"

    assert publish_counters.snapshot()["failed"] == failed_before + 1
    assert any(
        record.name == "realtime.publish" and "conversation:typing" in record.message for record in caplog.records
    )
    await alice.disconnect()

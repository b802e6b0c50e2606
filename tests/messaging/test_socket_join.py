"""``join`` (with catch-up by ``after``), ``leave``, and ``message:new`` after a POST."""

import pytest
from channels.db import database_sync_to_async

from messaging import socket_handlers
from tests.conftest import make_project
from tests.realtime.sockets import assert_no_frame, connect_as, join, next_frame, request

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_joined_member_receives_message_new_after_a_post(client_user, provider, conversation, post_text):
    bob = await connect_as(provider)
    await join(bob, conversation.pk)

    sent = await post_text(client_user, conversation, "Hello Bob")

    assert await next_frame(bob) == {"event": "message:new", "data": sent}
    await bob.disconnect()


async def test_a_member_who_has_not_joined_receives_no_message_new(client_user, provider, conversation, post_text):
    bob = await connect_as(provider)

    await post_text(client_user, conversation, "anyone there?")

    await assert_no_frame(bob)
    await bob.disconnect()


async def test_joining_a_foreign_conversation_is_an_error_and_the_socket_keeps_working(
    client_user, outsider, conversation, post_text
):
    charlie = await connect_as(outsider)

    foreign = await request(charlie, "join", {"conversationId": conversation.pk}, ref="j1")
    missing = await request(charlie, "join", {"conversationId": conversation.pk + 1000}, ref="j2")

    assert foreign == {
        "event": "error",
        "data": {
            "code": "not_found",
            "detail": "No such conversation.",
            "fields": {"conversationId": ["No such conversation."]},
            "ref": "j1",
        },
        "ref": "j1",
    }
    assert missing["data"]["detail"] == foreign["data"]["detail"]
    await post_text(client_user, conversation, "private")
    await assert_no_frame(charlie)
    assert (await request(charlie, "leave", {"conversationId": conversation.pk}))["event"] == "leave"
    await charlie.disconnect()


async def test_leave_stops_delivery(client_user, provider, conversation, post_text):
    bob = await connect_as(provider)
    await join(bob, conversation.pk)

    reply = await request(bob, "leave", {"conversationId": conversation.pk})
    await post_text(client_user, conversation, "gone?")

    assert reply["data"] == {"conversationId": conversation.pk}
    await assert_no_frame(bob)
    await bob.disconnect()


async def test_rejoining_with_after_replays_exactly_the_missed_messages_in_order(
    client_user, provider, conversation, post_text
):
    bob = await connect_as(provider)
    await join(bob, conversation.pk)
    await post_text(client_user, conversation, "seen live")
    last_seen = (await next_frame(bob))["data"]["id"]
    await bob.disconnect()
    missed = [await post_text(client_user, conversation, f"missed {n}") for n in range(3)]
    other = await database_sync_to_async(make_project)(client_user, provider, title="Other")
    await post_text(client_user, other.conversation, "elsewhere")

    bob = await connect_as(provider)
    await bob.send_json_to({"event": "join", "data": {"conversationId": conversation.pk, "after": last_seen}})
    replayed = [await next_frame(bob) for _ in missed]
    reply = await next_frame(bob)

    assert replayed == [{"event": "message:new", "data": message} for message in missed]
    assert reply["data"] == {"conversationId": conversation.pk, "replayed": 3}
    await assert_no_frame(bob)
    await bob.disconnect()


async def test_catch_up_replays_every_page_of_a_long_backlog(
    client_user, provider, conversation, post_text, monkeypatch
):
    monkeypatch.setattr(socket_handlers, "REPLAY_PAGE", 2)
    missed = [await post_text(client_user, conversation, f"missed {n}") for n in range(5)]
    bob = await connect_as(provider)

    await bob.send_json_to({"event": "join", "data": {"conversationId": conversation.pk, "after": 0}})
    replayed = [(await next_frame(bob))["data"]["id"] for _ in missed]

    assert replayed == [message["id"] for message in missed]
    assert (await next_frame(bob))["data"]["replayed"] == 5
    await bob.disconnect()


async def test_join_without_after_replays_nothing(client_user, provider, conversation, post_text):
    await post_text(client_user, conversation, "history is for GET")
    bob = await connect_as(provider)

    reply = await join(bob, conversation.pk)

    assert reply["data"]["replayed"] == 0
    await assert_no_frame(bob)
    await bob.disconnect()


@pytest.mark.parametrize("after", [-1, "5", True])
async def test_join_with_a_malformed_after_is_an_error(provider, conversation, after):
    bob = await connect_as(provider)

    reply = await request(bob, "join", {"conversationId": conversation.pk, "after": after})

    assert reply["data"]["code"] == "invalid"
    assert "after" in reply["data"]["fields"]
    await bob.disconnect()

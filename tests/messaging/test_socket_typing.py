"""``conversation:typing``: to the other members only, at most one per 2 s per state, no SQL."""

import asyncio

import pytest

from tests.realtime.sockets import assert_no_frame, connect_as, next_frame, request

pytestmark = pytest.mark.django_db(transaction=True)


async def _type(communicator, conversation, is_typing: bool) -> None:
    await communicator.send_json_to(
        {"event": "conversation:typing", "data": {"conversationId": conversation.pk, "isTyping": is_typing}}
    )


async def test_typing_reaches_the_other_member_and_not_the_sender(alice_and_bob, client_user, conversation):
    alice, bob = alice_and_bob

    await _type(alice, conversation, True)

    assert await next_frame(bob) == {
        "event": "conversation:typing",
        "data": {
            "conversationId": conversation.pk,
            "userId": client_user.pk,
            "username": "alice",
            "isTyping": True,
        },
    }
    await assert_no_frame(alice)


async def test_typing_touches_no_database_after_the_join(alice_and_bob, conversation, queries_in_any_thread):
    alice, bob = alice_and_bob

    await _type(alice, conversation, True)
    await next_frame(bob)
    await _type(alice, conversation, False)
    await next_frame(bob)

    assert queries_in_any_thread == []


async def test_a_repeated_typing_state_is_forwarded_at_most_once_per_interval(alice_and_bob, conversation):
    alice, bob = alice_and_bob

    for _ in range(5):
        await _type(alice, conversation, True)

    assert (await next_frame(bob))["data"]["isTyping"] is True
    await assert_no_frame(bob)


async def test_a_change_of_typing_state_is_forwarded_at_once(alice_and_bob, conversation):
    alice, bob = alice_and_bob

    await _type(alice, conversation, True)
    await _type(alice, conversation, False)

    assert [(await next_frame(bob))["data"]["isTyping"] for _ in range(2)] == [True, False]


async def test_a_typing_heartbeat_is_forwarded_again_once_the_interval_has_passed(
    alice_and_bob, conversation, settings
):
    settings.TYPING_FORWARD_INTERVAL_SECONDS = 0.2
    alice, bob = alice_and_bob
    await _type(alice, conversation, True)
    await next_frame(bob)
    await asyncio.sleep(0.25)

    await _type(alice, conversation, True)

    assert (await next_frame(bob))["data"]["isTyping"] is True


async def test_typing_before_joining_is_an_error(provider, conversation):
    bob = await connect_as(provider)

    reply = await request(bob, "conversation:typing", {"conversationId": conversation.pk, "isTyping": True})

    assert reply["event"] == "error"
    assert reply["data"]["code"] == "not_found"
    await bob.disconnect()

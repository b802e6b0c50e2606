"""``message:read`` from a socket and ``conversation:read`` from the PATCH, as the other member sees them."""

import pytest
from asgiref.sync import sync_to_async

from tests.realtime.sockets import assert_no_frame, connect_as, next_frame, request

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def bobs_unread(api, provider, conversation):
    async def unread() -> int:
        response = await sync_to_async(api.as_user(provider).get)(f"/api/conversations/{conversation.pk}")
        return response.data["unreadCount"]

    return unread


async def _three_from_alice(client_user, conversation, post_text, alice, bob) -> list[dict]:
    sent = [await post_text(client_user, conversation, f"note {n}") for n in range(3)]
    for _ in sent:
        await next_frame(alice)
        await next_frame(bob)
    return sent


async def test_message_read_reaches_the_other_member_with_the_marker(
    alice_and_bob, client_user, provider, conversation, post_text
):
    alice, bob = alice_and_bob
    first, *_ = await _three_from_alice(client_user, conversation, post_text, alice, bob)

    reply = await request(bob, "message:read", {"conversationId": conversation.pk, "messageId": first["id"]})
    seen_by_alice = await next_frame(alice)

    assert reply["ref"] == "r1"
    assert seen_by_alice == {"event": "message:read", "data": reply["data"]}
    assert seen_by_alice["data"]["userId"] == provider.pk
    assert seen_by_alice["data"]["lastReadMessageId"] == first["id"]
    assert seen_by_alice["data"]["lastReadSeq"] == first["seq"]
    assert seen_by_alice["data"]["lastReadAt"]


async def test_message_read_lowers_the_unread_count(alice_and_bob, client_user, conversation, post_text, bobs_unread):
    alice, bob = alice_and_bob
    first, *_ = await _three_from_alice(client_user, conversation, post_text, alice, bob)
    assert await bobs_unread() == 3

    await request(bob, "message:read", {"conversationId": conversation.pk, "messageId": first["id"]})

    assert await bobs_unread() == 2


async def test_message_read_of_an_older_message_keeps_the_marker_and_tells_no_one(
    alice_and_bob, client_user, conversation, post_text
):
    alice, bob = alice_and_bob
    first, _, last = await _three_from_alice(client_user, conversation, post_text, alice, bob)
    await request(bob, "message:read", {"conversationId": conversation.pk, "messageId": last["id"]})
    await next_frame(alice)
    await next_frame(bob)

    reply = await request(bob, "message:read", {"conversationId": conversation.pk, "messageId": first["id"]})

    assert reply["data"]["lastReadMessageId"] == last["id"]
    await assert_no_frame(alice)


async def test_message_read_in_a_foreign_conversation_is_an_error(outsider, client_user, conversation, post_text):
    sent = await post_text(client_user, conversation, "private")
    charlie = await connect_as(outsider)

    reply = await request(charlie, "message:read", {"conversationId": conversation.pk, "messageId": sent["id"]})

    assert reply["data"]["code"] == "not_found"
    await charlie.disconnect()


async def test_the_read_patch_emits_conversation_read_to_the_other_member_and_clears_the_unread_count(
    alice_and_bob, api, client_user, provider, conversation, post_text, bobs_unread
):
    alice, bob = alice_and_bob
    *_, last = await _three_from_alice(client_user, conversation, post_text, alice, bob)

    response = await sync_to_async(api.as_user(provider).patch)(f"/api/messages/conversation/{conversation.pk}/read")

    assert await next_frame(alice) == {"event": "conversation:read", "data": response.data}
    assert response.data["lastReadMessageId"] == last["id"]
    assert await bobs_unread() == 0

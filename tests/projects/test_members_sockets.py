"""Project members on their sockets: a teammate an owner adds hears ``conversation:new`` and joins with the whole
history; a teammate an owner removes hears ``conversation:removed``, and nothing of the conversation after it."""

import pytest
from channels.db import database_sync_to_async

from messaging import services as messaging_services
from projects import services
from tests.messaging.conftest import socket_thread_connections_closed  # noqa: F401
from tests.realtime.sockets import assert_no_frame, connect_as, join, next_frame, request

pytestmark = pytest.mark.django_db(transaction=True)

member_add = database_sync_to_async(services.project_member_add)
member_remove = database_sync_to_async(services.project_member_remove)
send = database_sync_to_async(messaging_services.message_send)


async def test_an_added_member_is_told_and_replays_the_whole_history(
    project, conversation, client_user, provider, client_teammate
):
    earlier = await send(user=provider, conversation_id=conversation.pk, content="before cleo")
    cleo = await connect_as(client_teammate)
    try:
        await member_add(project_id=project.pk, user_id=client_teammate.pk, by=client_user)

        told = await next_frame(cleo)
        assert (told["event"], told["data"]["id"]) == ("conversation:new", conversation.pk)
        frames = [await request(cleo, "join", {"conversationId": conversation.pk, "after": 0}, ref="join")]
        while frames[-1]["event"] != "join":
            frames.append(await next_frame(cleo))
        replayed = [frame["data"] for frame in frames if frame["event"] == "message:new"]
        assert [message["seq"] for message in replayed] == [1, 2]
        assert replayed[0]["id"] == earlier.message.pk
        assert replayed[1]["system"]["kind"] == "member.joined"
        assert frames[-1]["data"]["replayed"] == 2
    finally:
        await cleo.disconnect()


async def test_a_removed_members_sockets_leave_and_hear_nothing_more(
    project, conversation, client_user, client_teammate
):
    await member_add(project_id=project.pk, user_id=client_teammate.pk, by=client_user)
    alice, cleo = await connect_as(client_user), await connect_as(client_teammate)
    try:
        for communicator in (alice, cleo):
            await join(communicator, conversation.pk)

        await member_remove(project_id=project.pk, user_id=client_teammate.pk, by=client_user)

        assert await next_frame(cleo) == {"event": "conversation:removed", "data": {"conversationId": conversation.pk}}
        assert (await next_frame(alice))["data"]["system"]["kind"] == "member.left"
        sent = await send(user=client_user, conversation_id=conversation.pk, content="after cleo left")
        assert (await next_frame(alice))["data"]["id"] == sent.message.pk
        await assert_no_frame(cleo)
        rejoin = await request(cleo, "join", {"conversationId": conversation.pk})
        assert rejoin["data"]["code"] == "not_found"
    finally:
        await alice.disconnect()
        await cleo.disconnect()

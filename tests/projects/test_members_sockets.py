"""Project members on their sockets and in races: a teammate an owner adds hears ``conversation:new`` and joins
with the whole history; a teammate an owner removes hears ``conversation:removed``, and nothing of the
conversation after it; a meeting or a send waiting behind a member change sees the members it left."""

import pytest
from channels.db import database_sync_to_async

from kernel.errors import NotFound
from meetings import services as meeting_services
from messaging import services as messaging_services
from messaging.models import Message
from projects import services
from tests.conftest import requires_postgres, run_behind
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


# Races on PostgreSQL: the project's row lock orders a member change against the meetings and sends behind it.


def test_a_meeting_created_behind_a_teammates_removal_does_not_invite_them(project, client_user, client_teammate):
    requires_postgres()
    services.project_member_add(project_id=project.pk, user_id=client_teammate.pk, by=client_user)
    created = {}

    def start_a_call():
        created["meeting"] = meeting_services.meeting_create(
            user=client_user, project_id=project.pk, title="Now", instant=True
        )

    run_behind(
        start_a_call,
        holding=lambda: services.project_member_remove(
            project_id=project.pk, user_id=client_teammate.pk, by=client_user
        ),
    )

    invited = set(created["meeting"].participants.values_list("user_id", flat=True))
    assert invited == {client_user.pk, project.provider_id}


def test_a_meeting_created_behind_a_members_addition_invites_them(project, client_user, provider_teammate, provider):
    requires_postgres()
    created = {}

    def start_a_call():
        created["meeting"] = meeting_services.meeting_create(
            user=client_user, project_id=project.pk, title="Now", instant=True
        )

    run_behind(
        start_a_call,
        holding=lambda: services.project_member_add(project_id=project.pk, user_id=provider_teammate.pk, by=provider),
    )

    invited = set(created["meeting"].participants.values_list("user_id", flat=True))
    assert invited == {client_user.pk, provider.pk, provider_teammate.pk}


def test_a_send_behind_a_teammates_removal_is_refused(project, conversation, client_user, client_teammate):
    requires_postgres()
    services.project_member_add(project_id=project.pk, user_id=client_teammate.pk, by=client_user)
    outcome = {}

    def send_as_cleo():
        try:
            messaging_services.message_send(
                user=client_teammate, conversation_id=conversation.pk, content="sneaking in"
            )
        except NotFound as refused:
            outcome["refused"] = refused

    run_behind(
        send_as_cleo,
        holding=lambda: services.project_member_remove(
            project_id=project.pk, user_id=client_teammate.pk, by=client_user
        ),
    )

    assert "refused" in outcome
    assert not Message.objects.filter(content="sneaking in").exists()

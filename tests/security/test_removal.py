"""Removal: support staff take a participant out of a conversation, or deactivate a user, and that user's
open sockets stop receiving the conversation's events while everyone else's go on."""

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.urls import reverse

from accounts.models import User
from kernel.errors import NotAllowed, NotFound
from meetings import services as meeting_services
from messaging import services
from messaging.models import Message, Participant
from realtime.consumers import CLOSE_UNAUTHENTICATED
from realtime.events import user_group
from tests.conftest import make_user, requires_postgres, run_behind_a_removal
from tests.meetings.conftest import agora_configured  # noqa: F401
from tests.messaging.conftest import GroupListener, post_text, socket_thread_connections_closed  # noqa: F401
from tests.realtime.sockets import assert_closed_with, assert_no_frame, connect_as, join, next_frame, request

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def third_member(conversation):
    """Erin, a third participant, who stays in while bob is removed."""
    erin = make_user("erin", role=User.Role.PROVIDER)
    Participant.objects.create(conversation=conversation, user=erin)
    return erin


@pytest.fixture
async def three_joined(client_user, provider, third_member, conversation):
    sockets = [await connect_as(user) for user in (client_user, provider, third_member)]
    for communicator in sockets:
        await join(communicator, conversation.pk)
    yield sockets
    for communicator in sockets:
        await communicator.disconnect()


remove = database_sync_to_async(services.participant_remove)


async def _told_of_the_removal(*others) -> None:
    """The others read the ``member.left`` system message the removal posts."""
    for communicator in others:
        assert (await next_frame(communicator))["data"]["system"]["kind"] == "member.left"


async def _type(communicator, conversation, is_typing: bool = True) -> None:
    await communicator.send_json_to(
        {"event": "conversation:typing", "data": {"conversationId": conversation.pk, "isTyping": is_typing}}
    )


async def test_a_removed_participants_sockets_are_told(three_joined, provider, staff, conversation):
    _, bob, _ = three_joined

    await remove(conversation_id=conversation.pk, user_id=provider.pk, by=staff)

    assert await next_frame(bob) == {"event": "conversation:removed", "data": {"conversationId": conversation.pk}}


async def test_a_removed_participant_no_longer_receives_messages_while_the_others_do(
    three_joined, client_user, provider, staff, conversation, post_text
):
    alice, bob, erin = three_joined
    await remove(conversation_id=conversation.pk, user_id=provider.pk, by=staff)
    await next_frame(bob)
    await _told_of_the_removal(alice, erin)

    sent = await post_text(client_user, conversation, "after bob left")

    assert await next_frame(erin) == {"event": "message:new", "data": sent}
    assert await next_frame(alice) == {"event": "message:new", "data": sent}
    await assert_no_frame(bob)


async def test_a_removed_participant_no_longer_receives_typing_while_the_others_do(
    three_joined, provider, staff, conversation
):
    alice, bob, erin = three_joined
    await remove(conversation_id=conversation.pk, user_id=provider.pk, by=staff)
    await next_frame(bob)
    await _told_of_the_removal(alice, erin)

    await _type(alice, conversation)

    assert (await next_frame(erin))["data"]["username"] == "alice"
    await assert_no_frame(bob)


async def test_a_removed_participant_cannot_join_again(three_joined, provider, staff, conversation):
    _, bob, _ = three_joined
    await remove(conversation_id=conversation.pk, user_id=provider.pk, by=staff)
    await next_frame(bob)

    reply = await request(bob, "join", {"conversationId": conversation.pk})

    assert reply["data"]["code"] == "not_found"


async def test_a_removed_participants_own_typing_reaches_nobody(three_joined, provider, staff, conversation):
    alice, bob, erin = three_joined
    await remove(conversation_id=conversation.pk, user_id=provider.pk, by=staff)
    await next_frame(bob)
    await _told_of_the_removal(alice, erin)

    reply = await request(bob, "conversation:typing", {"conversationId": conversation.pk, "isTyping": True})

    assert reply["data"]["code"] == "not_found"
    await assert_no_frame(alice)
    await assert_no_frame(erin)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/messages"),
        ("get", "/api/messages/conversation/{id}"),
        ("get", "/api/conversations/{id}"),
        ("patch", "/api/messages/conversation/{id}/read"),
    ],
)
def test_a_removed_participant_is_refused_over_rest_with_404(api, provider, staff, conversation, method, path):
    services.participant_remove(conversation_id=conversation.pk, user_id=provider.pk, by=staff)

    payload = {"conversationId": conversation.pk, "content": "still here?"} if method == "post" else None

    response = getattr(api.as_user(provider), method)(path.format(id=conversation.pk), payload, format="json")

    assert response.status_code == 404


@pytest.mark.django_db
def test_a_removed_participant_no_longer_lists_the_conversation(api, provider, staff, conversation):
    services.participant_remove(conversation_id=conversation.pk, user_id=provider.pk, by=staff)

    response = api.as_user(provider).get("/api/conversations")

    assert response.json()["results"] == []


@pytest.mark.django_db
def test_only_support_staff_remove_participants(client_user, provider, conversation):
    with pytest.raises(NotAllowed):
        services.participant_remove(conversation_id=conversation.pk, user_id=provider.pk, by=client_user)

    assert Participant.objects.filter(conversation=conversation, user=provider).exists()


@pytest.mark.django_db
def test_removing_someone_who_is_not_a_participant_is_not_found(outsider, staff, conversation):
    with pytest.raises(NotFound):
        services.participant_remove(conversation_id=conversation.pk, user_id=outsider.pk, by=staff)


# ---- the admin -------------------------------------------------------------------------------------


@pytest.fixture
def admin_client(client):
    client.force_login(make_user("root", role=User.Role.CLIENT, is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def bobs_group(provider):
    listener = GroupListener(user_group(provider.pk))
    yield listener
    listener.close()


def test_deleting_a_participant_in_the_admin_removes_them_through_the_service(
    admin_client, provider, conversation, bobs_group
):
    participant = Participant.objects.get(conversation=conversation, user=provider)

    response = admin_client.post(reverse("admin:messaging_participant_delete", args=[participant.pk]), {"post": "yes"})

    assert response.status_code == 302
    assert not Participant.objects.filter(pk=participant.pk).exists()
    assert bobs_group.next_event() == {"event": "conversation:removed", "data": {"conversationId": conversation.pk}}


def test_the_admins_bulk_delete_removes_each_participant_through_the_service(
    admin_client, client_user, provider, conversation, bobs_group
):
    selected = list(Participant.objects.filter(conversation=conversation).values_list("pk", flat=True))

    admin_client.post(
        reverse("admin:messaging_participant_changelist"),
        {"action": "delete_selected", "_selected_action": selected, "post": "yes"},
    )

    assert not Participant.objects.filter(conversation=conversation).exists()
    assert bobs_group.next_event()["event"] == "conversation:removed"


# ---- deactivation --------------------------------------------------------------------------------


def _deactivate(user) -> None:
    user.is_active = False
    user.save()


async def test_deactivating_a_user_closes_their_open_sockets_with_4401(client_user, provider, conversation):
    bob = await connect_as(provider)
    await join(bob, conversation.pk)
    second_bob = await connect_as(provider)

    await sync_to_async(_deactivate)(provider)

    await assert_closed_with(bob, CLOSE_UNAUTHENTICATED)
    await assert_closed_with(second_bob, CLOSE_UNAUTHENTICATED)


async def test_deactivating_a_user_leaves_the_other_participants_receiving(
    three_joined, client_user, provider, conversation, post_text
):
    _, bob, erin = three_joined
    await sync_to_async(_deactivate)(provider)
    await assert_closed_with(bob, CLOSE_UNAUTHENTICATED)

    sent = await post_text(client_user, conversation, "after bob was deactivated")

    assert await next_frame(erin) == {"event": "message:new", "data": sent}


async def test_saving_an_active_user_leaves_their_sockets_open(provider, conversation):
    bob = await connect_as(provider)
    provider.first_name = "Bob"

    await sync_to_async(provider.save)()

    assert (await join(bob, conversation.pk))["data"]["conversationId"] == conversation.pk
    await bob.disconnect()


def test_a_send_that_waited_behind_the_removal_is_refused(provider, staff, conversation):
    requires_postgres()
    outcome = {}

    def send_as_bob():
        try:
            services.message_send(user=provider, conversation_id=conversation.pk, content="sneaking in")
        except NotFound as refused:
            outcome["refused"] = refused

    run_behind_a_removal(send_as_bob, conversation_id=conversation.pk, user_id=provider.pk, by=staff)

    assert "refused" in outcome
    assert not Message.objects.filter(conversation=conversation, content="sneaking in").exists()


# ---- the project and its meetings ------------------------------------------------------------------


@pytest.fixture
def bobs_meetings(client_user, project):
    """A pending and a running meeting of the project, both ringing bob, made before his removal."""
    pending = meeting_services.meeting_create(user=client_user, project_id=project.pk, title="Later")
    active = meeting_services.meeting_create(user=client_user, project_id=project.pk, title="Now", instant=True)
    return {"pending": pending, "active": active}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/projects/{project}"),
        ("get", "/api/meetings/{pending}"),
        ("patch", "/api/meetings/{pending}/accept"),
        ("patch", "/api/meetings/{pending}/decline"),
        ("get", "/api/meetings/{active}/token"),
        ("post", "/api/meetings"),
        ("get", "/meetings/{active}/call"),
    ],
)
def test_a_removed_participant_is_refused_the_project_and_its_meetings_with_404(
    api, client, agora_configured, provider, staff, project, bobs_meetings, method, path
):
    services.participant_remove(conversation_id=project.conversation.pk, user_id=provider.pk, by=staff)
    url = path.format(project=project.pk, pending=bobs_meetings["pending"].pk, active=bobs_meetings["active"].pk)
    payload = {"projectId": project.pk, "title": "Instant", "instant": True} if method == "post" else None

    if url.startswith("/api/"):
        response = getattr(api.as_user(provider), method)(url, payload, format="json")
    else:
        client.force_login(provider)
        response = client.get(url)

    assert response.status_code == 404


@pytest.mark.django_db
def test_a_removed_participant_no_longer_lists_the_project_or_its_meetings(
    api, provider, staff, project, bobs_meetings
):
    services.participant_remove(conversation_id=project.conversation.pk, user_id=provider.pk, by=staff)
    bob = api.as_user(provider)

    assert bob.get("/api/projects").json()["results"] == []
    assert bob.get("/api/meetings/me").json()["results"] == []


@pytest.mark.django_db
def test_the_member_who_stays_keeps_the_project_and_its_meetings(
    api, client_user, provider, staff, project, bobs_meetings
):
    services.participant_remove(conversation_id=project.conversation.pk, user_id=provider.pk, by=staff)
    alice = api.as_user(client_user)

    assert alice.get(f"/api/projects/{project.pk}").status_code == 200
    assert alice.get(f"/api/meetings/{bobs_meetings['pending'].pk}").status_code == 200


@pytest.mark.django_db
def test_an_instant_meeting_after_the_removal_does_not_ring_the_removed_participant(
    django_capture_on_commit_callbacks, client_user, provider, staff, project, bobs_group
):
    services.participant_remove(conversation_id=project.conversation.pk, user_id=provider.pk, by=staff)

    with django_capture_on_commit_callbacks(execute=True):
        meeting = meeting_services.meeting_create(user=client_user, project_id=project.pk, title="Now", instant=True)

    assert list(meeting.participants.values_list("user_id", flat=True)) == [client_user.pk]
    bobs_group.assert_silent()


@pytest.mark.django_db
def test_a_meeting_made_before_the_removal_tells_the_removed_participant_nothing_more(
    django_capture_on_commit_callbacks, client_user, provider, staff, project, bobs_meetings, bobs_group
):
    services.participant_remove(conversation_id=project.conversation.pk, user_id=provider.pk, by=staff)

    with django_capture_on_commit_callbacks(execute=True):
        meeting_services.meeting_start(user=client_user, meeting_id=bobs_meetings["pending"].pk)
        meeting_services.meeting_end(user=client_user, meeting_id=bobs_meetings["active"].pk)

    bobs_group.assert_silent()


def test_a_meeting_created_while_the_removal_held_the_project_invites_only_who_is_left(
    client_user, provider, staff, project
):
    requires_postgres()
    created = {}

    def start_a_call_as_alice():
        created["meeting"] = meeting_services.meeting_create(
            user=client_user, project_id=project.pk, title="Now", instant=True
        )

    run_behind_a_removal(start_a_call_as_alice, conversation_id=project.conversation.pk, user_id=provider.pk, by=staff)

    assert list(created["meeting"].participants.values_list("user_id", flat=True)) == [client_user.pk]

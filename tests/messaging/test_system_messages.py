"""System messages: project and meeting events written into the project's conversation at the next seq,
pushed as ``message:new``, replayed like any message, left out of unread counts, never sent by clients."""

from datetime import timedelta
from io import StringIO

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.utils import timezone

from meetings import services as meeting_services
from meetings.models import Meeting
from messaging import events, services
from messaging.models import Message, Participant
from messaging.serializers import MessageSerializer
from projects import services as project_services
from tests.concurrency import together
from tests.conftest import documented, requires_postgres
from tests.realtime.sockets import connect_as, join, next_frame

pytestmark = pytest.mark.django_db


def _system_messages(conversation) -> list[Message]:
    return list(conversation.messages.filter(type=Message.Type.SYSTEM).order_by("seq"))


def _meeting(user, project, **fields) -> Meeting:
    return meeting_services.meeting_create(user=user, project_id=project.pk, title="Kick-off", **fields)


def _overdue(meeting: Meeting) -> Meeting:
    """``meeting`` (active) as if it had started past the maximum duration, five minutes ago."""
    limit = timedelta(seconds=settings.MEETING_MAX_DURATION_SECONDS)
    Meeting.objects.filter(pk=meeting.pk).update(started_at=timezone.now() - limit - timedelta(minutes=5))
    return meeting


def _start(user, project) -> Meeting:
    return meeting_services.meeting_start(user=user, meeting_id=_meeting(user, project).pk)


def _instant(user, project) -> Meeting:
    return _meeting(user, project, instant=True)


def _cancel(user, project) -> Meeting:
    return meeting_services.meeting_cancel(user=user, meeting_id=_meeting(user, project).pk)


def _end(user, project) -> Meeting:
    return meeting_services.meeting_end(user=user, meeting_id=_instant(user, project).pk)


def _expire(user, project) -> Meeting:
    meeting = _overdue(_instant(user, project))
    call_command("meetings_expire", stdout=StringIO())
    return meeting


def _close(status):
    def close(user, project) -> None:
        project_services.project_set_status(project_id=project.pk, status=status)

    return close


# Each trigger, and the kinds of the system messages it leaves (an ended meeting was started first).
TRIGGERS = {
    "start": (_start, ["meeting.started"]),
    "instant": (_instant, ["meeting.started"]),
    "cancel": (_cancel, ["meeting.cancelled"]),
    "end": (_end, ["meeting.started", "meeting.ended"]),
    "expiry": (_expire, ["meeting.started", "meeting.ended"]),
    "complete": (_close("completed"), ["project.completed"]),
    "project cancel": (_close("cancelled"), ["project.cancelled"]),
}


@pytest.mark.parametrize("trigger", TRIGGERS)
def test_each_trigger_adds_exactly_one_system_message(client_user, project, conversation, trigger):
    act, kinds = TRIGGERS[trigger]

    act(client_user, project)

    assert [message.system["kind"] for message in _system_messages(conversation)] == kinds


def test_scheduling_a_meeting_adds_no_system_message(client_user, project, conversation):
    _meeting(client_user, project)

    assert _system_messages(conversation) == []


def test_a_refused_transition_adds_no_system_message(client_user, project, conversation):
    meeting = _end(client_user, project)
    before = len(_system_messages(conversation))

    with pytest.raises(meeting_services.STATE_CONFLICTS[Meeting.Status.COMPLETED]):
        meeting_services.meeting_end(user=client_user, meeting_id=meeting.pk)

    assert len(_system_messages(conversation)) == before


def test_a_rolled_back_transition_leaves_no_system_message(client_user, project, conversation):
    with pytest.raises(RuntimeError), transaction.atomic():
        _start(client_user, project)
        raise RuntimeError("the caller's transaction fails after the start")

    assert _system_messages(conversation) == []


def test_the_end_tells_the_meeting_its_duration_and_a_sentence(client_user, project, conversation):
    meeting = _instant(client_user, project)
    Meeting.objects.filter(pk=meeting.pk).update(started_at=timezone.now() - timedelta(minutes=42, seconds=5))

    meeting_services.meeting_end(user=client_user, meeting_id=meeting.pk)

    ended = _system_messages(conversation)[-1]
    assert ended.system == {
        "kind": "meeting.ended",
        "meetingId": meeting.pk,
        "title": "Kick-off",
        "durationSeconds": 42 * 60 + 5,
        "expired": False,
    }
    assert ended.content == "The meeting “Kick-off” ended after 42 minutes."
    assert ended.sender is None


def test_the_expiry_sweep_marks_the_end_expired(client_user, project, conversation):
    meeting = _expire(client_user, project)

    ended = _system_messages(conversation)[-1]
    assert ended.system["meetingId"] == meeting.pk
    assert ended.system["expired"] is True
    assert ended.system["durationSeconds"] == settings.MEETING_MAX_DURATION_SECONDS
    assert ended.content.endswith("its maximum length.")


def test_a_system_message_takes_the_next_seq_and_becomes_the_last_message(
    client_user, provider, project, conversation, send
):
    text = send(provider, conversation, "ready when you are")

    _start(client_user, project)

    conversation.refresh_from_db()
    started = _system_messages(conversation)[0]
    assert started.seq == text.seq + 1
    assert (conversation.last_message_id, conversation.last_message_seq) == (started.pk, started.seq)


def test_a_system_message_moves_no_read_marker(client_user, provider, project, conversation, send):
    text = send(provider, conversation, "ready when you are")

    _start(client_user, project)

    markers = dict(Participant.objects.filter(conversation=conversation).values_list("user_id", "last_read_seq"))
    assert markers == {client_user.pk: 0, provider.pk: text.seq}


def test_the_unread_count_leaves_system_messages_out(api, client_user, provider, project, conversation, send):
    send(provider, conversation, "before")
    _start(client_user, project)
    send(provider, conversation, "after")

    def unread(user) -> int:
        return api.as_user(user).get(f"/api/conversations/{conversation.pk}").data["unreadCount"]

    assert (unread(client_user), unread(provider)) == (2, 0)


def test_the_conversation_list_leaves_system_messages_out_of_the_unread_count(api, client_user, project, conversation):
    _end(client_user, project)

    listed = api.as_user(client_user).get("/api/conversations").data["results"]

    assert [(row["id"], row["unreadCount"]) for row in listed] == [(conversation.pk, 0)]


def test_history_returns_system_messages_at_their_seq(api, client_user, provider, project, conversation, send):
    send(provider, conversation, "one")
    _start(client_user, project)
    send(provider, conversation, "two")

    results = api.as_user(provider).get(f"/api/messages/conversation/{conversation.pk}").data["results"]

    assert [(row["seq"], row["type"]) for row in results] == [(1, "text"), (2, "system"), (3, "text")]
    assert results[1]["sender"] is None
    assert results[1]["system"]["kind"] == "meeting.started"


def test_catch_up_by_cursor_returns_the_system_messages_after_it(
    api, client_user, provider, project, conversation, send
):
    seen = send(provider, conversation, "seen")
    _end(client_user, project)

    url = f"/api/messages/conversation/{conversation.pk}?after={seen.pk}"
    results = api.as_user(client_user).get(url).data["results"]

    assert [row["system"]["kind"] for row in results] == ["meeting.started", "meeting.ended"]


def test_the_system_message_payload_is_what_the_schema_documents(client_user, project, conversation):
    _end(client_user, project)
    message = _system_messages(conversation)[-1]

    payload = events.message_payload(message)

    assert payload == documented(MessageSerializer, message)
    assert {key: payload[key] for key in ("type", "sender", "file", "clientMessageId")} == {
        "type": "system",
        "sender": None,
        "file": None,
        "clientMessageId": None,
    }
    assert payload["content"] == message.content and payload["system"] == message.system


def test_the_project_closing_says_so(client_user, project, conversation):
    project_services.project_set_status(project_id=project.pk, status="completed")

    closed = _system_messages(conversation)[0]
    assert closed.system == {"kind": "project.completed", "projectId": project.pk}
    assert closed.content == "The project was completed; this conversation is now read-only."


def test_system_messages_are_announced_after_commit(
    client_user, project, conversation, conversation_listener, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _start(client_user, project)

    pushed = conversation_listener.next_event()
    assert pushed == {"event": "message:new", "data": events.message_payload(_system_messages(conversation)[0])}


@pytest.mark.parametrize("trigger", TRIGGERS)
def test_each_trigger_is_pushed_once_and_replayed_once(
    api,
    client_user,
    provider,
    project,
    conversation,
    conversation_listener,
    django_capture_on_commit_callbacks,
    trigger,
):
    act, kinds = TRIGGERS[trigger]

    with django_capture_on_commit_callbacks(execute=True):
        act(client_user, project)

    live = [conversation_listener.next_event() for _ in kinds]
    conversation_listener.assert_silent()  # nothing more: each system message was pushed once
    assert [(pushed["event"], pushed["data"]["system"]["kind"]) for pushed in live] == [
        ("message:new", kind) for kind in kinds
    ]
    # The catch-up from the start, which a socket's join with "after": 0 replays page by page.
    replayed = api.as_user(provider).get(f"/api/messages/conversation/{conversation.pk}?after=0").json()["results"]
    assert replayed == [pushed["data"] for pushed in live]


@pytest.mark.parametrize("fmt", ["json", "multipart"])
def test_a_client_cannot_send_a_system_message(api, client_user, conversation, fmt):
    response = api.as_user(client_user).post(
        "/api/messages", {"conversationId": conversation.pk, "type": "system", "content": "fake"}, format=fmt
    )

    assert response.status_code == 400
    assert "type" in response.data["fields"]
    assert not Message.objects.exists()


def test_the_database_refuses_a_system_message_with_a_sender(client_user, conversation):
    with pytest.raises(IntegrityError), transaction.atomic():
        Message.objects.create(
            conversation=conversation, sender=client_user, seq=1, type="system", content="x", system={"kind": "x"}
        )


def test_the_database_refuses_a_text_message_without_a_sender(conversation):
    with pytest.raises(IntegrityError), transaction.atomic():
        Message.objects.create(conversation=conversation, sender=None, seq=1, type="text", content="x")


@pytest.mark.django_db(transaction=True)
async def test_the_end_reaches_a_joined_member_live_and_on_replay(api, client_user, provider, project, conversation):
    bob = await connect_as(provider)
    await join(bob, conversation.pk)
    meeting = await sync_to_async(_instant)(client_user, project)

    response = await sync_to_async(api.as_user(client_user).patch)(f"/api/meetings/{meeting.pk}/end")
    assert response.status_code == 200
    live = [frame for frame in [await next_frame(bob) for _ in range(4)] if frame["event"] == "message:new"]
    await bob.disconnect()

    assert [frame["data"]["system"]["kind"] for frame in live] == ["meeting.started", "meeting.ended"]
    assert all(frame["data"]["type"] == "system" and frame["data"]["sender"] is None for frame in live)
    bob = await connect_as(provider)
    await bob.send_json_to({"event": "join", "data": {"conversationId": conversation.pk, "after": 0}})
    replayed = [await next_frame(bob) for _ in live]
    assert replayed == live
    assert (await next_frame(bob))["data"] == {"conversationId": conversation.pk, "replayed": 2}
    await bob.disconnect()


@pytest.mark.django_db(transaction=True)
def test_a_concurrent_end_and_expiry_sweep_add_one_end(api, client_user, project, conversation):
    requires_postgres()
    meeting = _overdue(_instant(client_user, project))

    def end() -> int:
        return api.as_user(client_user).patch(f"/api/meetings/{meeting.pk}/end").status_code

    ended, swept = together([end, meeting_services.meetings_complete_overdue])

    assert sorted([ended == 200, swept == [meeting.pk]]) == [False, True]
    kinds = [message.system["kind"] for message in _system_messages(conversation)]
    assert kinds == ["meeting.started", "meeting.ended"]


@pytest.mark.django_db(transaction=True)
def test_a_project_closing_racing_a_removal_and_a_meeting_end_neither_deadlocks(client_user, staff, project):
    requires_postgres()
    meeting = _instant(client_user, project)

    outcomes = together(
        [
            lambda: project_services.project_set_status(project_id=project.pk, status="completed"),
            lambda: services.participant_remove(
                conversation_id=project.conversation.pk, user_id=project.provider_id, by=staff
            ),
            lambda: meeting_services.meeting_end(user=client_user, meeting_id=meeting.pk),
        ]
    )

    assert not [outcome for outcome in outcomes if isinstance(outcome, Exception)]

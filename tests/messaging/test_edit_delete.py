"""Edit and delete (``PATCH``/``DELETE /api/messages/{id}``): the sender's, within ``MESSAGE_EDIT_WINDOW``, while
the project is active; every earlier version kept as a revision; ``message:updated``/``message:deleted`` pushed on
both socket protocols; history and the join replay show the current version, a deleted message as a tombstone."""

from datetime import timedelta

import pytest
import time_machine
from asgiref.sync import sync_to_async
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from config.body_limits import body_limit, message_body_max_bytes
from messaging import services
from messaging.models import Message, MessageRevision
from projects import services as project_services
from tests.concurrency import together
from tests.conftest import requires_postgres
from tests.realtime.socketio_frames import decode_event, emit_packet, next_packet, sio_connected_as
from tests.realtime.sockets import connect_as, join, next_frame

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def _edit(api, user, message, content):
    return api.as_user(user).patch(f"/api/messages/{message.pk}", {"content": content}, format="json")


def _delete(api, user, message):
    return api.as_user(user).delete(f"/api/messages/{message.pk}")


def _history(api, user, conversation, **query):
    response = api.as_user(user).get(f"/api/messages/conversation/{conversation.pk}", query)
    assert response.status_code == 200, response.data
    return response.data["results"]


def _sixteen_minutes_later():
    """The clock moved on, not the message's send time: that is part of the conversation's record."""
    return time_machine.travel(timezone.now() + timedelta(minutes=16))


def _file_message(user, conversation):
    return services.message_send(
        user=user,
        conversation_id=conversation.pk,
        content="the brief",
        type=Message.Type.FILE,
        upload=SimpleUploadedFile("brief.pdf", b"%PDF-1.4 brief", "application/pdf"),
    ).message


def test_the_sender_edits_a_text_message_within_the_window(api, client_user, conversation, send):
    message = send(client_user, conversation, "helo")

    response = _edit(api, client_user, message, "hello")

    assert response.status_code == 200, response.data
    assert (response.data["id"], response.data["seq"], response.data["content"]) == (message.pk, 1, "hello")
    assert response.data["editedAt"] is not None and response.data["deletedAt"] is None


def test_an_edit_keeps_the_earlier_version_as_a_revision(api, client_user, conversation, send):
    message = send(client_user, conversation, "first")
    _edit(api, client_user, message, "second")
    _edit(api, client_user, message, "third")

    revisions = list(MessageRevision.objects.filter(message=message).values_list("content", "change", "replaced_by"))

    assert revisions == [("first", "edited", client_user.pk), ("second", "edited", client_user.pk)]


def test_history_shows_the_current_version_with_edited_at(api, client_user, provider, conversation, send):
    message = send(client_user, conversation, "helo")
    edited = _edit(api, client_user, message, "hello").data

    (shown,) = _history(api, provider, conversation)

    assert shown == edited
    assert shown["content"] == "hello"


def test_a_message_never_edited_has_null_edited_at_and_deleted_at(api, client_user, provider, conversation, send):
    send(client_user, conversation, "hi")

    (shown,) = _history(api, provider, conversation)

    assert (shown["editedAt"], shown["deletedAt"]) == (None, None)


def test_an_edit_after_the_window_is_refused_409(api, client_user, conversation, send):
    message = send(client_user, conversation, "helo")
    with _sixteen_minutes_later():
        response = _edit(api, client_user, message, "hello")

    assert response.status_code == 409
    assert response.json()["code"] == "edit_window_passed"
    assert Message.objects.get(pk=message.pk).content == "helo"


def test_the_window_is_the_setting(api, client_user, conversation, send, settings):
    settings.MESSAGE_EDIT_WINDOW = timedelta(hours=1)
    message = send(client_user, conversation, "helo")
    with _sixteen_minutes_later():
        assert _edit(api, client_user, message, "hello").status_code == 200


def test_another_member_cannot_edit_403(api, client_user, provider, conversation, send):
    message = send(client_user, conversation, "mine")

    response = _edit(api, provider, message, "theirs")

    assert response.status_code == 403
    assert response.json()["code"] == "not_sender"


def test_an_outsider_gets_404_for_edit_and_delete(api, client_user, outsider, conversation, send):
    message = send(client_user, conversation, "private")

    edit = _edit(api, outsider, message, "mine now")
    delete = _delete(api, outsider, message)

    assert (edit.status_code, delete.status_code) == (404, 404)
    assert Message.objects.get(pk=message.pk).content == "private"


def test_an_edit_in_a_closed_project_is_refused_409(api, client_user, conversation, send):
    message = send(client_user, conversation, "helo")
    project_services.project_set_status(project_id=conversation.project_id, status="completed")

    response = _edit(api, client_user, message, "hello")

    assert response.status_code == 409
    assert response.json()["code"] == "conversation_read_only"


def test_a_file_message_cannot_be_edited(api, client_user, conversation):
    message = _file_message(client_user, conversation)

    response = _edit(api, client_user, message, "another caption")

    assert response.status_code == 409
    assert response.json()["code"] == "message_not_editable"


def test_a_system_message_cannot_be_edited(api, client_user, conversation):
    message = services.system_message_post(
        project_id=conversation.project_id, kind="meeting.started", data={"meetingId": 1}, content="A meeting started."
    )

    response = _edit(api, client_user, message, "nothing happened")

    assert response.status_code == 403
    assert Message.objects.get(pk=message.pk).content == "A meeting started."


@pytest.mark.parametrize("content", ["", "   ", "\u200b"])
def test_an_edit_to_nothing_is_refused_400_on_content(api, client_user, conversation, send, content):
    message = send(client_user, conversation, "hello")

    response = _edit(api, client_user, message, content)

    assert response.status_code == 400
    assert "content" in response.json()["fields"]


def test_an_edit_over_the_length_limit_is_refused_400_on_content(api, client_user, conversation, send, settings):
    message = send(client_user, conversation, "hello")

    response = _edit(api, client_user, message, "x" * (settings.MESSAGE_MAX_LENGTH + 1))

    assert response.status_code == 400
    assert "content" in response.json()["fields"]


def test_an_edit_body_may_be_as_large_as_a_sends():
    """The longest content, each character an escaped surrogate pair, is over REQUEST_BODY_MAX_BYTES."""
    limit = body_limit(method="PATCH", path="/api/messages/7", content_type="application/json")

    assert limit.max_bytes == message_body_max_bytes()


def test_the_sender_deletes_a_message_leaving_a_tombstone_at_its_seq(api, client_user, provider, conversation, send):
    send(client_user, conversation, "one")
    doomed = send(client_user, conversation, "two")
    send(provider, conversation, "three")

    response = _delete(api, client_user, doomed)

    assert response.status_code == 204
    history = _history(api, provider, conversation)
    assert [message["seq"] for message in history] == [1, 2, 3]
    tombstone = history[1]
    assert (tombstone["id"], tombstone["type"], tombstone["content"], tombstone["file"]) == (
        doomed.pk,
        "text",
        "",
        None,
    )
    assert tombstone["deletedAt"] is not None


def test_a_delete_keeps_what_the_message_said_as_a_revision(api, client_user, conversation, send):
    message = send(client_user, conversation, "oops")

    _delete(api, client_user, message)

    revision = MessageRevision.objects.get(message=message)
    assert (revision.content, revision.change, revision.replaced_by_id) == ("oops", "deleted", client_user.pk)


def test_a_deleted_message_cannot_be_edited_or_deleted_again(api, client_user, conversation, send):
    message = send(client_user, conversation, "oops")
    _delete(api, client_user, message)

    edit = _edit(api, client_user, message, "back")
    delete = _delete(api, client_user, message)

    assert (edit.status_code, delete.status_code) == (409, 409)
    assert edit.json()["code"] == delete.json()["code"] == "message_deleted"


def test_another_member_cannot_delete_403(api, client_user, provider, conversation, send):
    message = send(client_user, conversation, "mine")

    assert _delete(api, provider, message).status_code == 403
    assert Message.objects.get(pk=message.pk).deleted_at is None


def test_a_delete_after_the_window_is_refused_409(api, client_user, conversation, send):
    message = send(client_user, conversation, "for ever")
    with _sixteen_minutes_later():
        response = _delete(api, client_user, message)

    assert response.status_code == 409
    assert response.json()["code"] == "edit_window_passed"


def test_a_delete_in_a_closed_project_is_refused_409(api, client_user, conversation, send):
    message = send(client_user, conversation, "for ever")
    project_services.project_set_status(project_id=conversation.project_id, status="cancelled")

    assert _delete(api, client_user, message).status_code == 409


def test_a_deleted_file_cannot_be_downloaded(api, client_user, provider, conversation):
    message = _file_message(client_user, conversation)
    assert api.as_user(provider).get(f"/api/messages/{message.pk}/file").status_code == 200

    _delete(api, client_user, message)

    assert api.as_user(provider).get(f"/api/messages/{message.pk}/file").status_code == 404
    assert api.as_user(client_user).get(f"/api/messages/{message.pk}/file").status_code == 404
    (tombstone,) = _history(api, provider, conversation)
    assert (tombstone["type"], tombstone["content"], tombstone["file"]) == ("file", "", None)
    revision = MessageRevision.objects.get(message=message)
    assert (revision.content, revision.file_name, bool(revision.file)) == ("the brief", "brief.pdf", True)


def test_revisions_are_shown_to_support_staff_in_the_message_admin(api, staff_admin, client_user, conversation, send):
    message = send(client_user, conversation, "first draft")
    _edit(api, client_user, message, "second draft")
    _delete(api, client_user, message)

    response = staff_admin.get(reverse("admin:messaging_message_change", args=[message.pk]))

    assert response.status_code == 200
    page = response.content.decode()
    assert "first draft" in page and "second draft" in page


@pytest.mark.django_db(transaction=True)
async def test_an_edit_is_pushed_live_as_message_updated_on_ws(api, client_user, provider, conversation, send):
    message = await sync_to_async(send)(client_user, conversation, "helo")
    bob = await connect_as(provider)
    await join(bob, conversation.pk)

    edited = await sync_to_async(_edit)(api, client_user, message, "hello")

    assert await next_frame(bob) == {"event": "message:updated", "data": edited.data}
    await bob.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_delete_is_pushed_live_as_message_deleted_on_ws(api, client_user, provider, conversation, send):
    message = await sync_to_async(send)(client_user, conversation, "oops")
    bob = await connect_as(provider)
    await join(bob, conversation.pk)

    await sync_to_async(_delete)(api, client_user, message)

    frame = await next_frame(bob)
    assert frame["event"] == "message:deleted"
    assert {key: frame["data"][key] for key in ("id", "conversationId", "seq", "content", "file")} == {
        "id": message.pk,
        "conversationId": conversation.pk,
        "seq": 1,
        "content": "",
        "file": None,
    }
    assert frame["data"]["deletedAt"] is not None
    await bob.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_an_edit_and_a_delete_are_pushed_over_socketio(api, client_user, provider, conversation, send):
    first = await sync_to_async(send)(client_user, conversation, "helo")
    second = await sync_to_async(send)(client_user, conversation, "oops")
    bob = await sio_connected_as(provider)
    await bob.send_to(text_data=emit_packet("join", {"conversationId": conversation.pk}))
    assert decode_event(await next_packet(bob))[0] == "join"

    edited = await sync_to_async(_edit)(api, client_user, first, "hello")
    await sync_to_async(_delete)(api, client_user, second)

    assert decode_event(await next_packet(bob)) == ("message:updated", edited.data)
    name, deleted = decode_event(await next_packet(bob))
    assert (name, deleted["id"], deleted["seq"], deleted["content"]) == ("message:deleted", second.pk, 2, "")
    await bob.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_the_join_replay_shows_edits_and_tombstones_with_no_seq_gap(
    api, client_user, provider, conversation, send
):
    first = await sync_to_async(send)(client_user, conversation, "helo")
    second = await sync_to_async(send)(client_user, conversation, "oops")
    await sync_to_async(send)(provider, conversation, "fine")
    await sync_to_async(_edit)(api, client_user, first, "hello")
    await sync_to_async(_delete)(api, client_user, second)
    bob = await connect_as(provider)

    await bob.send_json_to({"event": "join", "data": {"conversationId": conversation.pk, "after": 0}, "ref": "j"})
    replayed = [(await next_frame(bob))["data"] for _ in range(3)]

    assert [message["seq"] for message in replayed] == [1, 2, 3]
    assert (replayed[0]["content"], replayed[0]["editedAt"] is not None) == ("hello", True)
    assert (replayed[1]["content"], replayed[1]["deletedAt"] is not None) == ("", True)
    assert (await next_frame(bob))["data"] == {"conversationId": conversation.pk, "replayed": 3}
    await bob.disconnect()


@pytest.mark.django_db(transaction=True)
def test_a_concurrent_edit_and_delete_leave_one_consistent_outcome(api, client_user, conversation, send):
    requires_postgres()
    message = send(client_user, conversation, "draft")

    edit, delete = together(
        [
            lambda: services.message_edit(user=client_user, message_id=message.pk, content="final"),
            lambda: services.message_delete(user=client_user, message_id=message.pk),
        ]
    )

    assert isinstance(delete, Message)
    stored = Message.objects.get(pk=message.pk)
    assert (stored.content, stored.deleted_at is not None) == ("", True)
    revisions = list(MessageRevision.objects.filter(message=message).values_list("change", "content"))
    if isinstance(edit, Message):  # the edit went first; the delete kept its version
        assert revisions == [("edited", "draft"), ("deleted", "final")]
    else:  # the delete went first; the edit found a tombstone
        assert type(edit).__name__ == "MessageDeleted"
        assert revisions == [("deleted", "draft")]

"""Read markers and unread counts: PATCH /api/messages/conversation/{id}/read and message:read."""

import pytest

from kernel.errors import NotFound
from messaging import services
from messaging.models import Participant
from tests.conftest import make_project

pytestmark = pytest.mark.django_db


def _unread(api, user, conversation) -> int:
    return api.as_user(user).get(f"/api/conversations/{conversation.pk}").data["unreadCount"]


def _mark_read(api, user, conversation):
    return api.as_user(user).patch(f"/api/messages/conversation/{conversation.pk}/read")


def test_unread_counts_what_others_sent_since_the_marker(api, client_user, provider, conversation, send):
    send(provider, conversation, "one")
    send(provider, conversation, "two")

    assert _unread(api, client_user, conversation) == 2
    assert _unread(api, provider, conversation) == 0


def test_replying_reads_everything_before_the_reply(api, client_user, provider, conversation, send):
    send(provider, conversation, "question")
    send(client_user, conversation, "answer")

    assert _unread(api, client_user, conversation) == 0
    assert _unread(api, provider, conversation) == 1


def test_mark_read_moves_the_marker_to_the_newest_message(api, client_user, provider, conversation, send):
    send(provider, conversation, "one")
    newest = send(provider, conversation, "two")

    response = _mark_read(api, client_user, conversation)

    assert response.status_code == 200
    assert response.data["conversationId"] == conversation.pk
    assert response.data["userId"] == client_user.pk
    assert response.data["lastReadMessageId"] == newest.pk
    assert response.data["lastReadSeq"] == newest.seq
    assert response.data["lastReadAt"] is not None
    assert _unread(api, client_user, conversation) == 0


def test_mark_read_emits_conversation_read_with_the_marker(
    api, client_user, provider, conversation, send, conversation_listener, django_capture_on_commit_callbacks
):
    send(provider, conversation, "one")

    with django_capture_on_commit_callbacks(execute=True):
        response = _mark_read(api, client_user, conversation)

    assert conversation_listener.next_event() == {"event": "conversation:read", "data": response.data}


def test_mark_read_with_nothing_new_emits_nothing(
    api, client_user, provider, conversation, send, conversation_listener, django_capture_on_commit_callbacks
):
    send(provider, conversation, "one")
    _mark_read(api, client_user, conversation)

    with django_capture_on_commit_callbacks(execute=True):
        response = _mark_read(api, client_user, conversation)

    assert response.status_code == 200
    conversation_listener.assert_silent()


def test_mark_read_of_an_empty_conversation_leaves_no_marker(api, client_user, conversation):
    response = _mark_read(api, client_user, conversation)

    assert response.status_code == 200
    assert response.data["lastReadMessageId"] is None
    assert response.data["lastReadSeq"] == 0


def test_mark_read_is_404_for_an_outsider(api, outsider, provider, conversation, send):
    send(provider, conversation, "one")

    assert _mark_read(api, outsider, conversation).status_code == 404


def test_mark_read_refuses_anonymous(api, conversation):
    assert api.patch(f"/api/messages/conversation/{conversation.pk}/read").status_code == 401


def test_message_read_lowers_the_unread_count_to_what_follows_it(api, client_user, provider, conversation, send):
    first = send(provider, conversation, "one")
    send(provider, conversation, "two")
    send(provider, conversation, "three")

    services.message_mark_read(user=client_user, conversation_id=conversation.pk, message_id=first.pk)

    assert _unread(api, client_user, conversation) == 2


def test_a_read_marker_never_moves_backwards(
    client_user, provider, conversation, send, conversation_listener, django_capture_on_commit_callbacks
):
    older = send(provider, conversation, "one")
    newer = send(provider, conversation, "two")
    services.message_mark_read(user=client_user, conversation_id=conversation.pk, message_id=newer.pk)

    with django_capture_on_commit_callbacks(execute=True):
        marker = services.message_mark_read(user=client_user, conversation_id=conversation.pk, message_id=older.pk)

    assert marker.last_read_message_id == newer.pk
    assert Participant.objects.get(conversation=conversation, user=client_user).last_read_seq == newer.seq
    conversation_listener.assert_silent()


def test_message_read_of_a_message_from_another_conversation_is_not_found(client_user, provider, conversation, send):
    elsewhere = send(provider, make_project(client_user, provider, title="Other").conversation, "elsewhere")

    with pytest.raises(NotFound):
        services.message_mark_read(user=client_user, conversation_id=conversation.pk, message_id=elsewhere.pk)

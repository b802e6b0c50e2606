"""Message and read-marker payloads: built once per send by ``messaging.events``, the same dict over REST
and the socket, and what the REST schema documents."""

from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from messaging import events, services
from messaging.serializers import MessageSerializer, ReadMarkerSerializer
from tests.conftest import documented

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def _post_file(api, user, conversation):
    return api.as_user(user).post(
        "/api/messages",
        {
            "conversationId": conversation.pk,
            "type": "file",
            "file": SimpleUploadedFile("a.pdf", b"%PDF", "application/pdf"),
        },
        format="multipart",
    )


def test_a_send_answers_with_the_very_payload_it_pushed(
    api, client_user, conversation, django_capture_on_commit_callbacks
):
    with mock.patch("realtime.publish.publish_now") as publish_now, django_capture_on_commit_callbacks(execute=True):
        response = _post_file(api, client_user, conversation)

    assert response.status_code == 201
    groups, event, pushed = publish_now.call_args.args
    assert (groups, event) == ([events.conversation_group(conversation.pk)], events.MESSAGE_NEW)
    assert pushed is response.data


def test_a_file_message_reads_the_same_over_the_socket_and_rest(
    api, client_user, conversation, conversation_listener, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = _post_file(api, client_user, conversation)

    pushed = conversation_listener.next_event()["data"]
    assert pushed == response.data
    assert pushed["file"]["url"] == f"/api/messages/{pushed['id']}/file"
    history = api.as_user(client_user).get(f"/api/messages/conversation/{conversation.pk}").data["results"]
    assert history == [pushed]


@pytest.mark.parametrize("kind", ["text", "file", "masked"])
def test_the_message_payload_is_what_the_schema_documents(api, client_user, conversation, send, settings, kind):
    if kind == "file":
        message_id = _post_file(api, client_user, conversation).data["id"]
    elif kind == "masked":  # as its sender reads it: as sent, with its moderation (docs/moderation.md)
        settings.CONTACT_FILTER = "mask"
        message_id = send(client_user, conversation, "call me on +44 20 7946 0958").pk
    else:
        message_id = send(client_user, conversation, "hello").pk
    message = conversation.messages.select_related("sender").get(pk=message_id)

    assert events.message_payload(message, viewer_id=client_user.pk) == documented(MessageSerializer, message)


def test_the_read_marker_payload_is_what_the_schema_documents(client_user, provider, conversation, send):
    message = send(provider, conversation, "hello")
    marker = services.message_mark_read(user=client_user, conversation_id=conversation.pk, message_id=message.pk)

    assert events.read_marker_payload(marker) == documented(ReadMarkerSerializer, marker)

"""File messages: multipart upload under the settings' limits, download only by participants."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from messaging.models import Message

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def _upload(api, user, conversation, *, name="brief.pdf", body=b"%PDF-1.4 brief", content_type="application/pdf"):
    return api.as_user(user).post(
        "/api/messages",
        {"conversationId": conversation.pk, "type": "file", "file": SimpleUploadedFile(name, body, content_type)},
        format="multipart",
    )


def test_upload_stores_the_file_and_describes_it(api, client_user, conversation, media_root):
    response = _upload(api, client_user, conversation)

    assert response.status_code == 201
    assert response.data["type"] == "file"
    assert response.data["file"] == {
        "name": "brief.pdf",
        "size": len(b"%PDF-1.4 brief"),
        "contentType": "application/pdf",
        "url": f"/api/messages/{response.data['id']}/file",
    }
    stored = Message.objects.get().file
    assert (media_root / stored.name).read_bytes() == b"%PDF-1.4 brief"
    assert "brief" not in stored.name, "the stored name must not be guessable from the upload's"


def test_upload_may_carry_a_caption(api, client_user, conversation):
    response = api.as_user(client_user).post(
        "/api/messages",
        {
            "conversationId": conversation.pk,
            "type": "file",
            "content": "the brief",
            "file": SimpleUploadedFile("brief.txt", b"text", "text/plain"),
        },
        format="multipart",
    )

    assert response.status_code == 201
    assert response.data["content"] == "the brief"


def test_upload_refuses_a_file_over_the_size_limit(api, client_user, conversation, settings):
    settings.UPLOAD_MAX_BYTES = 10

    response = _upload(api, client_user, conversation, body=b"x" * 11)

    assert response.status_code == 400
    assert "file" in response.data["fields"]
    assert not Message.objects.exists()


def test_upload_refuses_a_content_type_off_the_allow_list(api, client_user, conversation, settings):
    settings.UPLOAD_ALLOWED_CONTENT_TYPES = ["image/png"]

    response = _upload(api, client_user, conversation, name="run.sh", body=b"#!/bin/sh", content_type="text/x-sh")

    assert response.status_code == 400
    assert "file" in response.data["fields"]
    assert not Message.objects.exists()


def test_a_file_message_needs_a_file(api, client_user, conversation):
    response = api.as_user(client_user).post(
        "/api/messages", {"conversationId": conversation.pk, "type": "file"}, format="multipart"
    )

    assert response.status_code == 400
    assert "file" in response.data["fields"]


def test_a_text_message_carries_no_file(api, client_user, conversation):
    response = api.as_user(client_user).post(
        "/api/messages",
        {
            "conversationId": conversation.pk,
            "type": "text",
            "content": "hi",
            "file": SimpleUploadedFile("a.txt", b"a", "text/plain"),
        },
        format="multipart",
    )

    assert response.status_code == 400
    assert "file" in response.data["fields"]


def test_upload_is_404_for_an_outsider(api, outsider, conversation):
    assert _upload(api, outsider, conversation).status_code == 404


def test_download_gives_a_participant_the_file_as_an_attachment(api, client_user, provider, conversation):
    message_id = _upload(api, client_user, conversation).data["id"]

    response = api.as_user(provider).get(f"/api/messages/{message_id}/file")

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"%PDF-1.4 brief"
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="brief.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"


def test_download_is_404_for_an_outsider(api, client_user, outsider, conversation):
    message_id = _upload(api, client_user, conversation).data["id"]

    assert api.as_user(outsider).get(f"/api/messages/{message_id}/file").status_code == 404


def test_download_refuses_anonymous(api, client_user, conversation):
    message_id = _upload(api, client_user, conversation).data["id"]

    assert api.as_user(None).get(f"/api/messages/{message_id}/file").status_code == 401


def test_download_of_a_text_message_is_404(api, client_user, conversation, send):
    message = send(client_user, conversation, "no attachment")

    assert api.as_user(client_user).get(f"/api/messages/{message.pk}/file").status_code == 404


def test_files_are_not_served_from_a_public_media_url(client, client_user, conversation, api):
    stored = Message.objects.get(pk=_upload(api, client_user, conversation).data["id"]).file

    assert client.get(f"/media/{stored.name}").status_code == 404


def test_download_of_a_file_missing_from_storage_is_404_not_a_server_error(api, client_user, conversation):
    message = Message.objects.get(pk=_upload(api, client_user, conversation).data["id"])
    message.file.storage.delete(message.file.name)

    response = api.as_user(client_user).get(f"/api/messages/{message.pk}/file")

    assert response.status_code == 404
    assert response.json()["code"] == "file_missing"

"""Suspension: a suspended provider keeps reading their projects (history, files, terms, meetings) but
every write and every Agora token is refused with 403 ``provider_suspended``, over REST and on the
socket (which stays open), until support staff approve them again."""

from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from accounts import services as account_services
from accounts.models import User
from meetings import services as meeting_services
from messaging import services as messaging_services
from messaging.models import Message
from projects import services as project_services
from tests.meetings.conftest import agora_configured  # noqa: F401
from tests.messaging.conftest import alice_and_bob, socket_thread_connections_closed  # noqa: F401
from tests.realtime.sockets import assert_no_frame, connect_as, join, next_frame, request

pytestmark = pytest.mark.django_db


def _set_status(provider: User, status: str) -> None:
    account_services.provider_set_status(provider_id=provider.pk, status=status)
    # Tests authenticate with this object as it is, as each request's authentication would load it.
    provider.refresh_from_db()


def suspend(provider: User) -> None:
    _set_status(provider, User.ProviderStatus.SUSPENDED)


def reinstate(provider: User) -> None:
    _set_status(provider, User.ProviderStatus.APPROVED)


@pytest.fixture
def history(client_user, provider, project, settings, tmp_path):
    """What bob's project holds before his suspension: a message each, his file, and meetings each hosts."""
    settings.MEDIA_ROOT = tmp_path
    conversation_id = project.conversation.pk
    messaging_services.message_send(user=client_user, conversation_id=conversation_id, content="Kick-off?")
    file_message = messaging_services.message_send(
        user=provider,
        conversation_id=conversation_id,
        content="",
        type=Message.Type.FILE,
        upload=SimpleUploadedFile("plan.pdf", b"%PDF-1.4 plan", "application/pdf"),
    ).message
    return {
        "file": file_message,
        "alices_pending": meeting_services.meeting_create(user=client_user, project_id=project.pk, title="Review"),
        "alices_active": meeting_services.meeting_create(
            user=client_user, project_id=project.pk, title="Call", instant=True
        ),
        "bobs_pending": meeting_services.meeting_create(user=provider, project_id=project.pk, title="Demo"),
        "bobs_active": meeting_services.meeting_create(
            user=provider, project_id=project.pk, title="Standup", instant=True
        ),
    }


def _later() -> str:
    return (timezone.now() + timedelta(days=2)).isoformat()


def _text(world) -> dict:
    return {"conversationId": world["conversation"], "content": "still working on it"}


def _file(world) -> dict:
    return {
        "conversationId": world["conversation"],
        "type": "file",
        "file": SimpleUploadedFile("draft.pdf", b"%PDF-1.4 draft", "application/pdf"),
    }


def _instant(world) -> dict:
    return {"projectId": world["project"], "title": "Quick call", "instant": True}


def _scheduled(world) -> dict:
    return {"projectId": world["project"], "title": "Next week", "scheduledFor": _later()}


def _proposal(world) -> dict:
    return {"price": "800.00", "scope": "More pages", "deadline": (timezone.now() + timedelta(days=9)).date()}


# (method, path, payload): every write of bob's, and his call's token.
WRITES = {
    "send text": ("post", "/api/messages", _text),
    "upload file": ("post", "/api/messages", _file),
    "start instant meeting": ("post", "/api/meetings", _instant),
    "schedule meeting": ("post", "/api/meetings", _scheduled),
    "start own meeting": ("patch", "/api/meetings/{bobs_pending}/start", None),
    "cancel own meeting": ("patch", "/api/meetings/{bobs_pending}/cancel", None),
    "end own meeting": ("patch", "/api/meetings/{bobs_active}/end", None),
    "accept invitation": ("patch", "/api/meetings/{alices_pending}/accept", None),
    "decline invitation": ("patch", "/api/meetings/{alices_pending}/decline", None),
    "token": ("get", "/api/meetings/{alices_active}/token", None),
    "submit proposal": ("post", "/api/requests/{open_request}/proposals", _proposal),
}


@pytest.fixture
def world(client_user, project, history) -> dict:
    open_request = project_services.service_request_create(client=client_user, title="Another site")
    return {
        "project": project.pk,
        "conversation": project.conversation.pk,
        "open_request": open_request.pk,
        **{name: meeting.pk for name, meeting in history.items() if name != "file"},
    }


def _call(api, user, world, write: str):
    method, path, payload = WRITES[write]
    body = payload(world) if payload else None
    send = getattr(api.as_user(user), method)
    if body is not None and "file" in body:
        return send(path.format(**world), body, format="multipart")
    return send(path.format(**world), body, format="json")


@pytest.mark.parametrize("write", WRITES)
def test_a_suspended_provider_is_refused_every_write_and_token_with_403(api, agora_configured, provider, world, write):
    suspend(provider)

    response = _call(api, provider, world, write)

    assert response.status_code == 403
    assert response.json()["code"] == "provider_suspended"


def test_a_refused_send_stores_nothing(api, provider, project, world):
    suspend(provider)
    before = Message.objects.filter(conversation=project.conversation).count()

    _call(api, provider, world, "send text")

    assert Message.objects.filter(conversation=project.conversation).count() == before


@pytest.mark.parametrize("write", WRITES)
def test_a_reinstated_provider_writes_again(api, agora_configured, provider, world, write):
    suspend(provider)
    reinstate(provider)

    response = _call(api, provider, world, write)

    assert response.status_code in (200, 201), response.content


def test_the_client_still_writes_while_the_provider_is_suspended(api, client_user, provider, world):
    suspend(provider)

    assert _call(api, client_user, world, "send text").status_code == 201
    assert _call(api, client_user, world, "start instant meeting").status_code == 201


@pytest.mark.parametrize(
    "path",
    [
        "/api/projects/{project}",
        "/api/conversations/{conversation}",
        "/api/conversations/project/{project}",
        "/api/messages/conversation/{conversation}",
        "/api/messages/{file}/file",
        "/api/meetings/me",
        "/api/meetings/{alices_pending}",
    ],
)
def test_a_suspended_provider_still_reads_the_project(api, provider, world, history, path):
    suspend(provider)

    response = api.as_user(provider).get(path.format(file=history["file"].pk, **world))

    assert response.status_code == 200


def test_a_suspended_provider_still_reads_the_terms(api, provider, project, world):
    suspend(provider)

    response = api.as_user(provider).get(f"/api/projects/{project.pk}")

    assert response.json()["termsHash"] == project.terms_hash


def test_a_suspended_provider_still_marks_what_they_read(api, provider, project, world):
    """The marker records their own reading and carries nothing they wrote: a read, not a write."""
    suspend(provider)

    response = api.as_user(provider).patch(f"/api/messages/conversation/{project.conversation.pk}/read")

    assert response.status_code == 200


# ---- the socket ----------------------------------------------------------------------------------


def _typing_frame(conversation) -> dict:
    return {"event": "conversation:typing", "data": {"conversationId": conversation.pk, "isTyping": True}}


async def _typing(socket, conversation) -> dict:
    """Type and read the answer: only a refused typing frame has one."""
    return await request(socket, "conversation:typing", _typing_frame(conversation)["data"])


@pytest.mark.django_db(transaction=True)
async def test_a_suspended_providers_typing_is_refused_and_reaches_nobody(alice_and_bob, provider, conversation):
    alice, bob = alice_and_bob
    await sync_to_async(suspend)(provider)
    assert (await next_frame(bob))["event"] == "account:provider_status"

    reply = await _typing(bob, conversation)

    assert reply["event"] == "error"
    assert reply["data"]["code"] == "provider_suspended"
    await assert_no_frame(alice)


@pytest.mark.django_db(transaction=True)
async def test_a_refused_frame_leaves_the_suspended_providers_socket_open_and_reading(
    alice_and_bob, client_user, provider, conversation
):
    alice, bob = alice_and_bob
    await sync_to_async(suspend)(provider)
    await next_frame(bob)
    await _typing(bob, conversation)

    await alice.send_json_to(_typing_frame(conversation))

    assert (await next_frame(bob))["event"] == "conversation:typing"


@pytest.mark.django_db(transaction=True)
async def test_a_socket_opened_while_suspended_is_refused_typing(client_user, provider, conversation):
    await sync_to_async(suspend)(provider)
    bob = await connect_as(provider)
    await join(bob, conversation.pk)

    reply = await _typing(bob, conversation)

    assert reply["data"]["code"] == "provider_suspended"
    await bob.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_suspended_provider_cannot_answer_an_invitation_on_the_socket(client_user, provider, project):
    meeting = await sync_to_async(meeting_services.meeting_create)(
        user=client_user, project_id=project.pk, title="Review"
    )
    await sync_to_async(suspend)(provider)
    bob = await connect_as(provider)

    reply = await request(bob, "meeting:accept", {"meetingId": meeting.pk})

    assert reply["data"]["code"] == "provider_suspended"
    await bob.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_reinstated_providers_typing_reaches_the_client_again(alice_and_bob, provider, conversation):
    alice, bob = alice_and_bob
    await sync_to_async(suspend)(provider)
    await next_frame(bob)
    await sync_to_async(reinstate)(provider)
    assert (await next_frame(bob))["data"] == {"userId": provider.pk, "providerStatus": "approved"}

    await bob.send_json_to(_typing_frame(conversation))

    assert (await next_frame(alice))["data"]["username"] == "bob"


# ---- the project page ----------------------------------------------------------------------------


def _page(client, user, project) -> str:
    client.force_login(user)
    response = client.get(reverse("project-detail", args=[project.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_the_clients_project_page_says_the_provider_is_suspended(client, client_user, provider, project):
    suspend(provider)

    html = _page(client, client_user, project)

    assert "bob's provider account is suspended" in html
    assert 'id="composer"' in html


def test_the_suspended_providers_project_page_says_so_and_offers_no_writes(client, provider, project):
    suspend(provider)

    html = _page(client, provider, project)

    assert "Your provider account is suspended" in html
    assert 'id="composer"' not in html
    assert 'id="start-instant"' not in html


def test_the_project_page_of_an_approved_provider_mentions_no_suspension(client, client_user, project):
    html = _page(client, client_user, project)

    assert 'id="suspended-banner"' not in html

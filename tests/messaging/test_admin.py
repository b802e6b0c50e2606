"""The admin: conversations with read-only participants and messages, searchable and filterable."""

import pytest
from django.urls import reverse

from accounts.models import User
from messaging.models import Conversation, Message
from projects import services as project_services
from tests.conftest import make_project, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(make_user("root", role=User.Role.CLIENT, is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def two_conversations(client_user, provider, conversation, send):
    other = make_project(client_user, provider, title="Shop").conversation
    send(provider, conversation, "the wireframes are ready")
    send(client_user, other, "price list attached")
    project_services.project_set_status(project_id=other.project_id, status="completed")
    return conversation, other


def _listed(response) -> set[int]:
    return {row.pk for row in response.context["cl"].result_list}


def test_conversations_are_searchable_by_message_content(admin_client, two_conversations):
    website, _ = two_conversations

    response = admin_client.get(reverse("admin:messaging_conversation_changelist"), {"q": "wireframes"})

    assert _listed(response) == {website.pk}


def test_conversations_filter_by_project_status(admin_client, two_conversations):
    _, shop = two_conversations

    response = admin_client.get(
        reverse("admin:messaging_conversation_changelist"), {"project__status__exact": "completed"}
    )

    assert _listed(response) == {shop.pk}


def test_a_conversation_shows_its_participants_and_messages_read_only(admin_client, two_conversations):
    website, _ = two_conversations

    response = admin_client.get(reverse("admin:messaging_conversation_change", args=[website.pk]))

    assert response.status_code == 200
    assert b"the wireframes are ready" in response.content
    assert b'name="messages-0-content"' not in response.content
    assert b'name="participants-0-last_read_seq"' not in response.content


def test_messages_are_searchable_by_sender(admin_client, two_conversations):
    response = admin_client.get(reverse("admin:messaging_message_changelist"), {"q": "alice"})

    assert [message.content for message in response.context["cl"].result_list] == ["price list attached"]


def test_messages_filter_by_type_and_a_system_message_shows_system_as_its_sender(
    admin_client, client_user, conversation, send
):
    send(client_user, conversation, "before the close")
    project_services.project_set_status(project_id=conversation.project_id, status="completed")
    closing = conversation.messages.get(type=Message.Type.SYSTEM)

    response = admin_client.get(reverse("admin:messaging_message_changelist"), {"type__exact": "system"})
    page = admin_client.get(reverse("admin:messaging_message_change", args=[closing.pk]))

    assert _listed(response) == {closing.pk}
    assert '<td class="field-sender_or_system">system</td>' in response.content.decode()
    assert page.status_code == 200
    assert "project.completed" in page.content.decode()


def test_the_admin_refuses_a_non_staff_user(client, client_user, conversation):
    client.force_login(client_user)

    response = client.get(reverse("admin:messaging_conversation_changelist"))

    assert response.status_code == 302


def test_staff_cannot_delete_a_projects_conversation(staff_admin, conversation):
    """Its project keeps it: closing the project makes it read-only, and participants are removed one by one."""
    response = staff_admin.post(reverse("admin:messaging_conversation_delete", args=[conversation.pk]), {"post": "yes"})

    assert response.status_code == 403
    assert Conversation.objects.filter(pk=conversation.pk).exists()

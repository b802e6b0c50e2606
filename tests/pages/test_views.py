"""The end-user pages: login required, members only, and what each page shows."""

import pytest
from django.urls import reverse

from meetings import services as meeting_services
from messaging.services import message_delete, message_send
from projects.services import project_member_add, project_set_status

pytestmark = pytest.mark.django_db


@pytest.fixture
def live_meeting(client_user, project):
    return meeting_services.meeting_create(user=client_user, project_id=project.pk, title="Kick-off", instant=True)


def _project_url(project) -> str:
    return reverse("project-detail", args=[project.pk])


@pytest.mark.parametrize("url_name, args", [("dashboard", []), ("project-detail", [1]), ("meeting-call", [1])])
def test_pages_require_login(client, url_name, args):
    url = reverse(url_name, args=args)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


def test_login_form_logs_in_and_lands_on_the_dashboard(client, client_user):
    response = client.post(reverse("login"), {"username": "alice", "password": "correct-horse-battery-staple"})
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")


def test_dashboard_lists_my_projects_and_conversations_with_unread_counts(client, provider, client_user, project):
    message_send(user=client_user, conversation_id=project.conversation.pk, content="Kick-off on Monday?")
    client.force_login(provider)
    response = client.get(reverse("dashboard"))
    assert response.status_code == 200
    html = response.content.decode()
    assert _project_url(project) in html
    assert project.terms_hash[:12] in html
    assert 'aria-label="1 unread"' in html
    assert "Kick-off on Monday?" in html


def test_dashboard_previews_a_system_message_as_its_sentence_and_counts_it_as_nothing_unread(
    client, provider, live_meeting
):
    client.force_login(provider)
    html = client.get(reverse("dashboard")).content.decode()
    assert "alice started the meeting “Kick-off”." in html
    assert "unread" not in html
    assert '<span class="muted">:</span>' not in html


def test_dashboard_previews_a_deleted_last_message_as_deleted(client, provider, client_user, project):
    sent = message_send(user=client_user, conversation_id=project.conversation.pk, content="wrong room")
    message_delete(user=client_user, message_id=sent.message.pk)
    client.force_login(provider)

    html = client.get(reverse("dashboard")).content.decode()

    assert "<em>deleted a message</em>" in html
    assert "wrong room" not in html


def test_dashboard_shows_nobody_elses_projects(client, outsider, project):
    client.force_login(outsider)
    response = client.get(reverse("dashboard"))
    assert project.title not in response.content.decode()
    assert "No projects yet" in response.content.decode()


def test_project_page_shows_the_locked_terms_and_the_conversation(client, client_user, project):
    client.force_login(client_user)
    response = client.get(_project_url(project))
    assert response.status_code == 200
    html = response.content.decode()
    for shown in (project.title, str(project.price), project.scope, project.terms_hash, "matches the snapshot"):
        assert shown in html
    assert 'id="composer"' in html
    assert response.context["page_config"]["conversation"]["id"] == project.conversation.pk


def test_project_page_lists_the_members_of_both_sides(client, client_user, provider, provider_teammate, project):
    project_member_add(project_id=project.pk, user_id=provider_teammate.pk, by=provider)
    client.force_login(client_user)

    members = client.get(_project_url(project)).context["members"]

    assert [(m["user"]["username"], m["side"], m["owner"]) for m in members] == [
        ("alice", "client", True),
        ("bob", "provider", True),
        ("piet", "provider", False),
    ]


def test_a_teammate_works_with_the_other_sides_owner(client, provider, provider_teammate, project):
    project_member_add(project_id=project.pk, user_id=provider_teammate.pk, by=provider)
    client.force_login(provider_teammate)

    response = client.get(_project_url(project))

    assert response.status_code == 200
    assert response.context["counterpart"] == project.client
    assert f'data-user-id="{provider_teammate.pk}"' in response.content.decode()


def test_project_page_is_404_for_a_non_member(client, outsider, project):
    client.force_login(outsider)
    assert client.get(_project_url(project)).status_code == 404


def test_project_page_is_404_for_staff_who_are_not_members(client, staff, project):
    client.force_login(staff)
    assert client.get(_project_url(project)).status_code == 404


def test_project_page_of_a_finished_project_is_read_only(client, client_user, project):
    project_set_status(project_id=project.pk, status="completed")
    client.force_login(client_user)
    html = client.get(_project_url(project)).content.decode()
    assert 'id="read-only-banner"' in html
    assert 'id="composer"' not in html


def test_message_content_is_never_rendered_as_markup_on_the_dashboard(client, client_user, provider, project):
    message_send(user=provider, conversation_id=project.conversation.pk, content="<script>alert(1)</script>")
    client.force_login(client_user)
    html = client.get(reverse("dashboard")).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_dashboard_lists_live_meetings_and_the_invitations_waiting_for_me(client, provider, live_meeting):
    client.force_login(provider)
    response = client.get(reverse("dashboard"))
    assert [m["id"] for m in response.context["invitations"]] == [live_meeting.pk]
    assert reverse("meeting-call", args=[live_meeting.pk]) in response.content.decode()


def test_the_host_has_no_invitation_to_answer(client, client_user, live_meeting):
    client.force_login(client_user)
    response = client.get(reverse("dashboard"))
    assert [m["id"] for m in response.context["meetings"]] == [live_meeting.pk]
    assert response.context["invitations"] == []


def test_project_page_carries_the_project_meetings(client, provider, project, live_meeting):
    client.force_login(provider)
    response = client.get(_project_url(project))
    assert [m["id"] for m in response.context["page_config"]["meetings"]] == [live_meeting.pk]


def test_call_screen_says_plainly_that_agora_is_not_configured(client, provider, live_meeting, settings):
    settings.AGORA_APP_ID = ""
    client.force_login(provider)
    response = client.get(reverse("meeting-call", args=[live_meeting.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-reason="not-configured"' in html
    assert "call.js" not in html


def test_call_screen_loads_the_sdk_from_the_setting_when_configured(client, provider, live_meeting, settings):
    settings.AGORA_APP_ID = "0" * 32
    settings.AGORA_SDK_URL = "https://sdk.example/AgoraRTC_N.js"
    client.force_login(provider)
    response = client.get(reverse("meeting-call", args=[live_meeting.pk]))
    assert response.context["call_config"]["sdkUrl"] == "https://sdk.example/AgoraRTC_N.js"
    assert "call.js" in response.content.decode()


def test_call_screen_is_404_for_a_non_member(client, outsider, live_meeting):
    client.force_login(outsider)
    assert client.get(reverse("meeting-call", args=[live_meeting.pk])).status_code == 404

"""Support staff browse meetings in the admin: filters by status and project, durations, participants inline."""

import pytest

from meetings import services
from meetings.models import Meeting
from tests.conftest import make_project, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(make_user("root", is_staff=True, is_superuser=True))
    return client


def test_the_meeting_list_filters_by_status_and_shows_durations(admin_client, client_user, project, completed_meeting):
    services.meeting_create(user=client_user, project_id=project.pk, title="Still pending")
    response = admin_client.get("/admin/meetings/meeting/", {"status__exact": "completed"})
    assert response.status_code == 200
    page = response.content.decode()
    assert (completed_meeting.title in page, "Still pending" in page) == (True, False)
    assert "0:00:00" in page


def test_the_meeting_list_filters_by_project(admin_client, client_user, provider, meeting):
    other_project = make_project(client_user, provider, title="Second site")
    services.meeting_create(user=client_user, project_id=other_project.pk, title="Elsewhere")
    page = admin_client.get("/admin/meetings/meeting/", {"project__id__exact": other_project.pk}).content.decode()
    assert "By project" in page
    assert ("Elsewhere" in page, meeting.title in page) == (True, False)


def test_the_meeting_page_lists_participants_with_their_answers(admin_client, meeting, provider):
    response = admin_client.get(f"/admin/meetings/meeting/{meeting.pk}/change/")
    assert response.status_code == 200
    assert provider.username in response.content.decode()
    assert "Invited" in response.content.decode()


def test_a_member_without_staff_rights_cannot_open_it(client, client_user, meeting):
    client.force_login(client_user)
    assert client.get("/admin/meetings/meeting/").status_code == 302


def test_staff_cannot_delete_a_meeting_past_its_participants(staff_admin, meeting):
    """A meeting ends or is cancelled through the API, which tells its participants; deleting it would not."""
    response = staff_admin.post(f"/admin/meetings/meeting/{meeting.pk}/delete/", {"post": "yes"})

    assert response.status_code == 403
    assert Meeting.objects.filter(pk=meeting.pk).exists()

"""GET /api/meetings/{id}/ics: the meeting's calendar file, for its participants only."""

import icalendar
import pytest

from meetings import services as meeting_services

pytestmark = pytest.mark.django_db


def _url(meeting) -> str:
    return f"/api/meetings/{meeting.pk}/ics"


@pytest.mark.parametrize("who", ["client_user", "provider"])
def test_a_participant_gets_the_calendar_file(api, scheduled_meeting, who, request):
    response = api.as_user(request.getfixturevalue(who)).get(_url(scheduled_meeting))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="meeting-{scheduled_meeting.pk}.ics"'
    calendar = icalendar.Calendar.from_ical(response.content)
    assert str(calendar["METHOD"]) == "REQUEST"
    assert str(calendar.walk("VEVENT")[0]["UID"]) == f"meeting-{scheduled_meeting.pk}@chat.example.com"


def test_a_client_asking_for_text_calendar_gets_it(api, scheduled_meeting, provider):
    response = api.as_user(provider).get(_url(scheduled_meeting), HTTP_ACCEPT="text/calendar")

    assert response.status_code == 200
    assert response.content.startswith(b"BEGIN:VCALENDAR")


def test_a_cancelled_meeting_gives_a_cancel(api, scheduled_meeting, client_user, provider):
    meeting_services.meeting_cancel(user=client_user, meeting_id=scheduled_meeting.pk)

    response = api.as_user(provider).get(_url(scheduled_meeting))

    assert str(icalendar.Calendar.from_ical(response.content)["METHOD"]) == "CANCEL"


@pytest.mark.parametrize("accept", ["*/*", "text/calendar"])
def test_an_outsider_gets_a_json_404(api, scheduled_meeting, outsider, accept):
    response = api.as_user(outsider).get(_url(scheduled_meeting), HTTP_ACCEPT=accept)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "not_found"


def test_anonymous_is_refused(api, scheduled_meeting):
    assert api.get(_url(scheduled_meeting)).status_code == 401

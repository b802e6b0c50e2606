"""A meeting's iCalendar file: parsed by ``icalendar`` and by ``vobject``, an independent parser. The invitation,
its update after a reschedule and the cancellation share one UID under a rising SEQUENCE."""

from datetime import timedelta

import icalendar
import pytest
import vobject

from meetings import selectors as meeting_selectors
from meetings import services as meeting_services
from notifications.meeting_calendar import meeting_calendar
from tests.notifications.conftest import SITE_URL

pytestmark = pytest.mark.django_db


def _calendar_as(meeting, viewer) -> bytes:
    return meeting_calendar(meeting_selectors.meeting_get(meeting_id=meeting.pk), viewer=viewer, site_url=SITE_URL)


def _both(ics: bytes):
    """The file through each parser: (icalendar's event, method) and (vobject's event, method)."""
    ours = icalendar.Calendar.from_ical(ics)
    theirs = vobject.readOne(ics.decode())
    return (ours.walk("VEVENT")[0], str(ours["METHOD"])), (theirs.vevent, theirs.method.value)


def test_an_invitation_is_a_request_with_organizer_attendee_and_times(scheduled_meeting, provider):
    (event, method), (v_event, v_method) = _both(_calendar_as(scheduled_meeting, provider))

    assert method == v_method == "REQUEST"
    uid = f"meeting-{scheduled_meeting.pk}@chat.example.com"
    assert str(event["UID"]) == v_event.uid.value == uid
    assert int(event["SEQUENCE"]) == int(v_event.sequence.value) == 0
    assert event.decoded("DTSTART") == v_event.dtstart.value == scheduled_meeting.scheduled_for
    assert event.decoded("DTEND") == v_event.dtend.value == scheduled_meeting.scheduled_for + timedelta(minutes=60)
    assert str(event["SUMMARY"]) == v_event.summary.value == "Design review"
    assert v_event.url.value == f"{SITE_URL}/meetings/{scheduled_meeting.pk}/call"
    assert v_event.organizer.params["CN"] == ["alice"]
    attendees = v_event.attendee_list
    assert [(a.value, a.params["CN"], a.params["PARTSTAT"]) for a in attendees] == [
        ("mailto:bob@example.com", ["bob"], ["NEEDS-ACTION"])
    ]


def test_an_attendee_answer_becomes_their_partstat(scheduled_meeting, provider, client_user):
    meeting_services.meeting_accept(user=provider, meeting_id=scheduled_meeting.pk)

    (event, _), (v_event, _) = _both(_calendar_as(scheduled_meeting, client_user))

    assert event["ATTENDEE"].params["PARTSTAT"] == "ACCEPTED"
    assert v_event.attendee.params["PARTSTAT"] == ["ACCEPTED"]


def test_each_viewer_sees_only_their_own_email_address(scheduled_meeting, provider, client_user):
    as_provider = _calendar_as(scheduled_meeting, provider).decode()
    as_host = _calendar_as(scheduled_meeting, client_user).decode()

    assert "bob@example.com" in as_provider and "alice@example.com" not in as_provider.replace("\r\n ", "")
    assert "alice@example.com" in as_host and "bob@example.com" not in as_host.replace("\r\n ", "")
    assert f"mailto:user-{client_user.pk}@chat.example.com" in as_provider.replace("\r\n ", "")


def test_reschedule_and_cancel_keep_the_uid_and_raise_the_sequence(scheduled_meeting, client_user, provider):
    invitation = _both(_calendar_as(scheduled_meeting, provider))
    later = scheduled_meeting.scheduled_for + timedelta(days=2)
    meeting_services.meeting_reschedule(user=client_user, meeting_id=scheduled_meeting.pk, scheduled_for=later)
    update = _both(_calendar_as(scheduled_meeting, provider))
    meeting_services.meeting_cancel(user=client_user, meeting_id=scheduled_meeting.pk)
    cancellation = _both(_calendar_as(scheduled_meeting, provider))

    files = [invitation, update, cancellation]
    for parser in (0, 1):
        events = [parsed[parser][0] for parsed in files]
        methods = [parsed[parser][1] for parsed in files]
        uids = {str(event["UID"]) if parser == 0 else event.uid.value for event in events}
        sequences = [int(event["SEQUENCE"]) if parser == 0 else int(event.sequence.value) for event in events]
        assert len(uids) == 1
        assert sequences == [0, 1, 2]
        assert methods == ["REQUEST", "REQUEST", "CANCEL"]
    assert update[1][0].dtstart.value == later
    assert cancellation[1][0].status.value == "CANCELLED"


def test_text_a_user_wrote_is_escaped_as_calendar_text_not_markup(project, client_user, provider):
    meeting = meeting_services.meeting_create(
        user=client_user, project_id=project.pk, title="Q&A; part 1, <b>intro</b>", agenda="line one\nline two"
    )

    (event, _), (v_event, _) = _both(_calendar_as(meeting, provider))

    assert str(event["SUMMARY"]) == v_event.summary.value == "Q&A; part 1, <b>intro</b>"
    assert v_event.description.value.startswith("line one\nline two")

"""Meeting payloads, built by ``meetings.events`` for REST answers and socket events alike, are what the
REST schema documents."""

import pytest

from meetings import events, selectors
from meetings.models import Meeting
from meetings.serializers import MeetingParticipantSerializer, MeetingSerializer
from tests.conftest import documented
from tests.security.test_openapi_schema import generate_schema

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("state", ["meeting", "completed_meeting"])
def test_the_meeting_payload_is_what_the_schema_documents(request, state):
    meeting = selectors.meeting_get(meeting_id=request.getfixturevalue(state).pk)

    assert events.meeting_payload(meeting) == documented(MeetingSerializer, meeting)


def test_the_participant_payload_is_what_the_schema_documents(completed_meeting):
    for participation in selectors.meeting_get(meeting_id=completed_meeting.pk).participants.all():
        assert events.participant_payload(participation) == documented(MeetingParticipantSerializer, participation)


@pytest.mark.parametrize("state, on_wire", [("meeting", "PENDING"), ("completed_meeting", "COMPLETED")])
def test_a_meeting_status_is_stored_lowercase_and_sent_in_the_specs_capitals(request, state, on_wire):
    meeting = request.getfixturevalue(state)

    assert Meeting.objects.values_list("status", flat=True).get(pk=meeting.pk) == on_wire.lower()
    assert events.meeting_payload(selectors.meeting_get(meeting_id=meeting.pk))["status"] == on_wire


def test_the_schema_lists_the_specs_meeting_statuses():
    schema = generate_schema()
    filter_status = next(
        parameter
        for parameter in schema["paths"]["/api/meetings/me"]["get"]["parameters"]
        if parameter["name"] == "status"
    )

    expected = ["PENDING", "ACTIVE", "COMPLETED", "CANCELLED"]
    assert schema["components"]["schemas"]["MeetingStatusEnum"]["enum"] == expected
    assert filter_status["schema"]["enum"] == expected

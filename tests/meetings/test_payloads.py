"""Meeting payloads, built by ``meetings.events`` for REST answers and socket events alike, are what the
REST schema documents."""

import pytest

from meetings import events, selectors
from meetings.serializers import MeetingParticipantSerializer, MeetingSerializer
from tests.conftest import documented

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("state", ["meeting", "completed_meeting"])
def test_the_meeting_payload_is_what_the_schema_documents(request, state):
    meeting = selectors.meeting_get(meeting_id=request.getfixturevalue(state).pk)

    assert events.meeting_payload(meeting) == documented(MeetingSerializer, meeting)


def test_the_participant_payload_is_what_the_schema_documents(completed_meeting):
    for participation in selectors.meeting_get(meeting_id=completed_meeting.pk).participants.all():
        assert events.participant_payload(participation) == documented(MeetingParticipantSerializer, participation)

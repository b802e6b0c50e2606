"""Socket event names of the meetings module (the spec's strings) and the payloads they carry."""

from meetings.models import Meeting, MeetingParticipant
from meetings.serializers import MeetingAnswerSerializer, MeetingSerializer, MeetingSessionSerializer

# Server to client: the meeting itself (as GET /api/meetings/{id} shows it) to its participants.
MEETING_INVITE = "meeting:invite"
MEETING_STARTED = "meeting:started"
MEETING_ENDED = "meeting:ended"
MEETING_CANCELLED = "meeting:cancelled"
# Both ways: an invitee answers with these, and the other participants hear the answer.
MEETING_ACCEPT = "meeting:accept"
MEETING_DECLINE = "meeting:decline"
# Client to server, from the call screen: session times.
MEETING_JOINED = "meeting:joined"
MEETING_LEFT = "meeting:left"


def meeting_payload(meeting: Meeting) -> dict:
    return MeetingSerializer(meeting).data


def answer_payload(participation: MeetingParticipant) -> dict:
    return MeetingAnswerSerializer(participation).data


def session_payload(participation: MeetingParticipant) -> dict:
    return MeetingSessionSerializer(participation).data

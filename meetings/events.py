"""Socket event names of the meetings module (the spec's strings) and the builders of the payloads they
carry; the REST answers are the same builders' dicts (``meetings.serializers`` documents them)."""

from accounts.events import user_brief_payload
from kernel.json_values import iso_datetime
from meetings.models import Meeting, MeetingParticipant
from messaging import events as messaging_events

# Server to client: the meeting itself (as GET /api/meetings/{id} shows it) to its participants.
MEETING_INVITE = "meeting:invite"
MEETING_STARTED = "meeting:started"
MEETING_ENDED = "meeting:ended"
MEETING_CANCELLED = "meeting:cancelled"
MEETING_RESCHEDULED = "meeting:rescheduled"
# MEETING_REMINDER_MINUTES before a scheduled meeting, to each participant who has not declined (sent by the
# worker, notifications.services).
MEETING_REMINDER = "meeting:reminder"
# Both ways: an invitee answers with these, and the other participants hear the answer.
MEETING_ACCEPT = "meeting:accept"
MEETING_DECLINE = "meeting:decline"
# Client to server, from the call screen: session times.
MEETING_JOINED = "meeting:joined"
MEETING_LEFT = "meeting:left"

# The spec spells a meeting's status in capitals (PENDING, ACTIVE, COMPLETED, CANCELLED); the code and the
# database spell it in lowercase, like every other status. REST and socket payloads, the list filter and the
# OpenAPI enum convert here, and only here.
MEETING_STATUS_CHOICES_ON_WIRE = [(status.upper(), label) for status, label in Meeting.Status.choices]


def meeting_status_to_wire(status: str) -> str:
    return status.upper()


def meeting_status_from_wire(value: str) -> str:
    return value.lower()


def meeting_payload(meeting: Meeting) -> dict:
    """The meeting with its project's title, its host and every participant (``selectors.meeting_get``
    loads them in three queries)."""
    return {
        "id": meeting.pk,
        "projectId": meeting.project_id,
        "projectTitle": meeting.project.title,
        "title": meeting.title,
        "agenda": meeting.agenda,
        "status": meeting_status_to_wire(meeting.status),
        "host": user_brief_payload(meeting.host),
        "scheduledFor": iso_datetime(meeting.scheduled_for),
        "startedAt": iso_datetime(meeting.started_at),
        "endedAt": iso_datetime(meeting.ended_at),
        "durationSeconds": meeting.duration_seconds,
        "createdAt": iso_datetime(meeting.created_at),
        "participants": [participant_payload(participation) for participation in meeting.participants.all()],
    }


def participant_payload(participation: MeetingParticipant) -> dict:
    return {
        "user": user_brief_payload(participation.user),
        "isHost": participation.is_host,
        "status": str(participation.status),
        "answeredAt": iso_datetime(participation.answered_at),
        "firstJoinedAt": iso_datetime(participation.first_joined_at),
        "lastLeftAt": iso_datetime(participation.last_left_at),
    }


def answer_payload(participation: MeetingParticipant) -> dict:
    """An invitee's answer, as ``meeting:accept`` / ``meeting:decline`` carry it."""
    return {
        "meetingId": participation.meeting_id,
        "user": user_brief_payload(participation.user),
        "status": str(participation.status),
        "answeredAt": iso_datetime(participation.answered_at),
    }


def session_payload(participation: MeetingParticipant) -> dict:
    """A participant's session times, the reply to ``meeting:joined`` / ``meeting:left``."""
    return {
        "meetingId": participation.meeting_id,
        "userId": participation.user_id,
        "firstJoinedAt": iso_datetime(participation.first_joined_at),
        "lastLeftAt": iso_datetime(participation.last_left_at),
    }


def system_message(meeting: Meeting, kind: str, *, expired: bool = False) -> tuple[dict, str]:
    """What the system message ``kind`` (one of ``messaging.events``' meeting kinds) tells of ``meeting``, and
    its sentence: the meeting's id and title; for its end, how long it lasted and whether it ran out
    (``expired``: completed by the ``meetings_expire`` sweep, not by its host)."""
    data: dict = {"meetingId": meeting.pk, "title": meeting.title}
    if kind == messaging_events.SYSTEM_MEETING_STARTED:
        return data, f"{meeting.host.username} started the meeting “{meeting.title}”."
    if kind == messaging_events.SYSTEM_MEETING_CANCELLED:
        return data, f"{meeting.host.username} cancelled the meeting “{meeting.title}”."
    assert kind == messaging_events.SYSTEM_MEETING_ENDED and meeting.duration_seconds is not None
    data.update(durationSeconds=meeting.duration_seconds, expired=expired)
    lasted = duration_words(meeting.duration_seconds)
    if expired:
        return data, f"The meeting “{meeting.title}” ended after {lasted}, its maximum length."
    return data, f"The meeting “{meeting.title}” ended after {lasted}."


def duration_words(seconds: int) -> str:
    """``seconds`` as a sentence says it: "less than a minute", "42 minutes", "1 hour 5 minutes"."""
    hours, minutes = divmod(seconds // 60, 60)
    if not hours and not minutes:
        return "less than a minute"
    parts = [f"{count} {unit}{'' if count == 1 else 's'}" for count, unit in ((hours, "hour"), (minutes, "minute"))]
    return " ".join(part for part, count in zip(parts, (hours, minutes), strict=True) if count)

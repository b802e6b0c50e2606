"""Writes of the meetings module, and the Agora tokens that let a participant into a call.

Every transition, answer and session update of a meeting runs in one transaction holding the
meeting's row lock, so concurrent requests queue up and each sees the state the previous one left;
socket events go out only after the commit.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.suspension import require_not_suspended
from integrations import events as integration_events
from integrations.services import event_record
from kernel.errors import (
    AgoraNotConfigured,
    AlreadyAnswered,
    Conflict,
    HostCannotAnswer,
    Invalid,
    InvitationDeclined,
    MeetingActive,
    MeetingCancelled,
    MeetingCompleted,
    MeetingPending,
    NotFound,
    NotHost,
    NotJoined,
)
from meetings import agora, events, selectors
from meetings.models import Meeting, MeetingParticipant
from messaging import events as messaging_events
from messaging import services as messaging_services
from projects import selectors as project_selectors
from realtime.events import user_group
from realtime.publish import publish_on_commit

Status = Meeting.Status
Invitation = MeetingParticipant.Status
_ANSWERABLE = (Status.PENDING, Status.ACTIVE)
# What a meeting answers, in each state, to what that state does not allow.
STATE_CONFLICTS: dict[str, type[Conflict]] = {
    Status.PENDING: MeetingPending,
    Status.ACTIVE: MeetingActive,
    Status.COMPLETED: MeetingCompleted,
    Status.CANCELLED: MeetingCancelled,
}


@transaction.atomic
def meeting_create(
    *,
    user,
    project_id: int,
    title: str,
    agenda: str = "",
    scheduled_for: datetime | None = None,
    instant: bool = False,
) -> Meeting:
    """Schedule a meeting (PENDING) or start one at once (``instant``: ACTIVE); the other members are invited.

    The project row is locked so the meeting cannot slip in while the project is being closed, nor its
    invitations past a removal: participant_remove takes the same lock, so the members read under it
    are the ones after any removal that came first.
    """
    if not title.strip():
        raise Invalid("A meeting needs a title.", field="title")
    if instant and scheduled_for is not None:
        raise Invalid("An instant meeting starts now; leave scheduledFor out.", field="scheduledFor")
    now = timezone.now()
    if scheduled_for is not None and scheduled_for <= now:
        raise Invalid("scheduledFor must be in the future.", field="scheduledFor")
    project = project_selectors.project_get_for_member(user=user, project_id=project_id, lock=True)
    require_not_suspended(user)
    _require_project_active(project)
    members = project_selectors.project_member_ids(project=project)
    meeting = Meeting.objects.create(
        project=project,
        host=user,
        title=title,
        agenda=agenda,
        scheduled_for=scheduled_for,
        status=Status.ACTIVE if instant else Status.PENDING,
        started_at=now if instant else None,
    )
    MeetingParticipant.objects.bulk_create(
        [
            MeetingParticipant(meeting=meeting, user_id=user.pk, status=Invitation.ACCEPTED, answered_at=now),
            *(MeetingParticipant(meeting=meeting, user_id=member_id) for member_id in members if member_id != user.pk),
        ]
    )
    announced = _announce(meeting, events.MEETING_INVITE, integration_events.MEETING_CREATED, invitees_only=True)
    if instant:
        _tell_conversation(announced, messaging_events.SYSTEM_MEETING_STARTED)
    return announced


def meeting_invite_member(*, project_id: int, user_id: int) -> list[Meeting]:
    """Invite a member who joined the project to its pending and running meetings, as ``meeting_create`` invites
    the members there were then, and ring them after commit. In the adding transaction, which holds the
    project's row lock: each meeting's comes second, the conversation's after them, as everywhere."""
    meetings = list(
        Meeting.objects.select_for_update().filter(project_id=project_id, status__in=_ANSWERABLE).order_by("pk")
    )
    MeetingParticipant.objects.bulk_create(
        [MeetingParticipant(meeting=meeting, user_id=user_id) for meeting in meetings], ignore_conflicts=True
    )
    for meeting in meetings:
        payload = events.meeting_payload(selectors.meeting_get(meeting_id=meeting.pk))
        publish_on_commit([user_group(user_id)], events.MEETING_INVITE, payload)
    return meetings


@transaction.atomic
def meeting_start(*, user, meeting_id: int) -> Meeting:
    meeting = _participation(user=user, meeting_id=meeting_id, lock=True).meeting
    require_not_suspended(user)
    _require_host(meeting, user, "start")
    _require_status(meeting, Status.PENDING, "started")
    _require_project_active(meeting.project)
    meeting.status = Status.ACTIVE
    meeting.started_at = timezone.now()
    meeting.save(update_fields=["status", "started_at"])
    return _tell_conversation(
        _announce(meeting, events.MEETING_STARTED, integration_events.MEETING_STARTED),
        messaging_events.SYSTEM_MEETING_STARTED,
    )


@transaction.atomic
def meeting_end(*, user, meeting_id: int) -> Meeting:
    """Complete the meeting now, or at its maximum duration if that ran out before anyone ended it."""
    meeting = _participation(user=user, meeting_id=meeting_id, lock=True).meeting
    require_not_suspended(user)
    _require_host(meeting, user, "end")
    _require_status(meeting, Status.ACTIVE, "ended")
    return _meeting_complete(meeting, ended_at=min(timezone.now(), _latest_end(meeting)))


@transaction.atomic
def meeting_cancel(*, user, meeting_id: int) -> Meeting:
    meeting = _participation(user=user, meeting_id=meeting_id, lock=True).meeting
    require_not_suspended(user)
    _require_host(meeting, user, "cancel")
    _require_status(meeting, Status.PENDING, "cancelled")
    meeting.status = Status.CANCELLED
    meeting.sequence += 1
    meeting.save(update_fields=["status", "sequence"])
    return _tell_conversation(
        _announce(meeting, events.MEETING_CANCELLED, integration_events.MEETING_CANCELLED),
        messaging_events.SYSTEM_MEETING_CANCELLED,
    )


@transaction.atomic
def meeting_reschedule(*, user, meeting_id: int, scheduled_for: datetime) -> Meeting:
    """Move a pending meeting to another time; its calendar entry's sequence rises with it.

    The answers stand: an invitee who accepted or declined keeps that answer for the new time.
    """
    meeting = _participation(user=user, meeting_id=meeting_id, lock=True).meeting
    require_not_suspended(user)
    _require_host(meeting, user, "reschedule")
    _require_status(meeting, Status.PENDING, "rescheduled")
    _require_project_active(meeting.project)
    if scheduled_for <= timezone.now():
        raise Invalid("scheduledFor must be in the future.", field="scheduledFor")
    if scheduled_for == meeting.scheduled_for:
        return selectors.meeting_get(meeting_id=meeting.pk)
    meeting.scheduled_for = scheduled_for
    meeting.sequence += 1
    meeting.save(update_fields=["scheduled_for", "sequence"])
    return _announce(meeting, events.MEETING_RESCHEDULED, integration_events.MEETING_RESCHEDULED)


def meeting_accept(*, user, meeting_id: int) -> MeetingParticipant:
    return _meeting_answer(user=user, meeting_id=meeting_id, answer=Invitation.ACCEPTED)


def meeting_decline(*, user, meeting_id: int) -> MeetingParticipant:
    return _meeting_answer(user=user, meeting_id=meeting_id, answer=Invitation.DECLINED)


@transaction.atomic
def _meeting_answer(*, user, meeting_id: int, answer: str) -> MeetingParticipant:
    """Record an invitee's answer and tell every participant.

    Answering the same way again changes and announces nothing; changing an answer is refused.
    """
    participation = _participation(user=user, meeting_id=meeting_id, lock=True)
    require_not_suspended(user)
    meeting = participation.meeting
    if participation.is_host:
        raise HostCannotAnswer("The host does not answer their own meeting's invitation.")
    if meeting.status not in _ANSWERABLE:
        raise STATE_CONFLICTS[meeting.status](
            f"This meeting is {events.meeting_status_to_wire(meeting.status)}; "
            "invitations can be answered only while it is pending or active."
        )
    if participation.status == answer:
        return participation
    if participation.status != Invitation.INVITED:
        raise AlreadyAnswered(f"You already {participation.status} this invitation.")
    participation.status = answer
    participation.answered_at = timezone.now()
    participation.save(update_fields=["status", "answered_at"])
    # The invitee's own group hears it too, so their other tabs and devices stop ringing.
    recipients = _member_groups(meeting.project, meeting.participants.values_list("user_id", flat=True))
    accepted = answer == Invitation.ACCEPTED
    payload = events.answer_payload(participation)
    event_record(integration_events.MEETING_ACCEPTED if accepted else integration_events.MEETING_DECLINED, payload)
    publish_on_commit(recipients, events.MEETING_ACCEPT if accepted else events.MEETING_DECLINE, payload)
    return participation


@transaction.atomic
def meeting_session_join(*, user, meeting_id: int) -> MeetingParticipant:
    """Record that the caller's call screen joined; only the first join is kept."""
    participation = _participation(user=user, meeting_id=meeting_id, lock=True)
    require_not_suspended(user)
    _require_call_access(participation)
    if participation.first_joined_at is None:
        participation.first_joined_at = timezone.now()
        participation.save(update_fields=["first_joined_at"])
    return participation


@transaction.atomic
def meeting_session_leave(*, user, meeting_id: int) -> MeetingParticipant:
    """Record that the caller's call screen left; the latest leave is kept.

    A suspended provider's leave is recorded too: it only says they are out of the call, as suspension wants.
    """
    participation = _participation(user=user, meeting_id=meeting_id, lock=True)
    _require_status(participation.meeting, Status.ACTIVE, "left")
    if participation.first_joined_at is None:
        raise NotJoined("You have not joined this meeting.")
    participation.last_left_at = timezone.now()
    participation.save(update_fields=["last_left_at"])
    return participation


def meetings_complete_overdue() -> list[int]:
    """Complete every meeting ACTIVE beyond MEETING_MAX_DURATION_SECONDS, ending it at that maximum.

    Each meeting is completed in its own transaction under its row lock, so a host ending one at the
    same moment wins or loses cleanly and a long sweep holds no lock for longer than one meeting.
    """
    cutoff = timezone.now() - timedelta(seconds=settings.MEETING_MAX_DURATION_SECONDS)
    overdue = Meeting.objects.filter(status=Status.ACTIVE, started_at__lte=cutoff).order_by("started_at")
    completed = []
    for meeting_id in overdue.values_list("pk", flat=True):
        with transaction.atomic():
            meeting = Meeting.objects.select_for_update().filter(pk=meeting_id, status=Status.ACTIVE).first()
            if meeting is not None:
                _meeting_complete(meeting, ended_at=_latest_end(meeting), expired=True)
                completed.append(meeting_id)
    return completed


@dataclass(frozen=True)
class MeetingToken:
    """What a call screen needs to enter the meeting's Agora channel as the caller, until ``expires_at``."""

    app_id: str
    channel_name: str
    uid: int
    token: str
    expires_at: datetime


def meeting_token_issue(*, user, meeting_id: int) -> MeetingToken:
    """An Agora RTC publisher token for the caller's own uid on the meeting's channel.

    The expiry is an hour (AGORA_TOKEN_TTL_SECONDS) from this call, so calling again renews it.
    """
    participation = _participation(user=user, meeting_id=meeting_id)
    require_not_suspended(user)
    _require_call_access(participation)
    app_id, app_certificate, version = _agora_settings()
    uid = agora.rtc_uid_for_user(user.pk)
    issued_at = int(timezone.now().timestamp())
    ttl = settings.AGORA_TOKEN_TTL_SECONDS
    channel_name = participation.meeting.channel_name
    token = agora.build_rtc_token(
        app_id=app_id,
        app_certificate=app_certificate,
        channel_name=channel_name,
        uid=uid,
        expires_in=ttl,
        version=version,
        issued_at=issued_at,
    )
    return MeetingToken(
        app_id=app_id,
        channel_name=channel_name,
        uid=uid,
        token=token,
        expires_at=datetime.fromtimestamp(issued_at + ttl, tz=UTC),
    )


def _participation(*, user, meeting_id: int, lock: bool = False) -> MeetingParticipant:
    """The caller's row in the meeting, with the meeting; 404 for anyone who does not take part, or no
    longer (support staff removed them from its project).

    With ``lock`` the meeting row is locked first: it is the one lock every change of a meeting takes.
    """
    meetings = selectors.meeting_list_for_participant(user=user)
    if lock:
        meetings = meetings.select_for_update(of=("self",))
    meeting = meetings.select_related("project").filter(pk=meeting_id).first()
    if meeting is None:
        raise NotFound("No such meeting.")
    participation = meeting.participants.get(user_id=user.pk)
    participation.meeting = meeting
    return participation


def _announce(meeting: Meeting, event: str, integration_event: str, *, invitees_only: bool = False) -> Meeting:
    """Record ``integration_event`` with the meeting in the outbox, and send ``event`` with it to its
    participants (or only the invitees) after commit."""
    detail = selectors.meeting_get(meeting_id=meeting.pk)
    payload = events.meeting_payload(detail)
    event_record(integration_event, payload)
    recipients = [p.user_id for p in detail.participants.all() if not (invitees_only and p.is_host)]
    publish_on_commit(_member_groups(detail.project, recipients), event, payload)
    return detail


def _member_groups(project, user_ids) -> list[str]:
    """The personal groups of those of ``user_ids`` who are still members of ``project``: a participant
    whom support staff removed from it hears nothing more of its meetings."""
    members = set(project_selectors.project_member_ids(project=project))
    return [user_group(user_id) for user_id in user_ids if user_id in members]


def _meeting_complete(meeting: Meeting, *, ended_at: datetime, expired: bool = False) -> Meeting:
    """Complete the locked ``meeting`` at ``ended_at``: by its host, or ``expired`` by the sweep."""
    meeting.status = Status.COMPLETED
    meeting.ended_at = ended_at
    meeting.duration_seconds = int((ended_at - _started_at(meeting)).total_seconds())
    meeting.save(update_fields=["status", "ended_at", "duration_seconds"])
    return _tell_conversation(
        _announce(meeting, events.MEETING_ENDED, integration_events.MEETING_ENDED),
        messaging_events.SYSTEM_MEETING_ENDED,
        expired=expired,
    )


def _tell_conversation(meeting: Meeting, kind: str, *, expired: bool = False) -> Meeting:
    """Post the system message ``kind`` about ``meeting`` to its project's conversation, in this transaction.
    The meeting's row (or for a new one, its project's) is locked already: the conversation's lock comes second."""
    data, sentence = events.system_message(meeting, kind, expired=expired)
    messaging_services.system_message_post(project_id=meeting.project_id, kind=kind, data=data, content=sentence)
    return meeting


def _started_at(meeting: Meeting) -> datetime:
    started_at = meeting.started_at
    assert started_at is not None  # an active or completed meeting has one (meeting_started_at_only_once_started)
    return started_at


def _latest_end(meeting: Meeting) -> datetime:
    return _started_at(meeting) + timedelta(seconds=settings.MEETING_MAX_DURATION_SECONDS)


def _require_host(meeting: Meeting, user, action: str) -> None:
    if meeting.host_id != user.pk:
        raise NotHost(f"Only the host can {action} this meeting.")


def _require_status(meeting: Meeting, required: str, done: str) -> None:
    if meeting.status != required:
        raise STATE_CONFLICTS[meeting.status](
            f"This meeting is {events.meeting_status_to_wire(meeting.status)}; "
            f"it can be {done} only when {events.meeting_status_to_wire(required)}."
        )


def _require_project_active(project) -> None:
    project_selectors.project_require_active(project=project, consequence="meetings are held only in active projects")


def _require_call_access(participation: MeetingParticipant) -> None:
    """Into the call: the host and invitees who have not declined, while the meeting is ACTIVE."""
    if participation.status == Invitation.DECLINED:
        raise InvitationDeclined("You declined this meeting.")
    meeting = participation.meeting
    if meeting.status != Status.ACTIVE:
        raise STATE_CONFLICTS[meeting.status](
            f"This meeting is {events.meeting_status_to_wire(meeting.status)}; "
            "its call is open only while it is ACTIVE."
        )


def _agora_settings() -> tuple[str, str, str]:
    """The app id, certificate and token version, or 503 naming what is missing (never the values)."""
    missing = [name for name in ("AGORA_APP_ID", "AGORA_APP_CERTIFICATE") if not getattr(settings, name)]
    if missing:
        raise AgoraNotConfigured(
            f"Video calls are not configured on this server: set {' and '.join(missing)}.",
        )
    if settings.AGORA_TOKEN_VERSION not in agora.SUPPORTED_VERSIONS:
        raise AgoraNotConfigured(
            f"AGORA_TOKEN_VERSION must be one of {', '.join(agora.SUPPORTED_VERSIONS)}.",
        )
    return settings.AGORA_APP_ID, settings.AGORA_APP_CERTIFICATE, settings.AGORA_TOKEN_VERSION

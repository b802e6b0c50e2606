"""Reads of meetings, shaped for the API: a caller sees only the meetings they take part in."""

from datetime import datetime

from django.db.models import Case, DateTimeField, F, IntegerField, Prefetch, Q, QuerySet, When
from django.db.models.functions import Coalesce

from kernel.errors import NotFound
from meetings import agora
from meetings.models import InvitationStatus, Meeting, MeetingParticipant, MeetingStatus
from projects.selectors import project_list_for_user

_UPCOMING = [Meeting.Status.ACTIVE, Meeting.Status.PENDING]


def _with_details(meetings: QuerySet[Meeting]) -> QuerySet[Meeting]:
    """Everything ``MeetingSerializer`` reads, in three queries however many meetings there are."""
    return meetings.select_related("project", "host").prefetch_related(
        Prefetch("participants", queryset=MeetingParticipant.objects.select_related("user").order_by("id"))
    )


def meeting_list_for_participant(*, user) -> QuerySet[Meeting]:
    """The meetings ``user`` takes part in, of projects they are still a member of: one whom support
    staff removed from a project no longer has its meetings."""
    return Meeting.objects.filter(participants__user=user, project__in=project_list_for_user(user=user))


def meeting_list_for_user(*, user, status: str | None = None, project_id: int | None = None) -> QuerySet[Meeting]:
    """The caller's meetings, as host or invitee, upcoming first.

    Running meetings come first (earliest started first), then pending ones by their scheduled time
    (unscheduled ones after), then completed and cancelled ones, the latest first.
    """
    meetings = meeting_list_for_participant(user=user)
    if status is not None:
        meetings = meetings.filter(status=status)
    if project_id is not None:
        meetings = meetings.filter(project_id=project_id)
    return (
        _with_details(meetings)
        .annotate(
            phase=Case(
                When(status=Meeting.Status.ACTIVE, then=0),
                When(status=Meeting.Status.PENDING, then=1),
                default=2,
                output_field=IntegerField(),
            ),
            upcoming_at=Case(
                When(status__in=_UPCOMING, then=Coalesce("started_at", "scheduled_for")),
                output_field=DateTimeField(),
            ),
            past_at=Case(
                When(~Q(status__in=_UPCOMING), then=Coalesce("ended_at", "scheduled_for", "created_at")),
                output_field=DateTimeField(),
            ),
        )
        .order_by("phase", F("upcoming_at").asc(nulls_last=True), F("past_at").desc(nulls_last=True), "-id")
    )


def meeting_list_upcoming_for_user(*, user, limit: int) -> QuerySet[Meeting]:
    """The caller's running and pending meetings, at most ``limit``, in ``meeting_list_for_user``'s order."""
    return meeting_list_for_user(user=user).filter(status__in=_UPCOMING)[:limit]


def meeting_call_names_by_uid(*, meeting: Meeting) -> dict[int, str]:
    """Each participant's username by their Agora uid: Agora reports remote users by uid, the call screen's
    tiles show whose video it is. ``meeting`` comes from ``meeting_get_for_member`` (participants prefetched)."""
    return {agora.rtc_uid_for_user(p.user_id): p.user.username for p in meeting.participants.all()}


def meeting_get(*, meeting_id: int) -> Meeting:
    return _with_details(Meeting.objects.filter(pk=meeting_id)).get()


def meeting_get_for_member(*, user, meeting_id: int) -> Meeting:
    """The meeting with its participants, or 404 for anyone who does not take part in it."""
    meeting = _with_details(meeting_list_for_participant(user=user).filter(pk=meeting_id)).first()
    if meeting is None:
        raise NotFound("No such meeting.")
    return meeting


# What notifications asks of the meetings to send invitations and reminders (docs/notifications.md).


def meeting_invitees(*, meeting_ids) -> list[tuple[int, int, int]]:
    """(meeting id, sequence, user id) of each participant but the host of these meetings, in one query."""
    return [
        (meeting_id, sequence, user_id)
        for meeting_id, sequence, user_id, host_id in Meeting.objects.filter(pk__in=meeting_ids).values_list(
            "pk", "sequence", "participants__user_id", "host_id"
        )
        if user_id != host_id
    ]


def participant_list_starting_between(*, after: datetime, until: datetime) -> QuerySet[MeetingParticipant]:
    """The participants who have not declined of the pending meetings scheduled after ``after`` and at the
    latest ``until``: a query the caller may narrow further."""
    return MeetingParticipant.objects.filter(
        meeting__status=MeetingStatus.PENDING, meeting__scheduled_for__gt=after, meeting__scheduled_for__lte=until
    ).exclude(status=InvitationStatus.DECLINED)


def meeting_list_for_project(*, project_id: int) -> QuerySet[Meeting]:
    """Every meeting of the project, whoever takes part, oldest first: the project as a record."""
    return _with_details(Meeting.objects.filter(project_id=project_id)).order_by("id")

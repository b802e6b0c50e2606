"""Meetings of a project's members, held over Agora RTC, and each member's invitation and session times.

Every member has a participant row, the host included (accepted from the start), so "my meetings",
access checks and the recipients of an event are all one lookup on that table.
"""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import F, Q


def new_channel_name() -> str:
    # 128 random bits: a channel nobody can guess, fixed at creation (Agora allows up to 64 bytes).
    return secrets.token_hex(16)


class MeetingStatus(models.TextChoices):
    # Stored lowercase like every other status; the spec's capitals are the wire's (meetings.events converts).
    PENDING = "pending", "Pending"
    ACTIVE = "active", "Active"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"


class InvitationStatus(models.TextChoices):
    INVITED = "invited", "Invited"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"


class Meeting(models.Model):
    Status = MeetingStatus

    project = models.ForeignKey("projects.Project", on_delete=models.PROTECT, related_name="meetings")
    host = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="hosted_meetings")
    title = models.CharField(max_length=200)
    agenda = models.TextField(blank=True)
    scheduled_for = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    channel_name = models.CharField(max_length=64, unique=True, editable=False, default=new_channel_name)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    duration_seconds = models.IntegerField(null=True, blank=True)
    # The calendar entry's revision (iCalendar SEQUENCE, notifications.calendar): raised by each reschedule and
    # by the cancellation, so calendars replace the entry they hold under the meeting's UID.
    sequence = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(name="meeting_status_known", condition=Q(status__in=MeetingStatus.values)),
            models.CheckConstraint(
                name="meeting_started_at_only_once_started",
                condition=Q(status__in=[MeetingStatus.ACTIVE, MeetingStatus.COMPLETED], started_at__isnull=False)
                | Q(status__in=[MeetingStatus.PENDING, MeetingStatus.CANCELLED], started_at__isnull=True),
            ),
            models.CheckConstraint(
                name="meeting_end_only_when_completed",
                condition=Q(status=MeetingStatus.COMPLETED, ended_at__isnull=False, duration_seconds__isnull=False)
                | (~Q(status=MeetingStatus.COMPLETED) & Q(ended_at__isnull=True, duration_seconds__isnull=True)),
            ),
            models.CheckConstraint(
                name="meeting_ends_after_it_starts",
                condition=Q(ended_at__isnull=True) | Q(ended_at__gte=F("started_at")),
            ),
            models.CheckConstraint(
                name="meeting_duration_not_negative",
                condition=Q(duration_seconds__isnull=True) | Q(duration_seconds__gte=0),
            ),
        ]
        indexes = [
            models.Index(fields=["project", "status"], name="meeting_project_status"),
            # The cron sweep looks only at running meetings, oldest start first.
            models.Index(
                fields=["started_at"], condition=Q(status=MeetingStatus.ACTIVE), name="meeting_active_started_at"
            ),
            # The worker's reminders look only at pending meetings starting soon.
            models.Index(
                fields=["scheduled_for"],
                condition=Q(status=MeetingStatus.PENDING),
                name="meeting_pending_scheduled_for",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.status})"


class MeetingParticipant(models.Model):
    Status = InvitationStatus

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="participants")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="meeting_participations")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.INVITED)
    answered_at = models.DateTimeField(null=True, blank=True)
    first_joined_at = models.DateTimeField(null=True, blank=True)
    last_left_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["meeting", "user"], name="meeting_participant_once"),
            models.CheckConstraint(
                name="meeting_participant_status_known", condition=Q(status__in=InvitationStatus.values)
            ),
            models.CheckConstraint(
                name="meeting_participant_answered_at_iff_answered",
                condition=Q(status=InvitationStatus.INVITED, answered_at__isnull=True)
                | Q(status__in=[InvitationStatus.ACCEPTED, InvitationStatus.DECLINED], answered_at__isnull=False),
            ),
            models.CheckConstraint(
                name="meeting_participant_leaves_after_joining",
                condition=Q(last_left_at__isnull=True) | Q(first_joined_at__isnull=False),
            ),
        ]
        indexes = [
            # "My meetings" starts from the caller's rows; the unique constraint leads with the meeting.
            models.Index(fields=["user", "meeting"], name="meeting_participant_by_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in meeting {self.meeting_id} ({self.status})"

    @property
    def is_host(self) -> bool:
        return self.user_id == self.meeting.host_id

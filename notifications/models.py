"""What each user wants to be emailed, and when.

A user without a row has the defaults (``NotificationPreference.defaults_for``): rows are written only when a
preference is changed, so a read never writes.
"""

from datetime import time

from django.conf import settings
from django.db import models
from django.db.models import Q


class EmailFrequency(models.TextChoices):
    OFF = "off", "Off: no emails"
    BATCHED = "batched", "Batched: one email per conversation for what I missed"
    DAILY = "daily", "Daily: one digest of all unread conversations"


DEFAULT_DAILY_DIGEST_TIME = time(8, 0)
DEFAULT_TIME_ZONE = "UTC"


class NotificationPreference(models.Model):
    Email = EmailFrequency

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    email = models.CharField(max_length=8, choices=Email.choices, default=Email.BATCHED)
    # With ``daily``, the digest goes out at this wall-clock time in ``time_zone`` (an IANA name such as
    # "Europe/Berlin"), so it stays at 08:00 for the user across daylight-saving changes.
    daily_digest_time = models.TimeField(default=DEFAULT_DAILY_DIGEST_TIME)
    time_zone = models.CharField(max_length=64, default=DEFAULT_TIME_ZONE)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(name="notification_email_known", condition=Q(email__in=EmailFrequency.values)),
        ]

    def __str__(self) -> str:
        return f"{self.user}: email {self.email}"

    @classmethod
    def defaults_for(cls, user) -> "NotificationPreference":
        """The unsaved preference of a user who never changed theirs."""
        return cls(user=user)


class Notification(models.Model):
    """One email (or reminder) for one user, made due by the worker and sent by it (``notifications.jobs``).

    The row is written when its occasion is known and composed only when it is due, from what is true then:
    an offline notice looks at what is still unread, an invitation at the meeting as it now is. The worker
    claims it like a webhook delivery (``integrations.claims``: a token and a lease), so two workers never
    send it at once. The unique constraints make each occasion one row however many workers schedule it.
    """

    class Kind(models.TextChoices):
        OFFLINE = "offline", "Offline: what was missed in a conversation"
        DIGEST = "digest", "Daily digest"
        INVITATION = "invitation", "Meeting invitation, update or cancellation"
        REMINDER = "reminder", "Meeting reminder"
        REPORT_RESOLVED = "report_resolved", "Support staff's decision on a user's report"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        # Nothing to send once due: everything was read, the user was online or removed, the email is off...
        SKIPPED = "skipped", "Skipped"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    conversation = models.ForeignKey(
        "messaging.Conversation", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # An offline notice's email covered the conversation's messages up to this seq: the next one starts after it.
    through_seq = models.PositiveBigIntegerField(null=True, blank=True)
    digest_date = models.DateField(null=True, blank=True)  # the user's local date of a daily digest
    meeting = models.ForeignKey("meetings.Meeting", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    meeting_sequence = models.PositiveIntegerField(null=True, blank=True)  # an invitation's Meeting.sequence
    meeting_time = models.DateTimeField(null=True, blank=True)  # a reminder's meeting start
    report = models.ForeignKey("moderation.Report", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    outcome = models.CharField(max_length=200, blank=True)  # why skipped, or what was sent
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    claim_token = models.UUIDField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # One offline notice waits per user and conversation: every message of the window joins it.
            models.UniqueConstraint(
                fields=["user", "conversation"],
                condition=Q(kind="offline", status="pending"),
                name="notification_offline_one_pending",
            ),
            models.UniqueConstraint(
                fields=["user", "digest_date"], condition=Q(kind="digest"), name="notification_digest_once_a_day"
            ),
            models.UniqueConstraint(
                fields=["meeting", "user", "meeting_sequence"],
                condition=Q(kind="invitation"),
                name="notification_invitation_once_per_sequence",
            ),
            # Exactly once per meeting, participant and start: a reschedule makes a new start, hence a new one.
            models.UniqueConstraint(
                fields=["meeting", "user", "meeting_time"],
                condition=Q(kind="reminder"),
                name="notification_reminder_once_per_start",
            ),
            models.UniqueConstraint(
                fields=["report"], condition=Q(kind="report_resolved"), name="notification_report_resolved_once"
            ),
            models.CheckConstraint(
                name="notification_kind_has_its_occasion",
                condition=Q(kind="offline", conversation__isnull=False)
                | Q(kind="digest", digest_date__isnull=False)
                | Q(kind="invitation", meeting__isnull=False, meeting_sequence__isnull=False)
                | Q(kind="reminder", meeting__isnull=False, meeting_time__isnull=False)
                | Q(kind="report_resolved", report__isnull=False),
            ),
        ]
        indexes = [
            # The claim: pending notifications that are due, oldest first.
            models.Index(fields=["next_attempt_at", "id"], condition=Q(status="pending"), name="notification_due"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.user}"

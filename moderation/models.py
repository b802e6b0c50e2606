"""Participants' reports of messages, and support staff's review of them (issue 19, point 4).

A report is one per reporter and message: reporting again finds the first. It is open until support staff
resolve or dismiss it with a note for the reporter, who is told by socket event and email.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

# The reporter's own words and staff's note are read by people in the admin and in an email: a few paragraphs.
REPORT_DETAILS_MAX_LENGTH = 2000
RESOLUTION_NOTE_MAX_LENGTH = 2000


class ReportReason(models.TextChoices):
    SPAM = "spam", "Spam or advertising"
    OFF_PLATFORM = "off_platform", "Asking to deal or pay off the platform"
    HARASSMENT = "harassment", "Harassment or abuse"
    OTHER = "other", "Something else"


class ReportStatus(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved: action taken"
    DISMISSED = "dismissed", "Dismissed: no action needed"


class Report(models.Model):
    Reason = ReportReason
    Status = ReportStatus

    message = models.ForeignKey("messaging.Message", on_delete=models.CASCADE, related_name="reports")
    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reports_made")
    reason = models.CharField(max_length=16, choices=Reason.choices)
    details = models.TextField(blank=True, max_length=REPORT_DETAILS_MAX_LENGTH)
    # What the message said when it was reported: its sender may edit or delete it afterwards (the earlier
    # versions are also in the message's revisions), and staff judge what the reporter saw.
    message_content = models.TextField(blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    resolution_note = models.TextField(blank=True, max_length=RESOLUTION_NOTE_MAX_LENGTH)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            # The idempotence of POST /api/messages/{id}/report, whoever inserts first.
            models.UniqueConstraint(fields=["message", "reporter"], name="report_once_per_reporter_and_message"),
            models.CheckConstraint(name="report_reason_known", condition=Q(reason__in=ReportReason.values)),
            models.CheckConstraint(name="report_status_known", condition=Q(status__in=ReportStatus.values)),
            models.CheckConstraint(
                name="report_closed_iff_resolved",
                condition=Q(status="open", resolved_at__isnull=True, resolved_by__isnull=True)
                | Q(status__in=["resolved", "dismissed"], resolved_at__isnull=False, resolved_by__isnull=False),
            ),
        ]
        indexes = [
            # The review queue: open reports, oldest first.
            models.Index(fields=["created_at"], condition=Q(status="open"), name="report_open_queue"),
        ]

    def __str__(self) -> str:
        return f"Report #{self.pk} of message #{self.message_id} ({self.status})"

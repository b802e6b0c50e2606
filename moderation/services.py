"""Writes of the moderation module: a participant's report of a message, and support staff's decision on it.
Each is one transaction; the reporter hears of the decision after it commits."""

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from integrations import events as integration_events
from integrations.services import event_record
from kernel.errors import Invalid, NotAllowed, NotFound, ReportClosed
from messaging import selectors as message_selectors
from moderation import events
from moderation.models import REPORT_DETAILS_MAX_LENGTH, RESOLUTION_NOTE_MAX_LENGTH, Report
from realtime.events import user_group
from realtime.publish import publish_on_commit


@dataclass(frozen=True)
class Reported:
    """What ``report_create`` did: the report, and whether this call created it (``False``: the reporter's
    earlier report of the same message)."""

    report: Report
    created: bool


@transaction.atomic
def report_create(*, user, message_id: int, reason: str, details: str = "") -> Reported:
    """``user`` reports a message of a conversation they take part in, once: reporting it again finds the
    first report, whatever its reason or status. One's own messages and the server's cannot be reported.

    Two reports at once by the same reporter meet at the unique constraint: the second insert waits for the
    first to commit, fails, and reads the row the first wrote."""
    if reason not in Report.Reason.values:
        raise Invalid(f"reason must be one of {', '.join(Report.Reason.values)}.", field="reason")
    if len(details) > REPORT_DETAILS_MAX_LENGTH:
        raise Invalid(f"details are limited to {REPORT_DETAILS_MAX_LENGTH} characters.", field="details")
    message = message_selectors.message_get_for_member(user=user, message_id=message_id)
    existing = Report.objects.select_related("message").filter(message=message, reporter=user).first()
    if existing is not None:
        return Reported(report=existing, created=False)
    if message.sender_id is None:
        raise Invalid("System messages are the server's and cannot be reported.", field="messageId")
    if message.sender_id == user.pk:
        raise Invalid("You cannot report your own message.", field="messageId")
    try:
        with transaction.atomic():  # a savepoint: the losing insert of a race rolls back alone
            report = Report.objects.create(
                message=message,
                reporter=user,
                reason=reason,
                details=details,
                message_content=message.content or message.file_name,
            )
            event_record(integration_events.REPORT_CREATED, events.report_event_payload(report))
    except IntegrityError:
        return Reported(
            report=Report.objects.select_related("message").get(message=message, reporter=user), created=False
        )
    return Reported(report=report, created=True)


def report_resolve(*, report_id: int, by, status: str, note: str) -> Report:
    """Support staff close an open report as resolved or dismissed, with a note for the reporter: after
    commit ``report:resolved`` reaches the reporter's sockets, and the outbox's ``report.resolved`` has the
    worker email them (``notifications.services``). The row lock makes the first of two decisions at once
    the only one: the second finds the report closed, and nobody is told twice."""
    if not by.is_staff:
        raise NotAllowed("Only support staff resolve reports.")
    if status not in (Report.Status.RESOLVED, Report.Status.DISMISSED):
        raise Invalid("status must be resolved or dismissed.", field="status")
    note = note.strip()
    if not note:
        raise Invalid("Write a note for the reporter.", field="resolutionNote")
    if len(note) > RESOLUTION_NOTE_MAX_LENGTH:
        raise Invalid(f"The note is limited to {RESOLUTION_NOTE_MAX_LENGTH} characters.", field="resolutionNote")
    with transaction.atomic():
        report = Report.objects.select_for_update(of=("self",)).select_related("message").filter(pk=report_id).first()
        if report is None:
            raise NotFound("No such report.")
        if report.status != Report.Status.OPEN:
            raise ReportClosed(f"This report was already {report.status}.")
        report.status = status
        report.resolution_note = note
        report.resolved_by = by
        report.resolved_at = timezone.now()
        report.save(update_fields=["status", "resolution_note", "resolved_by", "resolved_at"])
        event_record(integration_events.REPORT_RESOLVED, events.report_event_payload(report))
    publish_on_commit([user_group(report.reporter_id)], events.REPORT_RESOLVED, events.report_payload(report))
    return report

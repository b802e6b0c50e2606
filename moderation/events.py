"""Socket event names of the moderation module and the builders of report payloads: the REST answer, the
reporter's socket event and the integration events carry the same dict."""

from kernel.json_values import iso_datetime
from moderation.models import Report

# Pushed to the reporter's personal group when support staff resolve or dismiss their report.
REPORT_RESOLVED = "report:resolved"


def report_payload(report: Report) -> dict:
    """A report as its reporter sees it: what they reported and why, and staff's decision with its note (who
    decided is staff's own business)."""
    return {
        "id": report.pk,
        "messageId": report.message_id,
        "conversationId": report.message.conversation_id,
        "reason": str(report.reason),
        "details": report.details,
        "status": str(report.status),
        "resolutionNote": report.resolution_note,
        "createdAt": iso_datetime(report.created_at),
        "resolvedAt": iso_datetime(report.resolved_at),
    }


def report_event_payload(report: Report) -> dict:
    """``report.created`` and ``report.resolved`` for the marketplace's backend: the report, whose it is and
    whose message it concerns, and the staff member who decided."""
    return {
        **report_payload(report),
        "reporterId": report.reporter_id,
        "messageSenderId": report.message.sender_id,
        "resolvedBy": report.resolved_by_id,
    }

"""The integration event types (the outbox's ``type``), and the envelope a webhook carries: Standard
Webhooks' ``{"id", "type", "createdAt", "data"}``, ``data`` shaped as the REST resource it concerns."""

from kernel.json_values import iso_datetime

PROJECT_CREATED = "project.created"
PROJECT_STATUS_CHANGED = "project.status_changed"
MESSAGE_CREATED = "message.created"
MESSAGE_UPDATED = "message.updated"
MESSAGE_DELETED = "message.deleted"
CONVERSATION_READ = "conversation.read"
MEETING_CREATED = "meeting.created"
MEETING_STARTED = "meeting.started"
MEETING_ENDED = "meeting.ended"
MEETING_CANCELLED = "meeting.cancelled"
MEETING_RESCHEDULED = "meeting.rescheduled"
MEETING_ACCEPTED = "meeting.accepted"
MEETING_DECLINED = "meeting.declined"
PARTICIPANT_REMOVED = "participant.removed"
MEMBER_ADDED = "member.added"
MEMBER_REMOVED = "member.removed"
# A participant reported a message; support staff resolved or dismissed the report (moderation).
REPORT_CREATED = "report.created"
REPORT_RESOLVED = "report.resolved"
# Sent by staff to one endpoint (POST /api/webhooks/endpoints/{id}/test), never fanned out.
WEBHOOK_TEST = "webhook.test"

DOMAIN_EVENT_TYPES = (
    PROJECT_CREATED,
    PROJECT_STATUS_CHANGED,
    MESSAGE_CREATED,
    MESSAGE_UPDATED,
    MESSAGE_DELETED,
    CONVERSATION_READ,
    MEETING_CREATED,
    MEETING_STARTED,
    MEETING_ENDED,
    MEETING_CANCELLED,
    MEETING_RESCHEDULED,
    MEETING_ACCEPTED,
    MEETING_DECLINED,
    PARTICIPANT_REMOVED,
    MEMBER_ADDED,
    MEMBER_REMOVED,
    REPORT_CREATED,
    REPORT_RESOLVED,
)
# What an endpoint may subscribe to: the domain events, or "*" for all of them.
SUBSCRIBABLE = (*DOMAIN_EVENT_TYPES, "*")


def envelope(event) -> dict:
    """The body of every delivery of ``event``; its ``id`` is also the ``webhook-id`` header."""
    return {"id": event.public_id, "type": event.type, "createdAt": iso_datetime(event.created_at), "data": event.data}


def endpoint_payload(endpoint) -> dict:
    return {
        "id": endpoint.pk,
        "url": endpoint.url,
        "events": list(endpoint.events),
        "description": endpoint.description,
        "active": endpoint.active,
        "createdAt": iso_datetime(endpoint.created_at),
    }

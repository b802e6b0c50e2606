"""The one error vocabulary of the house: every refusal the API or a socket answers with is one of these.

Each class names one ``code`` (the wire's snake_case constant) and its HTTP status; services raise them and
``wire_error`` writes the one shape both transports answer with. The REST mapping is ``kernel.rest``'s exception
handler, the socket's the session's ``send_error``. No DRF here: models and services import this module.
"""

from http import HTTPStatus


class DomainError(Exception):
    http_status: int = HTTPStatus.BAD_REQUEST
    code = "invalid"

    def __init__(self, detail: str, *, field: str | None = None, retry_after: int | None = None):
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.retry_after = retry_after

    def as_payload(self) -> dict:
        return wire_error(
            self.code,
            self.detail,
            fields={self.field: [self.detail]} if self.field else None,
            retry_after=self.retry_after,
        )


def wire_error(code: str, detail: str, *, fields: dict | None = None, retry_after: int | None = None) -> dict:
    """The error shape of REST bodies and socket ``error`` data alike (docs/realtime.md, "Errors"):
    ``{"code", "detail", "fields"?: {field: [messages]}, "retryAfter"?}``."""
    payload: dict = {"code": code, "detail": detail}
    if fields:
        payload["fields"] = fields
    if retry_after is not None:
        payload["retryAfter"] = retry_after
    return payload


# The kinds: each maps to one status, and each specific code below is one of them.


class Invalid(DomainError):
    http_status = HTTPStatus.BAD_REQUEST
    code = "invalid"


class NotAllowed(DomainError):
    http_status = HTTPStatus.FORBIDDEN
    code = "forbidden"


class NotFound(DomainError):
    """Also what a non-member gets, so that existence is never revealed."""

    http_status = HTTPStatus.NOT_FOUND
    code = "not_found"


class Conflict(DomainError):
    http_status = HTTPStatus.CONFLICT
    code = "conflict"


class Unavailable(DomainError):
    http_status = HTTPStatus.SERVICE_UNAVAILABLE
    code = "unavailable"


class BodyTooLarge(DomainError):
    """A request body over its path's limit (config.body_limits), refused before it is read."""

    http_status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    code = "body_too_large"


class RateLimited(DomainError):
    """Too many requests of one kind from one user; ``retry_after`` seconds from now one is admitted again."""

    http_status = HTTPStatus.TOO_MANY_REQUESTS
    code = "rate_limited"


# Accounts and roles.


class ProviderSuspended(NotAllowed):
    """A suspended provider's write or call; their reads go on (``accounts.suspension``)."""

    code = "provider_suspended"


class ProviderNotApproved(Conflict):
    """A provider not (or no longer) approved: the state of their account, not the caller's role, stops a
    proposal being submitted or accepted, and approval lifts it."""

    code = "provider_not_approved"


# Projects: requests, proposals, projects.


class RequestNotOpen(Conflict):
    code = "request_not_open"


class ProposalExists(Conflict):
    code = "proposal_exists"


class NotRequestClient(NotAllowed):
    code = "not_request_client"


class AlreadyAccepted(Conflict):
    code = "already_accepted"


class ProposalNotOpen(Conflict):
    code = "proposal_not_open"


class ProposalExpired(Conflict):
    code = "proposal_expired"


class TermsChanged(Conflict):
    code = "terms_changed"


class ProjectNotActive(Conflict):
    code = "project_not_active"


# Project members (projects.services.project_member_add / project_member_remove).


class NotProjectOwner(NotAllowed):
    """A member who is not the owner of the side concerned: only the client adds and removes client-side
    members, only the provider provider-side ones."""

    code = "not_project_owner"


class AlreadyMember(Conflict):
    code = "already_member"


class OwnerNotRemovable(Conflict):
    """The client and the provider are the project's locked parties: no one removes them as members."""

    code = "owner_not_removable"


class ProjectClosed(ProjectNotActive):
    """A completed or cancelled project takes no new members."""

    code = "project_closed"


# Messaging.


class ConversationReadOnly(ProjectNotActive):
    """A closed project's conversation: read, never written."""

    code = "conversation_read_only"


class FileMissing(NotFound):
    code = "file_missing"


class NotSender(NotAllowed):
    """Only a message's sender edits or deletes it."""

    code = "not_sender"


class MessageNotEditable(Conflict):
    """A file or system message: only a text message's content is edited."""

    code = "message_not_editable"


class MessageDeleted(Conflict):
    code = "message_deleted"


class EditWindowPassed(Conflict):
    """Past ``MESSAGE_EDIT_WINDOW`` from its sending, a message stays as it is."""

    code = "edit_window_passed"


# Meetings: who may do what, and the meeting's state when it does not allow it (one code per state).


class HostCannotAnswer(NotAllowed):
    code = "host_cannot_answer"


class NotHost(NotAllowed):
    code = "not_host"


class InvitationDeclined(NotAllowed):
    code = "invitation_declined"


class AlreadyAnswered(Conflict):
    code = "already_answered"


class NotJoined(Conflict):
    code = "not_joined"


class MeetingPending(Conflict):
    code = "meeting_pending"


class MeetingActive(Conflict):
    code = "meeting_active"


class MeetingCompleted(Conflict):
    code = "meeting_completed"


class MeetingCancelled(Conflict):
    code = "meeting_cancelled"


class AgoraNotConfigured(Unavailable):
    code = "agora_not_configured"


# Moderation.


class ReportClosed(Conflict):
    """A report support staff already resolved or dismissed: the first decision stands."""

    code = "report_closed"


# Notifications.


class UnsubscribeLinkInvalid(Invalid):
    """An email's unsubscribe token that was altered, made for something else, or is past its age."""

    code = "unsubscribe_link_invalid"


# The server and the socket transport.


class Overloaded(Unavailable):
    """More sends in flight than the process admits, or its sockets' pushes lag too far (realtime.admission)."""

    code = "overloaded"


class FrameTooLarge(Invalid):
    code = "frame_too_large"


class BadJson(Invalid):
    code = "bad_json"


class BadFrame(Invalid):
    code = "bad_frame"


class BinaryUnsupported(Invalid):
    code = "binary_unsupported"


class UnknownEvent(Invalid):
    code = "unknown_event"


class ServerError(DomainError):
    http_status = HTTPStatus.INTERNAL_SERVER_ERROR
    code = "server_error"

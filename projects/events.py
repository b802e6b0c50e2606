"""Socket event names of the projects module and the builder of the payload they carry (the REST answer
for a project too: ``projects.serializers.ProjectSerializer`` documents it)."""

from accounts.events import user_brief_payload
from kernel.json_values import decimal_string, iso_datetime
from messaging import events as messaging_events
from projects.models import Project, ProjectMember

# Server to client, to the client's and the provider's personal groups: the project as
# GET /api/projects/{id} shows it, once it is closed (its conversation is read-only from then on).
PROJECT_COMPLETED = "project:completed"
PROJECT_CANCELLED = "project:cancelled"
CLOSED: dict[str, str] = {Project.Status.COMPLETED: PROJECT_COMPLETED, Project.Status.CANCELLED: PROJECT_CANCELLED}
# The system message each closing leaves in the project's conversation: its kind and sentence.
SYSTEM_MESSAGES: dict[str, tuple[str, str]] = {
    Project.Status.COMPLETED: (
        messaging_events.SYSTEM_PROJECT_COMPLETED,
        "The project was completed; this conversation is now read-only.",
    ),
    Project.Status.CANCELLED: (
        messaging_events.SYSTEM_PROJECT_CANCELLED,
        "The project was cancelled; this conversation is now read-only.",
    ),
}


def project_payload(project: Project) -> dict:
    """The project with its locked terms, its two members and its conversation's id (annotated by
    ``projects.selectors``: give it a project from ``project_list_for_user`` or ``project_get``)."""
    return {
        "id": project.pk,
        "publicId": str(project.public_id),
        "proposalId": project.proposal_id,
        "requestId": project.request_id,
        "title": project.title,
        "client": user_brief_payload(project.client),
        "provider": user_brief_payload(project.provider),
        "price": decimal_string(project.price, Project._meta.get_field("price").decimal_places),
        "scope": project.scope,
        "deadline": project.deadline.isoformat(),
        "termsSnapshot": project.terms_snapshot,
        "termsHash": project.terms_hash,
        "status": str(project.status),
        "conversationId": project.conversation_id,  # type: ignore[attr-defined]  # annotated by projects.selectors
        "createdAt": iso_datetime(project.created_at),
    }


def member_payload(member) -> dict:
    """One member of a project (``projects.selectors.Member``): an owner (the client or the provider, from the
    locked terms) or a teammate an owner added to their side. ``GET /api/projects/{id}/members`` lists them;
    the ``member.added`` integration event carries one with its project's id."""
    return {
        "user": user_brief_payload(member.user),
        "side": str(member.side),
        "owner": member.owner,
        "addedBy": member.added_by_id,
        "joinedAt": iso_datetime(member.joined_at),
    }


def member_added_payload(project_id: int, member) -> dict:
    return {"projectId": project_id, **member_payload(member)}


def member_removed_payload(row: ProjectMember, *, by) -> dict:
    """A teammate's membership ended: their owner removed them, or support staff removed them from the
    conversation (``participant.removed`` tells the latter too)."""
    return {"projectId": row.project_id, "userId": row.user_id, "side": str(row.side), "removedBy": by.pk}

"""Reads of requests, proposals and projects: each caller sees only what is theirs."""

from django.db.models import Q, QuerySet

from accounts.models import User
from kernel.errors import NotFound, ProjectNotActive
from messaging import selectors as messaging_selectors
from projects.models import Project, Proposal, ServiceRequest


def service_request_list_visible_to(*, user: User) -> QuerySet[ServiceRequest]:
    requests = ServiceRequest.objects.select_related("client")
    if user.is_staff:
        return requests
    if user.role == User.Role.PROVIDER:
        return requests.filter(Q(status=ServiceRequest.Status.OPEN) | Q(proposals__provider=user)).distinct()
    return requests.filter(client=user)


def proposal_list_visible_to(*, user: User) -> QuerySet[Proposal]:
    proposals = Proposal.objects.select_related("provider", "request")
    if user.is_staff:
        return proposals
    return proposals.filter(Q(provider=user) | Q(request__client=user))


# A project's members are its client and provider while they are participants of its conversation:
# support staff's removal (messaging.services.participant_remove) takes one out of the project, its
# conversation, its meetings and their tokens at once. project_list_for_user and project_member_ids say it, and
# every other app asks them (or project_get_for_member) rather than reading the participants itself.


def project_list_for_user(*, user: User) -> QuerySet[Project]:
    """The projects ``user`` is a member of, each with its ``conversation_id``; the reads of projects and
    meetings go through it."""
    return (
        Project.objects.filter(
            Q(client=user) | Q(provider=user), pk__in=messaging_selectors.project_ids_for_participant(user=user)
        )
        .select_related("client", "provider")
        .annotate(conversation_id=messaging_selectors.project_conversation_id())
    )


def project_get(*, project_id: int) -> Project:
    """The project as ``ProjectSerializer`` shows it, whoever asks (services answering their caller)."""
    return (
        Project.objects.select_related("client", "provider")
        .annotate(conversation_id=messaging_selectors.project_conversation_id())
        .get(pk=project_id)
    )


def project_member_ids(*, project: Project) -> list[int]:
    """The ids of ``project``'s members now: whom its meetings invite and tell."""
    members = (project.client_id, project.provider_id)
    return [
        user_id for user_id in messaging_selectors.project_participant_ids(project_id=project.pk) if user_id in members
    ]


def project_get_for_member(*, user: User, project_id: int, lock: bool = False) -> Project:
    """The project ``project_id`` if ``user`` is a member of it, else 404 (existence is not revealed).

    With ``lock`` its row is locked first and the membership read after the lock was granted: a change
    that must not slip past a closing or a removal (participant_remove takes the same row lock) sees the
    members as the one that came first left them.
    """
    if lock:
        project = Project.objects.select_for_update().filter(pk=project_id).first()
        if project is not None and user.pk not in project_member_ids(project=project):
            project = None
    else:
        project = project_list_for_user(user=user).filter(pk=project_id).first()
    if project is None:
        raise NotFound("No such project.", field="projectId")
    return project


def project_get_for_export(*, user: User, project_id: int) -> Project:
    """The project whose evidence ``user`` may export (support staff any, a member their own), else 404; with
    its ``conversation_id``."""
    if not user.is_staff:
        return project_get_for_member(user=user, project_id=project_id)
    try:
        return project_get(project_id=project_id)
    except Project.DoesNotExist:
        raise NotFound("No such project.", field="projectId") from None


def project_require_active(
    *, project: Project, consequence: str, refusal: type[ProjectNotActive] = ProjectNotActive
) -> None:
    """409 unless ``project`` is active; ``consequence`` says what its closing stops (and ``refusal`` names it)."""
    if not project.is_active:
        raise refusal(f"The project is {project.status}; {consequence}.")

"""Reads of requests, proposals and projects: each caller sees only what is theirs."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet

from accounts.models import User
from kernel.errors import NotFound, ProjectNotActive
from messaging import selectors as messaging_selectors
from projects.models import Project, ProjectMember, Proposal, ServiceRequest


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


# A project's members are its owners (its client and provider) and the teammates they added to their sides
# (ProjectMember), while they are participants of its conversation: a removal (messaging.services.participant_leave,
# by support staff or by the owner of the teammate's side) takes one out of the project, its conversation, its
# meetings and their tokens at once. project_list_for_user and project_member_ids say it, and every other app
# asks them (or project_get_for_member) rather than reading the participants itself.


def _member_of(user: User) -> Q:
    return Q(client=user) | Q(provider=user) | Q(pk__in=ProjectMember.objects.filter(user=user).values("project_id"))


def project_list_for_user(*, user: User) -> QuerySet[Project]:
    """The projects ``user`` is a member of, each with its ``conversation_id``; the reads of projects and
    meetings go through it."""
    return (
        Project.objects.filter(_member_of(user), pk__in=messaging_selectors.project_ids_for_participant(user=user))
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
    """The ids of ``project``'s members now, on both sides: whom its meetings invite and tell."""
    members = {
        project.client_id,
        project.provider_id,
        *ProjectMember.objects.filter(project=project).values_list("user_id", flat=True),
    }
    return [
        user_id for user_id in messaging_selectors.project_participant_ids(project_id=project.pk) if user_id in members
    ]


@dataclass(frozen=True)
class Member:
    """A member of a project as ``events.member_payload`` shows it: an owner, or a teammate with their row's
    ``added_by_id`` and the time they were added."""

    user: User
    side: str
    owner: bool
    added_by_id: int | None
    joined_at: datetime

    @classmethod
    def of_row(cls, row: ProjectMember) -> "Member":
        return cls(user=row.user, side=row.side, owner=False, added_by_id=row.added_by_id, joined_at=row.created_at)


def project_member_list(*, project: Project) -> list[Member]:
    """``project``'s members now, the client's side then the provider's, each owner first and their teammates
    in the order they were added: two queries (the participants, the teammates with their users), given a
    project with its client and provider (``project_list_for_user``, ``project_get_for_member``)."""
    current = set(messaging_selectors.project_participant_ids(project_id=project.pk))
    owners = [
        Member(user=user, side=side, owner=True, added_by_id=None, joined_at=project.created_at)
        for user, side in ((project.client, ProjectMember.Side.CLIENT), (project.provider, ProjectMember.Side.PROVIDER))
    ]
    teammates = [Member.of_row(row) for row in ProjectMember.objects.filter(project=project).select_related("user")]
    sides = list(ProjectMember.Side.values)
    members = [member for member in owners + teammates if member.user.pk in current]
    # Stable: within a side, owners (listed first) stay before their teammates, who keep their order.
    return sorted(members, key=lambda member: sides.index(member.side))


def project_side_owned_by(*, project: Project, user: User) -> str | None:
    """The side ``user`` owns in ``project`` (its client's or its provider's), or None for anyone else."""
    if user.pk == project.client_id:
        return ProjectMember.Side.CLIENT
    if user.pk == project.provider_id:
        return ProjectMember.Side.PROVIDER
    return None


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

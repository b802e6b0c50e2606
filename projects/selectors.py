"""Reads of requests, proposals and projects: each caller sees only what is theirs."""

from django.db.models import Q, QuerySet

from accounts.models import User
from messaging.models import Participant
from projects.models import Project, Proposal, ServiceRequest


def service_requests_visible_to(*, user: User) -> QuerySet[ServiceRequest]:
    requests = ServiceRequest.objects.select_related("client")
    if user.is_staff:
        return requests
    if user.role == User.Role.PROVIDER:
        return requests.filter(Q(status=ServiceRequest.Status.OPEN) | Q(proposals__provider=user)).distinct()
    return requests.filter(client=user)


def proposals_visible_to(*, user: User) -> QuerySet[Proposal]:
    proposals = Proposal.objects.select_related("provider", "request")
    if user.is_staff:
        return proposals
    return proposals.filter(Q(provider=user) | Q(request__client=user))


# A project's members are its client and provider while they are participants of its conversation:
# support staff's removal (messaging.services.participant_remove) takes one out of the project, its
# conversation, its meetings and their tokens at once. projects_of and project_member_ids say it.


def projects_of(*, user: User) -> QuerySet[Project]:
    """The projects ``user`` is a member of; the reads of projects and meetings go through it."""
    return Project.objects.filter(
        Q(client=user) | Q(provider=user), conversation__participants__user=user
    ).select_related("client", "provider", "conversation")


def project_member_ids(*, project: Project) -> list[int]:
    """The ids of ``project``'s members now: whom its meetings invite and tell."""
    return list(
        Participant.objects.filter(
            conversation__project=project, user_id__in=(project.client_id, project.provider_id)
        ).values_list("user_id", flat=True)
    )

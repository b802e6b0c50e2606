"""Reads of requests, proposals and projects: each caller sees only what is theirs."""

from django.db.models import Q, QuerySet

from accounts.models import User
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


def projects_of(*, user: User) -> QuerySet[Project]:
    return Project.objects.filter(Q(client=user) | Q(provider=user)).select_related(
        "client", "provider", "conversation"
    )

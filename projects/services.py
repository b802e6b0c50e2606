"""Writes of the cross-module flow: requests, proposals, and acceptance into a locked project."""

from datetime import date
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts import selectors as account_selectors
from accounts.models import User
from accounts.suspension import require_not_suspended
from integrations import events as integration_events
from integrations.services import event_record
from kernel.errors import (
    AlreadyAccepted,
    AlreadyMember,
    Invalid,
    NotAllowed,
    NotFound,
    NotProjectOwner,
    NotRequestClient,
    OwnerNotRemovable,
    ProjectClosed,
    ProjectNotActive,
    ProposalExists,
    ProposalExpired,
    ProposalNotOpen,
    ProviderNotApproved,
    RequestNotOpen,
    TermsChanged,
)
from messaging import services as messaging_services
from projects import events, selectors, signals
from projects.models import Project, ProjectMember, Proposal, ServiceRequest
from realtime.events import user_group
from realtime.publish import publish_on_commit


@transaction.atomic
def service_request_create(*, client: User, title: str, description: str = "", budget: Decimal | None = None):
    if client.role != User.Role.CLIENT:
        raise NotAllowed("Only clients create service requests.")
    return ServiceRequest.objects.create(client=client, title=title, description=description, budget=budget)


@transaction.atomic
def proposal_submit(
    *, provider: User, request_id: int, price: Decimal, scope: str, deadline: date, expires_at=None
) -> Proposal:
    if provider.role != User.Role.PROVIDER:
        raise NotAllowed("Only providers submit proposals.")
    require_not_suspended(provider)
    if not provider.is_approved_provider:
        raise ProviderNotApproved("Only approved providers submit proposals.")
    service_request = ServiceRequest.objects.select_for_update().filter(pk=request_id).first()
    if service_request is None:
        raise NotFound("No such service request.")
    if service_request.status != ServiceRequest.Status.OPEN:
        raise RequestNotOpen("This request no longer takes proposals.")
    if expires_at is not None and expires_at <= timezone.now():
        raise Invalid("The expiry must be in the future.", field="expiresAt")
    if Proposal.objects.filter(request=service_request, provider=provider, status=Proposal.Status.SUBMITTED).exists():
        raise ProposalExists("You already have a live proposal on this request.")
    return Proposal.objects.create(
        request=service_request, provider=provider, price=price, scope=scope, deadline=deadline, expires_at=expires_at
    )


@transaction.atomic
def proposal_accept(*, proposal_id: int, user: User, terms_hash: str | None = None) -> Project:
    """Accept a proposal; the post_save receiver turns it into a project in this same transaction.

    The request row is locked before the proposal row, in the same order for every caller, so
    concurrent accepts of any proposals on one request queue up instead of deadlocking.
    """
    request_id = Proposal.objects.filter(pk=proposal_id).values_list("request_id", flat=True).first()
    if request_id is None:
        raise NotFound("No such proposal.")
    service_request = ServiceRequest.objects.select_for_update().get(pk=request_id)
    proposal = Proposal.objects.select_for_update().select_related("provider").get(pk=proposal_id)
    proposal.request = service_request
    if user.pk != service_request.client_id:
        if user.pk == proposal.provider_id:
            raise NotRequestClient("Only the request's client can accept this proposal.")
        raise NotFound("No such proposal.")
    if proposal.status == Proposal.Status.ACCEPTED:
        raise AlreadyAccepted("This proposal has already been accepted.")
    if proposal.status != Proposal.Status.SUBMITTED:
        raise ProposalNotOpen(f"This proposal is {proposal.status} and cannot be accepted.")
    if proposal.expires_at is not None and proposal.expires_at <= timezone.now():
        raise ProposalExpired("This proposal has expired.")
    if not proposal.provider.is_approved_provider:
        raise ProviderNotApproved("The provider is not approved.")
    if service_request.status != ServiceRequest.Status.OPEN:
        raise RequestNotOpen("This request has already been converted or closed.")
    if terms_hash is not None and terms_hash != proposal.terms_hash:
        raise TermsChanged("The proposal's terms differ from the ones you saw.")
    proposal.accept()
    proposal.save(update_fields=["status", "accepted_at"])
    return selectors.project_get(project_id=proposal.project.pk)


@transaction.atomic
def proposal_reject(*, proposal_id: int, user: User) -> Proposal:
    # Only the proposal's row: locking its request too (after the proposal) would be the reverse of
    # proposal_accept's order and deadlock against a concurrent accept on the same request.
    proposal = Proposal.objects.select_for_update(of=("self",)).select_related("request").filter(pk=proposal_id).first()
    if proposal is None or user.pk not in (proposal.request.client_id, proposal.provider_id):
        raise NotFound("No such proposal.")
    if user.pk != proposal.request.client_id:
        raise NotRequestClient("Only the request's client can reject this proposal.")
    if proposal.status != Proposal.Status.SUBMITTED:
        raise ProposalNotOpen(f"This proposal is {proposal.status} and cannot be rejected.")
    proposal.status = Proposal.Status.REJECTED
    proposal.save(update_fields=["status"])
    return proposal


def project_create_for_accepted_proposal(*, proposal: Proposal) -> Project | None:
    """Create the project, its locked terms and its conversation for a proposal that proposal_accept accepted.

    Called by the post_save receiver inside the accepting transaction; it opens no transaction
    of its own beyond a savepoint, so anything raised here rolls the acceptance back too. Any other
    save of a proposal (a later save of an accepted one, say) creates nothing.
    """
    if not proposal.is_being_accepted:
        return None
    with transaction.atomic():
        service_request = proposal.request
        snapshot = proposal.terms_snapshot()
        project = Project.objects.create(
            proposal=proposal,
            request=service_request,
            client_id=service_request.client_id,
            provider_id=proposal.provider_id,
            title=service_request.title,
            price=proposal.price,
            scope=proposal.scope,
            deadline=proposal.deadline,
            terms_snapshot=snapshot,
            terms_hash=proposal.terms_hash,
        )
        ServiceRequest.objects.filter(pk=service_request.pk).update(status=ServiceRequest.Status.CONVERTED)
        service_request.status = ServiceRequest.Status.CONVERTED
        Proposal.objects.filter(request=service_request, status=Proposal.Status.SUBMITTED).exclude(
            pk=proposal.pk
        ).update(status=Proposal.Status.REJECTED)
        messaging_services.conversation_create_for_project(project=project)
        event_record(
            integration_events.PROJECT_CREATED, events.project_payload(selectors.project_get(project_id=project.pk))
        )
    return project


@transaction.atomic
def project_set_status(*, project_id: int, status: str) -> Project:
    """Complete or cancel an active project; its conversation is read-only and it holds no new meetings from
    then on (both check the project's status). Its conversation says so in a system message, and its
    members hear it after commit."""
    project = Project.objects.select_for_update().get(pk=project_id)
    if project.status != Project.Status.ACTIVE:
        raise ProjectNotActive(f"The project is already {project.status}.")
    if status not in events.CLOSED:
        raise Invalid("A project can only be completed or cancelled.", field="status")
    project.status = status
    project.save(update_fields=["status"])
    # The project's row lock is held: the conversation's comes second, as everywhere.
    kind, sentence = events.SYSTEM_MESSAGES[status]
    messaging_services.system_message_post(
        project_id=project.pk, kind=kind, data={"projectId": project.pk}, content=sentence
    )
    project = selectors.project_get(project_id=project.pk)
    event_record(integration_events.PROJECT_STATUS_CHANGED, events.project_payload(project))
    publish_on_commit(
        [user_group(project.client_id), user_group(project.provider_id)],
        events.CLOSED[status],
        events.project_payload(project),
    )
    return project


@transaction.atomic
def project_member_add(*, project_id: int, user_id: int, by: User) -> selectors.Member:
    """An owner adds an existing user to their own side of an active project: a client to the client's side,
    an approved provider to the provider's. The new member joins the conversation with its whole history
    (``messaging.services.participant_join``) and is invited to its pending and running meetings
    (``signals.member_added``) and to every meeting after.

    The project's row is locked first and the caller's membership read under it, then the conversation's
    (inside participant_join): the order of every other writer that holds both."""
    project = selectors.project_get_for_member(user=by, project_id=project_id, lock=True)
    side = _side_owned(project=project, user=by)
    require_not_suspended(by)
    selectors.project_require_active(project=project, consequence="it takes no new members", refusal=ProjectClosed)
    user = account_selectors.user_get_active(user_id=user_id)
    if user is None:
        raise Invalid("No such user.", field="userId")
    if side == ProjectMember.Side.CLIENT and user.role != User.Role.CLIENT:
        raise Invalid("Only a client can join the client's side.", field="userId")
    if side == ProjectMember.Side.PROVIDER and not user.is_approved_provider:
        raise Invalid("Only an approved provider can join the provider's side.", field="userId")
    if (
        user.pk in (project.client_id, project.provider_id)
        or ProjectMember.objects.filter(project=project, user=user).exists()
    ):
        raise AlreadyMember("This user is already a member of the project.")
    row = ProjectMember.objects.create(project=project, user=user, side=side, added_by=by)
    # Before the conversation's lock: the meetings' receiver locks their rows, which come first.
    signals.member_added.send(sender=ProjectMember, project_id=project.pk, user_id=user.pk)
    messaging_services.participant_join(project_id=project.pk, user=user, data={"side": side, "addedBy": by.pk})
    member = selectors.Member.of_row(row)
    event_record(integration_events.MEMBER_ADDED, events.member_added_payload(project.pk, member))
    return member


@transaction.atomic
def project_member_remove(*, project_id: int, user_id: int, by: User) -> None:
    """An owner removes a teammate of their own side, whatever the project's status (a closed project's
    history is still theirs to withhold): the shared removal path (``messaging.services.participant_leave``)
    takes the teammate out of the conversation and the meetings at once. The owners themselves stay."""
    project = selectors.project_get_for_member(user=by, project_id=project_id, lock=True)
    side = _side_owned(project=project, user=by)
    require_not_suspended(by)
    if user_id in (project.client_id, project.provider_id):
        raise OwnerNotRemovable("The project's client and provider cannot be removed.")
    row = ProjectMember.objects.filter(project=project, user_id=user_id).first()
    if row is None:
        raise NotFound("No such member.", field="userId")
    if row.side != side:
        raise NotProjectOwner(f"Only the owner of the {row.side}'s side removes its members.")
    messaging_services.participant_leave(project_id=project.pk, user_id=user_id, by=by)
    project_member_forget(project_id=project.pk, user_id=user_id, by=by)


def project_member_forget(*, project_id: int, user_id: int, by: User) -> None:
    """End ``user_id``'s membership row of the project, if they have one (an owner has none), and record it:
    they were removed from its conversation in the caller's transaction (``participant_leave``)."""
    row = ProjectMember.objects.filter(project_id=project_id, user_id=user_id).first()
    if row is not None:
        row.delete()
        event_record(integration_events.MEMBER_REMOVED, events.member_removed_payload(row, by=by))


def _side_owned(*, project: Project, user: User) -> str:
    side = selectors.project_side_owned_by(project=project, user=user)
    if side is None:
        raise NotProjectOwner("Only the project's client and provider add and remove members, each of their own side.")
    return side

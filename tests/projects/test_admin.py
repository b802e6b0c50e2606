"""The admin of requests, proposals and projects, as support staff use it: status fields are read-only, and
every change of state is an action that goes through the API's service, its refusals shown to staff."""

import pytest
from django.urls import reverse

from accounts.models import User
from kernel.errors import Conflict
from messaging import services as messaging_services
from projects import services as project_services
from projects.models import Project, Proposal, ServiceRequest
from realtime.events import user_group
from tests.admin_pages import action_run, change_form_submit, messages_shown
from tests.messaging.conftest import GroupListener

pytestmark = pytest.mark.django_db

PROPOSALS = "projects_proposal"
PROJECTS = "projects_project"


def test_a_suspended_providers_proposal_is_not_accepted_and_staff_see_why(
    staff_admin, service_request, proposal, provider
):
    User.objects.filter(pk=provider.pk).update(provider_status=User.ProviderStatus.SUSPENDED)

    response = action_run(staff_admin, PROPOSALS, "accept_proposals", proposal)

    assert messages_shown(response) == [("error", f"{proposal}: The provider is not approved.")]
    proposal.refresh_from_db()
    assert proposal.status == Proposal.Status.SUBMITTED
    assert not Project.objects.exists()


def test_accepting_through_the_action_makes_one_project_as_the_api_does(staff_admin, service_request, proposal):
    response = action_run(staff_admin, PROPOSALS, "accept_proposals", proposal)

    assert messages_shown(response) == [("success", "Accepted for the client: 1.")]
    proposal.refresh_from_db()
    assert proposal.status == Proposal.Status.ACCEPTED and proposal.accepted_at is not None
    project = Project.objects.get()
    assert (project.proposal_id, project.client_id) == (proposal.pk, service_request.client_id)
    assert project.conversation.participants.count() == 2


def test_rejecting_through_the_action_rejects_for_the_client(staff_admin, proposal):
    response = action_run(staff_admin, PROPOSALS, "reject_proposals", proposal)

    assert messages_shown(response) == [("success", "Rejected for the client: 1.")]
    proposal.refresh_from_db()
    assert proposal.status == Proposal.Status.REJECTED


def test_the_proposal_status_is_read_only_in_its_change_form(staff_admin, service_request, proposal, provider):
    """Saving the change form with status=accepted (the old way round the accept rules) changes nothing."""
    User.objects.filter(pk=provider.pk).update(provider_status=User.ProviderStatus.SUSPENDED)

    response = change_form_submit(staff_admin, PROPOSALS, proposal.pk, {"status": "accepted", "scope": "Four drafts"})

    assert response.status_code == 302
    proposal.refresh_from_db()
    assert (proposal.status, proposal.scope) == (Proposal.Status.SUBMITTED, "Four drafts")
    assert not Project.objects.exists()


def test_the_request_status_and_client_are_read_only_in_its_change_form(
    staff_admin, service_request, client_user, outsider
):
    response = change_form_submit(
        staff_admin, "projects_servicerequest", service_request.pk, {"status": "closed", "client": str(outsider.pk)}
    )

    assert response.status_code == 302
    service_request.refresh_from_db()
    assert (service_request.status, service_request.client_id) == (ServiceRequest.Status.OPEN, client_user.pk)


def test_completing_a_project_through_the_action_tells_its_members_and_closes_its_conversation(
    staff_admin, project, client_user, provider, django_capture_on_commit_callbacks
):
    listeners = [GroupListener(user_group(user.pk)) for user in (client_user, provider)]

    with django_capture_on_commit_callbacks(execute=True):
        response = action_run(staff_admin, PROJECTS, "complete_projects", project)

    assert messages_shown(response) == [("success", "Completed: 1.")]
    for listener in listeners:
        event = listener.next_event()
        assert (event["event"], event["data"]["id"], event["data"]["status"]) == (
            "project:completed",
            project.pk,
            "completed",
        )
        listener.close()
    with pytest.raises(Conflict) as refused:
        messaging_services.message_send(user=client_user, conversation_id=project.conversation.pk, content="hi")
    assert refused.value.code == "conversation_read_only"


def test_closing_a_closed_project_is_refused_with_the_services_error(staff_admin, project):
    action_run(staff_admin, PROJECTS, "cancel_projects", project)

    response = action_run(staff_admin, PROJECTS, "complete_projects", project)

    assert messages_shown(response) == [("error", f"{project}: The project is already cancelled.")]
    project.refresh_from_db()
    assert project.status == Project.Status.CANCELLED


def test_the_project_status_is_read_only_in_its_change_form(staff_admin, project):
    response = change_form_submit(staff_admin, PROJECTS, project.pk, {"status": "cancelled"})

    assert response.status_code == 302
    project.refresh_from_db()
    assert project.status == Project.Status.ACTIVE


def test_the_project_page_lists_its_teammates_read_only(staff_admin, project, client_user, client_teammate):
    project_services.project_member_add(project_id=project.pk, user_id=client_teammate.pk, by=client_user)

    response = staff_admin.get(reverse("admin:projects_project_change", args=[project.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    assert "cleo" in html and "Client&#x27;s side" in html
    assert "members-0-DELETE" not in html

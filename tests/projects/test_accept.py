"""Accepting a proposal: every rule of spec section 1, each refusal writing nothing."""

from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.utils import timezone

from accounts.models import User
from messaging.models import Conversation, Participant
from projects import services
from projects.models import AcceptanceRequired, Project, Proposal, ServiceRequest
from tests.conftest import make_user


def _accept(api, user, proposal, body=None):
    return api.as_user(user).post(f"/api/proposals/{proposal.pk}/accept", body or {}, format="json")


def _nothing_written(service_request):
    assert not Project.objects.exists()
    assert not Conversation.objects.exists()
    service_request.refresh_from_db()
    assert service_request.status == ServiceRequest.Status.OPEN


def test_accept_creates_project_with_locked_terms_and_conversation(api, client_user, provider, proposal):
    response = _accept(api, client_user, proposal)
    assert response.status_code == 201
    body = response.json()
    project = Project.objects.get(pk=body["id"])
    assert body["conversationId"] == project.conversation.pk
    assert (project.price, project.scope, project.deadline) == (proposal.price, proposal.scope, proposal.deadline)
    assert project.terms_hash == proposal.terms_hash and project.terms_verify()
    assert body["publicId"] == str(project.public_id)
    assert set(Participant.objects.filter(conversation=project.conversation).values_list("user_id", flat=True)) == {
        client_user.pk,
        provider.pk,
    }


def test_accept_converts_the_request_and_rejects_the_other_proposals(api, client_user, service_request, proposal):
    rival = services.proposal_submit(
        provider=make_user("rival", role=User.Role.PROVIDER),
        request_id=service_request.pk,
        price=Decimal("700"),
        scope="Two drafts",
        deadline=proposal.deadline,
    )
    _accept(api, client_user, proposal)
    service_request.refresh_from_db()
    rival.refresh_from_db()
    assert service_request.status == ServiceRequest.Status.CONVERTED
    assert rival.status == Proposal.Status.REJECTED


def test_accept_with_the_current_terms_hash(api, client_user, proposal):
    assert _accept(api, client_user, proposal, {"termsHash": proposal.terms_hash}).status_code == 201


def test_accept_refuses_a_stale_terms_hash(api, client_user, service_request, proposal):
    response = _accept(api, client_user, proposal, {"termsHash": "0" * 64})
    assert response.status_code == 409 and response.json()["code"] == "terms_changed"
    _nothing_written(service_request)


def test_accept_refuses_the_provider(api, provider, service_request, proposal):
    response = _accept(api, provider, proposal)
    assert response.status_code == 403
    _nothing_written(service_request)


def test_accept_hides_the_proposal_from_an_outsider(api, outsider, service_request, proposal):
    assert _accept(api, outsider, proposal).status_code == 404
    _nothing_written(service_request)


def test_accept_refuses_anonymous(api, service_request, proposal):
    assert api.post(f"/api/proposals/{proposal.pk}/accept").status_code == 401
    _nothing_written(service_request)


def test_accept_refuses_an_expired_proposal(api, client_user, service_request, proposal):
    Proposal.objects.filter(pk=proposal.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    response = _accept(api, client_user, proposal)
    assert response.status_code == 409 and response.json()["code"] == "proposal_expired"
    _nothing_written(service_request)


def test_accept_refuses_an_unapproved_provider(api, client_user, provider, service_request, proposal):
    User.objects.filter(pk=provider.pk).update(provider_status=User.ProviderStatus.SUSPENDED)
    response = _accept(api, client_user, proposal)
    assert response.status_code == 409 and response.json()["code"] == "provider_not_approved"
    _nothing_written(service_request)


def test_accept_refuses_a_request_no_longer_open(api, client_user, service_request, proposal):
    ServiceRequest.objects.filter(pk=service_request.pk).update(status=ServiceRequest.Status.CLOSED)
    response = _accept(api, client_user, proposal)
    assert response.status_code == 409 and response.json()["code"] == "request_not_open"
    assert not Project.objects.exists()


def test_accept_twice_answers_already_accepted(api, client_user, proposal):
    _accept(api, client_user, proposal)
    response = _accept(api, client_user, proposal)
    assert response.status_code == 409 and response.json()["code"] == "already_accepted"
    assert Project.objects.count() == 1


def test_accept_refuses_a_withdrawn_proposal(api, client_user, service_request, proposal):
    Proposal.objects.filter(pk=proposal.pk).update(status=Proposal.Status.WITHDRAWN)
    response = _accept(api, client_user, proposal)
    assert response.status_code == 409 and response.json()["code"] == "proposal_not_open"
    _nothing_written(service_request)


def test_a_failure_inside_the_signal_rolls_the_acceptance_back(api, client_user, service_request, proposal):
    with (
        mock.patch("messaging.services.conversation_create_for_project", side_effect=RuntimeError("boom")),
        pytest.raises(RuntimeError),
    ):
        services.proposal_accept(proposal_id=proposal.pk, user=client_user)
    proposal.refresh_from_db()
    assert proposal.status == Proposal.Status.SUBMITTED
    _nothing_written(service_request)


def test_saving_an_accepted_proposal_again_creates_no_second_project(client_user, proposal):
    services.proposal_accept(proposal_id=proposal.pk, user=client_user)
    proposal.refresh_from_db()
    proposal.save()
    assert Project.objects.count() == 1


def test_a_proposal_saved_as_accepted_by_hand_is_refused_and_makes_no_project(service_request, proposal):
    """Only proposal_accept's save turns a proposal accepted; setting the fields by hand, as a form would, skips
    its checks, so the save raises before anything is written (accepted_at is no pass either)."""
    proposal.status = Proposal.Status.ACCEPTED
    proposal.accepted_at = timezone.now()

    with pytest.raises(AcceptanceRequired):
        proposal.save()

    proposal.refresh_from_db()
    assert (proposal.status, proposal.accepted_at) == (Proposal.Status.SUBMITTED, None)
    _nothing_written(service_request)


def test_accept_announces_the_conversation_after_commit(
    client_user, provider, proposal, django_capture_on_commit_callbacks
):
    from channels.layers import get_channel_layer

    with mock.patch("realtime.publish.publish_now") as publish_now:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            services.proposal_accept(proposal_id=proposal.pk, user=client_user)
        publish_now.assert_not_called()
        for callback in callbacks:
            callback()
    groups, event, data = publish_now.call_args.args
    assert event == "conversation:new"
    assert sorted(groups) == sorted([f"user_{client_user.pk}", f"user_{provider.pk}"])
    assert get_channel_layer() is not None


def test_reject_by_the_client(api, client_user, proposal):
    response = api.as_user(client_user).post(f"/api/proposals/{proposal.pk}/reject")
    assert response.status_code == 200 and response.json()["status"] == "rejected"


def test_reject_refuses_the_provider(api, provider, proposal):
    assert api.as_user(provider).post(f"/api/proposals/{proposal.pk}/reject").status_code == 403

"""Concurrent accepts on real PostgreSQL: one project, one conversation, the rest a clean 409."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from messaging.models import Conversation
from projects import services
from projects.models import Project
from tests.conftest import make_user, requires_postgres

pytestmark = pytest.mark.django_db(transaction=True)


def _accept_all(user, proposal_ids: list[int]) -> list[int]:
    barrier = threading.Barrier(len(proposal_ids))
    statuses: list[int] = []

    def accept(proposal_id):
        try:
            client = APIClient()
            client.force_authenticate(user)
            barrier.wait()
            statuses.append(client.post(f"/api/proposals/{proposal_id}/accept").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=accept, args=(pid,)) for pid in proposal_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return statuses


def _proposal(service_request, provider):
    return services.proposal_submit(
        provider=provider,
        request_id=service_request.pk,
        price=Decimal("100"),
        scope="x",
        deadline=(timezone.now() + timedelta(days=5)).date(),
    )


def test_twenty_concurrent_accepts_of_one_proposal_make_one_project():
    requires_postgres()
    client = make_user("alice")
    provider = make_user("bob", role=User.Role.PROVIDER)
    service_request = services.service_request_create(client=client, title="Race")
    proposal = _proposal(service_request, provider)
    statuses = _accept_all(client, [proposal.pk] * 20)
    assert sorted(statuses) == [201] + [409] * 19
    assert Project.objects.count() == 1
    assert Conversation.objects.count() == 1


def test_two_proposals_on_one_request_accepted_concurrently_make_one_project():
    requires_postgres()
    client = make_user("alice")
    service_request = services.service_request_create(client=client, title="Race")
    first = _proposal(service_request, make_user("bob", role=User.Role.PROVIDER))
    second = _proposal(service_request, make_user("bea", role=User.Role.PROVIDER))
    statuses = _accept_all(client, [first.pk, second.pk])
    assert sorted(statuses) == [201, 409]
    assert Project.objects.count() == 1
    assert Conversation.objects.count() == 1

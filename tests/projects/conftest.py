"""An open request of alice's (the client) and bob's (the provider) live proposal on it."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from projects import services


@pytest.fixture
def service_request(client_user):
    return services.service_request_create(client=client_user, title="Logo", description="A new logo")


@pytest.fixture
def proposal(service_request, provider):
    return services.proposal_submit(
        provider=provider,
        request_id=service_request.pk,
        price=Decimal("800.00"),
        scope="Three drafts",
        deadline=(timezone.now() + timedelta(days=10)).date(),
    )

"""The project payload, built by ``projects.events`` for REST answers and ``project:*`` events alike, is
what the REST schema documents."""

from decimal import Decimal

import pytest

from projects import events, selectors
from projects.serializers import ProjectSerializer
from tests.conftest import documented, make_project

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("price", ["1500.00", "1500", "0.5"])
def test_the_project_payload_is_what_the_schema_documents(client_user, provider, price):
    project = selectors.project_get(project_id=make_project(client_user, provider, price=price).pk)

    assert events.project_payload(project) == documented(ProjectSerializer, project)
    assert events.project_payload(project)["price"] == str(Decimal(price).quantize(Decimal("0.01")))

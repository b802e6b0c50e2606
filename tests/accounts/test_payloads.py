"""A user as other payloads name them (``accounts.events.user_brief_payload``) is what the schema documents."""

import pytest

from accounts import events
from accounts.serializers import UserBriefSerializer
from tests.conftest import documented

pytestmark = pytest.mark.django_db


def test_the_user_brief_payload_is_what_the_schema_documents(client_user, provider):
    for user in (client_user, provider):
        assert events.user_brief_payload(user) == documented(UserBriefSerializer, user)

"""Notifications on the shared personas: alice (the client) hosts meetings on the project, bob (the provider)
is invited; emails go to Django's in-memory outbox unless a test sends through a real SMTP server."""

from datetime import timedelta

import pytest
from django.utils import timezone

from meetings import selectors as meeting_selectors
from meetings import services as meeting_services
from tests.messaging.conftest import fast_password_hashing  # noqa: F401

SITE_URL = "https://chat.example.com"


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.SITE_URL = SITE_URL
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]


@pytest.fixture
def scheduled_meeting(client_user, project):
    """Tomorrow at 15:00 UTC, alice hosting, bob invited."""
    start = (timezone.now() + timedelta(days=1)).replace(hour=15, minute=0, second=0, microsecond=0)
    meeting = meeting_services.meeting_create(
        user=client_user, project_id=project.pk, title="Design review", agenda="Pages <1> & <2>", scheduled_for=start
    )
    return meeting_selectors.meeting_get(meeting_id=meeting.pk)

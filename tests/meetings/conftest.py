"""Meetings on the shared project: alice (the client) hosts, bob (the provider) is invited.

Agora credentials are Agora's published test-vector app id and certificate.
"""

import json
from pathlib import Path

import pytest
from django.test import override_settings

from meetings import services
from meetings.models import Meeting, MeetingParticipant

AGORA = json.loads(Path(__file__).with_name("agora_vectors.json").read_text())["shared"]
AGORA_APP_ID = AGORA["appId"]
AGORA_APP_CERTIFICATE = AGORA["appCertificate"]


@pytest.fixture
def agora_configured():
    with override_settings(AGORA_APP_ID=AGORA_APP_ID, AGORA_APP_CERTIFICATE=AGORA_APP_CERTIFICATE):
        yield


@pytest.fixture
def meeting(project, client_user) -> Meeting:
    """Scheduled-later style: PENDING, bob invited."""
    return services.meeting_create(user=client_user, project_id=project.pk, title="Kick-off")


@pytest.fixture
def active_meeting(meeting, client_user) -> Meeting:
    return services.meeting_start(user=client_user, meeting_id=meeting.pk)


@pytest.fixture
def completed_meeting(active_meeting, client_user) -> Meeting:
    return services.meeting_end(user=client_user, meeting_id=active_meeting.pk)


@pytest.fixture
def cancelled_meeting(meeting, client_user) -> Meeting:
    return services.meeting_cancel(user=client_user, meeting_id=meeting.pk)


def meeting_state(meeting: Meeting) -> tuple:
    """Everything a transition could change, read fresh from the database."""
    row = (
        Meeting.objects.filter(pk=meeting.pk)
        .values("status", "scheduled_for", "sequence", "started_at", "ended_at", "duration_seconds", "channel_name")
        .get()
    )
    answers = list(
        MeetingParticipant.objects.filter(meeting=meeting)
        .order_by("user_id")
        .values_list("user_id", "status", "answered_at", "first_joined_at", "last_left_at")
    )
    return row, answers


def invitation_of(meeting: Meeting, user) -> MeetingParticipant:
    return MeetingParticipant.objects.get(meeting=meeting, user=user)

"""Meetings created or started per user are limited (THROTTLE_MEETING_START): each one invites or rings
the other side, so a flood of them is refused with 429 rate_limited and rings nobody."""

import pytest

from meetings import services
from meetings.models import Meeting

pytestmark = pytest.mark.django_db

MEETINGS_PER_HOUR = 3


@pytest.fixture(autouse=True)
def meeting_rate(settings):
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "meeting_start": f"{MEETINGS_PER_HOUR}/h"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}


def _instant(api, user, project):
    return api.as_user(user).post(
        "/api/meetings", {"projectId": project.pk, "title": "Call now", "instant": True}, format="json"
    )


def test_instant_meetings_past_the_rate_are_refused_429_and_ring_nobody(
    api, client_user, project, django_capture_on_commit_callbacks
):
    admitted = [_instant(api, client_user, project).status_code for _ in range(MEETINGS_PER_HOUR)]

    with django_capture_on_commit_callbacks(execute=True) as rings:
        refused = _instant(api, client_user, project)

    assert admitted == [201] * MEETINGS_PER_HOUR
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited"
    assert 1 <= int(refused["Retry-After"]) <= 3600
    assert rings == []
    assert Meeting.objects.filter(project=project).count() == MEETINGS_PER_HOUR


def test_starting_meetings_counts_against_the_same_rate(api, client_user, project):
    pending = [
        services.meeting_create(user=client_user, project_id=project.pk, title=f"Later {n}")
        for n in range(MEETINGS_PER_HOUR + 1)
    ]
    answers = [api.as_user(client_user).patch(f"/api/meetings/{meeting.pk}/start").status_code for meeting in pending]

    assert answers == [200] * MEETINGS_PER_HOUR + [429]
    assert Meeting.objects.filter(status=Meeting.Status.ACTIVE).count() == MEETINGS_PER_HOUR


def test_the_other_member_still_starts_a_meeting_while_one_is_throttled(api, client_user, provider, project):
    assert [_instant(api, client_user, project).status_code for _ in range(MEETINGS_PER_HOUR + 1)][-1] == 429

    assert _instant(api, provider, project).status_code == 201

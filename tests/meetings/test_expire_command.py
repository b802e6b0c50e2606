"""``manage.py meetings_expire`` (cron): meetings ACTIVE beyond the maximum duration are completed there."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from meetings import services
from meetings.models import Meeting

pytestmark = pytest.mark.django_db

MAX_SECONDS = 2 * 3600


@pytest.fixture(autouse=True)
def two_hour_maximum(settings):
    settings.MEETING_MAX_DURATION_SECONDS = MAX_SECONDS


def _started_ago(meeting, seconds: int) -> Meeting:
    Meeting.objects.filter(pk=meeting.pk).update(started_at=timezone.now() - timedelta(seconds=seconds))
    return Meeting.objects.get(pk=meeting.pk)


def _expire() -> str:
    out = StringIO()
    call_command("meetings_expire", stdout=out)
    return out.getvalue()


def test_a_meeting_active_beyond_the_maximum_is_completed_with_its_duration_capped(active_meeting):
    started_at = _started_ago(active_meeting, MAX_SECONDS + 900).started_at
    output = _expire()
    active_meeting.refresh_from_db()
    assert active_meeting.status == Meeting.Status.COMPLETED
    assert active_meeting.duration_seconds == MAX_SECONDS
    assert active_meeting.ended_at == started_at + timedelta(seconds=MAX_SECONDS)
    assert f"Completed 1 meeting(s) active beyond {MAX_SECONDS} s: {active_meeting.pk}." in output


def test_a_meeting_within_the_maximum_keeps_running(active_meeting):
    _started_ago(active_meeting, MAX_SECONDS - 60)
    assert "Completed 0 meeting(s)" in _expire()
    assert Meeting.objects.get(pk=active_meeting.pk).status == Meeting.Status.ACTIVE


def test_pending_completed_and_cancelled_meetings_are_left_alone(client_user, project, completed_meeting):
    pending = services.meeting_create(user=client_user, project_id=project.pk, title="Later")
    cancelled = services.meeting_create(user=client_user, project_id=project.pk, title="Off")
    services.meeting_cancel(user=client_user, meeting_id=cancelled.pk)
    Meeting.objects.filter(pk=pending.pk).update(created_at=timezone.now() - timedelta(days=2))
    before = list(Meeting.objects.order_by("pk").values())
    _expire()
    assert list(Meeting.objects.order_by("pk").values()) == before


def test_a_second_run_finds_nothing_more_to_do(active_meeting):
    _started_ago(active_meeting, MAX_SECONDS + 1)
    _expire()
    completed = Meeting.objects.get(pk=active_meeting.pk)
    assert "Completed 0 meeting(s)" in _expire()
    assert Meeting.objects.get(pk=active_meeting.pk).ended_at == completed.ended_at

"""Concurrent transitions on real PostgreSQL: the meeting's row lock lets one win, the rest get a clean 409."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient

from meetings import services
from meetings.models import Meeting
from tests.concurrency import together
from tests.conftest import requires_postgres
from tests.meetings.conftest import invitation_of

pytestmark = pytest.mark.django_db(transaction=True)


def _patch(user, meeting, transition):
    def call() -> int:
        client = APIClient()
        client.force_authenticate(user)
        return client.patch(f"/api/meetings/{meeting.pk}/{transition}").status_code

    return call


def test_ten_concurrent_starts_start_the_meeting_once(client_user, meeting):
    requires_postgres()
    statuses = together([_patch(client_user, meeting, "start")] * 10)
    assert sorted(statuses) == [200] + [409] * 9
    meeting.refresh_from_db()
    assert (meeting.status, meeting.started_at is not None) == (Meeting.Status.ACTIVE, True)


def test_ten_concurrent_ends_complete_the_meeting_once(client_user, active_meeting):
    requires_postgres()
    statuses = together([_patch(client_user, active_meeting, "end")] * 10)
    assert sorted(statuses) == [200] + [409] * 9
    active_meeting.refresh_from_db()
    assert active_meeting.status == Meeting.Status.COMPLETED
    assert active_meeting.duration_seconds == int((active_meeting.ended_at - active_meeting.started_at).total_seconds())


def test_concurrent_accepts_and_declines_leave_one_answer(provider, meeting):
    requires_postgres()
    transitions = ["accept", "decline"] * 5
    statuses = together([_patch(provider, meeting, transition) for transition in transitions])
    answer = invitation_of(meeting, provider).status
    winner = "accept" if answer == "accepted" else "decline"
    assert [status for transition, status in zip(transitions, statuses, strict=True) if transition == winner] == [
        200
    ] * 5
    assert [status for transition, status in zip(transitions, statuses, strict=True) if transition != winner] == [
        409
    ] * 5


def test_a_start_racing_a_cancel_leaves_exactly_one_of_them(client_user, meeting):
    requires_postgres()
    started, cancelled = together([_patch(client_user, meeting, "start"), _patch(client_user, meeting, "cancel")])
    assert sorted([started, cancelled]) == [200, 409]
    meeting.refresh_from_db()
    assert meeting.status == (Meeting.Status.ACTIVE if started == 200 else Meeting.Status.CANCELLED)
    assert (meeting.started_at is not None) == (started == 200)


def test_an_answer_racing_the_end_is_recorded_only_if_it_came_first(client_user, provider, active_meeting):
    requires_postgres()
    ended, accepted = together([_patch(client_user, active_meeting, "end"), _patch(provider, active_meeting, "accept")])
    assert ended == 200
    assert accepted in (200, 409)
    expected = "accepted" if accepted == 200 else "invited"
    assert invitation_of(active_meeting, provider).status == expected
    assert Meeting.objects.get(pk=active_meeting.pk).status == Meeting.Status.COMPLETED


def test_the_cron_racing_the_host_completes_an_overdue_meeting_once_at_its_maximum(client_user, active_meeting):
    requires_postgres()
    limit = timedelta(seconds=settings.MEETING_MAX_DURATION_SECONDS)
    Meeting.objects.filter(pk=active_meeting.pk).update(started_at=timezone.now() - limit - timedelta(minutes=5))
    ended, swept = together([_patch(client_user, active_meeting, "end"), services.meetings_complete_overdue])
    assert sorted([ended == 200, swept == [active_meeting.pk]]) == [False, True]
    active_meeting.refresh_from_db()
    assert active_meeting.status == Meeting.Status.COMPLETED
    assert active_meeting.ended_at - active_meeting.started_at == limit
    assert active_meeting.duration_seconds == settings.MEETING_MAX_DURATION_SECONDS

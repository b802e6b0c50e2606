"""The database itself refuses meeting rows that break the lifecycle, whatever code writes them."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from meetings.models import Meeting, MeetingParticipant

pytestmark = pytest.mark.django_db


def _refused(queryset, **values) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        queryset.update(**values)


def test_a_completed_meeting_needs_its_end_and_duration(active_meeting):
    _refused(Meeting.objects.filter(pk=active_meeting.pk), status=Meeting.Status.COMPLETED)


def test_only_a_completed_meeting_has_an_end(active_meeting):
    _refused(Meeting.objects.filter(pk=active_meeting.pk), ended_at=timezone.now(), duration_seconds=0)


def test_a_pending_meeting_has_not_started(meeting):
    _refused(Meeting.objects.filter(pk=meeting.pk), started_at=timezone.now())


def test_an_active_meeting_has_a_start(active_meeting):
    _refused(Meeting.objects.filter(pk=active_meeting.pk), started_at=None)


def test_a_duration_is_never_negative(completed_meeting):
    _refused(Meeting.objects.filter(pk=completed_meeting.pk), duration_seconds=-1)


def test_a_meeting_cannot_end_before_it_started(completed_meeting):
    _refused(
        Meeting.objects.filter(pk=completed_meeting.pk),
        ended_at=completed_meeting.started_at - timedelta(seconds=1),
    )


def test_an_unknown_status_is_refused(meeting):
    _refused(Meeting.objects.filter(pk=meeting.pk), status="PENDING")


def test_a_member_is_invited_once(meeting, provider):
    with pytest.raises(IntegrityError), transaction.atomic():
        MeetingParticipant.objects.create(meeting=meeting, user=provider)


def test_an_answer_has_its_time(meeting, provider):
    _refused(MeetingParticipant.objects.filter(meeting=meeting, user=provider), status="accepted")


def test_no_one_leaves_a_call_they_never_joined(meeting, provider):
    _refused(MeetingParticipant.objects.filter(meeting=meeting, user=provider), last_left_at=timezone.now())

"""PATCH /api/meetings/{id}/start, /end, /cancel, /reschedule, /accept, /decline: each transition and each refusal.

A refused transition answers 403 (wrong role), 404 (outsider) or 409 (wrong state) and changes nothing.
"""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from meetings.models import Meeting
from projects.services import project_set_status
from tests.meetings.conftest import invitation_of, meeting_state

pytestmark = pytest.mark.django_db

TRANSITIONS = ["start", "end", "cancel", "accept", "decline"]


def _patch(api, user, meeting, transition):
    return api.as_user(user).patch(f"/api/meetings/{meeting.pk}/{transition}")


def _refused(api, user, meeting, transition, status: int, code: str) -> None:
    before = meeting_state(meeting)
    response = _patch(api, user, meeting, transition)
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert meeting_state(meeting) == before


def _started_ago(meeting, seconds: int) -> None:
    Meeting.objects.filter(pk=meeting.pk).update(started_at=timezone.now() - timedelta(seconds=seconds))


# start


def test_the_host_starts_a_pending_meeting(api, client_user, meeting):
    response = _patch(api, client_user, meeting, "start")
    assert response.status_code == 200
    assert response.json()["status"] == "ACTIVE"
    assert Meeting.objects.get(pk=meeting.pk).started_at == parse_datetime(response.json()["startedAt"])


def test_an_invitee_cannot_start_a_meeting(api, provider, meeting):
    _refused(api, provider, meeting, "start", 403, "not_host")


def test_a_started_meeting_cannot_be_started_again(api, client_user, active_meeting):
    _refused(api, client_user, active_meeting, "start", 409, "meeting_active")


def test_a_completed_meeting_cannot_be_started(api, client_user, completed_meeting):
    _refused(api, client_user, completed_meeting, "start", 409, "meeting_completed")


def test_a_cancelled_meeting_cannot_be_started(api, client_user, cancelled_meeting):
    _refused(api, client_user, cancelled_meeting, "start", 409, "meeting_cancelled")


def test_a_meeting_of_a_closed_project_cannot_be_started(api, client_user, project, meeting):
    project_set_status(project_id=project.pk, status="cancelled")
    _refused(api, client_user, meeting, "start", 409, "project_not_active")


# end


def test_the_host_ends_an_active_meeting_recording_its_end_and_duration(api, client_user, active_meeting):
    _started_ago(active_meeting, 90)
    response = _patch(api, client_user, active_meeting, "end")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "COMPLETED"
    assert 90 <= body["durationSeconds"] < 120
    elapsed = parse_datetime(body["endedAt"]) - parse_datetime(body["startedAt"])
    assert body["durationSeconds"] == int(elapsed.total_seconds())


def test_a_meeting_ended_after_its_maximum_duration_is_capped_there(api, client_user, active_meeting):
    _started_ago(active_meeting, settings.MEETING_MAX_DURATION_SECONDS + 600)
    body = _patch(api, client_user, active_meeting, "end").json()
    assert body["durationSeconds"] == settings.MEETING_MAX_DURATION_SECONDS
    assert parse_datetime(body["endedAt"]) - parse_datetime(body["startedAt"]) == timedelta(
        seconds=settings.MEETING_MAX_DURATION_SECONDS
    )


def test_a_pending_meeting_cannot_be_ended(api, client_user, meeting):
    _refused(api, client_user, meeting, "end", 409, "meeting_pending")


def test_an_invitee_cannot_end_a_meeting(api, provider, active_meeting):
    _refused(api, provider, active_meeting, "end", 403, "not_host")


def test_an_ended_meeting_cannot_be_ended_again(api, client_user, completed_meeting):
    _refused(api, client_user, completed_meeting, "end", 409, "meeting_completed")


# cancel


def test_the_host_cancels_a_pending_meeting(api, client_user, meeting):
    response = _patch(api, client_user, meeting, "cancel")
    assert response.status_code == 200
    assert response.json()["status"] == "CANCELLED"
    assert Meeting.objects.get(pk=meeting.pk).status == Meeting.Status.CANCELLED


def test_cancelling_raises_the_calendar_sequence(api, client_user, meeting):
    _patch(api, client_user, meeting, "cancel")
    assert Meeting.objects.get(pk=meeting.pk).sequence == 1


def test_an_active_meeting_cannot_be_cancelled(api, client_user, active_meeting):
    _refused(api, client_user, active_meeting, "cancel", 409, "meeting_active")


def test_a_cancelled_meeting_cannot_be_cancelled_again(api, client_user, cancelled_meeting):
    _refused(api, client_user, cancelled_meeting, "cancel", 409, "meeting_cancelled")


def test_an_invitee_cannot_cancel_a_meeting(api, provider, meeting):
    _refused(api, provider, meeting, "cancel", 403, "not_host")


# reschedule


def _reschedule(api, user, meeting, when):
    return api.as_user(user).patch(f"/api/meetings/{meeting.pk}/reschedule", {"scheduledFor": when}, format="json")


def test_the_host_reschedules_a_pending_meeting_and_its_sequence_rises(api, client_user, meeting):
    later = timezone.now() + timedelta(days=2)
    response = _reschedule(api, client_user, meeting, later.isoformat())
    assert response.status_code == 200
    assert parse_datetime(response.json()["scheduledFor"]) == later
    assert Meeting.objects.get(pk=meeting.pk).sequence == 1
    _reschedule(api, client_user, meeting, (later + timedelta(hours=1)).isoformat())
    assert Meeting.objects.get(pk=meeting.pk).sequence == 2


def test_rescheduling_to_the_same_time_changes_nothing(api, client_user, meeting):
    later = (timezone.now() + timedelta(days=2)).isoformat()
    _reschedule(api, client_user, meeting, later)
    before = meeting_state(meeting)
    assert _reschedule(api, client_user, meeting, later).status_code == 200
    assert meeting_state(meeting) == before


def test_rescheduling_keeps_the_answers(api, client_user, provider, meeting):
    _patch(api, provider, meeting, "accept")
    _reschedule(api, client_user, meeting, (timezone.now() + timedelta(days=2)).isoformat())
    assert invitation_of(meeting, provider).status == "accepted"


@pytest.mark.parametrize("when", ["", "tomorrow", (timezone.now() - timedelta(minutes=1)).isoformat()])
def test_a_reschedule_to_no_or_a_past_time_is_refused_on_the_field(api, client_user, meeting, when):
    before = meeting_state(meeting)
    response = _reschedule(api, client_user, meeting, when)
    assert response.status_code == 400
    assert "scheduledFor" in response.json()["fields"]
    assert meeting_state(meeting) == before


def test_an_invitee_cannot_reschedule_a_meeting(api, provider, meeting):
    before = meeting_state(meeting)
    response = _reschedule(api, provider, meeting, (timezone.now() + timedelta(days=2)).isoformat())
    assert (response.status_code, response.json()["code"]) == (403, "not_host")
    assert meeting_state(meeting) == before


def test_an_active_meeting_cannot_be_rescheduled(api, client_user, active_meeting):
    before = meeting_state(active_meeting)
    response = _reschedule(api, client_user, active_meeting, (timezone.now() + timedelta(days=2)).isoformat())
    assert (response.status_code, response.json()["code"]) == (409, "meeting_active")
    assert meeting_state(active_meeting) == before


# accept / decline


@pytest.mark.parametrize("transition, answer", [("accept", "accepted"), ("decline", "declined")])
def test_the_invitee_answers_a_pending_meeting(api, provider, meeting, transition, answer):
    response = _patch(api, provider, meeting, transition)
    assert response.status_code == 200
    mine = next(p for p in response.json()["participants"] if p["user"]["id"] == provider.pk)
    assert (mine["status"], mine["answeredAt"] is not None) == (answer, True)
    assert invitation_of(meeting, provider).status == answer


def test_the_invitee_can_accept_a_meeting_that_is_already_ringing(api, provider, active_meeting):
    assert _patch(api, provider, active_meeting, "accept").status_code == 200
    assert invitation_of(active_meeting, provider).status == "accepted"


@pytest.mark.parametrize("transition", ["accept", "decline"])
def test_giving_the_same_answer_again_changes_nothing(api, provider, meeting, transition):
    _patch(api, provider, meeting, transition)
    before = meeting_state(meeting)
    assert _patch(api, provider, meeting, transition).status_code == 200
    assert meeting_state(meeting) == before


@pytest.mark.parametrize("first, second", [("accept", "decline"), ("decline", "accept")])
def test_an_answer_cannot_be_changed(api, provider, meeting, first, second):
    _patch(api, provider, meeting, first)
    _refused(api, provider, meeting, second, 409, "already_answered")


@pytest.mark.parametrize("transition", ["accept", "decline"])
def test_the_host_does_not_answer_their_own_invitation(api, client_user, meeting, transition):
    _refused(api, client_user, meeting, transition, 403, "host_cannot_answer")


@pytest.mark.parametrize("transition", ["accept", "decline"])
def test_a_completed_meetings_invitation_cannot_be_answered(api, provider, completed_meeting, transition):
    _refused(api, provider, completed_meeting, transition, 409, "meeting_completed")


@pytest.mark.parametrize("transition", ["accept", "decline"])
def test_a_cancelled_meetings_invitation_cannot_be_answered(api, provider, cancelled_meeting, transition):
    _refused(api, provider, cancelled_meeting, transition, 409, "meeting_cancelled")


# everyone else


@pytest.mark.parametrize("transition", TRANSITIONS)
def test_an_outsider_gets_404_for_every_transition(api, outsider, meeting, transition):
    _refused(api, outsider, meeting, transition, 404, "not_found")


@pytest.mark.parametrize("transition", TRANSITIONS)
def test_anonymous_gets_401_for_every_transition(api, meeting, transition):
    before = meeting_state(meeting)
    assert api.patch(f"/api/meetings/{meeting.pk}/{transition}").status_code == 401
    assert meeting_state(meeting) == before


@pytest.mark.parametrize("transition", TRANSITIONS)
def test_an_unknown_meeting_is_404_for_every_transition(api, client_user, transition):
    assert api.as_user(client_user).patch(f"/api/meetings/424242/{transition}").status_code == 404


@pytest.mark.parametrize("transition", TRANSITIONS)
def test_transitions_answer_only_patch(api, client_user, meeting, transition):
    assert api.as_user(client_user).post(f"/api/meetings/{meeting.pk}/{transition}").status_code == 405

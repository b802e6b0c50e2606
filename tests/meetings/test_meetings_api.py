"""POST /api/meetings, GET /api/meetings/me and GET /api/meetings/{id}: who may, and what they see."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from meetings import services
from meetings.models import Meeting
from projects.services import project_set_status
from tests.conftest import make_project, make_user

pytestmark = pytest.mark.django_db


def _create(api, user, **body):
    return api.as_user(user).post("/api/meetings", body, format="json")


def _schedule(host, project, *, title="Review", in_hours: float | None = None) -> Meeting:
    scheduled_for = timezone.now() + timedelta(hours=in_hours) if in_hours is not None else None
    return services.meeting_create(user=host, project_id=project.pk, title=title, scheduled_for=scheduled_for)


def _ids(response) -> list[int]:
    return [meeting["id"] for meeting in response.json()["results"]]


def test_a_member_schedules_a_meeting_and_the_other_member_is_invited(api, client_user, provider, project):
    when = timezone.now() + timedelta(days=1)
    response = _create(
        api, client_user, projectId=project.pk, title="Kick-off", agenda="Scope", scheduledFor=when.isoformat()
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["status"], body["title"], body["agenda"]) == ("PENDING", "Kick-off", "Scope")
    assert (body["projectId"], body["host"]["id"]) == (project.pk, client_user.pk)
    assert parse_datetime(body["scheduledFor"]) == when
    assert body["startedAt"] is None
    assert [(p["user"]["id"], p["isHost"], p["status"]) for p in body["participants"]] == [
        (client_user.pk, True, "accepted"),
        (provider.pk, False, "invited"),
    ]


def test_a_meeting_without_a_time_or_instant_flag_waits_pending_for_its_host(api, client_user, project):
    response = _create(api, client_user, projectId=project.pk, title="Whenever")
    assert response.status_code == 201
    assert (response.json()["status"], response.json()["scheduledFor"]) == ("PENDING", None)


def test_an_instant_meeting_is_active_at_once(api, provider, project):
    response = _create(api, provider, projectId=project.pk, title="Quick call", instant=True)
    assert response.status_code == 201
    assert response.json()["status"] == "ACTIVE"
    assert response.json()["startedAt"] is not None
    assert response.json()["host"]["id"] == provider.pk


def test_each_meeting_gets_its_own_unguessable_channel(client_user, project):
    first, second = _schedule(client_user, project), _schedule(client_user, project)
    assert first.channel_name != second.channel_name
    assert all(re.fullmatch("[0-9a-f]{32}", m.channel_name) for m in (first, second))


def test_an_outsider_cannot_create_a_meeting_in_our_project(api, outsider, project):
    response = _create(api, outsider, projectId=project.pk, title="Sneak")
    assert response.status_code == 404
    assert Meeting.objects.count() == 0


def test_a_completed_project_takes_no_new_meetings(api, client_user, project):
    project_set_status(project_id=project.pk, status="completed")
    response = _create(api, client_user, projectId=project.pk, title="Late")
    assert response.status_code == 409
    assert response.json()["code"] == "project_not_active"
    assert Meeting.objects.count() == 0


def test_anonymous_cannot_create_a_meeting(api, project):
    assert api.post("/api/meetings", {"projectId": project.pk, "title": "x"}, format="json").status_code == 401


@pytest.mark.parametrize(
    "change, field",
    [
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"projectId": "abc"}, "projectId"),
        ({"projectId": 2**63}, "projectId"),
        ({"scheduledFor": "tomorrow"}, "scheduledFor"),
        ({"scheduledFor": (timezone.now() - timedelta(minutes=1)).isoformat()}, "scheduledFor"),
        ({"instant": True, "scheduledFor": (timezone.now() + timedelta(days=1)).isoformat()}, "scheduledFor"),
    ],
)
def test_bad_input_is_refused_with_a_message_on_the_field(api, client_user, project, change, field):
    response = _create(api, client_user, **({"projectId": project.pk, "title": "Kick-off"} | change))
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert Meeting.objects.count() == 0


def test_my_meetings_are_those_i_host_and_those_i_am_invited_to(api, client_user, provider, outsider, project):
    hosted = _schedule(client_user, project)
    invited = _schedule(provider, project)
    _schedule(outsider, make_project(outsider, make_user("dora", role="provider"), title="Other"))
    response = api.as_user(client_user).get("/api/meetings/me")
    assert response.status_code == 200
    assert sorted(_ids(response)) == [hosted.pk, invited.pk]


def test_my_meetings_come_upcoming_first(api, client_user, project):
    finished = services.meeting_create(user=client_user, project_id=project.pk, title="Done", instant=True)
    services.meeting_end(user=client_user, meeting_id=finished.pk)
    cancelled = _schedule(client_user, project, in_hours=1)
    services.meeting_cancel(user=client_user, meeting_id=cancelled.pk)
    unscheduled = _schedule(client_user, project)
    later = _schedule(client_user, project, in_hours=48)
    sooner = _schedule(client_user, project, in_hours=2)
    running = services.meeting_create(user=client_user, project_id=project.pk, title="Now", instant=True)
    response = api.as_user(client_user).get("/api/meetings/me")
    assert _ids(response) == [running.pk, sooner.pk, later.pk, unscheduled.pk, cancelled.pk, finished.pk]


def test_my_meetings_filter_by_status_and_project(api, client_user, provider, project):
    other_project = make_project(client_user, provider, title="Second")
    pending_here = _schedule(client_user, project)
    pending_there = _schedule(client_user, other_project)
    services.meeting_create(user=client_user, project_id=project.pk, title="Now", instant=True)
    caller = api.as_user(client_user)
    assert sorted(_ids(caller.get("/api/meetings/me", {"status": "PENDING"}))) == [pending_here.pk, pending_there.pk]
    assert _ids(caller.get("/api/meetings/me", {"status": "PENDING", "projectId": project.pk})) == [pending_here.pk]


@pytest.mark.parametrize("query, field", [({"status": "pending"}, "status"), ({"projectId": "x"}, "projectId")])
def test_my_meetings_refuse_an_unknown_filter_value(api, client_user, query, field):
    response = api.as_user(client_user).get("/api/meetings/me", query)
    assert response.status_code == 400
    assert field in response.json()["fields"]


def test_my_meetings_are_paginated(api, client_user, project, settings):
    page_size = settings.REST_FRAMEWORK["PAGE_SIZE"]
    meetings = [_schedule(client_user, project, in_hours=hours) for hours in range(1, page_size + 2)]
    first = api.as_user(client_user).get("/api/meetings/me").json()
    second = api.as_user(client_user).get(first["next"]).json()
    assert (first["count"], len(first["results"]), len(second["results"])) == (page_size + 1, page_size, 1)
    assert [m["id"] for m in first["results"] + second["results"]] == [m.pk for m in meetings]


def test_listing_my_meetings_costs_the_same_queries_for_one_or_many(
    api, client_user, project, django_assert_num_queries
):
    _schedule(client_user, project)
    caller = api.as_user(client_user)
    with django_assert_num_queries(3):  # count, meetings with project and host, participants with users
        caller.get("/api/meetings/me")
    for _ in range(5):
        _schedule(client_user, project)
    with django_assert_num_queries(3):
        assert len(caller.get("/api/meetings/me").json()["results"]) == 6


def test_an_outsider_lists_none_of_our_meetings(api, outsider, meeting):
    assert api.as_user(outsider).get("/api/meetings/me").json()["results"] == []


def test_anonymous_cannot_list_meetings(api):
    assert api.get("/api/meetings/me").status_code == 401


def test_an_invitee_reads_the_meeting_with_everyones_answers(api, provider, client_user, meeting):
    services.meeting_accept(user=provider, meeting_id=meeting.pk)
    response = api.as_user(provider).get(f"/api/meetings/{meeting.pk}")
    assert response.status_code == 200
    assert response.json()["id"] == meeting.pk
    answers = {p["user"]["id"]: (p["status"], p["answeredAt"] is not None) for p in response.json()["participants"]}
    assert answers == {client_user.pk: ("accepted", True), provider.pk: ("accepted", True)}


def test_the_details_never_carry_the_channel_name(api, client_user, meeting):
    assert meeting.channel_name not in api.as_user(client_user).get(f"/api/meetings/{meeting.pk}").content.decode()


def test_an_outsider_gets_404_for_our_meeting(api, outsider, meeting):
    response = api.as_user(outsider).get(f"/api/meetings/{meeting.pk}")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_anonymous_cannot_read_a_meeting(api, meeting):
    assert api.get(f"/api/meetings/{meeting.pk}").status_code == 401


@pytest.mark.parametrize("meeting_id", ["abc", "99999999999999999999", "0"])
def test_a_malformed_or_unknown_id_is_not_found(api, client_user, meeting_id):
    assert api.as_user(client_user).get(f"/api/meetings/{meeting_id}").status_code == 404

"""Meeting events over /ws/: each reaches the right participants' sockets, and an outsider's socket hears nothing.

alice (the client) hosts, bob (the provider) is invited, charlie (an outsider) listens in vain.
"""

import asyncio
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import connections
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework_simplejwt.tokens import AccessToken

from config.asgi import application
from meetings import services
from meetings.models import Meeting
from tests.meetings.conftest import invitation_of
from tests.realtime.sockets import assert_no_frame, next_frame

pytestmark = pytest.mark.django_db(transaction=True)

# How long a socket that must stay silent is listened to, once the expected events have arrived.
QUIET_SECONDS = 0.2


async def _connect(user) -> WebsocketCommunicator:
    socket = WebsocketCommunicator(
        application,
        "/ws/",
        headers=[(b"origin", b"http://localhost"), (b"authorization", f"Bearer {AccessToken.for_user(user)}".encode())],
    )
    connected, _ = await socket.connect()
    assert connected
    # connect() returns once the socket is accepted; the reply to a first frame proves the consumer
    # has also joined the user's personal group, so nothing published afterwards can slip past it.
    await socket.send_json_to({"event": "meeting:joined", "data": {}})
    assert (await next_frame(socket))["data"]["code"] == "invalid"
    return socket


@pytest.fixture(autouse=True)
async def close_worker_thread_connections():
    yield
    # Consumers and REST calls reach the database from asgiref's worker thread, whose connection
    # CONN_MAX_AGE keeps open; left open, it stops PostgreSQL from dropping the test database.
    await database_sync_to_async(connections.close_all)()


@pytest.fixture
async def alice(client_user):
    socket = await _connect(client_user)
    yield socket
    await socket.disconnect()


@pytest.fixture
async def bob(provider):
    socket = await _connect(provider)
    yield socket
    await socket.disconnect()


@pytest.fixture
async def charlie(outsider):
    socket = await _connect(outsider)
    yield socket
    await socket.disconnect()


async def _hear(socket, event: str) -> dict:
    frame = await next_frame(socket)
    assert frame["event"] == event, frame
    return frame["data"]


async def _silent(*sockets) -> None:
    await asyncio.gather(*(assert_no_frame(socket, timeout=QUIET_SECONDS) for socket in sockets))


async def _rest(api, user, method: str, path: str, body: dict | None = None) -> int:
    caller = getattr(api.as_user(user), method)
    response = await database_sync_to_async(caller)(path, body, format="json")
    return response.status_code


async def _send(socket, event: str, meeting_id, ref: str = "r1") -> dict:
    await socket.send_json_to({"event": event, "data": {"meetingId": meeting_id}, "ref": ref})
    frame = await next_frame(socket)
    assert frame["ref"] == ref
    return frame


async def test_scheduling_a_meeting_rings_only_the_invitee(api, client_user, project, alice, bob, charlie):
    status = await _rest(api, client_user, "post", "/api/meetings", {"projectId": project.pk, "title": "Kick-off"})
    assert status == 201
    invite = await _hear(bob, "meeting:invite")
    assert (invite["title"], invite["status"], invite["host"]["id"]) == ("Kick-off", "PENDING", client_user.pk)
    await _silent(alice, charlie)


async def test_an_instant_meeting_rings_the_invitee_with_the_call_already_active(
    api, provider, project, alice, bob, charlie
):
    body = {"projectId": project.pk, "title": "Quick call", "instant": True}
    assert await _rest(api, provider, "post", "/api/meetings", body) == 201
    invite = await _hear(alice, "meeting:invite")
    assert (invite["status"], invite["host"]["id"]) == ("ACTIVE", provider.pk)
    await _silent(bob, charlie)


async def test_an_answer_over_rest_reaches_the_host_and_the_invitees_other_tabs_only(
    api, provider, meeting, alice, bob, charlie
):
    assert await _rest(api, provider, "patch", f"/api/meetings/{meeting.pk}/accept") == 200
    for socket in (alice, bob):
        answer = await _hear(socket, "meeting:accept")
        assert (answer["meetingId"], answer["user"]["id"], answer["status"]) == (meeting.pk, provider.pk, "accepted")
    await _silent(charlie)


async def test_declining_over_the_socket_answers_the_invitee_and_tells_the_host(provider, meeting, alice, bob, charlie):
    reply = await _send(bob, "meeting:decline", meeting.pk)
    assert (reply["event"], reply["data"]["status"], reply["data"]["user"]["id"]) == (
        "meeting:decline",
        "declined",
        provider.pk,
    )
    assert (await _hear(alice, "meeting:decline"))["user"]["id"] == provider.pk
    assert (await database_sync_to_async(invitation_of)(meeting, provider)).status == "declined"
    await _silent(charlie)


async def test_accepting_over_the_socket_calls_the_same_service(provider, meeting, alice, bob):
    reply = await _send(bob, "meeting:accept", meeting.pk)
    assert (reply["event"], reply["data"]["status"]) == ("meeting:accept", "accepted")
    assert (await _hear(alice, "meeting:accept"))["status"] == "accepted"
    assert (await database_sync_to_async(invitation_of)(meeting, provider)).status == "accepted"


async def test_repeating_an_answer_announces_nothing(provider, meeting, alice, bob):
    await database_sync_to_async(services.meeting_accept)(user=provider, meeting_id=meeting.pk)
    for socket in (alice, bob):
        await _hear(socket, "meeting:accept")
    assert (await _send(bob, "meeting:accept", meeting.pk))["event"] == "meeting:accept"
    await _silent(alice, bob)


async def test_an_outsider_answering_over_the_socket_gets_an_error_and_no_one_hears(meeting, alice, bob, charlie):
    reply = await _send(charlie, "meeting:accept", meeting.pk)
    assert (reply["event"], reply["data"]["code"]) == ("error", "not_found")
    await _silent(alice, bob)


async def test_the_host_answering_over_the_socket_is_refused(meeting, alice, bob):
    reply = await _send(alice, "meeting:accept", meeting.pk)
    assert (reply["event"], reply["data"]["code"]) == ("error", "host_cannot_answer")
    await _silent(bob)


async def test_starting_tells_every_participant_and_no_outsider(api, client_user, meeting, alice, bob, charlie):
    assert await _rest(api, client_user, "patch", f"/api/meetings/{meeting.pk}/start") == 200
    for socket in (alice, bob):
        started = await _hear(socket, "meeting:started")
        assert (started["id"], started["status"]) == (meeting.pk, "ACTIVE")
    await _silent(charlie)


async def test_ending_tells_every_participant_the_duration(api, client_user, active_meeting, alice, bob, charlie):
    assert await _rest(api, client_user, "patch", f"/api/meetings/{active_meeting.pk}/end") == 200
    for socket in (alice, bob):
        ended = await _hear(socket, "meeting:ended")
        assert ended["status"] == "COMPLETED"
        assert isinstance(ended["durationSeconds"], int)
    await _silent(charlie)


async def test_cancelling_tells_every_participant(api, client_user, meeting, alice, bob, charlie):
    assert await _rest(api, client_user, "patch", f"/api/meetings/{meeting.pk}/cancel") == 200
    for socket in (alice, bob):
        assert (await _hear(socket, "meeting:cancelled"))["status"] == "CANCELLED"
    await _silent(charlie)


async def test_rescheduling_tells_every_participant_the_new_time(api, client_user, meeting, alice, bob, charlie):
    later = timezone.now() + timedelta(days=3)
    url = f"/api/meetings/{meeting.pk}/reschedule"
    assert await _rest(api, client_user, "patch", url, {"scheduledFor": later.isoformat()}) == 200
    for socket in (alice, bob):
        rescheduled = await _hear(socket, "meeting:rescheduled")
        assert (rescheduled["status"], parse_datetime(rescheduled["scheduledFor"])) == ("PENDING", later)
    await _silent(charlie)


async def test_a_refused_transition_tells_no_one(api, provider, meeting, alice, bob, charlie):
    assert await _rest(api, provider, "patch", f"/api/meetings/{meeting.pk}/start") == 403
    await _silent(alice, bob, charlie)


async def test_the_cron_completion_tells_every_participant_the_capped_duration(active_meeting, alice, bob, charlie):
    overdue = timezone.now() - timedelta(seconds=settings.MEETING_MAX_DURATION_SECONDS + 60)
    await database_sync_to_async(Meeting.objects.filter(pk=active_meeting.pk).update)(started_at=overdue)
    await database_sync_to_async(services.meetings_complete_overdue)()
    for socket in (alice, bob):
        assert (await _hear(socket, "meeting:ended"))["durationSeconds"] == settings.MEETING_MAX_DURATION_SECONDS
    await _silent(charlie)


async def test_joined_and_left_from_the_call_screen_record_the_session_times(provider, active_meeting, bob, charlie):
    joined = await _send(bob, "meeting:joined", active_meeting.pk, ref="j")
    assert (joined["event"], joined["data"]["userId"], joined["data"]["lastLeftAt"]) == (
        "meeting:joined",
        provider.pk,
        None,
    )
    left = await _send(bob, "meeting:left", active_meeting.pk, ref="l")
    assert left["event"] == "meeting:left"
    invitation = await database_sync_to_async(invitation_of)(active_meeting, provider)
    assert invitation.first_joined_at is not None
    assert invitation.last_left_at >= invitation.first_joined_at
    assert left["data"]["firstJoinedAt"] == joined["data"]["firstJoinedAt"]
    await _silent(charlie)


async def test_a_rejoin_keeps_the_first_join_time(active_meeting, bob):
    first = await _send(bob, "meeting:joined", active_meeting.pk)
    await _send(bob, "meeting:left", active_meeting.pk)
    again = await _send(bob, "meeting:joined", active_meeting.pk)
    assert again["data"]["firstJoinedAt"] == first["data"]["firstJoinedAt"]


async def test_the_host_reports_joining_too(client_user, active_meeting, alice):
    reply = await _send(alice, "meeting:joined", active_meeting.pk)
    assert (reply["event"], reply["data"]["userId"]) == ("meeting:joined", client_user.pk)


async def _refused_without_a_trace(socket, event: str, meeting, user, code: str) -> None:
    reply = await _send(socket, event, meeting.pk)
    assert (reply["event"], reply["data"]["code"]) == ("error", code)
    invitation = await database_sync_to_async(invitation_of)(meeting, user)
    assert (invitation.first_joined_at, invitation.last_left_at) == (None, None)


async def test_joining_a_pending_meeting_is_refused(provider, meeting, bob):
    await _refused_without_a_trace(bob, "meeting:joined", meeting, provider, "meeting_pending")


async def test_joining_a_completed_meeting_is_refused(provider, completed_meeting, bob):
    await _refused_without_a_trace(bob, "meeting:joined", completed_meeting, provider, "meeting_completed")


async def test_leaving_before_joining_is_refused(provider, active_meeting, bob):
    await _refused_without_a_trace(bob, "meeting:left", active_meeting, provider, "not_joined")


async def test_a_declined_invitee_cannot_report_joining(provider, active_meeting, bob):
    await database_sync_to_async(services.meeting_decline)(user=provider, meeting_id=active_meeting.pk)
    await _hear(bob, "meeting:decline")
    reply = await _send(bob, "meeting:joined", active_meeting.pk)
    assert (reply["event"], reply["data"]["code"]) == ("error", "invitation_declined")


async def test_an_outsider_cannot_report_joining(active_meeting, charlie):
    reply = await _send(charlie, "meeting:joined", active_meeting.pk)
    assert (reply["event"], reply["data"]["code"]) == ("error", "not_found")


async def test_a_malformed_meeting_id_is_an_error_and_the_socket_stays_open(active_meeting, bob):
    reply = await _send(bob, "meeting:accept", "seven")
    assert (reply["event"], reply["data"]["code"]) == ("error", "invalid")
    assert (await _send(bob, "meeting:accept", active_meeting.pk))["event"] == "meeting:accept"

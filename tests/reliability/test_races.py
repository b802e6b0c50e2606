"""Races on real PostgreSQL: many threads, each on its own connection and released by one barrier,
drive one row at once; afterwards the rows hold one valid outcome, every call got a success or a
clean domain error, and events went out only for the changes that happened."""

import asyncio
import random
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from meetings import events as meeting_events
from meetings import services as meeting_services
from meetings.models import Meeting, MeetingParticipant
from messaging import events as messaging_events
from messaging import services as messaging_services
from messaging.models import Message, Participant
from projects import services as project_services
from projects.models import Project, Proposal, ServiceRequest
from realtime.events import user_group
from tests.concurrency import together
from tests.conftest import make_user, requires_postgres
from tests.realtime.sockets import connect_as, request

pytestmark = pytest.mark.django_db(transaction=True)

# How long a drained channel stays quiet before it counts as empty (everything was sent before).
DRAIN_IDLE_SECONDS = 0.2


class _Countdown:
    """Tells an observer thread when the last of the workers it watches has finished."""

    def __init__(self, workers: int):
        self._left = workers
        self._lock = threading.Lock()
        self.done = threading.Event()

    def watching(self, call: Callable[[], object]) -> Callable[[], object]:
        def run():
            try:
                return call()
            finally:
                with self._lock:
                    self._left -= 1
                    if self._left == 0:
                        self.done.set()

        return run


def _rest(user, method: str, path: str, payload: dict | None = None) -> Callable[[], object]:
    def call():
        client = APIClient()
        client.force_authenticate(user)
        return getattr(client, method)(path, payload, format="json")

    return call


class _GroupTap:
    """A channel of the real channel layer, added to ``group``, read once at the end of the race.

    A named channel, not one from new_channel(): channels_redis receives all of a process's
    new_channel()s through one state bound to the event loop that last received on it, and the
    socket readers' thread leaves that behind; a named channel is received on its own.
    """

    def __init__(self, group: str):
        self.layer = get_channel_layer()
        self.group = group
        self.channel = f"race-tap-{uuid.uuid4().hex}"
        async_to_sync(self.layer.group_add)(group, self.channel)

    def drain(self) -> list[dict]:
        """Everything published to the group since the tap was added; each publish is done before its
        request returns, so once the racing threads are joined it is all there."""

        async def receive_all() -> list[dict]:
            received = []
            while True:
                try:
                    message = await asyncio.wait_for(self.layer.receive(self.channel), DRAIN_IDLE_SECONDS)
                except TimeoutError:
                    return received
                received.append({"event": message["event"], "data": message["data"]})

        return async_to_sync(receive_all)()

    def close(self) -> None:
        async_to_sync(self.layer.group_discard)(self.group, self.channel)


@pytest.fixture
def tap():
    """``tap(group)``: a _GroupTap on ``group``, taken off it after the test."""
    taps: list[_GroupTap] = []

    def tap_group(group: str) -> _GroupTap:
        taps.append(_GroupTap(group))
        return taps[-1]

    yield tap_group
    for group_tap in taps:
        group_tap.close()


# --- Meetings: start / end / cancel / accept / decline on one meeting at once -----------------------

Status = Meeting.Status
Invitation = MeetingParticipant.Status
# The lifecycle as meetings/services.py enforces it: start and cancel need PENDING, end needs ACTIVE.
# Answers are taken while PENDING or ACTIVE; answering again the same way is a quiet 200.
LIFECYCLE = {
    Status.PENDING: {"start": Status.ACTIVE, "cancel": Status.CANCELLED},
    Status.ACTIVE: {"end": Status.COMPLETED},
}
CLOSING = {"end", "cancel"}
ANNOUNCED_AS = {
    "start": meeting_events.MEETING_STARTED,
    "end": meeting_events.MEETING_ENDED,
    "cancel": meeting_events.MEETING_CANCELLED,
}
ANSWERS = {"accept": Invitation.ACCEPTED, "decline": Invitation.DECLINED}
ANSWER_ANNOUNCED_AS = {
    Invitation.ACCEPTED: meeting_events.MEETING_ACCEPT,
    Invitation.DECLINED: meeting_events.MEETING_DECLINE,
}
MEETING_ROUNDS = 8
# The host's transitions, the invitee's answers, and two calls by the wrong member (always 403).
MISPLACED = [("invitee", "end"), ("host", "accept")]
MEETING_CALLS = [
    *[("host", "start")] * 3,
    *[("host", "end")] * 3,
    *[("host", "cancel")] * 2,
    *[("invitee", "accept")] * 3,
    *[("invitee", "decline")] * 3,
    *MISPLACED,
]


def _replayed(initial: str, transitions: list[str]) -> list[str]:
    """The states the meeting passes through when ``transitions`` happen, in the only order the
    lifecycle allows; fails if one of them could never happen from where the meeting stood."""
    path, left = [initial], list(transitions)
    while step := next((t for t in left if t in LIFECYCLE.get(path[-1], {})), None):
        path.append(LIFECYCLE[path[-1]][step])
        left.remove(step)
    assert not left, f"{left} also succeeded, but the lifecycle allows none of them after {path}"
    return path


def _state_codes(states) -> set[str]:
    return {f"meeting_{state.lower()}" for state in states}


def test_mixed_transitions_racing_on_one_meeting_leave_one_valid_history_and_announce_only_it(
    client_user, provider, project, tap
):
    requires_postgres()
    users = {"host": client_user, "invitee": provider}

    for round_number in range(MEETING_ROUNDS):
        initial = Status.PENDING if round_number % 2 == 0 else Status.ACTIVE
        meeting = meeting_services.meeting_create(
            user=client_user, project_id=project.pk, title=f"Race {round_number}", instant=initial == Status.ACTIVE
        )
        # Tapped after the meeting's invite went out: what the taps hear is the race's alone.
        taps = [tap(user_group(client_user.pk)), tap(user_group(provider.pk))]
        calls = random.Random(round_number).sample(MEETING_CALLS, len(MEETING_CALLS))

        responses = together(
            [_rest(users[who], "patch", f"/api/meetings/{meeting.pk}/{transition}") for who, transition in calls]
        )

        outcomes = [(who, transition, response) for (who, transition), response in zip(calls, responses, strict=True)]
        for who, transition, response in outcomes:
            assert not isinstance(response, Exception), f"{who} {transition} raised {response!r}"
            expected = {403} if (who, transition) in MISPLACED else {200, 409}
            assert response.status_code in expected, (who, transition, response.status_code, response.data)
        winners = [
            (transition, response)
            for _, transition, response in outcomes
            if transition in ANNOUNCED_AS and response.status_code == 200
        ]
        path = _replayed(initial, [transition for transition, _ in winners])
        won = dict(winners)
        meeting.refresh_from_db()
        answer = MeetingParticipant.objects.get(meeting=meeting, user=provider)
        assert meeting.status == path[-1]
        for who, transition, response in outcomes:
            if transition in ANNOUNCED_AS and response.status_code == 409:
                # Refused for a state the meeting really was in, never one it skipped.
                assert response.data["code"] in _state_codes(path), response.data
            elif who == "invitee" and transition in ANSWERS and response.status_code == 200:
                assert answer.status == ANSWERS[transition]
            elif who == "invitee" and transition in ANSWERS:
                closed = _state_codes(state for state in path if state not in LIFECYCLE)
                assert response.data["code"] in {"already_answered", *closed}, response.data
        for transition in CLOSING & won.keys():
            # The closing transition saw the final answer: none was recorded after the meeting closed.
            seen = {p["user"]["id"]: p["status"] for p in won[transition].data["participants"]}
            assert seen[provider.pk] == answer.status, (round_number, path, seen, answer.status)

        expected_events = Counter(ANNOUNCED_AS[transition] for transition in won)
        if answer.status in ANSWER_ANNOUNCED_AS:
            expected_events[ANSWER_ANNOUNCED_AS[answer.status]] += 1
        for group_tap in taps:
            announced = group_tap.drain()
            assert Counter(event["event"] for event in announced) == expected_events, (round_number, announced)
            for transition, response in won.items():
                assert {"event": ANNOUNCED_AS[transition], "data": response.data} in announced
            for event in announced:
                if event["event"] in ANSWER_ANNOUNCED_AS.values():
                    assert event["data"] == meeting_events.answer_payload(answer)


# --- Read markers: REST PATCH .../read and socket message:read at once --------------------------------

PRESENT_MESSAGES = 30
LATE_MESSAGES = 20
REST_READERS, PATCHES_EACH = 2, 8
SOCKETS, SERVICE_READERS, READS_EACH = 3, 2, 15


def _marks_over_rest(user, conversation_id: int) -> Callable[[], list[dict]]:
    """PATCH .../read again and again: each moves the marker to the newest message at that moment."""
    patch = _rest(user, "patch", f"/api/messages/conversation/{conversation_id}/read")

    def run() -> list[dict]:
        responses = [patch() for _ in range(PATCHES_EACH)]
        assert [response.status_code for response in responses] == [200] * PATCHES_EACH
        return [response.data for response in responses]

    return run


def _marks_over_sockets(user, conversation_id: int, message_ids: list[int]) -> Callable[[], list[dict]]:
    """SOCKETS sockets of ``user`` on one event loop, as one server process holds them, each sending
    message:read for random ids among the messages sent so far; every reply carries the marker."""

    async def one_socket(seed: int) -> list[dict]:
        chooser = random.Random(seed)
        socket = await connect_as(user)
        markers = []
        try:
            for n in range(READS_EACH):
                message_id = chooser.choice(message_ids)
                reply = await request(
                    socket,
                    messaging_events.MESSAGE_READ,
                    {"conversationId": conversation_id, "messageId": message_id},
                    ref=str(n),
                )
                assert reply["event"] == messaging_events.MESSAGE_READ, reply
                markers.append({**reply["data"], "read": message_id})
        finally:
            await socket.disconnect()
        return markers

    async def run() -> list[dict]:
        # channels_redis lets one event loop per process receive, so a process's sockets share one.
        replies = await asyncio.gather(*(one_socket(seed) for seed in range(SOCKETS)))
        return [marker for markers in replies for marker in markers]

    return lambda: async_to_sync(run)()


def _marks_by_service(user, conversation_id: int, message_ids: list[int], seed: int) -> Callable[[], list[dict]]:
    """The service behind message:read called straight, as other server processes' sockets would."""

    def run() -> list[dict]:
        chooser = random.Random(seed)
        markers = []
        for _ in range(READS_EACH):
            message_id = chooser.choice(message_ids)
            marker = messaging_services.message_mark_read(
                user=user, conversation_id=conversation_id, message_id=message_id
            )
            markers.append({**messaging_events.read_marker_payload(marker), "read": message_id})
        return markers

    return run


def _sends(user, conversation_id: int, count: int, sent_ids: list[int]) -> Callable[[], None]:
    def run():
        for n in range(count):
            message = messaging_services.message_send(
                user=user, conversation_id=conversation_id, content=f"late {n}"
            ).message
            sent_ids.append(message.pk)

    return run


def _marker_polls(user, conversation, countdown: _Countdown) -> Callable[[], list[tuple[int, int | None]]]:
    """The marker as committed, read over and over until the workers are done: (seq, its message's seq)."""
    marker = Participant.objects.filter(conversation=conversation, user=user).values_list(
        "last_read_seq", "last_read_message__seq"
    )

    def run() -> list[tuple[int, int | None]]:
        seen = []
        while not countdown.done.is_set():
            seen.append(marker.get())
        return [*seen, marker.get()]

    return run


def test_read_markers_racing_from_rest_and_sockets_only_move_forward_and_announce_each_move(
    client_user, provider, conversation, tap, settings
):
    requires_postgres()
    # The race needs its frames served, not refused by the per-user frame rate.
    settings.SOCKET_RATES = {**settings.SOCKET_RATES, "default": "1000/s"}
    conversation_tap = tap(messaging_events.conversation_group(conversation.pk))
    message_ids = [
        messaging_services.message_send(user=provider, conversation_id=conversation.pk, content=f"m {n}").message.pk
        for n in range(PRESENT_MESSAGES)
    ]
    workers = [
        _sends(provider, conversation.pk, LATE_MESSAGES, message_ids),
        _marks_over_sockets(client_user, conversation.pk, message_ids),
        *[_marks_by_service(client_user, conversation.pk, message_ids, seed) for seed in range(SERVICE_READERS)],
        *[_marks_over_rest(client_user, conversation.pk) for _ in range(REST_READERS)],
    ]
    countdown = _Countdown(len(workers))

    *outcomes, polled = together(
        [*map(countdown.watching, workers), _marker_polls(client_user, conversation, countdown)]
    )

    for outcome in outcomes:
        assert not isinstance(outcome, Exception), repr(outcome)
    _, *readers = outcomes
    seq_of = dict(Message.objects.filter(conversation=conversation).values_list("pk", "seq"))
    replies = [marker for markers in readers for marker in markers]
    assert all(reply["lastReadSeq"] >= seq_of[reply["read"]] for reply in replies if "read" in reply)
    final = Participant.objects.get(conversation=conversation, user=client_user).last_read_seq
    assert final == max(reply["lastReadSeq"] for reply in replies)
    polled_seqs = [seq for seq, _ in polled]
    assert polled_seqs == sorted(polled_seqs), "the marker moved backwards"
    assert all(message_seq == seq for seq, message_seq in polled if seq), "the marker's seq and message disagree"
    announced = [
        event["data"]
        for event in conversation_tap.drain()
        if event["event"] in (messaging_events.MESSAGE_READ, messaging_events.CONVERSATION_READ)
    ]
    announced_seqs = [marker["lastReadSeq"] for marker in announced]
    assert {marker["userId"] for marker in announced} == {client_user.pk}
    assert all(seq_of[marker["lastReadMessageId"]] == marker["lastReadSeq"] for marker in announced)
    assert len(announced_seqs) == len(set(announced_seqs)), f"a marker was announced without moving: {announced_seqs}"
    assert max(announced_seqs) == final
    assert set(polled_seqs) - {0} <= set(announced_seqs), "the marker moved without an announcement"


# --- Sends: several senders and a catch-up reader on one conversation ---------------------------------

SENDER_THREADS, MESSAGES_EACH = 8, 12


def _posts(user, conversation_id: int, label: int) -> Callable[[], list[dict]]:
    """POST /api/messages MESSAGES_EACH times, one after another; the messages as created."""
    post = _rest(user, "post", "/api/messages", {"conversationId": conversation_id, "content": f"from {label}"})

    def run() -> list[dict]:
        responses = [post() for _ in range(MESSAGES_EACH)]
        assert [response.status_code for response in responses] == [201] * MESSAGES_EACH
        return [response.data for response in responses]

    return run


def _catch_up(user, conversation_id: int, countdown: _Countdown) -> Callable[[], list[dict]]:
    """Fetch ``after=<last id>`` over and over while the senders run, as a reconnecting client does."""

    def run() -> list[dict]:
        client = APIClient()
        client.force_authenticate(user)
        received: list[dict] = []
        while True:
            # Checked before fetching: a full fetch begun after every send committed is the last one needed.
            senders_done = countdown.done.is_set()
            after = received[-1]["id"] if received else 0
            page = client.get(f"/api/messages/conversation/{conversation_id}", {"after": after}).data
            received.extend(page["results"])
            if senders_done and not page["hasMore"]:
                return received

    return run


def test_concurrent_sends_number_without_gaps_and_a_catch_up_reader_gets_each_once_in_order(
    client_user, provider, conversation
):
    requires_postgres()
    senders = [_posts((client_user, provider)[n % 2], conversation.pk, n) for n in range(SENDER_THREADS)]
    countdown = _Countdown(len(senders))

    *sent, caught_up = together([*map(countdown.watching, senders), _catch_up(provider, conversation.pk, countdown)])

    for outcome in [*sent, caught_up]:
        assert not isinstance(outcome, Exception), repr(outcome)
    stored = list(Message.objects.filter(conversation=conversation).order_by("id").values_list("id", "seq"))
    assert [seq for _, seq in stored] == list(range(1, SENDER_THREADS * MESSAGES_EACH + 1))
    assert sorted(message["id"] for messages in sent for message in messages) == [pk for pk, _ in stored]
    assert [(message["id"], message["seq"]) for message in caught_up] == stored


# --- Projects: accepts and rejects of competing proposals on one request -----------------------------

PROVIDERS = 4
PROJECT_ROUNDS = 4
# Each proposal is accepted twice and rejected twice, all at once.
PROPOSAL_CALLS = ("accept", "accept", "reject", "reject")


def test_accepts_racing_rejects_of_competing_proposals_make_at_most_one_project_from_a_live_proposal(client_user):
    requires_postgres()
    providers = [make_user(f"provider{n}", role=User.Role.PROVIDER) for n in range(PROVIDERS)]
    deadline = (timezone.now() + timedelta(days=5)).date()

    for round_number in range(PROJECT_ROUNDS):
        service_request = project_services.service_request_create(client=client_user, title=f"Race {round_number}")
        proposals = [
            project_services.proposal_submit(
                provider=provider, request_id=service_request.pk, price=Decimal("100"), scope="x", deadline=deadline
            ).pk
            for provider in providers
        ]
        calls = [(action, pk) for pk in proposals for action in PROPOSAL_CALLS]
        random.Random(round_number).shuffle(calls)

        responses = together([_rest(client_user, "post", f"/api/proposals/{pk}/{action}") for action, pk in calls])

        outcomes = [(action, pk, response) for (action, pk), response in zip(calls, responses, strict=True)]
        for action, pk, response in outcomes:
            assert not isinstance(response, Exception), f"{action} {pk} raised {response!r}"
            assert response.status_code in ({201, 409} if action == "accept" else {200, 409}), response.data
        accepted = [pk for action, pk, response in outcomes if response.status_code == 201]
        rejected = [pk for action, pk, response in outcomes if action == "reject" and response.status_code == 200]
        assert len(accepted) <= 1 and len(rejected) == len(set(rejected))
        assert not set(accepted) & set(rejected), "a proposal was both accepted and rejected"
        # Every proposal that was not rejected had an accept racing for it, so one of them won.
        assert dict(Proposal.objects.filter(request=service_request).values_list("pk", "status")) == {
            pk: Proposal.Status.ACCEPTED if pk in accepted else Proposal.Status.REJECTED for pk in proposals
        }
        projects = list(Project.objects.filter(request=service_request))
        assert [project.proposal_id for project in projects] == accepted
        assert all(project.conversation.participants.count() == 2 for project in projects)
        service_request.refresh_from_db()
        assert service_request.status == (ServiceRequest.Status.CONVERTED if accepted else ServiceRequest.Status.OPEN)

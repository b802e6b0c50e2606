"""The authorization matrix: every REST route and every socket event, called as each persona —
anonymous, an outsider (a user with a project of their own), the client, the provider, a teammate of
each (a member the owner of their side added) and support staff — answers as the tables below say, and
never with data its caller must not see.

The routes come from the URL resolver and the events from the socket handler registry: one without
a row here fails, and so does a row that names no route or event.
"""

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.urls import URLResolver, get_resolver
from django.urls.resolvers import RegexPattern
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from accounts.models import User
from notifications.tokens import unsubscribe_token_make
from realtime.consumers import CLOSE_UNAUTHENTICATED
from realtime.handlers import registered_events
from tests.conftest import PASSWORD
from tests.messaging.conftest import socket_thread_connections_closed  # noqa: F401
from tests.realtime.sockets import FRAME_TIMEOUT, connect_as, next_frame, socket
from tests.security.conftest import PERSONAS, PUBLIC_WEBHOOK_URL, World

# Every test here may reach the database: the cells through their views and consumers, and all of
# them through the autouse cleanup of the consumers' thread connection imported above.
pytestmark = pytest.mark.django_db

# Routes left out of the matrix, and why.
EXCLUDED_PREFIXES = {
    "/admin/": "Django's admin is staff's own tool, guarded by Django's is_staff and model permissions",
}
# Django and DRF answer these from a route's other methods, through the same authentication.
DERIVED_METHODS = {"HEAD", "OPTIONS"}

_REGEX_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")
_ROUTE_CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")


def _readable(pattern) -> str:
    """``^meetings/(?P<pk>[0-9]{1,18})/start$`` and ``meetings/<int:pk>/start`` both read ``meetings/{pk}/start``."""
    if isinstance(pattern, RegexPattern):
        return _REGEX_GROUP.sub(r"{\1}", str(pattern).removeprefix("^").removesuffix("$"))
    return _ROUTE_CONVERTER.sub(r"{\1}", str(pattern))


def _methods(callback) -> set[str]:
    if getattr(callback, "actions", None):  # a DRF viewset's route: its method -> action map
        methods = list(callback.actions)
    else:
        view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
        if view_class is None:  # a function view: the pages, which answer GET
            return {"GET"}
        methods = [name for name in view_class.http_method_names if hasattr(view_class, name)]
    return {name.upper() for name in methods} - DERIVED_METHODS


def _walk(patterns, prefix: str):
    for pattern in patterns:
        path = prefix + _readable(pattern.pattern)
        if any(path.startswith(excluded) for excluded in EXCLUDED_PREFIXES):
            continue
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, path)
        else:
            yield from ((method, path) for method in _methods(pattern.callback))


def routes() -> set[tuple[str, str]]:
    """Every (method, path) the URL resolver serves, outside the exclusions."""
    return set(_walk(get_resolver().url_patterns, "/"))


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    expected: dict[str, int]
    args: Callable[[World], dict]
    # The request's body, or a GET's query.
    payload: Callable[[World, User | None], dict] | None

    @property
    def route(self) -> tuple[str, str]:
        return self.method, self.path

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def row(method: str, path: str, statuses: tuple[int, ...], *, args=lambda world: {}, payload=None) -> Endpoint:
    """One row: the status each persona gets, in the order of PERSONAS."""
    return Endpoint(method, path, dict(zip(PERSONAS, statuses, strict=True)), args, payload)


def own_credentials(world: World, user: User | None) -> dict:
    if user is None:
        return {"username": "nobody", "password": "not-a-password"}
    return {"username": user.username, "password": PASSWORD}


def own_refresh_token(world: World, user: User | None) -> dict:
    return {"refresh": "not-a-token" if user is None else str(RefreshToken.for_user(user))}


def password_change(world: World, user: User | None) -> dict:
    return {"currentPassword": PASSWORD, "newPassword": "a-different-passphrase-58"}


def registration(world: World, user: User | None) -> dict:
    username = f"newcomer-{user.pk if user else 0}"
    return {"username": username, "email": f"{username}@example.org", "password": PASSWORD, "role": "client"}


def new_proposal(world: World, user: User | None) -> dict:
    deadline = (timezone.now() + timedelta(days=20)).date().isoformat()
    return {"price": "700.00", "scope": "new-scope", "deadline": deadline}


def notification_settings_form(world: World, user: User | None) -> dict:
    return {"email": "off", "daily_digest_time": "08:00", "time_zone": "UTC"}


def client_unsubscribe_token(world: World) -> dict:
    return {"token": unsubscribe_token_make(user_id=world.ours.members[0].pk)}


ALL = 7 * (200,)
SIGNED_IN = (401, *6 * (200,))
MEMBERS = (401, 404, 200, 200, 200, 200, 404)
PAGE_FOR_MEMBERS = (302, 404, 200, 200, 200, 200, 404)
# The client hosts our meetings; everyone else on both sides is invited to them.
HOST_MOVES = (401, 404, 200, 403, 403, 403, 404)
SENDER_CHANGES = (401, 404, 200, 403, 403, 403, 404)
INVITEE_ANSWERS = (401, 404, 403, 200, 200, 200, 404)
STAFF_ONLY = (401, 403, 403, 403, 403, 403, 200)
MEMBERS_AND_STAFF = (401, 404, 200, 200, 200, 200, 200)


def new_member(world: World, user: User | None) -> dict:
    """Someone of the caller's role on no project: what an owner of that side may add."""
    client_candidate, provider_candidate = world.candidates
    is_provider = user is not None and user.role == User.Role.PROVIDER
    return {"userId": (provider_candidate if is_provider else client_candidate).pk}


# Each row's statuses are in the order of PERSONAS: anonymous, outsider, client, provider, client_teammate,
# provider_teammate, staff.
ENDPOINTS = [
    # The API's front door, its description and the operators' health check: public, and no one's data.
    row("GET", "/api/", ALL),
    row("GET", "/api/health", ALL),
    row("GET", "/api/schema/", ALL),
    row("GET", "/api/docs/", ALL),
    # Accounts: registering and signing in are open; the rest concerns the caller alone.
    row("POST", "/api/auth/register", 7 * (201,), payload=registration),
    row("POST", "/api/auth/token", SIGNED_IN, payload=own_credentials),
    row("POST", "/api/auth/token/refresh", SIGNED_IN, payload=own_refresh_token),
    row("GET", "/api/auth/me", SIGNED_IN),
    row("POST", "/api/auth/logout", (401, *6 * (204,)), payload=own_refresh_token),
    row("POST", "/api/auth/password", SIGNED_IN, payload=password_change),
    row("POST", "/api/auth/ws-ticket", (401, *6 * (201,))),
    # Approving and suspending providers is support staff's job.
    row(
        "POST",
        "/api/providers/{pk}/approve",
        STAFF_ONLY,
        args=lambda world: {"pk": world.pending_provider.pk},
    ),
    row(
        "POST",
        "/api/providers/{pk}/suspend",
        STAFF_ONLY,
        args=lambda world: {"pk": world.personas["provider"].pk},
    ),
    # Requests and proposals: a client's own, open requests for providers, everything for staff. A teammate
    # is a member of a project, not a party to its deal: the client's request is not theirs.
    row("GET", "/api/requests", SIGNED_IN),
    row(
        "POST",
        "/api/requests",
        (401, 201, 201, 403, 201, 403, 201),
        payload=lambda world, user: {"title": "new-request"},
    ),
    row(
        "GET",
        "/api/requests/{pk}",
        (401, 404, 200, 200, 404, 200, 200),
        args=lambda world: {"pk": world.open_request.pk},
    ),
    row(
        "POST",
        "/api/requests/{pk}/proposals",
        (401, 404, 403, 201, 404, 201, 403),
        args=lambda world: {"pk": world.open_request.pk},
        payload=new_proposal,
    ),
    row("GET", "/api/proposals", SIGNED_IN),
    row(
        "GET",
        "/api/proposals/{pk}",
        (401, 404, 200, 200, 404, 404, 200),
        args=lambda world: {"pk": world.proposal.pk},
    ),
    row(
        "POST",
        "/api/proposals/{pk}/accept",
        (401, 404, 201, 403, 404, 404, 404),
        args=lambda world: {"pk": world.proposal.pk},
    ),
    row(
        "POST",
        "/api/proposals/{pk}/reject",
        (401, 404, 200, 403, 404, 404, 404),
        args=lambda world: {"pk": world.proposal.pk},
    ),
    # Projects, conversations and messages: members only; to anyone else they do not exist.
    row("GET", "/api/projects", SIGNED_IN),
    row("GET", "/api/projects/{pk}", MEMBERS, args=lambda world: {"pk": world.ours.project.pk}),
    # Members: everyone on both sides lists them; each owner adds to and removes from their own side only.
    row("GET", "/api/projects/{pk}/members", MEMBERS, args=lambda world: {"pk": world.ours.project.pk}),
    row(
        "POST",
        "/api/projects/{pk}/members",
        (401, 404, 201, 201, 403, 403, 404),
        args=lambda world: {"pk": world.ours.project.pk},
        payload=new_member,
    ),
    # The client's teammate: theirs to remove, not the provider's.
    row(
        "DELETE",
        "/api/projects/{pk}/members/{user_id}",
        (401, 404, 204, 403, 403, 403, 404),
        args=lambda world: {"pk": world.ours.project.pk, "user_id": world.personas["client_teammate"].pk},
    ),
    # The evidence export: the project's members, and support staff for a dispute.
    row("GET", "/api/projects/{pk}/export", MEMBERS_AND_STAFF, args=lambda world: {"pk": world.ours.project.pk}),
    row("GET", "/api/conversations", SIGNED_IN),
    row("GET", "/api/conversations/{pk}", MEMBERS, args=lambda world: {"pk": world.ours.conversation.pk}),
    row(
        "GET",
        "/api/conversations/project/{project_id}",
        MEMBERS,
        args=lambda world: {"project_id": world.ours.project.pk},
    ),
    row(
        "POST",
        "/api/messages",
        (401, 404, 201, 201, 201, 201, 404),
        payload=lambda world, user: {"conversationId": world.ours.conversation.pk, "content": "new-message"},
    ),
    row(
        "GET",
        "/api/messages/conversation/{conversation_id}",
        MEMBERS,
        args=lambda world: {"conversation_id": world.ours.conversation.pk},
    ),
    row(
        "PATCH",
        "/api/messages/conversation/{conversation_id}/read",
        MEMBERS,
        args=lambda world: {"conversation_id": world.ours.conversation.pk},
    ),
    row("GET", "/api/messages/{pk}/file", MEMBERS, args=lambda world: {"pk": world.ours.file_message.pk}),
    # The client sent the text message: only they change it; the provider is refused, others do not see it.
    row(
        "PATCH",
        "/api/messages/{pk}",
        SENDER_CHANGES,
        args=lambda world: {"pk": world.ours.text_message.pk},
        payload=lambda world, user: {"content": "edited-content"},
    ),
    row(
        "DELETE",
        "/api/messages/{pk}",
        (401, 404, 204, 403, 403, 403, 404),
        args=lambda world: {"pk": world.ours.text_message.pk},
    ),
    # A participant reports another's message (the provider sent the file message); their own is a 400.
    # Teammates on both sides take part in the conversation: either may report it.
    row(
        "POST",
        "/api/messages/{pk}/report",
        (401, 404, 201, 400, 201, 201, 404),
        args=lambda world: {"pk": world.ours.file_message.pk},
        payload=lambda world, user: {"reason": "spam"},
    ),
    # Search reads the caller's own conversations: ours by id is theirs to search, or no one's.
    row(
        "GET",
        "/api/messages/search",
        MEMBERS,
        payload=lambda world, user: {"q": "text-content", "conversationId": world.ours.conversation.pk},
    ),
    # Meetings: members only; the host (the client) moves a meeting, the invitees (everyone else) answer.
    row(
        "POST",
        "/api/meetings",
        (401, 404, 201, 201, 201, 201, 404),
        payload=lambda world, user: {"projectId": world.ours.project.pk, "title": "new-meeting"},
    ),
    # Filtered by our project: an outsider's list stays their own.
    row("GET", "/api/meetings/me", SIGNED_IN, payload=lambda world, user: {"projectId": world.ours.project.pk}),
    row("GET", "/api/meetings/{pk}", MEMBERS, args=lambda world: {"pk": world.ours.pending_meeting.pk}),
    row("PATCH", "/api/meetings/{pk}/start", HOST_MOVES, args=lambda world: {"pk": world.ours.pending_meeting.pk}),
    row("PATCH", "/api/meetings/{pk}/end", HOST_MOVES, args=lambda world: {"pk": world.ours.active_meeting.pk}),
    row("PATCH", "/api/meetings/{pk}/cancel", HOST_MOVES, args=lambda world: {"pk": world.ours.pending_meeting.pk}),
    row(
        "PATCH",
        "/api/meetings/{pk}/reschedule",
        HOST_MOVES,
        args=lambda world: {"pk": world.ours.pending_meeting.pk},
        payload=lambda world, user: {"scheduledFor": (timezone.now() + timedelta(days=3)).isoformat()},
    ),
    row("GET", "/api/meetings/{pk}/ics", MEMBERS, args=lambda world: {"pk": world.ours.pending_meeting.pk}),
    row(
        "PATCH", "/api/meetings/{pk}/accept", INVITEE_ANSWERS, args=lambda world: {"pk": world.ours.pending_meeting.pk}
    ),
    row(
        "PATCH", "/api/meetings/{pk}/decline", INVITEE_ANSWERS, args=lambda world: {"pk": world.ours.pending_meeting.pk}
    ),
    row("GET", "/api/meetings/{pk}/token", MEMBERS, args=lambda world: {"pk": world.ours.active_meeting.pk}),
    # Webhook endpoints are support staff's.
    row(
        "POST",
        "/api/webhooks/endpoints",
        (401, 403, 403, 403, 403, 403, 201),
        payload=lambda world, user: {"url": PUBLIC_WEBHOOK_URL, "events": ["message.created"]},
    ),
    row("GET", "/api/webhooks/endpoints", STAFF_ONLY),
    row("GET", "/api/webhooks/endpoints/{pk}", STAFF_ONLY, args=lambda world: {"pk": world.webhook_endpoint.pk}),
    row(
        "PATCH",
        "/api/webhooks/endpoints/{pk}",
        STAFF_ONLY,
        args=lambda world: {"pk": world.webhook_endpoint.pk},
        payload=lambda world, user: {"active": False},
    ),
    row(
        "DELETE",
        "/api/webhooks/endpoints/{pk}",
        (401, 403, 403, 403, 403, 403, 204),
        args=lambda world: {"pk": world.webhook_endpoint.pk},
    ),
    row(
        "POST",
        "/api/webhooks/endpoints/{pk}/test",
        (401, 403, 403, 403, 403, 403, 202),
        args=lambda world: {"pk": world.webhook_endpoint.pk},
    ),
    # Notification preferences: the caller's own.
    row("GET", "/api/notifications/preferences", SIGNED_IN),
    row("PATCH", "/api/notifications/preferences", SIGNED_IN, payload=lambda world, user: {"email": "daily"}),
    # Sign-in forms, the browsable API's and the product's: open to all; a PUT is an empty form.
    row("GET", "/api-auth/login/", ALL),
    row("POST", "/api-auth/login/", (200, *6 * (302,)), payload=own_credentials),
    row("PUT", "/api-auth/login/", ALL),
    row("POST", "/api-auth/logout/", 7 * (302,)),
    row("GET", "/login", ALL),
    row("POST", "/login", (200, *6 * (302,)), payload=own_credentials),
    row("PUT", "/login", ALL),
    row("POST", "/logout", 7 * (302,)),
    # Pages: sign in first, then members only, like the API underneath.
    row("GET", "/", (302, *6 * (200,))),
    row("GET", "/projects/{project_id}", PAGE_FOR_MEMBERS, args=lambda world: {"project_id": world.ours.project.pk}),
    row(
        "GET",
        "/meetings/{meeting_id}/call",
        PAGE_FOR_MEMBERS,
        args=lambda world: {"meeting_id": world.ours.active_meeting.pk},
    ),
    row("GET", "/settings/notifications", (302, *6 * (200,))),
    row("POST", "/settings/notifications", 7 * (302,), payload=notification_settings_form),
    # An email's unsubscribe link: no login, the signed token says whose emails go off.
    row("GET", "/unsubscribe/{token}", ALL, args=client_unsubscribe_token),
    row("POST", "/unsubscribe/{token}", ALL, args=client_unsubscribe_token),
]


def test_every_route_has_a_row():
    missing = sorted(routes() - {endpoint.route for endpoint in ENDPOINTS})
    assert not missing, f"add a row to ENDPOINTS for each of: {missing}"


def test_every_row_names_a_route():
    stale = sorted({endpoint.route for endpoint in ENDPOINTS} - routes())
    assert not stale, f"these rows match no route: {stale}"


def test_each_route_has_one_row():
    seen = [endpoint.route for endpoint in ENDPOINTS]
    assert len(seen) == len(set(seen))


def _signed_in_as(user: User | None) -> APIClient:
    """A client as the API and the pages see this persona: a JWT for the one, a session for the other."""
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
        client.force_login(user)
    return client


def _text(response) -> str:
    # Reading a streaming body to the end closes it the way the test client expects.
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return content.decode(errors="replace")


# Support staff settle disputes on a project's record: its evidence export shows them the conversation, as the
# admin does; every other answer keeps it from them.
STAFF_READS_THE_RECORD = {"/api/projects/{pk}/export"}


def _leaks(world: World, persona: str, text: str, *, record: bool = False) -> list[str]:
    forbidden = world.forbidden_for(persona)
    if record and persona == "staff":
        shown = {marker for side in (world.ours, world.theirs) for marker in side.collaboration_markers}
        forbidden = [marker for marker in forbidden if marker not in shown]
    return [marker for marker in forbidden if marker in text]


@pytest.fixture(autouse=True)
def _agora_configured(agora_configured):
    """Meeting tokens are issued, so that their route answers with what the caller may have."""


class TestRestAnswers:
    """Every cell on one shared world: each call's changes are rolled back with its test."""

    @pytest.mark.parametrize("persona", PERSONAS)
    @pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
    def test_rest_answer(self, endpoint: Endpoint, persona: str, shared_world: World):
        user = shared_world.personas[persona]
        url = endpoint.path.format(**endpoint.args(shared_world))
        payload = endpoint.payload(shared_world, user) if endpoint.payload else None
        send = getattr(_signed_in_as(user), endpoint.method.lower())

        response = send(url, payload, format="json" if url.startswith("/api/") else None)

        text = _text(response)
        assert response.status_code == endpoint.expected[persona], f"{endpoint.method} {url} as {persona}: {text[:400]}"
        leaked = _leaks(shared_world, persona, text, record=endpoint.path in STAFF_READS_THE_RECORD)
        assert not leaked, f"{endpoint.method} {url} as {persona} shows foreign data"


CLOSED = f"close {CLOSE_UNAUTHENTICATED}"
NOT_FOUND = "error not_found"
NO_REPLY = None
PROBE = "matrix:probe"


@dataclass(frozen=True)
class SocketEvent:
    event: str
    expected: dict[str, str | None]
    data: Callable[[World], dict]
    # Frames sent first, so the cell's frame meets the state a real client would be in.
    prelude: Callable[[World], list[tuple[str, dict]]]

    def __str__(self) -> str:
        return self.event


def socket_row(event: str, answers: tuple[str | None, ...], *, data, prelude=lambda world: []) -> SocketEvent:
    """One row: what each persona hears back (an event name, ``error <code>``, no reply, or the
    close code), in the order of PERSONAS."""
    return SocketEvent(event, dict(zip(PERSONAS, answers, strict=True)), data, prelude)


def _our_conversation(world: World) -> dict:
    return {"conversationId": world.ours.conversation.pk}


def _our_pending_meeting(world: World) -> dict:
    return {"meetingId": world.ours.pending_meeting.pk}


def _our_active_meeting(world: World) -> dict:
    return {"meetingId": world.ours.active_meeting.pk}


def _members_answer(answer: str | None, *, client: str | None = None) -> tuple[str | None, ...]:
    """A socket row where every member (the client answering ``client`` if given) hears ``answer``."""
    return (CLOSED, NOT_FOUND, answer if client is None else client, answer, answer, answer, NOT_FOUND)


# Each row's answers are in the order of PERSONAS: anonymous, outsider, client, provider, client_teammate,
# provider_teammate, staff.
SOCKET_EVENTS = [
    socket_row("join", _members_answer("join"), data=_our_conversation),
    # Leaving a room one is not in changes nothing, so it needs no membership.
    socket_row("leave", (CLOSED, *6 * ("leave",)), data=_our_conversation),
    socket_row(
        "conversation:typing",
        _members_answer(NO_REPLY),
        data=lambda world: {**_our_conversation(world), "isTyping": True},
        prelude=lambda world: [("join", _our_conversation(world))],
    ),
    socket_row(
        "message:read",
        _members_answer("message:read"),
        data=lambda world: {**_our_conversation(world), "messageId": world.ours.text_message.pk},
    ),
    socket_row(
        "meeting:accept",
        _members_answer("meeting:accept", client="error host_cannot_answer"),
        data=_our_pending_meeting,
    ),
    # Its own invitation: the socket cells share one committed world, where accept's answer stands.
    socket_row(
        "meeting:decline",
        _members_answer("meeting:decline", client="error host_cannot_answer"),
        data=lambda world: {"meetingId": world.ours.second_pending_meeting.pk},
    ),
    socket_row("meeting:joined", _members_answer("meeting:joined"), data=_our_active_meeting),
    socket_row(
        "meeting:left",
        _members_answer("meeting:left"),
        data=_our_active_meeting,
        prelude=lambda world: [("meeting:joined", _our_active_meeting(world))],
    ),
]


def test_every_socket_event_has_a_row():
    missing = sorted(set(registered_events()) - {row.event for row in SOCKET_EVENTS})
    assert not missing, f"add a row to SOCKET_EVENTS for each of: {missing}"


def test_every_socket_row_names_an_event():
    stale = sorted({row.event for row in SOCKET_EVENTS} - set(registered_events()))
    assert not stale, f"these rows match no socket event: {stale}"


def _answer(frames: list[dict]) -> str | None:
    replies = [frame for frame in frames if frame.get("ref") == "cell"]
    assert len(replies) <= 1, replies
    if not replies:
        return NO_REPLY
    reply = replies[0]
    return f"error {reply['data']['code']}" if reply["event"] == "error" else reply["event"]


async def test_anonymous_socket_answer():
    """Without credentials there is no socket to send any event on: it is closed at connect."""
    communicator = socket()
    await communicator.connect(timeout=FRAME_TIMEOUT)
    output = await communicator.receive_output(timeout=FRAME_TIMEOUT)
    await communicator.disconnect()

    answer = f"close {output.get('code')}" if output["type"] == "websocket.close" else f"frame {output}"
    assert {row.event: answer for row in SOCKET_EVENTS} == {
        row.event: row.expected["anonymous"] for row in SOCKET_EVENTS
    }


class TestSocketAnswers:
    """Every signed-in cell on one committed world: the consumer reads from a thread of its own."""

    @pytest.mark.parametrize("persona", [persona for persona in PERSONAS if persona != "anonymous"])
    @pytest.mark.parametrize("socket_event", SOCKET_EVENTS, ids=str)
    async def test_socket_answer(self, socket_event: SocketEvent, persona: str, committed_world: World):
        world = committed_world
        communicator = await connect_as(world.personas[persona])
        for event, data in socket_event.prelude(world):
            await communicator.send_json_to({"event": event, "data": data, "ref": "prelude"})
        await communicator.send_json_to({"event": socket_event.event, "data": socket_event.data(world), "ref": "cell"})
        # Frames are served in order, so the probe's answer comes after every answer to the frames before it.
        await communicator.send_json_to({"event": PROBE, "data": {}, "ref": "probe"})
        frames = [await next_frame(communicator)]
        while frames[-1].get("ref") != "probe":
            frames.append(await next_frame(communicator))
        await communicator.disconnect()

        assert _answer(frames) == socket_event.expected[persona], frames
        assert frames[-1]["data"]["code"] == "unknown_event", "the socket must stay open and serving"
        leaked = _leaks(world, persona, json.dumps(frames))
        assert not leaked, f"{socket_event.event} as {persona} shows foreign data"

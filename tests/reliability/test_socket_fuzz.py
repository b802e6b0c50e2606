"""Socket fuzzing against a real server process: a seeded stream of ~3,000 malformed, foreign and
valid frames on one authenticated ``/ws/`` socket. Every frame gets an ``error`` event
(or its legitimate reply), the socket stays usable, no row changes, an outsider's socket hears
nothing, the server logs no traceback, and its memory does not keep growing."""

import asyncio
import hashlib
import json
import random
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State

from accounts.models import User
from bench.servers import ServerProcess, wait_until_quiet
from meetings import services as meeting_services
from messaging import services as message_services
from realtime.handlers import registered_events
from tests.conftest import make_project, make_user
from tests.live import join, next_frame, open_socket

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SEED = 6_2024
WARM_UP_SEED = SEED + 1
WARM_UP_FRAMES = 600
PROBE_EVERY = 100
FRAMES = 3000
# The allocator keeps pages once the largest frames have passed through; the warm-up (every class, the largest
# frames included) takes most of that. Measured with 1 MiB frames in the stream (before the servers refused
# them): +2.2-2.5 MiB over the run, and over six runs of 3,000
# in a row +1.5, +0.9, +1.3, +0.8, +0.1 MiB: settling, not a leak. A leak of 3 KB a frame would pass this.
RSS_GROWTH_LIMIT_BYTES = 8 * 1024 * 1024
# How long the outsider's socket is watched for a frame that must never come.
OUTSIDER_SILENCE_SECONDS = 1.0

# The per-user frame rates would answer most of the stream with rate_limited; the handlers are under test.
UNLIMITED_SOCKET_RATES = {"SOCKET_RATE_DEFAULT": "1000000/s", "SOCKET_RATE_TYPING": "1000000/s"}

NO_REPLY = "none"
REPLAYED = "message:new"
MAX_FRAME = settings.WS_MAX_FRAME_BYTES
ID_FIELDS = {"conversationId", "messageId", "meetingId"}
# Each frame class (a FrameStream method) and its relative weight in the stream.
CLASS_WEIGHTS = {
    "bad_json": 10,
    "invalid_utf8": 5,
    "non_object": 5,
    "bad_envelope": 10,
    "wrong_field_type": 20,
    "huge_or_odd_id": 8,
    "foreign_id": 10,
    "refused_by_state": 3,
    "unknown_event": 10,
    "deep_nesting": 5,
    "just_below_limit": 2,
    "binary_frame": 3,
    "valid": 7,
}
# No frames over WS_MAX_FRAME_BYTES: the servers refuse them themselves, closing the socket
# (tests/security/test_body_limits.py); the consumer's own frame_too_large is tests/realtime/test_socket_frames.py's.
WRONG_VALUES = ("1", "", "abc", "0x1", 1.0, 1.5, -1, 0, -(2**63), True, False, None, [], [1], {}, {"id": 1}, 1e308)
# Ids of the right type that no row has, up to far past any column's range.
HUGE_OR_ODD_IDS = (2**31, 2**53 + 1, 2**63 - 1, 2**63, 2**64, 10**30, 10**300, 987_654_321)


@dataclass(frozen=True)
class World:
    """Ids the frames point at: alice's own rows (all in a state no valid frame changes) and another project's."""

    conversation: int
    messages: tuple[int, ...]  # alice's marker is already past both
    active_meeting: int  # alice accepted and has joined its call
    pending_meeting: int  # alice accepted
    foreign_conversation: int
    foreign_message: int
    foreign_meeting: int


def valid_data_by_event(world: World) -> dict[str, dict]:
    """Well-formed data for each registered client event, which the frame classes then spoil."""
    return {
        "join": {"conversationId": world.conversation},
        "leave": {"conversationId": world.foreign_conversation},
        "conversation:typing": {"conversationId": world.conversation, "isTyping": True},
        "message:read": {"conversationId": world.conversation, "messageId": world.messages[-1]},
        "meeting:accept": {"meetingId": world.active_meeting},
        "meeting:decline": {"meetingId": world.active_meeting},
        "meeting:joined": {"meetingId": world.active_meeting},
        "meeting:left": {"meetingId": world.active_meeting},
    }


@dataclass(frozen=True)
class Frame:
    kind: str
    payload: str | bytes  # bytes go as a binary frame
    outcomes: frozenset[str]  # a reply's event name, "error:<code>", or NO_REPLY
    ref: str | int | None = None  # the ref the answer must carry


def error(*codes: str) -> frozenset[str]:
    return frozenset(f"error:{code}" for code in codes)


def reply(*events: str) -> frozenset[str]:
    return frozenset(events)


class FrameStream:
    """A deterministic stream of frames of every class, each with the answers it may get."""

    def __init__(self, world: World, seed: int):
        self.world, self.rng, self.count = world, random.Random(seed), 0

    def frames(self, total: int) -> list[Frame]:
        kinds = self.rng.choices(list(CLASS_WEIGHTS), weights=list(CLASS_WEIGHTS.values()), k=total)
        return [getattr(self, kind)() for kind in kinds]

    def next_ref(self) -> str:
        self.count += 1
        return f"f{self.count}"

    def valid_data(self, event: str) -> dict:
        return valid_data_by_event(self.world)[event]

    def json_frame(self, kind: str, event, data, outcomes: frozenset[str]) -> Frame:
        ref = self.next_ref()
        return Frame(kind, json.dumps({"event": event, "data": data, "ref": ref}), outcomes, ref)

    def bad_json(self) -> Frame:
        valid = json.dumps({"event": "join", "data": {"conversationId": self.world.conversation}})
        candidates = [
            valid[: self.rng.randrange(len(valid) - 1)],
            valid + self.rng.choice(["}", ",", "x", "]", " {"]),
            valid.replace('"', "'"),
            "".join(self.rng.choice('{}[]:,"\\ abc019eE.-+ntf') for _ in range(self.rng.randrange(1, 60))),
            self.rng.choice(
                [
                    "",
                    " ",
                    "\n",
                    "undefined",
                    "{event: join}",
                    '{"event": "join",}',
                    "[1,]",
                    "0x10",
                    '{"a": 1} // comment',
                    "\x00",
                    '{"event": "join" "data": {}}',
                    "1" * 4400,
                ]
            ),
        ]
        text = self.rng.choice(candidates)
        if _parses(text):
            text += "}"
        assert not _parses(text)
        return Frame("bad_json", text, error("bad_json"))

    def invalid_utf8(self) -> Frame:
        valid = json.dumps({"event": "join", "data": {"conversationId": self.world.conversation}}).encode()
        broken = self.rng.choice([b"\xff", b"\xc3\x28", b"\xe2\x82", b"\xc0\xaf", b"\xf8\x88\x80\x80"])
        cut = self.rng.randrange(1, len(valid))
        data = valid[:cut] + broken + valid[cut:]
        assert not _parses(data)
        return Frame("invalid_utf8", data, error("bad_json"))

    def non_object(self) -> Frame:
        text = self.rng.choice(
            [
                "[]",
                "null",
                "true",
                "false",
                "0",
                "-1",
                "1.5",
                "1e400",
                "NaN",
                "Infinity",
                "-Infinity",
                '"join"',
                '"\\ud800"',
                json.dumps([{"event": "join", "data": {"conversationId": self.world.conversation}}]),
                json.dumps(["join", {"conversationId": self.world.conversation}]),
                "[" * 50 + "]" * 50,
            ]
        )
        return Frame("non_object", text, error("bad_frame"))

    def bad_envelope(self) -> Frame:
        """Wrong types of ``event``, ``data`` and ``ref``; a bad ``ref`` is dropped and the frame served."""
        wrong = [None, 1, 1.5, True, [], ["join"], {}, {"name": "join"}]
        choice = self.rng.randrange(3)
        if choice == 0:
            frame = {"event": self.rng.choice(wrong), "data": {"conversationId": self.world.conversation}}
            if self.rng.random() < 0.2:
                del frame["event"]
        elif choice == 1:
            frame = {"event": "join", "data": self.rng.choice([None, 1, "x", True, [], [self.world.conversation]])}
        else:
            bad_ref = self.rng.choice([1.5, True, False, [], ["r"], {}, {"r": 1}, "r" * 65, 10**70])
            frame = {"event": "leave", "data": {"conversationId": self.world.foreign_conversation}, "ref": bad_ref}
            return Frame("bad_envelope", json.dumps(frame), reply("leave"), None)
        ref = self.next_ref()
        frame["ref"] = ref
        return Frame("bad_envelope", json.dumps(frame), error("bad_frame"), ref)

    def wrong_field_type(self) -> Frame:
        """One field of a registered event's valid data replaced by a wrong type or value, or left out."""
        event = self.rng.choice(registered_events())
        data = dict(self.valid_data(event))
        if event == "join":
            data["after"] = 0
        name = self.rng.choice(sorted(data))
        if self.rng.random() < 0.1 and name != "after":
            del data[name]
        elif name == "isTyping":
            data[name] = self.rng.choice(["true", 1, 0, None, [], {}, "yes"])
        else:
            # 0 and None (no after) are valid for after, and False == 0.
            allowed = [value for value in WRONG_VALUES if not (name == "after" and value in (0, None))]
            data[name] = self.rng.choice(allowed)
        return self.json_frame("wrong_field_type", event, data, error("invalid"))

    def huge_or_odd_id(self) -> Frame:
        """An id field (or join's ``after``) set to one of HUGE_OR_ODD_IDS."""
        event = self.rng.choice(registered_events())
        data = dict(self.valid_data(event))
        if event == "join" and self.rng.random() < 0.5:
            data["after"] = self.rng.choice(HUGE_OR_ODD_IDS)
            return self.json_frame("huge_or_odd_id", event, data, reply("join") | error("invalid"))
        name = self.rng.choice(sorted(data.keys() & ID_FIELDS))
        data[name] = self.rng.choice(HUGE_OR_ODD_IDS)
        outcomes = reply("leave") if event == "leave" else error("not_found")
        return self.json_frame("huge_or_odd_id", event, data, outcomes | error("invalid"))

    def foreign_id(self) -> Frame:
        """Another project's conversation, message or meeting, alone or mixed with alice's own ids."""
        world = self.world
        event = self.rng.choice(registered_events())
        if event.startswith("meeting:"):
            data = {"meetingId": world.foreign_meeting}
        elif event == "message:read":
            data = self.rng.choice(
                [
                    {"conversationId": world.foreign_conversation, "messageId": world.foreign_message},
                    {"conversationId": world.conversation, "messageId": world.foreign_message},
                    {"conversationId": world.foreign_conversation, "messageId": world.messages[0]},
                ]
            )
        else:
            data = dict(self.valid_data(event), conversationId=world.foreign_conversation)
            if event == "join" and self.rng.random() < 0.5:
                data["after"] = 0
        # Leaving a group one is not in changes nothing and is answered like any leave.
        outcomes = reply("leave") if event == "leave" else error("not_found")
        return self.json_frame("foreign_id", event, data, outcomes)

    def refused_by_state(self) -> Frame:
        world = self.world
        event, meeting, code = self.rng.choice(
            [
                ("meeting:decline", world.active_meeting, "already_answered"),
                ("meeting:decline", world.pending_meeting, "already_answered"),
                ("meeting:joined", world.pending_meeting, "meeting_pending"),
                ("meeting:left", world.pending_meeting, "meeting_pending"),
            ]
        )
        return self.json_frame("refused_by_state", event, {"meetingId": meeting}, error(code))

    def unknown_event(self) -> Frame:
        names = registered_events()
        event = self.rng.choice(
            [
                "",
                " ",
                "JOIN",
                "Join",
                "join ",
                " join",
                "join\x00",
                "message:new",
                "error",
                "conversation:new",
                "meeting:invite",
                "meeting:started",
                "conversation:read",
                "\ud800",
                "événement",
                "🚀",
                self.rng.choice(names) + ":x",
                self.rng.choice(names).upper(),
                "".join(self.rng.choice("abcdefghijklmnopqrstuvwxyz:._-") for _ in range(self.rng.randrange(1, 40))),
                "x" * self.rng.randrange(100, MAX_FRAME - 200),
            ]
        )
        assert event not in names
        return self.json_frame(
            "unknown_event", event, {"conversationId": self.world.conversation}, error("unknown_event")
        )

    def deep_nesting(self) -> Frame:
        """Nesting the parser takes (then the frame's shape or field is wrong) or refuses (too deep)."""
        # Depths far from Python's recursion limit (1,000), as the server parses at another stack depth,
        # and shallow enough for the frame to stay under WS_MAX_FRAME_BYTES and reach the parser.
        depth = self.rng.choice([50, 200, 500, 2000, 2500])
        deep = self.rng.choice([("[" * depth, "]" * depth), ('{"a":' * depth, "}" * depth)])
        too_deep = depth >= 2000
        inner = deep[0] + "1" + deep[1] if deep[0].startswith("{") else deep[0] + deep[1]
        placement = self.rng.randrange(3)
        if placement == 0:
            return Frame("deep_nesting", inner, error("bad_json" if too_deep else "bad_frame"))
        if placement == 1:
            field_name, outcomes = "conversationId", error("invalid")
        else:
            field_name, outcomes = "extra", reply("join")
        ref = self.next_ref()
        # Written as text: json.dumps too refuses to nest past the recursion limit.
        data = f'{{"conversationId": {self.world.conversation}, "{field_name}": {inner}}}'
        text = f'{{"event": "join", "ref": "{ref}", "data": {data}}}'
        assert len(text) <= MAX_FRAME
        if too_deep:
            return Frame("deep_nesting", text, error("bad_json"))
        return Frame("deep_nesting", text, outcomes, ref)

    def just_below_limit(self) -> Frame:
        size = MAX_FRAME - self.rng.randrange(0, 200)
        ref = self.next_ref()
        text = self._padded_join(None, size=size, ref=ref)
        assert len(text.encode()) <= MAX_FRAME
        return Frame("just_below_limit", text, reply("join"), ref)

    def _padded_join(self, padding: str | None, *, size: int | None, ref: str = "big") -> str:
        frame = {"event": "join", "data": {"conversationId": self.world.conversation, "padding": ""}, "ref": ref}
        if padding is None:
            padding = "x" * (size - len(json.dumps(frame)))
        frame["data"]["padding"] = padding
        return json.dumps(frame, ensure_ascii=False)

    def binary_frame(self) -> Frame:
        """Binary frames: random bytes, or a valid frame sent as binary (served like text)."""
        if self.rng.random() < 0.5:
            data = bytes(self.rng.randrange(256) for _ in range(self.rng.randrange(1, 200)))
            if _parses(data):
                data = b"{" + data
            return Frame("binary_frame", data, error("bad_json"))
        ref = self.next_ref()
        frame = {"event": "leave", "data": {"conversationId": self.world.foreign_conversation}, "ref": ref}
        return Frame("binary_frame", json.dumps(frame).encode(), reply("leave"), ref)

    def valid(self) -> Frame:
        """Frames served as asked that change no row: alice's state already is what they ask for."""
        world = self.world
        event, data = self.rng.choice(
            [
                ("join", {"conversationId": world.conversation}),
                ("join", {"conversationId": world.conversation, "after": world.messages[-1]}),
                ("join", {"conversationId": world.conversation, "after": 0}),
                ("conversation:typing", {"conversationId": world.conversation, "isTyping": self.rng.random() < 0.5}),
                ("message:read", {"conversationId": world.conversation, "messageId": self.rng.choice(world.messages)}),
                ("meeting:accept", {"meetingId": world.active_meeting}),
                ("meeting:accept", {"meetingId": world.pending_meeting}),
                ("meeting:joined", {"meetingId": world.active_meeting}),
            ]
        )
        # Typing is answered by nobody; the stream keeps alice joined, so it is never refused.
        return self.json_frame("valid", event, data, reply(NO_REPLY if event == "conversation:typing" else event))


def _parses(payload: str | bytes) -> bool:
    try:
        json.loads(payload)
    except (ValueError, RecursionError):
        return False
    return True


@dataclass
class Tally:
    frames: Counter = field(default_factory=Counter)
    outcomes: Counter = field(default_factory=Counter)
    replayed: int = 0
    probes: int = 0
    unexpected: list = field(default_factory=list)  # (frame number, class, payload head, answer)


async def outcome_of(websocket, frame: Frame, tally: Tally, world: World) -> str:
    """The answer to ``frame``: the next frame that is not a replayed message, checked for its ref."""
    if NO_REPLY in frame.outcomes:
        # Leaving a group alice is not in is answered: whatever comes before that answer is the frame's.
        sync = {"event": "leave", "data": {"conversationId": world.foreign_conversation}, "ref": "sync"}
        await websocket.send(json.dumps(sync))
    while True:
        answer = await next_frame(websocket)
        if answer["event"] != REPLAYED:
            break
        tally.replayed += 1
    if answer.get("ref") == "sync":
        return NO_REPLY
    assert answer.get("ref") == frame.ref, (frame, answer)
    if answer["event"] == "error":
        assert answer["data"]["ref"] == frame.ref, answer
        return f"error:{answer['data']['code']}"
    return answer["event"]


async def fuzz(server: ServerProcess, alice: User, charlie: User, world: World, frames: list[Frame]) -> Tally:
    tally = Tally()
    async with open_socket(server, alice) as websocket, open_socket(server, charlie) as outsider:
        await join(outsider, world.foreign_conversation)
        await join(websocket, world.conversation)
        for index, frame in enumerate(frames, start=1):
            try:
                await websocket.send(frame.payload)
                outcome = await outcome_of(websocket, frame, tally, world)
            except ConnectionClosed as closed:
                pytest.fail(
                    f"frame {index} ({frame.kind}) {frame.payload[:200]!r} closed the socket: {closed}\n"
                    f"{server.log_tail(40)}"
                )
            if outcome not in frame.outcomes:
                tally.unexpected.append((index, frame.kind, repr(frame.payload[:200]), outcome))
            tally.frames[frame.kind] += 1
            tally.outcomes[outcome] += 1
            if index % PROBE_EVERY == 0:
                assert (await join(websocket, world.conversation))["data"]["conversationId"] == world.conversation
                tally.probes += 1
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(outsider.recv(), OUTSIDER_SILENCE_SECONDS)
        assert websocket.state is State.OPEN and outsider.state is State.OPEN
        assert (await join(websocket, world.conversation))["event"] == "join"
        assert (await join(outsider, world.foreign_conversation))["event"] == "join"
    return tally


def database_fingerprint(server: ServerProcess) -> dict[str, tuple[int, str]]:
    """Each table's row count and a digest of its rows, in the database the server writes to."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            return _fingerprint(cursor, connection.introspection.table_names(cursor))
    environ = dict(
        entry.split("=", 1) for entry in Path(f"/proc/{server.pid}/environ").read_text().split("\0") if "=" in entry
    )
    database = sqlite3.connect(environ["SQLITE_PATH"])
    try:
        cursor = database.cursor()
        tables = [name for (name,) in cursor.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return _fingerprint(cursor, tables)
    finally:
        database.close()


# Columns a socket writes by connecting, whatever its frames: presence's lastSeenAt.
CONNECTING_WRITES = {"accounts_user": {"last_seen_at"}}


def _fingerprint(cursor, tables: list[str]) -> dict[str, tuple[int, str]]:
    fingerprint = {}
    for table in tables:
        cursor.execute(f'SELECT * FROM "{table}"')
        ignored = {
            index for index, column in enumerate(cursor.description) if column[0] in CONNECTING_WRITES.get(table, set())
        }
        rows = sorted(
            repr([value for index, value in enumerate(row) if index not in ignored]) for row in cursor.fetchall()
        )
        fingerprint[table] = (len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest())
    return fingerprint


@pytest.fixture
def world(client_user, provider, outsider, conversation) -> World:
    bob_message = message_services.message_send(user=provider, conversation_id=conversation.pk, content="hi").message
    alice_message = message_services.message_send(
        user=client_user, conversation_id=conversation.pk, content="yo"
    ).message
    active = meeting_services.meeting_create(
        user=provider, project_id=conversation.project_id, title="Now", instant=True
    )
    meeting_services.meeting_accept(user=client_user, meeting_id=active.pk)
    meeting_services.meeting_session_join(user=client_user, meeting_id=active.pk)
    pending = meeting_services.meeting_create(
        user=provider,
        project_id=conversation.project_id,
        title="Later",
        scheduled_for=timezone.now() + timedelta(days=1),
    )
    meeting_services.meeting_accept(user=client_user, meeting_id=pending.pk)
    foreign_project = make_project(outsider, make_user("dave", role=User.Role.PROVIDER), title="Elsewhere")
    foreign_conversation = foreign_project.conversation
    foreign_message = message_services.message_send(
        user=foreign_project.provider, conversation_id=foreign_conversation.pk, content="private"
    ).message
    foreign_meeting = meeting_services.meeting_create(
        user=outsider, project_id=foreign_project.pk, title="Theirs", instant=True
    )
    return World(
        conversation=conversation.pk,
        messages=(bob_message.pk, alice_message.pk),
        active_meeting=active.pk,
        pending_meeting=pending.pk,
        foreign_conversation=foreign_conversation.pk,
        foreign_message=foreign_message.pk,
        foreign_meeting=foreign_meeting.pk,
    )


@pytest.mark.parametrize("kind", ["daphne", "uvicorn"])
def test_malformed_frames_are_answered_with_errors_and_change_nothing(kind, world, client_user, outsider, live_servers):
    unfuzzed = set(registered_events()) - valid_data_by_event(world).keys()
    assert not unfuzzed, f"give {sorted(unfuzzed)} well-formed data in valid_data_by_event"
    server = live_servers.start(kind=kind, env=UNLIMITED_SOCKET_RATES)
    rows_before = database_fingerprint(server)

    asyncio.run(fuzz(server, client_user, outsider, world, FrameStream(world, WARM_UP_SEED).frames(WARM_UP_FRAMES)))
    wait_until_quiet([server])
    rss_after_warm_up = server.rss_bytes()
    frames = FrameStream(world, SEED).frames(FRAMES)
    tally = asyncio.run(fuzz(server, client_user, outsider, world, frames))
    wait_until_quiet([server])
    rss_after_run = server.rss_bytes()

    print(
        f"\n{kind}: {sum(tally.frames.values())} frames {dict(sorted(tally.frames.items()))}"
        f"\n  answers {dict(sorted(tally.outcomes.items()))}"
        f"\n  {tally.replayed} replayed messages, {tally.probes} probe joins"
        f"\n  RSS after warm-up {rss_after_warm_up / 2**20:.1f} MiB, after the run {rss_after_run / 2**20:.1f} MiB"
    )
    assert not tally.unexpected, "\n".join(map(str, tally.unexpected[:30]))
    changed = {table for table, digest in database_fingerprint(server).items() if rows_before.get(table) != digest}
    assert not changed, f"rows changed in {sorted(changed)}"
    assert "Traceback" not in server.log_path.read_text(errors="replace"), server.log_tail(60)
    assert rss_after_run - rss_after_warm_up < RSS_GROWTH_LIMIT_BYTES

"""Soak: no message lost and none doubled while sends are retried, sockets drop and Redis restarts.

Two server processes share the test database and a redis-server of the test's own. Sender tasks post
messages, each with its own clientMessageId, and retry with the same id after any failure (some first
attempts give up at once, so that a committed send's answer is lost; some acknowledged sends are posted
again on purpose). Receivers keep each conversation's messages by seq from live ``message:new`` frames,
from ``join`` with ``after`` on every reconnect and from an ``after`` fetch whenever a seq gap shows, as
the page client does. A chaos task closes or resets the sockets of half the receivers at random; the
other half keep theirs until the server ends it. Once, halfway, Redis is killed and started again on the
same port. At the end every receiver holds exactly the acknowledged messages, in order, once each, and
messages sent after the faults arrive live on every socket: no socket outlived Redis deaf to its groups.
"""

import asyncio
import json
import random
import socket
import struct
import uuid
from collections import Counter
from dataclasses import dataclass, field

import httpx
import pytest
from asgiref.sync import sync_to_async
from django.db import connection
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from bench.servers import ServerProcess
from messaging.models import Message
from tests.conftest import make_project, requires_postgres
from tests.live import RedisServer, bearer, next_frame, open_socket

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SENDS_PER_SENDER = 150
SEND_PAUSE_SECONDS = (0.05, 0.2)
# First attempts given up almost at once: the server may commit a send whose answer the sender never reads.
IMPATIENT_SHARE = 0.1
IMPATIENT_TIMEOUT_SECONDS = 0.02
# Acknowledged sends posted again on purpose: the answer must be 200 with the first message.
RESEND_SHARE = 0.1
DROP_PAUSE_SECONDS = (0.3, 1.5)
RECONNECT_PAUSE_SECONDS = (0.1, 0.4)
REDIS_DOWN_SECONDS = 1.5
HTTP_TIMEOUT_SECONDS = 15.0
# A bound on waiting for a state the system must reach, not a measured latency.
SETTLE_SECONDS = 30.0


class JoinRefused(Exception):
    """The server answered ``join`` with an error: its channel layer is unreachable, or the rate is spent."""

    def __init__(self, reply: dict):
        super().__init__(reply)
        self.code = reply["data"].get("code")
        self.retry_after = float(reply["data"].get("retryAfter") or 0)


@dataclass
class ConversationView:
    """One receiver's copy of a conversation: messages by seq, and how far they run without a gap."""

    by_seq: dict[int, dict] = field(default_factory=dict)
    source_by_seq: dict[int, str] = field(default_factory=dict)
    contiguous_seq: int = 0
    contiguous_id: int = 0

    def add(self, message: dict, source: str) -> str | None:
        """Hold ``message``; return ``"new"``, ``None`` for a redelivery, or a description of a conflict."""
        held = self.by_seq.get(message["seq"])
        if held is not None:
            return None if held["id"] == message["id"] else f"seq {message['seq']} is both {held} and {message}"
        self.by_seq[message["seq"]] = message
        self.source_by_seq[message["seq"]] = source
        while self.contiguous_seq + 1 in self.by_seq:
            self.contiguous_seq += 1
            self.contiguous_id = self.by_seq[self.contiguous_seq]["id"]
        return "new"

    @property
    def has_gap(self) -> bool:
        return len(self.by_seq) > self.contiguous_seq

    def in_order(self) -> list[dict]:
        return [self.by_seq[seq] for seq in sorted(self.by_seq)]


class Receiver:
    """A user's socket on one server, reconnected with ``join`` + ``after`` whenever it ends."""

    def __init__(self, soak: "Soak", user, server: ServerProcess, *, dropped_at_random: bool):
        self.soak, self.user, self.server = soak, user, server
        self.dropped_at_random = dropped_at_random
        self.name = f"{user.username}@{server.label}{' (dropped at random)' if dropped_at_random else ''}"
        self.views = {conversation_id: ConversationView() for conversation_id in soak.conversation_ids}
        self.socket = None
        self.listening = False
        self.dropped_by_chaos = False
        self.last_error: Exception | None = None
        self.task: asyncio.Task | None = None

    async def run(self) -> None:
        figures = self.soak.figures
        while True:
            self.dropped_by_chaos = False
            pause = self.soak.rng.uniform(*RECONNECT_PAUSE_SECONDS)
            try:
                async with open_socket(self.server, self.user, close_timeout=2) as websocket:
                    self.socket = websocket
                    figures["socket connections opened"] += 1
                    for conversation_id in self.views:
                        await self._join(websocket, conversation_id)
                    self.listening = True
                    async for raw in websocket:
                        frame = json.loads(raw)
                        if frame["event"] == "message:new":
                            self._hold(frame["data"], "live")
                            await self._fetch_gap(frame["data"]["conversationId"])
            except JoinRefused as refused:
                self.last_error = refused
                figures[f"joins answered with an error: {refused.code}"] += 1
                pause = max(pause, refused.retry_after)
            except ConnectionClosed as closed:
                self.last_error = closed
                if not self.dropped_by_chaos:
                    code = closed.rcvd.code if closed.rcvd else "none (connection lost)"
                    figures[f"socket connections ended by the server, close code {code}"] += 1
            except (InvalidHandshake, OSError, TimeoutError, httpx.HTTPError) as error:
                self.last_error = error
                figures[f"socket connections failed: {type(error).__name__}"] += 1
            finally:
                self.socket, self.listening = None, False
            await asyncio.sleep(pause)

    async def _join(self, websocket, conversation_id: int) -> None:
        """Join with ``after`` the last message held without a gap; frames before the reply are its replay."""
        view = self.views[conversation_id]
        await websocket.send(
            json.dumps(
                {
                    "event": "join",
                    "data": {"conversationId": conversation_id, "after": view.contiguous_id},
                    "ref": "join",
                }
            )
        )
        while True:
            frame = await next_frame(websocket)
            if frame.get("ref") == "join":
                if frame["event"] != "join":
                    raise JoinRefused(frame)
                break
            if frame["event"] == "message:new":
                self._hold(frame["data"], "join replay")
        await self._fetch_gap(conversation_id)

    def _hold(self, message: dict, source: str) -> None:
        outcome = self.views[message["conversationId"]].add(message, source)
        if outcome == "new":
            self.soak.figures[f"deliveries: {source}"] += 1
        elif outcome is None:
            self.soak.figures["redeliveries ignored (seq already held)"] += 1
        else:
            self.soak.violations.append(f"{self.name}: {outcome}")

    async def _fetch_gap(self, conversation_id: int) -> None:
        """A seq past a gap means missed frames: fetch everything after the last contiguous message."""
        view = self.views[conversation_id]
        while view.has_gap:
            self.soak.figures["gap fetches (GET after=)"] += 1
            response = await self.soak.http.get(
                f"{self.server.url}/api/messages/conversation/{conversation_id}",
                params={"after": view.contiguous_id, "limit": 100},
                headers=self.soak.headers[self.user.pk],
            )
            response.raise_for_status()  # a failed fetch ends the connection: the rejoin catches up instead
            page = response.json()
            for message in page["results"]:
                self._hold(message, "gap fetch")
            if not page["hasMore"]:
                return


class Soak:
    def __init__(self, *, servers, redis: RedisServer, users, conversation_ids, http: httpx.AsyncClient, seed: int):
        self.servers, self.redis, self.users, self.http = servers, redis, users, http
        self.conversation_ids = conversation_ids
        self.rng = random.Random(seed)
        self.headers = {user.pk: bearer(user) for user in users}
        self.figures: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()
        self.violations: list[str] = []
        # clientMessageId -> (conversation id, message id) of every acknowledged send
        self.acknowledged: dict[str, tuple[int, int]] = {}
        self.halfway = asyncio.Event()
        self.redis_down = False
        # Each user has a socket on each server; on each server one user's socket is dropped at random.
        self.receivers = [
            Receiver(self, user, server, dropped_at_random=(user_index + server_index) % 2 == 0)
            for user_index, user in enumerate(users)
            for server_index, server in enumerate(servers)
        ]
        self.sending_done = False

    async def post_until_acknowledged(self, user, body: dict, *, impatient: bool = False) -> dict:
        """POST ``body`` until a 201 or 200 answers it, retrying with the same clientMessageId."""
        first_attempt = True
        while True:
            server = self.rng.choice(self.servers)
            given_up_at_once = impatient and first_attempt
            if not first_attempt:
                self.figures["POST retries (same clientMessageId)"] += 1
            first_attempt = False
            try:
                response = await self.http.post(
                    f"{server.url}/api/messages",
                    json=body,
                    headers=self.headers[user.pk],
                    timeout=IMPATIENT_TIMEOUT_SECONDS if given_up_at_once else HTTP_TIMEOUT_SECONDS,
                )
            except httpx.TransportError:
                if given_up_at_once:
                    self.figures[f"first attempts given up after {IMPATIENT_TIMEOUT_SECONDS * 1000:.0f} ms"] += 1
                else:
                    self.figures["POST attempts without an answer (timeout, connection error)"] += 1
                continue
            self.statuses[response.status_code] += 1
            if self.redis_down:
                self.figures[f"POST answers while Redis was down: {response.status_code}"] += 1
            if response.status_code == 503 and "Retry-After" in response.headers:
                await asyncio.sleep(float(response.headers["Retry-After"]))
                continue
            if response.status_code in (200, 201):
                return self._acknowledge(body, response)
            self.violations.append(f"POST answered {response.status_code}: {response.text[:300]}")
            if response.status_code < 500:
                raise AssertionError(self.violations[-1])
            await asyncio.sleep(self.rng.uniform(*RECONNECT_PAUSE_SECONDS))

    def _acknowledge(self, body: dict, response: httpx.Response) -> dict:
        message = response.json()
        client_id = body["clientMessageId"]
        earlier = self.acknowledged.get(client_id)
        if response.status_code == 201 and earlier is not None:
            self.violations.append(f"{client_id} created twice: {earlier[1]} and {message['id']}")
        if earlier is not None and earlier[1] != message["id"]:
            self.violations.append(f"{client_id} answered with {message['id']}, first with {earlier[1]}")
        if response.status_code == 200:
            self.figures["duplicates suppressed (200 for a known clientMessageId)"] += 1
        self.acknowledged.setdefault(client_id, (body["conversationId"], message["id"]))
        if len(self.acknowledged) >= len(self.users) * len(self.conversation_ids) * SENDS_PER_SENDER // 2:
            self.halfway.set()
        return message

    async def send_one(self, user, conversation_id: int, content: str) -> dict:
        body = {"conversationId": conversation_id, "content": content, "clientMessageId": str(uuid.uuid4())}
        message = await self.post_until_acknowledged(user, body, impatient=self.rng.random() < IMPATIENT_SHARE)
        if self.rng.random() < RESEND_SHARE:
            self.figures["acknowledged sends posted again on purpose"] += 1
            await self.post_until_acknowledged(user, body)
        return message

    async def sender(self, user, conversation_id: int) -> None:
        for number in range(SENDS_PER_SENDER):
            await self.send_one(user, conversation_id, f"{user.username} #{number}")
            await asyncio.sleep(self.rng.uniform(*SEND_PAUSE_SECONDS))

    async def chaos(self) -> None:
        """Drop a random receiver's socket now and then: a clean close, or a TCP reset."""
        while not self.sending_done:
            await asyncio.sleep(self.rng.uniform(*DROP_PAUSE_SECONDS))
            receiver = self.rng.choice([receiver for receiver in self.receivers if receiver.dropped_at_random])
            websocket = receiver.socket
            if websocket is None:
                continue
            receiver.dropped_by_chaos = True
            if self.rng.random() < 0.5:
                self.figures["sockets closed by the client"] += 1
                await websocket.close()
            else:
                self.figures["sockets reset by the client (RST)"] += 1
                transport_socket = websocket.transport.get_extra_info("socket")
                if transport_socket is not None:
                    # Linger 0: close() sends a reset, as a dropped network or a killed client would.
                    transport_socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                websocket.transport.abort()

    async def restart_redis_halfway(self) -> None:
        await self.halfway.wait()
        await asyncio.to_thread(self.redis.kill)
        self.redis_down = True
        self.figures["Redis restarts (kill -9, same port)"] += 1
        await asyncio.sleep(REDIS_DOWN_SECONDS)
        await asyncio.to_thread(self.redis.start)
        self.redis_down = False

    def start_receivers(self) -> None:
        for receiver in self.receivers:
            receiver.task = asyncio.create_task(receiver.run())

    async def stop_receivers(self) -> None:
        for receiver in self.receivers:
            receiver.task.cancel()
        await asyncio.gather(*(receiver.task for receiver in self.receivers), return_exceptions=True)

    async def until(self, condition, what: str) -> None:
        for _ in range(int(SETTLE_SECONDS / 0.05)):
            if condition():
                return
            for receiver in self.receivers:
                if receiver.task.done():
                    receiver.task.result()  # a receiver that crashed shows why
            await asyncio.sleep(0.05)
        receivers = {
            receiver.name: {
                "listening": receiver.listening,
                "held without a gap up to seq": {key: view.contiguous_seq for key, view in receiver.views.items()},
                "last error": repr(receiver.last_error),
            }
            for receiver in self.receivers
        }
        raise AssertionError(f"not reached within {SETTLE_SECONDS:.0f} s: {what}; receivers: {receivers}")


def _stored_messages(conversation_ids: list[int]) -> dict[int, list[dict]]:
    try:
        return {
            conversation_id: list(
                Message.objects.filter(conversation_id=conversation_id)
                .order_by("id")
                .values("id", "seq", "client_message_id")
            )
            for conversation_id in conversation_ids
        }
    finally:
        connection.close()


@pytest.fixture
def second_conversation(client_user, provider):
    return make_project(client_user, provider, title="Logo").conversation


@pytest.fixture
def soak_servers(live_servers, own_redis, conversation, second_conversation):
    """Two servers on the test database and the test's own Redis, senders unthrottled."""
    requires_postgres()
    env = {"REDIS_URL": own_redis.url, "THROTTLE_MESSAGE_SEND": "100000/min"}
    return [live_servers.start(env=env), live_servers.start(env=env)]


async def test_every_receiver_holds_every_acknowledged_message_once_in_order_through_drops_retries_and_a_redis_restart(
    soak_servers, own_redis, client_user, provider, conversation, second_conversation
):
    seed = random.randrange(2**32)
    conversation_ids = [conversation.pk, second_conversation.pk]
    users = [client_user, provider]
    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT_SECONDS) as http:
        soak = Soak(
            servers=soak_servers, redis=own_redis, users=users, conversation_ids=conversation_ids, http=http, seed=seed
        )
        soak.start_receivers()
        try:
            await soak.until(lambda: all(receiver.listening for receiver in soak.receivers), "every receiver joined")
            chaos = asyncio.create_task(soak.chaos())
            restart = asyncio.create_task(soak.restart_redis_halfway())
            await asyncio.gather(
                *(soak.sender(user, conversation_id) for user in users for conversation_id in conversation_ids)
            )
            soak.sending_done = True
            await asyncio.gather(chaos, restart)

            # After the faults: each receiver joined again, one more message per conversation must arrive live.
            await soak.until(lambda: all(receiver.listening for receiver in soak.receivers), "every receiver rejoined")
            connections_before_tail = soak.figures["socket connections opened"]
            tails = [await soak.send_one(client_user, conversation_id, "tail") for conversation_id in conversation_ids]
            await soak.until(
                lambda: all(
                    receiver.views[tail["conversationId"]].contiguous_seq >= tail["seq"]
                    for receiver in soak.receivers
                    for tail in tails
                ),
                "every receiver holding the messages sent after the faults",
            )
            tail_sources = {
                (receiver.name, tail["seq"]): receiver.views[tail["conversationId"]].source_by_seq[tail["seq"]]
                for receiver in soak.receivers
                for tail in tails
            }
            reconnections_during_tail = soak.figures["socket connections opened"] - connections_before_tail
        finally:
            await soak.stop_receivers()
        health = {server.label: (await http.get(f"{server.url}/api/health")).json() for server in soak_servers}

    stored = await sync_to_async(_stored_messages)(conversation_ids)
    _print_figures(soak, stored, health, seed)

    assert soak.violations == []
    assert set(soak.statuses) <= {200, 201, 503}, soak.statuses
    assert all(server.popen.poll() is None for server in soak_servers)
    for conversation_id, messages in stored.items():
        assert [message["seq"] for message in messages] == list(range(1, len(messages) + 1))
        stored_client_ids = [str(message["client_message_id"]) for message in messages]
        assert len(set(stored_client_ids)) == len(stored_client_ids)
        assert set(stored_client_ids) == {
            client_id
            for client_id, (acknowledged_in, _) in soak.acknowledged.items()
            if acknowledged_in == conversation_id
        }
        assert all(soak.acknowledged[str(message["client_message_id"])][1] == message["id"] for message in messages)
        for receiver in soak.receivers:
            held = receiver.views[conversation_id].in_order()
            assert [message["id"] for message in held] == [message["id"] for message in messages], receiver.name
    assert reconnections_during_tail == 0
    assert set(tail_sources.values()) == {"live"}, tail_sources


def _print_figures(soak: Soak, stored: dict[int, list[dict]], health: dict, seed: int) -> None:
    print(
        f"\nsoak (seed {seed}): {len(soak.receivers)} receivers on {len(soak.servers)} servers, "
        f"{len(stored)} conversations"
    )
    stored_count = sum(len(messages) for messages in stored.values())
    print(
        f"  messages stored: {stored_count}; acknowledged: {len(soak.acknowledged)}; "
        f"POST answers: {dict(sorted(soak.statuses.items()))}; "
        f"sends committed whose 201 was lost: {stored_count - soak.statuses[201]}"
    )
    for name, count in sorted(soak.figures.items()):
        print(f"  {name}: {count}")
    for label, body in health.items():
        print(f"  {label} health: {body}")

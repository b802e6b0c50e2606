"""A client that stops reading costs the server a bounded queue, then its socket (4408); it stalls nobody else.

In-process, the application sits behind a transport whose sends wait until the test lets the client
read, as uvicorn's do. The live test runs the production server (uvicorn with websockets-sansio)
against a client on a plain TCP socket with a 4 KiB receive buffer that reads only when told.
"""

import asyncio
import json
import socket

import httpx
import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from websockets.client import ClientProtocol
from websockets.frames import CloseCode, Opcode
from websockets.http11 import Response
from websockets.protocol import State
from websockets.typing import Origin
from websockets.uri import parse_uri

from config.asgi import application
from messaging import services
from messaging.events import MESSAGE_NEW, conversation_group
from realtime.consumers import CLOSE_TOO_SLOW
from realtime.publish import group_message
from tests.live import FRAME_SECONDS, bearer, join, next_frame, open_socket
from tests.realtime import sockets

pytestmark = pytest.mark.django_db(transaction=True)

MIB = 1024 * 1024
# The unread socket overflows within the first half: the kernel's socket buffers (at most 4 MiB of send
# buffer with Linux's default tcp_wmem: ~70 frames), the transport's 64 KiB and SOCKET_SEND_QUEUE_MAX (64).
HALF = 200
# 5,000 characters outside the BMP: 20 KB as a Python str, 60 KB as a frame (each one escaped as a
# surrogate pair), so the unread frames outgrow the kernel's socket buffers quickly.
CONTENT = "\N{GRINNING FACE}" * 5000
FRAME_BYTES = len(json.dumps(CONTENT))
SLOW_CLIENT_RCVBUF = 4096


class ClientReadingOnDemand:
    """The application behind a transport that, once the client stops reading, takes a frame only when
    the test lets the client read one; until then the application's send waits, as on uvicorn."""

    def __init__(self, *, waiting: tuple[str, ...] = ("websocket.send",)):
        self.waiting = waiting
        self.reads: asyncio.Semaphore | None = None

    def stop_reading(self) -> None:
        self.reads = asyncio.Semaphore(0)

    def read_one(self) -> None:
        self.reads.release()

    async def __call__(self, scope, receive, send):
        async def send_when_read(message):
            if self.reads is not None and message["type"] in self.waiting:
                await self.reads.acquire()
            await send(message)

        await application(scope, receive, send_when_read)

    async def connect_as(self, user) -> WebsocketCommunicator:
        communicator = WebsocketCommunicator(
            self, "/ws/", headers=[sockets.ALLOWED_ORIGIN, sockets.HOST, sockets.bearer(user)]
        )
        connected, _ = await communicator.connect(timeout=sockets.FRAME_TIMEOUT)
        assert connected
        return communicator


async def push_to_conversation(conversation, count: int) -> None:
    for number in range(count):
        await get_channel_layer().group_send(
            conversation_group(conversation.pk), group_message(MESSAGE_NEW, {"number": number})
        )


@database_sync_to_async
def send_text(user, conversation, content: str):
    message = services.message_send(user=user, conversation_id=conversation.pk, content=content).message
    return message


async def test_a_socket_whose_client_stops_reading_is_closed_with_4408_once_its_queue_is_full(
    provider, conversation, settings
):
    settings.SOCKET_SEND_QUEUE_MAX = 2
    client = ClientReadingOnDemand()
    bob = await client.connect_as(provider)
    await sockets.join(bob, conversation.pk)
    client.stop_reading()

    # More pushes than the outbox holds and the one its writer is stuck sending.
    await push_to_conversation(conversation, settings.SOCKET_SEND_QUEUE_MAX + 2)

    await sockets.assert_closed_too_slow(bob)


async def test_a_join_replay_waits_for_a_slow_client_instead_of_closing_its_socket(
    client_user, provider, conversation, settings
):
    settings.SOCKET_SEND_QUEUE_MAX = 1
    history = [await send_text(client_user, conversation, f"message {number}") for number in range(5)]
    client = ClientReadingOnDemand()
    bob = await client.connect_as(provider)
    client.stop_reading()

    await bob.send_json_to({"event": "join", "data": {"conversationId": conversation.pk, "after": 0}, "ref": "join"})
    frames = []
    for _ in range(len(history) + 1):
        client.read_one()
        frames.append(await sockets.next_frame(bob))

    assert [frame["data"]["id"] for frame in frames[:-1]] == [message.pk for message in history]
    assert frames[-1] == {"event": "join", "data": {"conversationId": conversation.pk, "replayed": 5}, "ref": "join"}
    await bob.disconnect()


async def test_a_too_slow_socket_ends_even_when_its_close_frame_cannot_be_written(provider, conversation, settings):
    settings.SOCKET_SEND_QUEUE_MAX = 1
    settings.SOCKET_STALL_SECONDS = 0.1
    client = ClientReadingOnDemand(waiting=("websocket.send", "websocket.close"))
    bob = await client.connect_as(provider)
    await sockets.join(bob, conversation.pk)
    client.stop_reading()

    await push_to_conversation(conversation, settings.SOCKET_SEND_QUEUE_MAX + 2)

    await bob.wait(timeout=sockets.FRAME_TIMEOUT)  # the consumer returned: nothing of it is left waiting
    assert await bob.receive_nothing(timeout=0.1)


class UnreadSocket:
    """A WebSocket client that reads from its TCP socket only inside ``read_until_closed`` and ``join``."""

    def __init__(self, server, user):
        self.server, self.user = server, user
        self.protocol = ClientProtocol(parse_uri(server.ws_url), origin=Origin(server.url), max_size=None)
        self.sock = socket.socket()
        # Set before connecting, so the window the client advertises stays this small.
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SLOW_CLIENT_RCVBUF)
        self.sock.setblocking(False)
        self.messages: list[dict] = []

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.sock_connect(self.sock, ("127.0.0.1", self.server.port))
        request = self.protocol.connect()
        request.headers.update(bearer(self.user))
        self.protocol.send_request(request)
        await self._flush()
        while not any(isinstance(event, Response) for event in await self._read()):
            pass

    async def join(self, conversation_id: int) -> None:
        self.protocol.send_text(
            json.dumps({"event": "join", "data": {"conversationId": conversation_id}, "ref": "join"}).encode()
        )
        await self._flush()
        while not any(frame.get("ref") == "join" for frame in await self._frames()):
            pass

    async def read_until_closed(self) -> int:
        """Every frame up to the server's close frame or the end of the TCP stream; the close code."""
        while self.protocol.close_rcvd is None and self.protocol.state is not State.CLOSED:
            await self._frames()
        return self.protocol.close_rcvd.code if self.protocol.close_rcvd else self.protocol.close_code

    async def _frames(self) -> list[dict]:
        frames = [
            json.loads(event.data) for event in await self._read() if getattr(event, "opcode", None) is Opcode.TEXT
        ]
        self.messages += [frame["data"] for frame in frames if frame["event"] == "message:new"]
        return frames

    async def _read(self) -> list:
        data = await asyncio.wait_for(asyncio.get_running_loop().sock_recv(self.sock, 65536), FRAME_SECONDS)
        if data:
            self.protocol.receive_data(data)
        else:
            self.protocol.receive_eof()
        return self.protocol.events_received()

    async def _flush(self) -> None:
        for data in self.protocol.data_to_send():
            if data:
                await asyncio.get_running_loop().sock_sendall(self.sock, data)

    def close(self) -> None:
        self.sock.close()


async def collect_messages(websocket, count: int) -> list[dict]:
    messages = []
    while len(messages) < count:
        frame = await next_frame(websocket)
        if frame["event"] == "message:new":
            messages.append(frame["data"])
    return messages


@pytest.fixture
def uvicorn_server(client_user, provider, conversation, live_servers):
    """The production server on this test's rows, the send throttle out of the way of a fast sender."""
    return live_servers.start(kind="uvicorn", env={"THROTTLE_MESSAGE_SEND": "1000000/s"})


@pytest.mark.slow
async def test_a_client_that_stops_reading_is_closed_while_another_gets_every_message(
    uvicorn_server, client_user, provider, conversation
):
    server = uvicorn_server
    slow = UnreadSocket(server, provider)
    async with (
        open_socket(server, provider) as healthy,
        httpx.AsyncClient(base_url=server.url, headers=bearer(client_user), timeout=FRAME_SECONDS) as http,
    ):
        await join(healthy, conversation.pk)
        await slow.open()
        await slow.join(conversation.pk)
        receiving = asyncio.create_task(collect_messages(healthy, 2 * HALF))

        async def post(count: int) -> None:
            for _ in range(count):
                response = await http.post(
                    "/api/messages", json={"conversationId": conversation.pk, "content": CONTENT}
                )
                assert response.status_code == 201, response.text

        rss_start = server.rss_bytes()
        await post(HALF)
        rss_half = server.rss_bytes()
        await post(HALF)
        received = await receiving
        rss_end = server.rss_bytes()

        slow_close_code = await slow.read_until_closed()
        slow.close()

    second_half_stream = HALF * FRAME_BYTES
    print(
        f"\nserver RSS {rss_start / MIB:.1f} MiB at the start, {rss_half / MIB:.1f} after {HALF} messages,"
        f" {rss_end / MIB:.1f} after {2 * HALF} ({second_half_stream / MIB:.1f} MiB of frames in the second half);"
        f" the unread client got {len(slow.messages)}, then close code {slow_close_code}"
    )
    assert [message["seq"] for message in received] == list(range(1, 2 * HALF + 1))
    # ABNORMAL_CLOSURE (1006): the client read on only after the server had stopped waiting to close.
    assert slow_close_code in (CLOSE_TOO_SLOW, CloseCode.ABNORMAL_CLOSURE)
    assert [message["seq"] for message in slow.messages] == list(range(1, len(slow.messages) + 1))
    assert len(slow.messages) < HALF  # dropped in the first half
    # By the second half the unread socket is gone. A server holding its stream grows by all of those
    # frames (daphne: 13.1 MiB for these 11.4); without any unread client, serving these 200 requests
    # grew this one by 1.3-2.2 MiB (SQLite, PostgreSQL + Redis), and with one by 1.0-3.2 MiB.
    assert rss_end - rss_half < second_half_stream / 2

    async with open_socket(server, provider) as reconnected:
        after = slow.messages[-1]["id"] if slow.messages else 0
        reply = await join(reconnected, conversation.pk, after=after)
    caught_up = slow.messages + [frame["data"] for frame in reply["replayedFrames"]]
    assert [message["seq"] for message in caught_up] == list(range(1, 2 * HALF + 1))

"""A minimal Socket.IO v5 client (Engine.IO v4) for the load generator: the default namespace, JSON
packets, server pings answered, over WebSocket or over HTTP long-polling. Just what a receiver needs to
join a conversation and time its ``message:new`` pushes; the conformance tests drive the official
``socket.io-client`` instead (tests/socketio).
"""

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from bench.http_client import HttpPool

PATH = "/socket.io/"
RECORD_SEPARATOR = "\x1e"  # between Engine.IO packets in one polling payload


class SocketIOError(RuntimeError):
    pass


class SocketIOClient:
    """``await open()``, then ``emit_with_ack`` and ``async for name, data in events()``."""

    def __init__(self, base_url: str, token: str, *, transport: str, origin: str):
        if transport not in ("websocket", "polling"):
            raise ValueError(f"unknown transport {transport!r}")
        self.base_url, self.token, self.transport, self.origin = base_url, token, transport, origin
        self.sid: str | None = None
        self.ws: ClientConnection | None = None
        self.http: HttpPool | None = None
        self._incoming: asyncio.Queue[str | None] = asyncio.Queue()
        self._reader: asyncio.Task | None = None
        self._acks: dict[int, asyncio.Future] = {}
        self._posting = asyncio.Lock()  # Engine.IO allows one POST at a time per session
        self._next_ack = 0
        self.closed = False

    async def open(self) -> None:
        if self.transport == "websocket":
            ws_url = self.base_url.replace("http://", "ws://", 1) + f"{PATH}?EIO=4&transport=websocket"
            self.ws = await connect(
                ws_url,
                origin=self.origin,
                compression=None,
                ping_interval=None,
                proxy=None,
                max_queue=None,
                open_timeout=30,
            )
            opened = await self.ws.recv()
        else:
            self.http = HttpPool(self.base_url, headers={"Origin": self.origin})
            opened = await self._poll_once()
        if not opened.startswith("0"):
            raise SocketIOError(f"expected the Engine.IO open packet, got {opened[:80]!r}")
        self.sid = json.loads(opened[1:])["sid"]
        self._reader = asyncio.create_task(self._read_forever())
        await self._send_packets(["0" + json.dumps({"token": self.token})])
        answer = await asyncio.wait_for(self._next_packet(), timeout=30)
        if answer is None or not answer.startswith("0"):
            raise SocketIOError(f"connection refused: {answer[:200]!r}")

    async def emit(self, event: str, data: dict) -> None:
        await self._send_packets(["2" + json.dumps([event, data])])

    async def emit_with_ack(self, event: str, data: dict, *, timeout: float = 30.0):
        self._next_ack += 1
        ack_id = self._next_ack
        self._acks[ack_id] = asyncio.get_running_loop().create_future()
        await self._send_packets([f"2{ack_id}" + json.dumps([event, data])])
        try:
            return await asyncio.wait_for(self._acks[ack_id], timeout)
        finally:
            self._acks.pop(ack_id, None)

    async def events(self) -> AsyncIterator[tuple[str, object]]:
        """Server events until the connection ends (acks go to their ``emit_with_ack`` as they arrive)."""
        while (packet := await self._next_packet()) is not None:
            if packet.startswith("2"):
                name, *args = json.loads(packet[1:])
                yield name, (args[0] if args else None)

    async def _next_packet(self) -> str | None:
        """The next Socket.IO packet other than an ack, or None once the connection has ended."""
        packet = await self._incoming.get()
        if packet is None:
            self.closed = True
        return packet

    def _settle_ack(self, packet: str) -> None:
        ack_id, _, body = packet[1:].partition("[")
        future = self._acks.get(int(ack_id))
        if future is not None and not future.done():
            future.set_result(json.loads("[" + body)[0])

    async def _read_forever(self) -> None:
        try:
            while True:
                if self.ws is not None:
                    packets = [await self.ws.recv()]
                else:
                    packets = (await self._poll_once()).split(RECORD_SEPARATOR)
                for packet in packets:
                    if packet == "2":
                        await self._send_packets(["3"], engine=True)
                    elif packet.startswith("43"):
                        self._settle_ack(packet[1:])
                    elif packet.startswith("4"):
                        self._incoming.put_nowait(packet[1:])
                    elif packet == "1":
                        return
        except (OSError, asyncio.IncompleteReadError, SocketIOError, ConnectionClosed):
            pass  # the connection ended: events() ends too
        finally:
            self._incoming.put_nowait(None)

    async def _send_packets(self, packets: list[str], *, engine: bool = False) -> None:
        """Send Socket.IO packets (wrapped as Engine.IO messages), or Engine.IO packets with ``engine``."""
        framed = packets if engine else ["4" + packet for packet in packets]
        if self.ws is not None:
            for packet in framed:
                await self.ws.send(packet)
            return
        async with self._posting:
            status, body = await self.http.request(
                "POST",
                self._polling_path(),
                body=RECORD_SEPARATOR.join(framed).encode(),
                headers={"Content-Type": "text/plain;charset=UTF-8"},
            )
        if status != 200:
            raise SocketIOError(f"POST answered {status}: {body[:200]!r}")

    async def _poll_once(self) -> str:
        status, body = await self.http.request("GET", self._polling_path())
        if status != 200:
            raise SocketIOError(f"GET answered {status}: {body[:200]!r}")
        return body.decode()

    def _polling_path(self) -> str:
        return f"{PATH}?EIO=4&transport=polling" + (f"&sid={self.sid}" if self.sid else "")

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        elif self.http is not None and self.sid is not None and not self.closed:
            with contextlib.suppress(OSError, SocketIOError, asyncio.IncompleteReadError):
                await self._send_packets(["1"], engine=True)
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self.http is not None:
            self.http.close()

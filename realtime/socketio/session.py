"""A Socket.IO session on top of the shared socket session, whatever carries its Engine.IO packets.

The outbox holds Engine.IO packets (text). Only the main namespace ``/`` exists; the CONNECT packet
carries the credential (``{token}`` or ``{ticket}``, else the session cookie or the handshake's
``Authorization`` header), checked as ``/ws/`` checks it. A client event becomes a call of the same
handler as the ``/ws/`` frame of that name: with an ack id the reply (or ``{error: {...}}``) is the ack,
without one the reply is emitted under the event's name and an error as an ``error`` event.
"""

import asyncio
import contextlib
import json
import secrets
import time
from urllib.parse import urlencode

from django.conf import settings

from accounts.socket_auth import TokenOrTicketMiddleware
from kernel.errors import BadFrame, BinaryUnsupported, DomainError, FrameTooLarge
from realtime import events
from realtime.session import CLOSE_UNAUTHENTICATED, SocketSession
from realtime.socketio import protocol
from realtime.socketio.protocol import SocketIOPacket

# WebSocket close codes for what the Engine.IO protocol ends a session on.
CLOSE_NORMAL = 1000
CLOSE_PROTOCOL_ERROR = 1002
CLOSE_TOO_LARGE = 1009

UNAUTHENTICATED_CODES = {"ticket": "ticket_invalid", "jwt": "token_invalid", "session": "credential_missing"}
BINARY_UNSUPPORTED = "Binary data is not supported; send JSON."


def new_sid() -> str:
    return secrets.token_urlsafe(15)


async def credential_presented(scope, *, ticket, token) -> dict:
    """What the socket middleware makes of a ticket or token given in a CONNECT packet: it is run on the
    scope as if the ticket had come in the query and the token in an ``Authorization`` header, so a
    Socket.IO credential is checked exactly as a ``/ws/`` one (expiry, revocation, whatever it checks)."""
    headers = [(name, value) for name, value in scope.get("headers", []) if name != b"authorization"]
    if token is not None:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    query = urlencode({"ticket": ticket}) if ticket is not None else ""
    resolved = {}

    async def keep(scope, receive, send):
        resolved.update(scope)

    await TokenOrTicketMiddleware(keep)(dict(scope, headers=headers, query_string=query.encode()), None, None)
    return {key: value for key, value in resolved.items() if key == "user" or key.startswith("auth_")}


class SocketIOSession(SocketSession):
    """Engine.IO heartbeat and Socket.IO packets; the transport calls ``start_engine`` once it can send."""

    def start_engine(self) -> None:
        self.sid = new_sid()
        self.connected = False  # to the main namespace
        self.attachments_to_skip = 0
        self.pong = asyncio.Event()
        self.heartbeat: asyncio.Task | None = asyncio.create_task(self.beat())

    def open_packet(self, *, upgrades: list[str]) -> str:
        return protocol.OPEN + json.dumps(
            {
                "sid": self.sid,
                "upgrades": upgrades,
                "pingInterval": settings.SOCKETIO_PING_INTERVAL_SECONDS * 1000,
                "pingTimeout": settings.SOCKETIO_PING_TIMEOUT_SECONDS * 1000,
                "maxPayload": settings.WS_MAX_FRAME_BYTES,
            },
            separators=(",", ":"),
        )

    async def stop_engine(self) -> None:
        heartbeat, self.heartbeat = getattr(self, "heartbeat", None), None
        if heartbeat is not None and heartbeat is not asyncio.current_task():
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat

    async def beat(self) -> None:
        """Ping every interval; a client that does not pong in time, or never sends CONNECT, is gone."""
        started = time.monotonic()
        while True:
            await asyncio.sleep(settings.SOCKETIO_PING_INTERVAL_SECONDS)
            if not self.connected and time.monotonic() - started >= settings.SOCKETIO_CONNECT_TIMEOUT_SECONDS:
                break
            self.pong.clear()
            if not self.queue_frame(protocol.PING):
                break
            try:
                async with asyncio.timeout(settings.SOCKETIO_PING_TIMEOUT_SECONDS):
                    await self.pong.wait()
            except TimeoutError:
                break
        await self.end_session(CLOSE_NORMAL)

    async def pong_received(self) -> None:
        self.pong.set()

    # Socket.IO on the wire.

    async def send_packet(self, packet: SocketIOPacket) -> None:
        await self.queue_when_room(protocol.MESSAGE + packet.encode())

    def frame_for(self, event: str, data: dict, ref=None) -> str:
        if ref is None:
            packet = SocketIOPacket(protocol.EVENT, data=[event, data])
        else:
            packet = SocketIOPacket(protocol.ACK, data=[data], ack_id=ref)
        return protocol.MESSAGE + packet.encode()

    async def send_reply(self, event: str, reply: dict | None, ref) -> None:
        if ref is not None:
            await self.send_packet(SocketIOPacket(protocol.ACK, data=[] if reply is None else [reply], ack_id=ref))
        elif reply is not None:
            await self.send_event(event, reply)

    async def send_error(self, error: DomainError, ref=None) -> None:
        if ref is None:
            await self.send_event(events.ERROR, error.as_payload())
        else:
            await self.send_packet(SocketIOPacket(protocol.ACK, data=[{"error": error.as_payload()}], ack_id=ref))

    async def admit(self) -> None:
        self.connected = True
        await self.send_packet(SocketIOPacket(protocol.CONNECT, data={"sid": new_sid()}))

    async def refuse(self, code: int) -> None:
        reason = UNAUTHENTICATED_CODES.get(self.scope.get("auth_method", ""), "credential_missing")
        await self.send_packet(
            SocketIOPacket(protocol.CONNECT_ERROR, data={"message": "unauthenticated", "data": {"code": reason}})
        )

    # Packets from the client.

    async def receive_engine_packet(self, packet: str | bytes) -> None:
        """One Engine.IO packet; raises ``protocol.ProtocolError`` for what the protocol closes on."""
        if isinstance(packet, bytes) or packet.startswith("b"):
            await self.receive_binary()
            return
        kind, data = packet[:1], packet[1:]
        if kind == protocol.PONG:
            await self.pong_received()
        elif kind == protocol.MESSAGE:
            await self.receive_socketio(protocol.decode_packet(data))
        elif kind == protocol.CLOSE:
            await self.close_socket(CLOSE_NORMAL)
        elif kind != protocol.NOOP:
            raise protocol.ProtocolError(f"unexpected Engine.IO packet {kind!r}")

    async def receive_binary(self) -> None:
        """An attachment of a binary packet already answered with ``binary_unsupported``, or a bare binary message."""
        if self.attachments_to_skip:
            self.attachments_to_skip -= 1
        elif self.connected:
            await self.send_error(BinaryUnsupported(BINARY_UNSUPPORTED))

    async def receive_socketio(self, packet: SocketIOPacket) -> None:
        if packet.namespace != protocol.MAIN_NAMESPACE:
            if packet.type == protocol.CONNECT:
                await self.send_packet(
                    SocketIOPacket(
                        protocol.CONNECT_ERROR,
                        namespace=packet.namespace,
                        data={"message": "Invalid namespace"},
                    )
                )
            return
        if packet.type == protocol.CONNECT:
            if not self.connected:
                await self.connect_namespace(packet.data or {})
            return
        if not self.connected:
            raise protocol.ProtocolError("the first packet of a session is CONNECT")
        if packet.type == protocol.DISCONNECT:
            await self.leave_namespace()
        elif packet.type in (protocol.BINARY_EVENT, protocol.BINARY_ACK):
            self.attachments_to_skip += packet.attachments
            if packet.type == protocol.BINARY_EVENT:
                await self.send_error(BinaryUnsupported(BINARY_UNSUPPORTED), packet.ack_id)
        elif packet.type == protocol.EVENT:
            await self.receive_event(packet)
        # An ACK: the server never asks the client for one.

    async def connect_namespace(self, auth: dict) -> None:
        ticket, token = auth.get("ticket"), auth.get("token")
        if ticket is None and token is None:
            credential = await self.request_credential()
        else:
            credential = await credential_presented(self.scope, ticket=ticket, token=token)
        self.scope = dict(self.scope, **credential)
        await self.connect()

    async def request_credential(self) -> dict:
        """The credential of the request that carried the CONNECT, as the socket middleware found it (the
        session cookie, under its Origin rule, or an ``Authorization`` header). Over a WebSocket that is
        the handshake, already in the scope."""
        return {}

    async def leave_namespace(self) -> None:
        self.connected = False
        for group in list(self.joined_groups):
            await self.leave_group(group)

    async def receive_event(self, packet: SocketIOPacket) -> None:
        await self.close_if_auth_expired()
        event, args = packet.data[0], packet.data[1:]
        data = args[0] if args else {}
        if len(args) > 1 or not isinstance(data, dict):
            await self.send_error(BadFrame("An event carries one object: emit(name, {...})."), packet.ack_id)
            return
        await self.dispatch_event(event, data, packet.ack_id)

    async def close_transport(self, code: int, reason: str | None) -> None:
        """Deactivation (4401) first tells the client it was disconnected, so it does not reconnect by itself;
        after any other close it reconnects and catches up. An oversized packet is named before the close."""
        farewell = []
        if code == CLOSE_UNAUTHENTICATED and self.connected:
            farewell.append(protocol.MESSAGE + SocketIOPacket(protocol.DISCONNECT).encode())
        elif code == CLOSE_TOO_LARGE:
            too_large = FrameTooLarge(f"Packets are limited to {settings.WS_MAX_FRAME_BYTES} bytes (maxPayload).")
            farewell.append(self.frame_for(events.ERROR, too_large.as_payload()))
        await self.close_engine(code, reason, farewell)

    async def close_engine(self, code: int, reason: str | None, farewell: list[str]) -> None:
        """Send the ``farewell`` packets and end the Engine.IO connection."""
        raise NotImplementedError

"""``/socket.io/`` over WebSocket: the client's ``transports: ['websocket']`` session, run right here.

A WebSocket with a ``sid`` is instead the upgrade of a long-polling session, whose session lives in
the process that made it (``realtime.socketio.polling``); ``realtime.routing`` routes between them.
"""

from urllib.parse import parse_qs

from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from realtime.session import PushesOnTheLoop
from realtime.socketio import protocol
from realtime.socketio.session import CLOSE_PROTOCOL_ERROR, CLOSE_TOO_LARGE, SocketIOSession


def engine_query(scope) -> dict[str, str] | None:
    """The Engine.IO query (``EIO``, ``transport``, ``sid``), or None if it is not a version 4 one."""
    query = {key: values[0] for key, values in parse_qs(scope.get("query_string", b"").decode("latin-1")).items()}
    if query.get("EIO") != "4" or query.get("transport") not in ("polling", "websocket"):
        return None
    return query


def oversized(packet: str | bytes) -> bool:
    size = len(packet) if isinstance(packet, bytes) else len(packet.encode())
    return size > settings.WS_MAX_FRAME_BYTES


class SocketIOConsumer(PushesOnTheLoop, SocketIOSession, AsyncWebsocketConsumer):
    """A WebSocket-only Socket.IO session: one Engine.IO packet per frame, the shared session behind it."""

    async def __call__(self, scope, receive, send):
        self.start_outbox()
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self.stop_engine()
            await self.stop_writer()

    async def websocket_connect(self, message):
        query = engine_query(self.scope)
        if query is None or query["transport"] != "websocket":
            await self.close()
            return
        await self.accept()
        self.start_engine()
        self.queue_frame(self.open_packet(upgrades=[]))

    async def receive(self, text_data=None, bytes_data=None):
        packet = text_data if text_data is not None else bytes_data
        if oversized(packet):
            await self.close_socket(CLOSE_TOO_LARGE)
        try:
            await self.receive_engine_packet(packet)
        except protocol.ProtocolError:
            await self.close_socket(CLOSE_PROTOCOL_ERROR)

    async def write_frame(self, frame: str) -> None:
        await self.send(text_data=frame)

    async def close_engine(self, code: int, reason: str | None, farewell: list[str]) -> None:
        for packet in farewell:
            await self.send(text_data=packet)
        await self.close(code=code, reason=reason)

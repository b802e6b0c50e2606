"""The one WebSocket endpoint, ``/ws/``: JSON frames ``{"event", "data", "ref"?}`` in and out.

It authenticates, keeps the user's personal group, and routes each client frame to the handler
an app registered for its event name; errors become ``error`` events and the socket stays open.
Outgoing frames wait in a bounded per-socket queue; a socket that falls that far behind is closed
with 4408 and catches up on reconnect (docs/realtime.md). The session itself (groups, outbox,
dispatch, close) is ``realtime.session.SocketSession``, shared with the Socket.IO transports.
"""

import json

from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from kernel.errors import BadFrame, BadJson, DomainError, FrameTooLarge
from realtime import events
from realtime.session import (  # noqa: F401 - the close codes are part of this endpoint's contract
    CLOSE_AUTH_EXPIRED,
    CLOSE_TOO_SLOW,
    CLOSE_TOO_SLOW_REASON,
    CLOSE_UNAUTHENTICATED,
    PushesOnTheLoop,
    SocketSession,
)

FRAME_SHAPE = 'A frame is {"event": "...", "data": {...}}.'


class RealtimeConsumer(PushesOnTheLoop, SocketSession, AsyncJsonWebsocketConsumer):
    """One socket. Its frames go out through the bounded ``outbox`` and a writer task, so a client that
    stops reading holds up only that task (on a server whose ``send`` waits for the transport, as
    uvicorn's does), never the dispatch of channel-layer events, which only ever fill the outbox.
    The writer runs while the outbox has frames: an idle socket holds no task."""

    async def __call__(self, scope, receive, send):
        self.start_outbox()
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self.stop_writer()

    async def admit(self) -> None:
        await self.accept()

    async def refuse(self, code: int) -> None:
        # Accept-then-close is the only way to hand the client a close code it can read.
        await self.accept()
        await self.close(code=code)

    def frame_for(self, event: str, data: dict, ref=None) -> dict:
        frame = {"event": event, "data": data}
        if ref is not None:
            frame["ref"] = ref
        return frame

    async def write_frame(self, frame: dict) -> None:
        await self.send_json(frame)

    async def close_transport(self, code: int, reason: str | None) -> None:
        await self.close(code=code, reason=reason)

    async def send_error(self, error: DomainError, ref=None) -> None:
        data = {**error.as_payload(), "ref": ref}
        await self.send_event(events.ERROR, data, ref=ref)

    async def receive(self, text_data=None, bytes_data=None):
        if not self.authenticated:
            return  # a frame that raced the 4401 close
        await self.close_if_auth_expired()
        raw = text_data.encode() if text_data is not None else bytes_data
        if raw is None or len(raw) > settings.WS_MAX_FRAME_BYTES:
            await self.send_error(FrameTooLarge(f"Frames are limited to {settings.WS_MAX_FRAME_BYTES} bytes."))
            return
        try:
            frame = json.loads(raw)
        # RecursionError: nesting deeper than the interpreter's recursion limit fits in a small frame.
        except (ValueError, UnicodeDecodeError, RecursionError):
            await self.send_error(BadJson("A frame must be a JSON object."))
            return
        await self.receive_json(frame)

    async def receive_json(self, frame, **kwargs):
        if not isinstance(frame, dict):
            await self.send_error(BadFrame(FRAME_SHAPE))
            return
        ref = frame.get("ref")
        if isinstance(ref, bool) or not isinstance(ref, (str, int, type(None))) or len(str(ref)) > 64:
            ref = None
        event, data = frame.get("event"), frame.get("data", {})
        if not isinstance(event, str) or not isinstance(data, dict):
            await self.send_error(BadFrame(FRAME_SHAPE), ref)
            return
        await self.dispatch_event(event, data, ref)

"""The one WebSocket endpoint, ``/ws/``: JSON frames ``{"event", "data", "ref"?}`` in and out.

It authenticates, keeps the user's personal group, and routes each client frame to the handler
an app registered for its event name; errors become ``error`` events and the socket stays open.
Outgoing frames wait in a bounded per-socket queue; a socket that falls that far behind is closed
with 4408 and catches up on reconnect (docs/realtime.md).
"""

import asyncio
import collections
import json
import logging
import time

from autobahn.exception import Disconnected as DaphneDisconnected
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from config.errors import DomainError, Invalid
from realtime import events
from realtime.handlers import apply_socket_effect, handler_for
from realtime.publish import user_group
from realtime.socket_slots import CLOSE_TOO_MANY_SOCKETS, close_reason, socket_slot_give_back, socket_slot_take

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_AUTH_EXPIRED = 4403
CLOSE_TOO_SLOW = 4408
CLOSE_TOO_SLOW_REASON = "too slow: reconnect and join with after"


class RealtimeConsumer(AsyncJsonWebsocketConsumer):
    """One socket. Its frames go out through the bounded ``outbox`` and a writer task, so a client that
    stops reading holds up only that task (on a server whose ``send`` waits for the transport, as
    uvicorn's does), never the dispatch of channel-layer events, which only ever fill the outbox.
    The writer runs while the outbox has frames: an idle socket holds no task."""

    async def __call__(self, scope, receive, send):
        self.outbox: collections.deque[dict] = collections.deque()
        self.writer: asyncio.Task | None = None
        # What a reply waiting for room in the outbox awaits; the writer resolves it as it takes a frame.
        self.outbox_room: asyncio.Future | None = None
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self.stop_writer()

    async def connect(self):
        self.user = self.scope.get("user")
        self.joined_groups: set[str] = set()
        # conversation id -> (last forwarded isTyping, monotonic time of it); see messaging.consumers.typing
        self.typing_forwarded_at: dict[int, tuple[bool, float]] = {}
        self.auth_expires_at = self.scope.get("auth_expires_at")
        self.auth_expiry_timer: asyncio.Task | None = None
        await self.accept()
        if not self.authenticated:
            # Accept-then-close is the only way to hand the client a close code it can read.
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        if not await socket_slot_take(self.user.pk, self.channel_name):
            await self.close_socket(CLOSE_TOO_MANY_SOCKETS, close_reason())
        await self.join_group(user_group(self.user.pk))
        if self.auth_expires_at is not None:
            self.auth_expiry_timer = asyncio.create_task(self.expire_with_credential())

    async def disconnect(self, code):
        if getattr(self, "auth_expiry_timer", None) is not None:
            self.auth_expiry_timer.cancel()
        for group in list(getattr(self, "joined_groups", ())):
            await self.leave_group(group)
        self.channel_layer.discard_channel(self.channel_name)
        await socket_slot_give_back(self.channel_name)

    def queue_frame(self, frame: dict) -> bool:
        """Hand ``frame`` to the writer; False if the outbox has no room for it."""
        if len(self.outbox) >= settings.SOCKET_SEND_QUEUE_MAX:
            return False
        self.outbox.append(frame)
        if self.writer is None:
            self.writer = asyncio.create_task(self.write_frames())
        return True

    async def write_frames(self) -> None:
        try:
            while self.outbox:
                frame = self.outbox.popleft()
                if self.outbox_room is not None and not self.outbox_room.done():
                    self.outbox_room.set_result(None)
                await self.send_json(frame)
        except (OSError, DaphneDisconnected):
            pass  # the client went away (uvicorn's ClientDisconnected is an OSError); websocket.disconnect cleans up
        finally:
            self.writer = None

    async def stop_writer(self) -> None:
        """Frames still queued are dropped: every way here ends the socket."""
        self.outbox.clear()
        if self.writer is None:
            return
        self.writer.cancel()
        try:
            await self.writer
        except asyncio.CancelledError:
            pass

    async def close_socket(self, code: int, reason: str | None = None) -> None:
        """Close with ``code``, dropping queued frames, and end the consumer.

        Groups are left first: while the close waits, nothing more is queued for the socket in the
        channel layer, and a client that reads nothing never answers with the websocket.disconnect
        that would leave them otherwise.
        """
        await self.stop_writer()
        await self.disconnect(code)
        try:
            # On uvicorn the close frame too waits until the transport drains what the client left unread.
            async with asyncio.timeout(settings.SOCKET_STALL_SECONDS):
                await self.close(code=code, reason=reason)
        except TimeoutError:
            logger.info("the socket of user %s did not take its close frame (%s)", self.user.pk, code)
        raise StopConsumer

    async def expire_with_credential(self) -> None:
        """An idle socket too closes when its credential expires: the timer posts to the socket's own channel,
        so the close runs in the consumer between its other events."""
        await asyncio.sleep(self.auth_expires_at - time.time())
        try:
            await self.channel_layer.send(self.channel_name, {"type": "auth.expired"})
        except Exception:
            logger.warning("could not close user %s's socket at its credential's expiry", self.user.pk, exc_info=True)

    async def auth_expired(self, message) -> None:
        await self.close_socket(CLOSE_AUTH_EXPIRED)

    async def close_too_slow(self) -> None:
        logger.warning("closing the socket of user %s: %s frames queued unread", self.user.pk, len(self.outbox))
        await self.close_socket(CLOSE_TOO_SLOW, CLOSE_TOO_SLOW_REASON)

    async def join_group(self, group: str) -> None:
        await self.channel_layer.group_add(group, self.channel_name)
        self.joined_groups.add(group)

    async def leave_group(self, group: str) -> None:
        await self.channel_layer.group_discard(group, self.channel_name)
        self.joined_groups.discard(group)

    async def send_event(self, event: str, data: dict, ref=None) -> None:
        """Queue a reply (or a replayed frame): it waits for room, which slows only this socket's own request."""
        frame = {"event": event, "data": data}
        if ref is not None:
            frame["ref"] = ref
        try:
            async with asyncio.timeout(settings.SOCKET_STALL_SECONDS):
                while not self.queue_frame(frame):
                    self.outbox_room = asyncio.get_running_loop().create_future()
                    await self.outbox_room
        except TimeoutError:
            await self.close_too_slow()

    async def send_error(self, code: str, message: str, ref=None, *, retry_after: int | None = None) -> None:
        data = {"code": code, "message": message, "ref": ref}
        if retry_after is not None:
            data["retryAfter"] = retry_after
        await self.send_event(events.ERROR, data, ref=ref)

    @property
    def authenticated(self) -> bool:
        return self.user is not None and self.user.is_authenticated

    async def receive(self, text_data=None, bytes_data=None):
        if not self.authenticated:
            return  # a frame that raced the 4401 close
        if self.auth_expires_at is not None and time.time() >= self.auth_expires_at:
            await self.close_socket(CLOSE_AUTH_EXPIRED)
            return
        raw = text_data.encode() if text_data is not None else bytes_data
        if raw is None or len(raw) > settings.WS_MAX_FRAME_BYTES:
            await self.send_error("frame_too_large", f"Frames are limited to {settings.WS_MAX_FRAME_BYTES} bytes.")
            return
        try:
            frame = json.loads(raw)
        # RecursionError: nesting deeper than the interpreter's recursion limit fits in a small frame.
        except (ValueError, UnicodeDecodeError, RecursionError):
            await self.send_error("bad_json", "A frame must be a JSON object.")
            return
        await self.receive_json(frame)

    async def receive_json(self, frame, **kwargs):
        if not isinstance(frame, dict):
            await self.send_error("bad_frame", 'A frame is {"event": "...", "data": {...}}.')
            return
        ref = frame.get("ref")
        if isinstance(ref, bool) or not isinstance(ref, (str, int, type(None))) or len(str(ref)) > 64:
            ref = None
        event, data = frame.get("event"), frame.get("data", {})
        if not isinstance(event, str) or not isinstance(data, dict):
            await self.send_error("bad_frame", 'A frame is {"event": "...", "data": {...}}.', ref)
            return
        handler = handler_for(event)
        if handler is None:
            await self.send_error("unknown_event", f"Unknown event {event[:64]!r}.", ref)
            return
        try:
            reply = await handler(self, data)
        except DomainError as exc:
            await self.send_error(exc.code, exc.message, ref, retry_after=exc.retry_after)
            return
        except StopConsumer:
            raise
        except Exception:
            logger.exception("socket handler for %s failed", event)
            await self.send_error("server_error", "The server could not handle this frame.", ref)
            return
        if reply is not None:
            await self.send_event(event, reply, ref)

    async def realtime_event(self, message):
        if message.get("exclude_user_id") == self.user.pk:
            return
        if not await apply_socket_effect(self, message["event"], message["data"]):
            return
        if not self.queue_frame({"event": message["event"], "data": message["data"]}):
            await self.close_too_slow()


# The largest id a row can have (BigAutoField); SQLite cannot even bind a larger number as a parameter.
MAX_ID = 2**63 - 1


def require_int(data: dict, field: str) -> int:
    value = data.get(field)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise Invalid(f"{field} must be a positive integer.", field=field)
    return value

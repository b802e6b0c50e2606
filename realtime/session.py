"""The socket session every transport shares: who is connected, the groups joined, the bounded outbox,
client events routed to the handler registry, pushed events with their socket effects, and the close.

Three transports drive it: ``/ws/`` JSON frames (``realtime.consumers``), and Socket.IO over a
WebSocket or over HTTP long-polling (``realtime.socketio``). A transport supplies only what differs:
``admit``/``refuse`` (what accepting or refusing a session looks like on its wire), ``frame_for``,
``send_reply``/``send_error`` (how an event, a reply and an error are encoded), ``write_frame`` (how one
queued frame reaches the client) and ``close_transport``. The handlers registered in
``realtime.handlers`` get the session and use ``user``, ``joined_groups``, ``join_group``,
``leave_group``, ``send_event``, ``typing_forwarded_at``, ``channel_layer`` and ``close_socket``.

Outgoing frames wait in a bounded per-session queue (the outbox). A push that finds it full closes the
session as too slow (the client catches up on reconnect); a reply waits for room, slowing only its own
request. The writer runs while the outbox has frames: an idle session holds no task.
"""

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from autobahn.exception import Disconnected as DaphneDisconnected
from channels.exceptions import StopConsumer
from django.conf import settings

from kernel.errors import DomainError, ServerError, UnknownEvent
from realtime.admission import delivery_lag
from realtime.events import user_group
from realtime.handlers import handler_for
from realtime.publish import EVENT_MESSAGE_TYPE
from realtime.signals import socket_closed, socket_opened
from realtime.socket_slots import CLOSE_TOO_MANY_SOCKETS, close_reason, socket_slot_give_back, socket_slot_take

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_AUTH_EXPIRED = 4403
CLOSE_TOO_SLOW = 4408
CLOSE_TOO_SLOW_REASON = "too slow: reconnect and join with after"

# What a socket does on a pushed event, registered by the apps' socket_handlers modules. It lives with the
# session that runs it, so a pushed event goes from the layer to the frame within this one module.
SocketEffect = Callable[..., Awaitable[None]]
_effects: dict[str, tuple[SocketEffect, bool]] = {}


def socket_effect(event: str, *, forward: bool = True) -> Callable[[SocketEffect], SocketEffect]:
    """Run ``func(consumer, data)`` on every socket a pushed ``event`` reaches, before forwarding it: how
    the server changes a live socket's state, e.g. makes it leave a group its user was removed from. An
    effect that closes the socket ends it there, and the event is not forwarded; with ``forward=False``
    it is never forwarded (an event meant for the server's side of the socket only)."""

    def register(func: SocketEffect) -> SocketEffect:
        if event in _effects:
            raise RuntimeError(f"Pushed event {event!r} already has an effect")
        _effects[event] = (func, forward)
        return func

    return register


async def apply_socket_effect(consumer, event: str, data: dict) -> bool:
    """Run the event's effect, if it has one; False if the event is not to be forwarded to the client."""
    effect, forward = _effects.get(event, (None, True))
    if effect is not None:
        await effect(consumer, data)
    return forward


class PushesOnTheLoop:
    """Pushes dispatched without Channels' hop to a thread before each.

    Channels' ``AsyncConsumer.dispatch`` runs ``close_old_connections`` on a thread before each handler, as Django
    does around a request: one hop per push on every socket the push reaches. A session reaches the database only
    through ``database_sync_to_async``, which closes stale connections around each call itself (and
    ``CONN_MAX_AGE`` is 0), so that hop found nothing to close. The transport's own messages (connect, client
    frames, disconnect) keep Channels' dispatch: they come per socket and per client frame, not per push, and a
    refusal at connect answered sooner raced a flooding client's first frame into a reset (the socket-cap flood
    test). Listed before the Channels consumer class."""

    async def dispatch(self, message):
        if message["type"] != EVENT_MESSAGE_TYPE:
            await super().dispatch(message)
            return
        await self.realtime_event(message)


class SocketSession:
    """The transport-neutral half of a socket. The transport sets ``scope``, ``channel_layer`` and
    ``channel_name`` (the channel its groups deliver to) and calls ``start_outbox`` before anything else."""

    scope: dict[str, Any]
    channel_layer: Any
    channel_name: str

    def start_outbox(self) -> None:
        self.outbox: collections.deque = collections.deque()
        self.writer: asyncio.Task | None = None
        # What a reply waiting for room in the outbox awaits; resolved as the writer takes a frame.
        self.outbox_room: asyncio.Future | None = None

    async def connect(self):
        self.user = self.scope.get("user")
        self.joined_groups: set[str] = set()
        # conversation id -> (last forwarded isTyping, monotonic time of it); see messaging.socket_handlers.typing
        self.typing_forwarded_at: dict[int, tuple[bool, float]] = {}
        self.auth_expires_at = self.scope.get("auth_expires_at")
        self.auth_expiry_timer: asyncio.Task | None = None
        if not self.authenticated:
            await self.refuse(CLOSE_UNAUTHENTICATED)
            return
        if not await socket_slot_take(self.user.pk, self.channel_name):
            await self.admit()
            await self.close_socket(CLOSE_TOO_MANY_SOCKETS, close_reason())
        # The personal group is joined before the client hears it is connected: a deactivation or logout
        # published once the client knows reaches this session (pushes wait in the channel until connect ends).
        await self.join_group(user_group(self.user.pk))
        await self.admit()
        await socket_opened.asend_robust(sender=type(self), user_id=self.user.pk, channel_name=self.channel_name)
        if self.auth_expires_at is not None:
            self.auth_expiry_timer = asyncio.create_task(self.expire_with_credential())

    async def disconnect(self, code):
        if getattr(self, "auth_expiry_timer", None) is not None:
            self.auth_expiry_timer.cancel()
        for group in list(getattr(self, "joined_groups", ())):
            await self.leave_group(group)
        self.release_channel()
        await socket_slot_give_back(self.channel_name)
        await socket_closed.asend_robust(sender=type(self), channel_name=self.channel_name)

    def release_channel(self) -> None:
        """Have the channel layer drop what is queued for this session's channel and what comes later."""
        self.channel_layer.discard_channel(self.channel_name)

    # What the transport supplies.

    async def admit(self) -> None:
        raise NotImplementedError

    async def refuse(self, code: int) -> None:
        raise NotImplementedError

    def frame_for(self, event: str, data: dict, ref=None):
        """The outbox item that carries ``event`` (a reply to the client's ``ref`` if given)."""
        raise NotImplementedError

    async def write_frame(self, frame) -> None:
        raise NotImplementedError

    async def close_transport(self, code: int, reason: str | None) -> None:
        raise NotImplementedError

    async def send_reply(self, event: str, reply: dict | None, ref) -> None:
        if reply is not None:
            await self.send_event(event, reply, ref)

    async def send_error(self, error: DomainError, ref=None) -> None:
        raise NotImplementedError

    # The outbox.

    def queue_frame(self, frame) -> bool:
        """Hand ``frame`` to the writer; False if the outbox has no room for it."""
        if len(self.outbox) >= settings.SOCKET_SEND_QUEUE_MAX:
            return False
        self.outbox.append(frame)
        self.frames_queued()
        return True

    def frames_queued(self) -> None:
        """Start the writer if it is not running (a transport that is read by polling overrides this)."""
        if self.writer is None:
            self.writer = asyncio.create_task(self.write_frames())

    def take_frame(self):
        frame = self.outbox.popleft()
        if self.outbox_room is not None and not self.outbox_room.done():
            self.outbox_room.set_result(None)
        return frame

    async def write_frames(self) -> None:
        try:
            while self.outbox:
                await self.write_frame(self.take_frame())
        except (OSError, DaphneDisconnected):
            pass  # the client went away (uvicorn's ClientDisconnected is an OSError); its disconnect cleans up
        finally:
            self.writer = None

    async def stop_writer(self) -> None:
        """Frames still queued are dropped: every way here ends the session."""
        self.outbox.clear()
        if self.writer is None:
            return
        self.writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.writer

    async def send_event(self, event: str, data: dict, ref=None) -> None:
        """Queue a reply (or a replayed frame): it waits for room, which slows only this socket's own request."""
        await self.queue_when_room(self.frame_for(event, data, ref))

    async def queue_when_room(self, frame) -> None:
        try:
            async with asyncio.timeout(settings.SOCKET_STALL_SECONDS):
                while not self.queue_frame(frame):
                    self.outbox_room = asyncio.get_running_loop().create_future()
                    await self.outbox_room
        except TimeoutError:
            await self.close_too_slow()

    # Closing.

    async def end_session(self, code: int, reason: str | None = None) -> None:
        """Drop queued frames, leave the groups, and close the transport with ``code``.

        Groups are left first: while the close waits, nothing more is queued for the session in the
        channel layer, and a client that reads nothing never answers with the disconnect that would
        leave them otherwise.
        """
        await self.stop_writer()
        await self.disconnect(code)
        try:
            # On uvicorn the close frame too waits until the transport drains what the client left unread.
            async with asyncio.timeout(settings.SOCKET_STALL_SECONDS):
                await self.close_transport(code, reason)
        except TimeoutError:
            logger.info("the socket of user %s did not take its close frame (%s)", getattr(self.user, "pk", None), code)

    async def close_socket(self, code: int, reason: str | None = None) -> None:
        """Close with ``code`` and end the consumer (from its own dispatch: handlers, effects, receive)."""
        await self.end_session(code, reason)
        raise StopConsumer

    async def expire_with_credential(self) -> None:
        """An idle session too closes when its credential expires: the timer posts to the session's own
        channel, so the close runs in the session between its other events, on every transport."""
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

    # Groups, client events, pushed events.

    async def join_group(self, group: str) -> None:
        await self.channel_layer.group_add(group, self.channel_name)
        self.joined_groups.add(group)

    async def leave_group(self, group: str) -> None:
        await self.channel_layer.group_discard(group, self.channel_name)
        self.joined_groups.discard(group)

    @property
    def authenticated(self) -> bool:
        return getattr(self, "user", None) is not None and self.user.is_authenticated

    async def close_if_auth_expired(self) -> None:
        if self.auth_expires_at is not None and time.time() >= self.auth_expires_at:
            await self.close_socket(CLOSE_AUTH_EXPIRED)

    async def dispatch_event(self, event: str, data: dict, ref=None) -> None:
        """Run the handler registered for a client ``event``; its reply or error goes back tagged ``ref``."""
        handler = handler_for(event)
        if handler is None:
            await self.send_error(UnknownEvent(f"Unknown event {event[:64]!r}."), ref)
            return
        try:
            reply = await handler(self, data)
        except DomainError as exc:
            await self.send_error(exc, ref)
            return
        except StopConsumer:
            raise
        except Exception:
            logger.exception("socket handler for %s failed", event)
            await self.send_error(ServerError("The server could not handle this frame."), ref)
            return
        await self.send_reply(event, reply, ref)

    async def realtime_event(self, message):
        if "published_at" in message:  # absent only from a push published by a process of an older release
            delivery_lag.observe(message["published_at"])
        if not self.authenticated or message.get("exclude_user_id") == self.user.pk:
            return
        if not await apply_socket_effect(self, message["event"], message["data"]):
            return
        if not self.queue_frame(self.frame_for(message["event"], message["data"])):
            await self.close_too_slow()

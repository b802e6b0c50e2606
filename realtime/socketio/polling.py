"""Socket.IO over HTTP long-polling, and its upgrade to a WebSocket, across server processes.

``make serve`` runs several processes on one port with no sticky routing, so the successive requests of
one session land anywhere. The session therefore lives in one place, the process that answered its
handshake: a ``PollingSession`` task (the owner) with a channel-layer channel of its own, to which its
groups deliver like a consumer's. The cache maps the Engine.IO ``sid`` to that channel for as long as the
session lives (``pingInterval + pingTimeout``, renewed by each pong, deleted at the end), so a request for
an ended session is refused at once. Every request is relayed to the owner through the channel layer,
on whichever process it lands, this one included:

- GET: ``socketio.poll`` with a reply channel. The owner answers with what its outbox holds, or holds
  the request until something is queued (its heartbeat pings every interval, so a GET always returns).
  A second GET while one waits gets 400 and ends the session, as the protocol says.
- POST: ``socketio.post`` with the body; the owner answers once its packets are handled, so a client's
  POSTs, which it sends one at a time, are handled in order wherever they land.
- WebSocket upgrade (``UpgradeConsumer``): ``2probe`` becomes ``socketio.probe``. The owner answers a
  waiting GET (and any later one) with a noop, keeping its outbox, and replies ``3probe``. On ``5`` it
  switches its writer to the WebSocket: the outbox goes out in batches of ``socketio.packets`` that the
  WebSocket acknowledges once written, so the outbox stays the one bound of a slow client, and a packet
  is sent either in a GET response or on the WebSocket, never both and never neither.

The owner stays the session after the upgrade (its groups, handlers and outbox): moving it to the
WebSocket's process would need a hand-over during which pushes could be lost or doubled. The cost is one
channel-layer hop per packet; a client that starts with ``transports: ['websocket']`` has no relay at all.
"""

import asyncio
import base64
import json
import logging
import math
from urllib.parse import urlparse

from asgiref.sync import sync_to_async
from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.exceptions import ChannelFull, StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache

from accounts.models import User
from accounts.selectors import user_get_active
from accounts.socket_auth import SocketOriginValidator
from realtime.session import CLOSE_TOO_SLOW
from realtime.socketio import protocol
from realtime.socketio.consumers import engine_query, oversized
from realtime.socketio.session import CLOSE_NORMAL, CLOSE_PROTOCOL_ERROR, CLOSE_TOO_LARGE, SocketIOSession

logger = logging.getLogger(__name__)

# Engine.IO's HTTP error codes (the reference server's): the body is {"code", "message"} with status 400.
TRANSPORT_UNKNOWN = (0, "Transport unknown")
SESSION_UNKNOWN = (1, "Session ID unknown")
BAD_HANDSHAKE_METHOD = (2, "Bad handshake method")
BAD_REQUEST = (3, "Bad request")
FORBIDDEN = (4, "Forbidden")
PAYLOAD_TOO_LARGE = (3, "Payload too large")

# How long an ended session's owner still answers requests relayed to it (see refuse_late_requests).
ENDED_GRACE_SECONDS = 2.0

# Owner tasks of this process: the event loop keeps only weak references to tasks.
_owners: set[asyncio.Task] = set()


def _sid_key(sid: str) -> str:
    return f"socketio:sid:{sid}"


def session_lifetime() -> float:
    return settings.SOCKETIO_PING_INTERVAL_SECONDS + settings.SOCKETIO_PING_TIMEOUT_SECONDS


@sync_to_async(thread_sensitive=False)
def _remember_owner(sid: str, channel: str) -> None:
    # Whole seconds (the Redis cache truncates); a key outliving a crashed owner only delays the 400 of a relay.
    cache.set(_sid_key(sid), channel, timeout=math.ceil(session_lifetime()))


@sync_to_async(thread_sensitive=False)
def _forget_owner(sid: str) -> None:
    try:
        cache.delete(_sid_key(sid))
    except Exception:
        logger.warning("could not forget Socket.IO session %s; it expires by itself", sid[:4], exc_info=True)


@sync_to_async(thread_sensitive=False)
def owner_channel(sid: str) -> str | None:
    """The channel of the session ``sid``'s owner, or None once it has ended (or the cache is away)."""
    try:
        return cache.get(_sid_key(sid))
    except Exception:
        logger.warning("could not look up a Socket.IO session", exc_info=True)
        return None


@database_sync_to_async
def _active_user(user_id: int | None) -> User | AnonymousUser:
    return user_get_active(user_id=user_id) or AnonymousUser()


def _request_credential(scope) -> dict:
    """What the socket middleware found on a request, in a form the channel layer can carry."""
    user = scope.get("user")
    return {
        "user_id": user.pk if user is not None and user.is_authenticated else None,
        "auth_method": scope.get("auth_method"),
        "auth_expires_at": scope.get("auth_expires_at"),
    }


class PollingSession(SocketIOSession):
    """The owner of a long-polling session: its own channel, read by ``run`` until the session ends."""

    def __init__(self, scope, channel_layer):
        self.scope = scope
        self.channel_layer = channel_layer
        self.start_outbox()
        self.pending_get: str | None = None  # the reply channel of a GET waiting for packets
        self.post_reply: str | None = None  # the reply channel of the POST being handled
        self.post_credential: dict = {}  # what the socket middleware found on that POST
        self.relay: str | None = None  # the WebSocket that may take the session over (one at a time)
        self.probed = False  # the relay has probed: GETs get a noop while the client pauses polling
        self.upgraded = False  # the relay carries the session
        self.relay_wrote: asyncio.Future | None = None
        self.inbox: asyncio.Queue = asyncio.Queue()
        self.messages_waiting = 0  # channel-layer messages in the inbox, behind a handler that may wait for the client
        self.run_task: asyncio.Task | None = None
        self.ended = False

    async def open(self) -> str:
        """Start the session and return the handshake packet."""
        self.channel_name = await self.channel_layer.new_channel()
        self.start_engine()
        await _remember_owner(self.sid, self.channel_name)
        self.run_task = asyncio.create_task(self.run())
        _owners.add(self.run_task)
        self.run_task.add_done_callback(_owners.discard)
        return self.open_packet(upgrades=["websocket"])

    async def run(self) -> None:
        inbox_task = asyncio.create_task(self.handle_inbox())
        try:
            while not self.ended:
                message = await self.channel_layer.receive(self.channel_name)
                handler = self.transport_handlers.get(message.get("type"))
                if handler is not None:
                    await handler(self, message)
                else:
                    await self.message_received(message)
        except (StopConsumer, asyncio.CancelledError):
            pass
        except Exception:
            logger.exception("Socket.IO session of user %s failed", getattr(getattr(self, "user", None), "pk", None))
            await self.end_session(CLOSE_PROTOCOL_ERROR)
        finally:
            inbox_task.cancel()
            if not self.ended:  # cancelled from outside (a server shutting down)
                await self.end_session(CLOSE_NORMAL)
            await self.stop_engine()
            await self.stop_writer()
        await self.refuse_late_requests()

    async def refuse_late_requests(self) -> None:
        """A request relayed by a process that looked the owner up just before the session was forgotten
        still comes here: it is answered 400 (unknown session) at once instead of waiting out the session's
        lifetime for an answer nobody would send. Only then is the channel released."""
        try:
            async with asyncio.timeout(ENDED_GRACE_SECONDS):
                while True:
                    message = await self.channel_layer.receive(self.channel_name)
                    if "reply" in message:
                        await self.answer(message["reply"], status=400, error=SESSION_UNKNOWN)
        except (TimeoutError, asyncio.CancelledError):
            pass
        finally:
            super().release_channel()

    def release_channel(self) -> None:
        """Kept until ``refuse_late_requests`` has answered what was relayed to the ended session."""

    async def handle_inbox(self) -> None:
        """Client packets and channel-layer messages (pushed events, and whatever else the session core
        handles), one at a time and in order, each by the method its type names, as a consumer does."""
        try:
            while True:
                kind, item = await self.inbox.get()
                if kind == "packet":
                    try:
                        await self.receive_engine_packet(item)
                    except protocol.ProtocolError:
                        await self.answer(self.post_reply, status=400, error=BAD_REQUEST)
                        self.post_reply = None
                        await self.close_socket(CLOSE_PROTOCOL_ERROR)
                elif kind == "message":
                    self.messages_waiting -= 1
                    handler = getattr(self, get_handler_name(item), None)
                    if handler is not None:
                        await handler(item)
                elif kind == "posted":
                    await self.answer(self.post_reply, body="ok")
                    self.post_reply = None
        except StopConsumer:
            pass  # the session ended (close_engine answered the POST)

    async def answer(self, reply: str | None, *, status: int = 200, body: str = "", error=None) -> None:
        """Send the response of a relayed request to the process holding it."""
        if reply is None:
            return
        if error is not None:
            body = json.dumps({"code": error[0], "message": error[1]})
        try:
            await self.channel_layer.send(reply, {"type": "socketio.response", "status": status, "body": body})
        except ChannelFull:
            logger.warning("a Socket.IO response found its request's channel full")

    # Messages on the owner's channel.

    async def message_received(self, message) -> None:
        """Messages waiting behind a handler count against the outbox's bound, as pushes would wait in a
        consumer's channel: a session whose client stopped polling in the middle of a join replay holds
        no more than that."""
        if self.messages_waiting + len(self.outbox) >= settings.SOCKET_SEND_QUEUE_MAX:
            await self.close_too_slow()
        self.messages_waiting += 1
        self.inbox.put_nowait(("message", message))

    async def socketio_poll(self, message) -> None:
        if self.upgraded:
            await self.answer(message["reply"], status=400, error=SESSION_UNKNOWN)
        elif self.pending_get is not None:
            duplicate, self.pending_get = self.pending_get, None
            await self.answer(duplicate, body=protocol.CLOSE)
            await self.answer(message["reply"], status=400, error=BAD_REQUEST)
            await self.close_socket(CLOSE_PROTOCOL_ERROR)
        elif self.probed:
            await self.answer(message["reply"], body=protocol.NOOP)  # the client is upgrading: its packets wait
        else:
            self.pending_get = message["reply"]
            if self.outbox:
                self.frames_queued()

    async def socketio_post(self, message) -> None:
        if message["body"] is None:
            await self.answer(message["reply"], status=413, error=PAYLOAD_TOO_LARGE)
            await self.close_socket(CLOSE_TOO_LARGE)
        if self.upgraded:
            await self.answer(message["reply"], status=400, error=BAD_REQUEST)  # the WebSocket carries the session
            return
        try:
            if self.post_reply is not None:
                raise protocol.ProtocolError("one POST at a time")
            packets = [
                base64.b64decode(packet[1:], validate=True) if packet.startswith("b") else packet
                for packet in protocol.decode_payload(message["body"])
            ]
        except (protocol.ProtocolError, ValueError):
            await self.answer(message["reply"], status=400, error=BAD_REQUEST)
            await self.close_socket(CLOSE_PROTOCOL_ERROR)
        self.post_reply = message["reply"]
        self.post_credential = message["credential"]
        for packet in packets:
            await self.take_packet(packet)
        self.inbox.put_nowait(("posted", None))

    async def take_packet(self, packet: str | bytes) -> None:
        """A pong counts at once, even behind a slow handler; everything else waits its turn."""
        if packet == protocol.PONG:
            await self.pong_received()
        else:
            self.inbox.put_nowait(("packet", packet))

    async def socketio_attach(self, message) -> None:
        """A WebSocket with this sid opened; a second one while another may take over is closed."""
        if self.relay is not None:
            await self.channel_layer.send(
                message["relay"], {"type": "socketio.close", "code": CLOSE_NORMAL, "packets": []}
            )
        else:
            self.relay = message["relay"]

    async def socketio_probe(self, message) -> None:
        if message["relay"] != self.relay:
            return
        self.probed = True
        if self.pending_get is not None:
            waiting, self.pending_get = self.pending_get, None
            await self.answer(waiting, body=protocol.NOOP)
        await self.to_relay([protocol.PONG + protocol.PROBE])

    async def socketio_upgrade(self, message) -> None:
        if message["relay"] != self.relay:
            return
        self.upgraded = True
        if self.outbox:
            self.frames_queued()

    async def socketio_received(self, message) -> None:
        """Packets the client sent on the upgraded WebSocket."""
        if self.upgraded and message["relay"] == self.relay:
            for packet in message["packets"]:
                await self.take_packet(packet)

    async def socketio_written(self, message) -> None:
        if self.relay_wrote is not None and not self.relay_wrote.done():
            self.relay_wrote.set_result(None)

    async def socketio_relay_closed(self, message) -> None:
        if message["relay"] != self.relay:
            return
        self.relay = None  # gone: nothing to tell it
        if self.upgraded:
            await self.close_socket(CLOSE_NORMAL)
        self.probed = False  # a probe that came to nothing: polling goes on

    # The writer: a waiting GET, or the upgraded WebSocket.

    def frames_queued(self) -> None:
        if self.writer is None and (self.upgraded or (self.pending_get is not None and not self.probed)):
            self.writer = asyncio.create_task(self.write_frames())

    async def write_frames(self) -> None:
        try:
            if self.upgraded:
                while self.outbox:
                    batch = [self.take_frame() for _ in range(len(self.outbox))]
                    self.relay_wrote = asyncio.get_running_loop().create_future()
                    await self.to_relay(batch)
                    async with asyncio.timeout(settings.SOCKET_STALL_SECONDS):
                        await self.relay_wrote
            elif self.pending_get is not None:
                reply, self.pending_get = self.pending_get, None
                batch = [self.take_frame() for _ in range(len(self.outbox))]
                await self.answer(reply, body=protocol.encode_payload(batch))
        except (ChannelFull, TimeoutError):
            self.writer = None  # end_session must not wait for this very task
            await self.end_session(CLOSE_TOO_SLOW)
        finally:
            self.writer = None

    async def to_relay(self, packets: list[str]) -> None:
        await self.channel_layer.send(self.relay, {"type": "socketio.packets", "packets": packets})

    async def request_credential(self) -> dict:
        """A CONNECT comes in a POST, which may land on any process: the session cookie (or header) that
        counts is the one of that POST, checked there by the socket middleware (Origin rule included), not
        the handshake's. A same-origin page's GET carries no Origin; its POSTs always do."""
        credential = dict(self.post_credential)
        credential["user"] = await _active_user(credential.pop("user_id", None))
        return credential

    async def pong_received(self) -> None:
        await super().pong_received()
        await _remember_owner(self.sid, self.channel_name)

    async def close_engine(self, code: int, reason: str | None, farewell: list[str]) -> None:
        self.ended = True
        await _forget_owner(self.sid)
        await self.answer(self.post_reply, body="ok")
        self.post_reply = None
        if self.upgraded and self.relay is not None:
            await self.channel_layer.send(self.relay, {"type": "socketio.close", "code": code, "packets": farewell})
        elif self.pending_get is not None:
            waiting, self.pending_get = self.pending_get, None
            # The client's own close packet ends its poll with a noop; any other end tells it the session closed.
            last = protocol.NOOP if code == CLOSE_NORMAL else protocol.CLOSE
            await self.answer(waiting, body=protocol.encode_payload([*farewell, last]))
        if self.run_task is not None and self.run_task is not asyncio.current_task():
            self.run_task.cancel()

    # The transport's own messages, handled at once; any other goes through the inbox (message_received).
    transport_handlers = {
        "socketio.poll": socketio_poll,
        "socketio.post": socketio_post,
        "socketio.attach": socketio_attach,
        "socketio.probe": socketio_probe,
        "socketio.upgrade": socketio_upgrade,
        "socketio.received": socketio_received,
        "socketio.written": socketio_written,
        "socketio.relay_closed": socketio_relay_closed,
    }


class UpgradeConsumer(AsyncWebsocketConsumer):
    """The WebSocket of an upgrading long-polling session: a relay between the client and the owner."""

    async def websocket_connect(self, message):
        query = engine_query(self.scope)
        self.owner = await owner_channel(query["sid"]) if query and query["transport"] == "websocket" else None
        self.state = "opened"
        if self.owner is None:
            await self.close()
            return
        await self.accept()
        await self.to_owner("socketio.attach")

    async def receive(self, text_data=None, bytes_data=None):
        packet = text_data if text_data is not None else bytes_data
        if oversized(packet):
            await self.close(code=CLOSE_TOO_LARGE)
        elif self.state == "opened" and packet == protocol.PING + protocol.PROBE:
            self.state = "probing"
            await self.to_owner("socketio.probe")
        elif self.state == "probing" and packet == protocol.UPGRADE:
            self.state = "upgraded"
            await self.to_owner("socketio.upgrade")
        elif self.state == "upgraded":
            await self.to_owner("socketio.received", packets=[packet])
        else:
            await self.close(code=CLOSE_PROTOCOL_ERROR)

    async def to_owner(self, kind: str, **fields) -> None:
        await self.channel_layer.send(self.owner, {"type": kind, "relay": self.channel_name, **fields})

    async def socketio_packets(self, message) -> None:
        for packet in message["packets"]:
            await self.send(text_data=packet)
        await self.to_owner("socketio.written")

    async def socketio_close(self, message) -> None:
        for packet in message["packets"]:
            await self.send(text_data=packet)
        self.state = "closed"
        await self.close(code=message["code"])

    async def disconnect(self, code):
        if self.state in ("probing", "upgraded"):
            await self.to_owner("socketio.relay_closed")


# Checks an Origin against ALLOWED_HOSTS, as the /ws/ handshake does; it holds no state of its own.
ORIGIN_VALIDATOR = SocketOriginValidator(None)


def _origin(scope) -> tuple[bool, bytes | None]:
    """Whether the request may go on, and the Origin to allow it for (CORS). A browser's request from
    another site carries its Origin, which must be an allowed host as on ``/ws/``. Browsers leave Origin
    out of a same-origin GET, and other clients carry no session cookie to abuse."""
    for name, value in scope.get("headers", []):
        if name == b"origin":
            return ORIGIN_VALIDATOR.valid_origin(urlparse(value.decode("latin-1"))), value
    return True, None


async def socketio_polling(scope, receive, send):
    """An HTTP request on ``/socket.io/``: the handshake, or a GET/POST relayed to the session's owner.

    A page served from another allowed host (a frontend on its own domain) gets the CORS headers that let
    its socket.io-client read the answers and send its cookies."""
    allowed, origin = _origin(scope)
    headers = [(b"cache-control", b"no-store")]
    if allowed and origin is not None:
        headers += [
            (b"access-control-allow-origin", origin),
            (b"access-control-allow-credentials", b"true"),
            (b"vary", b"Origin"),
        ]
    if not allowed:
        response = _refused(FORBIDDEN, 403)
    elif scope["method"] == "OPTIONS":
        headers += [
            (b"access-control-allow-methods", b"GET, POST"),
            (b"access-control-allow-headers", b"Content-Type, Authorization"),
        ]
        response = 204, "", b"text/plain"
    else:
        response = await _polling_response(scope, receive)
        if response is None:
            return  # the client went away before its request was complete
    status, body, content_type = response
    await send(
        {"type": "http.response.start", "status": status, "headers": [(b"content-type", content_type), *headers]}
    )
    await send({"type": "http.response.body", "body": body.encode()})


def _refused(error, status=400) -> tuple[int, str, bytes]:
    return status, json.dumps({"code": error[0], "message": error[1]}), b"application/json"


async def _polling_response(scope, receive) -> tuple[int, str, bytes] | None:
    text = b"text/plain; charset=UTF-8"
    query = engine_query(scope)
    if query is None or query["transport"] != "polling":
        return _refused(TRANSPORT_UNKNOWN)
    method, layer = scope["method"], get_channel_layer()
    if "sid" not in query:
        if method != "GET":
            return _refused(BAD_HANDSHAKE_METHOD)
        return 200, await PollingSession(scope, layer).open(), text
    if method not in ("GET", "POST"):
        return _refused(BAD_REQUEST)
    try:
        body = await _read_body(receive)
    except ConnectionAbortedError:
        return None
    owner = await owner_channel(query["sid"])
    if owner is None:
        return _refused(SESSION_UNKNOWN)
    reply = await layer.new_channel()
    if method == "GET":
        await layer.send(owner, {"type": "socketio.poll", "reply": reply})
    else:
        text_body = None if body is None else body.decode(errors="replace")  # None: past maxPayload
        await layer.send(
            owner,
            {"type": "socketio.post", "reply": reply, "body": text_body, "credential": _request_credential(scope)},
        )
    try:
        # The owner answers a GET within a ping interval; past the session's lifetime it is gone.
        async with asyncio.timeout(session_lifetime() + settings.SOCKET_STALL_SECONDS):
            response = await layer.receive(reply)
    except TimeoutError:
        return _refused(SESSION_UNKNOWN)
    return response["status"], response["body"], text if response["status"] == 200 else b"application/json"


async def _read_body(receive) -> bytes | None:
    """The request's body, or None past ``maxPayload``."""
    body = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ConnectionAbortedError
        body += message.get("body", b"")
        if len(body) > settings.WS_MAX_FRAME_BYTES:
            return None
        if not message.get("more_body"):
            return body

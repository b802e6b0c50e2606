"""Sockets on the real ASGI application, opened as a persona, and the frames they read."""

from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client
from rest_framework_simplejwt.tokens import AccessToken

from config.asgi import application
from realtime.session import CLOSE_TOO_SLOW, CLOSE_TOO_SLOW_REASON

ALLOWED_ORIGIN = (b"origin", b"http://localhost")
HOST = (b"host", b"localhost")
FRAME_TIMEOUT = 3.0


def bearer(user) -> tuple[bytes, bytes]:
    return (b"authorization", f"Bearer {AccessToken.for_user(user)}".encode())


def signed_in_browser(user) -> Client:
    """A browser holding a session of ``user``, as the login page leaves it."""
    browser = Client()
    browser.force_login(user)
    return browser


def session_cookie(browser: Client) -> tuple[bytes, bytes]:
    return (b"cookie", f"{settings.SESSION_COOKIE_NAME}={browser.cookies[settings.SESSION_COOKIE_NAME].value}".encode())


def socket(*headers: tuple[bytes, bytes], path: str = "/ws/", origin=ALLOWED_ORIGIN) -> WebsocketCommunicator:
    return WebsocketCommunicator(application, path, headers=[origin, HOST, *headers])


async def connect_as(user) -> WebsocketCommunicator:
    """A socket authenticated with the user's JWT, connected and accepted."""
    communicator = socket(bearer(user))
    connected, _ = await communicator.connect(timeout=FRAME_TIMEOUT)
    assert connected
    return communicator


# A socket hears a peer's presence:update whenever the peer's first socket opens or last one closes: tests of
# other events read past them (tests/realtime/test_presence.py reads them).
PRESENCE_UPDATE = "presence:update"


async def next_frame(communicator: WebsocketCommunicator) -> dict:
    """The next frame other than a peer's ``presence:update``."""
    while True:
        frame = await communicator.receive_json_from(timeout=FRAME_TIMEOUT)
        if frame.get("event") != PRESENCE_UPDATE:
            return frame


async def next_output(communicator: WebsocketCommunicator) -> dict:
    """The next ASGI message the socket sent, other than a peer's ``presence:update`` frame."""
    while True:
        output = await communicator.receive_output(timeout=FRAME_TIMEOUT)
        if not is_presence_update(output):
            return output


def is_presence_update(output: dict) -> bool:
    text = output.get("text")
    return output["type"] == "websocket.send" and text is not None and PRESENCE_UPDATE in text[:40]


async def request(communicator: WebsocketCommunicator, event: str, data: dict, ref: str = "r1") -> dict:
    """Send a frame with a ``ref`` and return the next frame, which answers it."""
    await communicator.send_json_to({"event": event, "data": data, "ref": ref})
    return await next_frame(communicator)


async def join(communicator: WebsocketCommunicator, conversation_id: int, **extra) -> dict:
    reply = await request(communicator, "join", {"conversationId": conversation_id, **extra}, ref="join")
    assert reply["event"] == "join", reply
    return reply


async def assert_closed_with(communicator: WebsocketCommunicator, code: int) -> None:
    output = await next_output(communicator)
    assert output == {"type": "websocket.close", "code": code}
    # A real client answers the close; until it does the consumer still listens on the channel layer.
    await communicator.disconnect()


async def assert_closed_too_slow(communicator: WebsocketCommunicator) -> None:
    """The socket was closed with 4408 and the reason that tells the client to catch up."""
    output = await next_output(communicator)
    assert output == {"type": "websocket.close", "code": CLOSE_TOO_SLOW, "reason": CLOSE_TOO_SLOW_REASON}
    await communicator.disconnect()


async def assert_no_frame(communicator: WebsocketCommunicator, timeout: float = 0.3) -> None:
    """Nothing but peers' ``presence:update`` frames arrives within ``timeout``."""
    while not await communicator.receive_nothing(timeout=timeout):
        output = await communicator.receive_output()
        assert is_presence_update(output), f"expected no frame, got {output}"

"""Raw Engine.IO / Socket.IO frames on the real ASGI application: what socket.io-client sends and reads."""

import json

from channels.db import database_sync_to_async
from channels.testing import HttpCommunicator, WebsocketCommunicator
from django.conf import settings
from django.test import Client
from rest_framework_simplejwt.tokens import AccessToken

from config.asgi import application
from tests.realtime.sockets import ALLOWED_ORIGIN, FRAME_TIMEOUT, HOST, PRESENCE_UPDATE

WEBSOCKET_PATH = "/socket.io/?EIO=4&transport=websocket"
POLLING_PATH = "/socket.io/?EIO=4&transport=polling"


def sio_websocket(*headers: tuple[bytes, bytes], path: str = WEBSOCKET_PATH) -> WebsocketCommunicator:
    return WebsocketCommunicator(application, path, headers=[ALLOWED_ORIGIN, HOST, *headers])


async def next_packet(communicator: WebsocketCommunicator) -> str:
    """The next Engine.IO packet the server wrote on a WebSocket, other than a peer's ``presence:update``
    (tests/realtime/sockets.py says why)."""
    while True:
        packet = await communicator.receive_from(timeout=FRAME_TIMEOUT)
        if not packet.startswith(f'42["{PRESENCE_UPDATE}"'):
            return packet


async def open_engine(communicator: WebsocketCommunicator) -> dict:
    """Connect the WebSocket and return the Engine.IO handshake (the ``open`` packet's data)."""
    connected, _ = await communicator.connect(timeout=FRAME_TIMEOUT)
    assert connected
    packet = await next_packet(communicator)
    assert packet.startswith("0"), packet
    return json.loads(packet[1:])


def connect_packet(auth: dict | None = None) -> str:
    return "40" + (json.dumps(auth) if auth is not None else "")


def token_auth(user) -> dict:
    return {"token": str(AccessToken.for_user(user))}


async def sio_connected_as(user) -> WebsocketCommunicator:
    """A WebSocket-only Socket.IO session connected to ``/`` with the user's JWT in the CONNECT auth."""
    communicator = sio_websocket()
    await open_engine(communicator)
    await communicator.send_to(text_data=connect_packet(token_auth(user)))
    reply = await next_packet(communicator)
    assert reply.startswith("40{"), reply
    return communicator


def emit_packet(event: str, data: dict | None = None, ack_id: int | None = None) -> str:
    args = [event] if data is None else [event, data]
    return "42" + ("" if ack_id is None else str(ack_id)) + json.dumps(args)


def decode_event(packet: str) -> tuple[str, dict]:
    """``42["name",data]`` as (name, data)."""
    assert packet.startswith("42["), packet
    name, data = json.loads(packet[2:])
    return name, data


def decode_ack(packet: str, ack_id: int) -> list:
    prefix = f"43{ack_id}"
    assert packet.startswith(prefix + "["), packet
    return json.loads(packet[len(prefix) :])


def session_cookie(user) -> tuple[bytes, bytes]:
    browser = Client()
    browser.force_login(user)
    return (b"cookie", f"{settings.SESSION_COOKIE_NAME}={browser.cookies[settings.SESSION_COOKIE_NAME].value}".encode())


session_cookie_async = database_sync_to_async(session_cookie)


async def http(
    method: str, path: str, body: bytes = b"", *headers: tuple[bytes, bytes], timeout=FRAME_TIMEOUT
) -> tuple[int, str]:
    """One long-polling request: (status, body text)."""
    communicator = HttpCommunicator(application, method, path, body=body, headers=[HOST, *headers])
    response = await communicator.get_response(timeout=timeout)
    return response["status"], response["body"].decode()


async def handshake() -> tuple[str, dict]:
    status, body = await http("GET", POLLING_PATH)
    assert status == 200 and body.startswith("0"), (status, body)
    opened = json.loads(body[1:])
    return f"{POLLING_PATH}&sid={opened['sid']}", opened


async def post(path: str, body: str, *headers) -> tuple[int, str]:
    return await http("POST", path, body.encode(), *headers)


async def connected_session(user) -> str:
    """A polling session connected to ``/`` with the user's JWT; returns its request path."""
    path, _ = await handshake()
    assert await post(path, connect_packet(token_auth(user))) == (200, "ok")
    status, body = await http("GET", path)
    assert status == 200 and body.startswith("40{"), body
    return path


async def close(path: str) -> None:
    assert await post(path, "1") == (200, "ok")

"""Two real daphne processes on one PostgreSQL and one Redis: events cross between them."""

import asyncio
import json
import os
import socket as sockets
import subprocess
import sys
import time
from urllib.parse import quote

import httpx
import pytest
from django.conf import settings
from rest_framework_simplejwt.tokens import AccessToken
from websockets.asyncio.client import connect as websocket_connect

from tests.conftest import requires_postgres

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

STARTUP_SECONDS = 30
FRAME_SECONDS = 10


def _free_port() -> int:
    with sockets.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _test_database_url() -> str:
    """The pytest test database (its NAME is the test one once django_db_setup has run)."""
    db = settings.DATABASES["default"]
    credentials = quote(db["USER"] or "") + (f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _wait_until_listening(process: subprocess.Popen, port: int, log_path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"daphne on port {port} exited with {process.returncode}:\n{log_path.read_text()}")
        try:
            with sockets.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"daphne on port {port} did not listen within {STARTUP_SECONDS} s:\n{log_path.read_text()}")


@pytest.fixture(scope="module")
def two_servers(django_db_setup, tmp_path_factory, request):
    """Addresses of two daphne processes sharing the test database and this run's Redis prefix."""
    requires_postgres()
    layer_config = settings.CHANNEL_LAYERS["default"].get("CONFIG", {})
    if not settings.REDIS_URL or "hosts" not in layer_config:
        if os.environ.get("CI") == "true":
            pytest.fail("CI must run with Redis (REDIS_URL)")
        pytest.skip("needs Redis: set REDIS_URL")
    env = {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "DB_CONN_MAX_AGE": "0",
        "REDIS_URL": settings.REDIS_URL,
        "CHANNEL_LAYER_PREFIX": layer_config["prefix"],
        "DEBUG": "true",
    }
    logs = tmp_path_factory.mktemp("daphne")
    servers: list[tuple[subprocess.Popen, int]] = []

    def stop_all():
        for process, _ in servers:
            process.terminate()
        for process, _ in servers:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    request.addfinalizer(stop_all)
    for number in (1, 2):
        port = _free_port()
        log_path = logs / f"daphne-{number}.log"
        process = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"],
            cwd=settings.BASE_DIR, env=env, stdout=log_path.open("w"), stderr=subprocess.STDOUT,
        )
        servers.append((process, port))
    for number, (process, port) in enumerate(servers, start=1):
        _wait_until_listening(process, port, logs / f"daphne-{number}.log")
    return [f"127.0.0.1:{port}" for _, port in servers]


def _bearer(user) -> dict:
    return {"Authorization": f"Bearer {AccessToken.for_user(user)}"}


def _socket(address: str, user):
    return websocket_connect(f"ws://{address}/ws/", origin=f"http://{address}", additional_headers=_bearer(user))


async def _next_frame(websocket) -> dict:
    return json.loads(await asyncio.wait_for(websocket.recv(), FRAME_SECONDS))


async def _join(websocket, conversation_id: int) -> None:
    await websocket.send(json.dumps({"event": "join", "data": {"conversationId": conversation_id}, "ref": "join"}))
    reply = await _next_frame(websocket)
    assert (reply["event"], reply.get("ref")) == ("join", "join"), reply


async def test_a_message_posted_to_one_process_reaches_a_socket_on_the_other(
    two_servers, client_user, provider, conversation
):
    first, second = two_servers
    async with _socket(first, provider) as bob:
        await _join(bob, conversation.pk)

        async with httpx.AsyncClient(base_url=f"http://{second}", timeout=FRAME_SECONDS) as http:
            response = await http.post(
                "/api/messages",
                json={"conversationId": conversation.pk, "content": "across the cluster"},
                headers=_bearer(client_user),
            )

        assert response.status_code == 201, response.text
        assert await _next_frame(bob) == {"event": "message:new", "data": response.json()}


async def test_typing_on_one_process_reaches_a_socket_on_the_other(two_servers, client_user, provider, conversation):
    first, second = two_servers
    async with _socket(first, provider) as bob, _socket(second, client_user) as alice:
        await _join(bob, conversation.pk)
        await _join(alice, conversation.pk)

        await alice.send(
            json.dumps({"event": "conversation:typing", "data": {"conversationId": conversation.pk, "isTyping": True}})
        )

        frame = await _next_frame(bob)
        assert frame["event"] == "conversation:typing"
        assert frame["data"] == {
            "conversationId": conversation.pk, "userId": client_user.pk, "username": "alice", "isTyping": True,
        }

"""Ending sessions across two uvicorn processes on PostgreSQL and Redis: a session's logout on one process
closes that session's sockets on both (cookie and ticket) and no other; a logout everywhere closes every
socket of the user on both; an idle JWT socket closes when its token expires. Prints the figures."""

import asyncio
import time
from datetime import timedelta

import httpx
import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from rest_framework_simplejwt.tokens import AccessToken
from websockets.asyncio.client import connect as websocket_connect

from realtime.consumers import CLOSE_AUTH_EXPIRED, CLOSE_UNAUTHENTICATED
from tests.conftest import requires_postgres
from tests.live import FRAME_SECONDS, bearer, join, open_socket, requires_redis
from tests.messaging.conftest import socket_thread_connections_closed  # noqa: F401
from tests.realtime.sockets import signed_in_browser

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SOCKETS_PER_KIND = 3  # on each of the two processes


@pytest.fixture
def two_servers(live_servers):
    requires_postgres()
    requires_redis()
    # One user holds 24 sockets here, past the default per-user cap.
    env = {"SOCKET_MAX_PER_USER": "100"}
    return [live_servers.start(kind="uvicorn", env=env), live_servers.start(kind="uvicorn", env=env)]


def _origin(server) -> str:
    return f"http://{server.url.removeprefix('http://')}"


def _open_with(server, *, headers: dict | None = None, path: str = ""):
    return websocket_connect(server.ws_url + path, origin=_origin(server), additional_headers=headers or {})


async def _csrf_session(server, session_key: str) -> httpx.AsyncClient:
    """An HTTP client holding the session cookie and a CSRF token, as the pages' browser does."""
    http = httpx.AsyncClient(
        base_url=server.url, timeout=FRAME_SECONDS, cookies={settings.SESSION_COOKIE_NAME: session_key}
    )
    await http.get("/login")
    http.headers["X-CSRFToken"] = http.cookies[settings.CSRF_COOKIE_NAME]
    return http


async def _closed_codes(sockets, since: float) -> tuple[list[int], float]:
    """Each socket's close code once closed, and the slowest close after ``since`` in ms."""
    await asyncio.wait_for(asyncio.gather(*(websocket.wait_closed() for websocket in sockets)), FRAME_SECONDS)
    return [websocket.close_code for websocket in sockets], (time.monotonic() - since) * 1000


async def _answers(websocket, conversation) -> bool:
    return (await join(websocket, conversation.pk))["data"]["conversationId"] == conversation.pk


async def test_a_session_logout_and_a_logout_everywhere_close_the_right_sockets_on_every_process(
    two_servers, client_user, provider, conversation
):
    first, second = two_servers
    session_a, session_b = [
        (await sync_to_async(signed_in_browser)(client_user)).cookies[settings.SESSION_COOKIE_NAME].value
        for _ in range(2)
    ]
    browser_a = await _csrf_session(first, session_a)
    sockets: dict[str, list] = {"session A": [], "ticket of A": [], "session B": [], "JWT": []}
    for server in (first, second):
        for _ in range(SOCKETS_PER_KIND):
            ticket = (await browser_a.post(f"{server.url}/api/auth/ws-ticket")).json()["ticket"]
            opened = {
                "session A": _open_with(server, headers={"Cookie": f"sessionid={session_a}"}),
                "ticket of A": _open_with(server, path=f"?ticket={ticket}"),
                "session B": _open_with(server, headers={"Cookie": f"sessionid={session_b}"}),
                "JWT": open_socket(server, client_user),
            }
            for kind, connecting in opened.items():
                sockets[kind].append(await connecting)
    bobs = await open_socket(second, provider)

    logout_at = time.monotonic()
    assert (await browser_a.post("/logout")).status_code == 302
    codes, slowest_ms = await _closed_codes(sockets["session A"] + sockets["ticket of A"], logout_at)

    assert codes == [CLOSE_UNAUTHENTICATED] * (4 * SOCKETS_PER_KIND)
    assert all([await _answers(websocket, conversation) for websocket in sockets["session B"] + sockets["JWT"]])
    print(
        f"session logout on process 1: {len(codes)} of {len(codes) + 4 * SOCKETS_PER_KIND} sockets of the user "
        f"closed (its cookie and ticket sockets on both processes), slowest {slowest_ms:.0f} ms after the request"
    )

    everywhere_at = time.monotonic()
    async with httpx.AsyncClient(base_url=second.url, timeout=FRAME_SECONDS) as http:
        response = await http.post("/api/auth/logout", json={"everywhere": True}, headers=bearer(client_user))
    assert response.status_code == 204
    codes, slowest_ms = await _closed_codes(sockets["session B"] + sockets["JWT"], everywhere_at)

    assert codes == [CLOSE_UNAUTHENTICATED] * (4 * SOCKETS_PER_KIND)
    assert await _answers(bobs, conversation)
    print(
        f"logout everywhere on process 2: {len(codes)} of {len(codes)} remaining sockets closed on both "
        f"processes, slowest {slowest_ms:.0f} ms after the request; another user's socket open"
    )
    await bobs.close()
    await browser_a.aclose()


@pytest.fixture
def server(client_user, live_servers):
    return live_servers.start(kind="uvicorn")


async def test_an_idle_jwt_socket_closes_when_its_token_expires(server, client_user):
    token = AccessToken.for_user(client_user)
    token.set_exp(lifetime=timedelta(seconds=3))

    async with _open_with(server, headers={"Authorization": f"Bearer {token}"}) as websocket:
        await asyncio.wait_for(websocket.wait_closed(), token["exp"] - time.time() + FRAME_SECONDS)
        late_ms = (time.time() - token["exp"]) * 1000

    assert websocket.close_code == CLOSE_AUTH_EXPIRED
    assert late_ms >= 0
    print(f"idle JWT socket closed with 4403 {late_ms:.0f} ms after its token's exp")

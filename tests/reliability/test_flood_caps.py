"""Floods sent all at once to two server processes sharing Redis: each cap admits exactly its limit,
however the requests interleave across processes, and refuses the rest (figures: docs/reliability.md,
"Caps and login attempts"). Client addresses are loopback ones (127.0.0.x), as the server sees them."""

import asyncio
import json
from collections import Counter

import httpx
import pytest
from channels.db import database_sync_to_async
from websockets.asyncio.client import connect as websocket_connect
from websockets.exceptions import ConnectionClosed

from accounts.models import WebSocketTicket
from meetings.models import Meeting
from realtime.socket_slots import CLOSE_TOO_MANY_SOCKETS
from tests.conftest import PASSWORD
from tests.live import bearer, requires_redis
from tests.messaging.conftest import socket_thread_connections_closed  # noqa: F401

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PER_ACCOUNT_AND_ADDRESS, PER_ADDRESS = 5, 20
SOCKETS_PER_USER, TICKETS_PER_HOUR, MEETINGS_PER_HOUR = 20, 30, 10
FLOOD = 200
GUESSER, OWNER_AT_HOME, SPRAYER = "127.0.0.2", "127.0.0.3", "127.0.0.4"


@pytest.fixture
def two_servers(client_user, provider, project, live_servers):
    requires_redis()
    env = {
        # Hour-long windows: a flood never straddles two of them, so the counts are exact.
        "LOGIN_RATE_PER_ACCOUNT_AND_ADDRESS": f"{PER_ACCOUNT_AND_ADDRESS}/h",
        "LOGIN_RATE_PER_ADDRESS": f"{PER_ADDRESS}/h",
        "SOCKET_MAX_PER_USER": str(SOCKETS_PER_USER),
        "THROTTLE_WS_TICKET": f"{TICKETS_PER_HOUR}/h",
        "THROTTLE_MEETING_START": f"{MEETINGS_PER_HOUR}/h",
    }
    return [live_servers.start(env=env, label=label) for label in ("first", "second")]


async def _flood(two_servers, send, count: int = FLOOD) -> Counter:
    """``send(server, number)`` ``count`` times at once, alternating between the two servers."""
    answers = await asyncio.gather(*(send(two_servers[number % 2], number) for number in range(count)))
    return Counter(answers)


def _client(address: str = "127.0.0.1") -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=60, transport=httpx.AsyncHTTPTransport(local_address=address))


async def _token_status(http, server, username: str, password: str) -> int:
    response = await http.post(f"{server.url}/api/auth/token", json={"username": username, "password": password})
    return response.status_code


async def test_a_flood_of_guesses_reaches_the_password_check_the_limit_times_and_leaves_the_owner_in(
    two_servers, client_user
):
    async with _client(GUESSER) as guesser, _client(OWNER_AT_HOME) as owner:
        statuses = await _flood(two_servers, lambda server, n: _token_status(guesser, server, "alice", f"guess-{n}"))
        owner_status = await _token_status(owner, two_servers[0], "alice", PASSWORD)

    print(f"\nguesses at one account from one address: {dict(statuses)}; the owner from another: {owner_status}")
    assert statuses == {401: PER_ACCOUNT_AND_ADDRESS, 429: FLOOD - PER_ACCOUNT_AND_ADDRESS}
    assert owner_status == 200


async def test_a_flood_of_one_password_across_accounts_from_one_address_stops_at_the_address_limit(
    two_servers, client_user
):
    async with _client(SPRAYER) as sprayer:
        statuses = await _flood(
            two_servers, lambda server, n: _token_status(sprayer, server, f"user{n}", "Winter2026!")
        )

    print(f"\none password sprayed across {FLOOD} accounts from one address: {dict(statuses)}")
    assert statuses == {401: PER_ADDRESS, 429: FLOOD - PER_ADDRESS}


async def test_a_flood_of_sockets_from_one_jwt_leaves_exactly_the_cap_open(two_servers, client_user):
    async def open_socket(server, number: int):
        address = server.url.removeprefix("http://")
        websocket = await websocket_connect(
            server.ws_url, origin=f"http://{address}", additional_headers=bearer(client_user), open_timeout=60
        )
        try:
            await websocket.send(json.dumps({"event": "ping", "data": {}}))
            await asyncio.wait_for(websocket.recv(), 30)
            return "open", websocket
        except ConnectionClosed as closed:
            return closed.rcvd.code, websocket

    sockets = await asyncio.gather(*(open_socket(two_servers[n % 2], n) for n in range(FLOOD)))
    outcomes = Counter(outcome for outcome, _ in sockets)
    await asyncio.gather(*(websocket.close() for _, websocket in sockets))

    print(f"\n{FLOOD} sockets at once from one JWT on two processes: {dict(outcomes)}")
    assert outcomes == {"open": SOCKETS_PER_USER, CLOSE_TOO_MANY_SOCKETS: FLOOD - SOCKETS_PER_USER}


async def test_a_flood_of_ticket_requests_issues_the_limit_and_stores_no_more(two_servers, client_user):
    async with _client() as http:
        statuses = await _flood(two_servers, lambda server, n: _ticket_status(http, server, client_user))

    rows = await database_sync_to_async(WebSocketTicket.objects.filter(user=client_user).count)()
    print(f"\n{FLOOD} ticket requests at once: {dict(statuses)}; ticket rows stored: {rows}")
    assert statuses == {201: TICKETS_PER_HOUR, 429: FLOOD - TICKETS_PER_HOUR}
    assert rows <= TICKETS_PER_HOUR


async def _ticket_status(http, server, user) -> int:
    return (await http.post(f"{server.url}/api/auth/ws-ticket", headers=bearer(user))).status_code


async def test_a_flood_of_instant_meetings_rings_the_limit_times(two_servers, client_user, project):
    async def call_now(server, number: int) -> int:
        response = await http.post(
            f"{server.url}/api/meetings",
            headers=bearer(client_user),
            json={"projectId": project.pk, "title": f"Call {number}", "instant": True},
        )
        return response.status_code

    async with _client() as http:
        statuses = await _flood(two_servers, call_now, count=FLOOD // 2)

    meetings = await database_sync_to_async(Meeting.objects.filter(project=project).count)()
    print(f"\n{FLOOD // 2} instant meetings at once: {dict(statuses)}; meetings created: {meetings}")
    assert statuses == {201: MEETINGS_PER_HOUR, 429: FLOOD // 2 - MEETINGS_PER_HOUR}
    assert meetings == MEETINGS_PER_HOUR

"""Presence across two live uvicorn processes on PostgreSQL + Redis: a user on one process is online for a peer
on the other, and a ``kill -9`` of the user's process leaves them offline within the TTL and the grace period."""

import asyncio
import json

import httpx
import pytest

from tests.conftest import requires_postgres
from tests.live import FRAME_SECONDS, bearer, open_socket, requires_redis

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

TTL_SECONDS = 3
GRACE_SECONDS = 1
PRESENCE_ENV = {"PRESENCE_TTL_SECONDS": str(TTL_SECONDS), "PRESENCE_OFFLINE_GRACE_SECONDS": str(GRACE_SECONDS)}


@pytest.fixture
def two_servers(live_servers):
    requires_postgres()
    requires_redis()
    return [live_servers.start(kind="uvicorn", env=PRESENCE_ENV), live_servers.start(kind="uvicorn", env=PRESENCE_ENV)]


async def next_presence(websocket, timeout: float = FRAME_SECONDS) -> dict:
    frame = json.loads(await asyncio.wait_for(websocket.recv(), timeout))
    assert frame["event"] == "presence:update", frame
    return frame["data"]


async def test_a_user_on_one_process_is_online_for_a_peer_on_the_other(
    two_servers, client_user, provider, conversation
):
    first, second = two_servers
    async with open_socket(second, provider) as bob, open_socket(first, client_user):
        update = await next_presence(bob)

        async with httpx.AsyncClient(base_url=second.url, timeout=FRAME_SECONDS) as http:
            response = await http.get(f"/api/conversations/{conversation.pk}", headers=bearer(provider))

    assert (update["userId"], update["online"]) == (client_user.pk, True)
    participants = {item["user"]["id"]: item for item in response.json()["participants"]}
    assert participants[client_user.pk]["online"] is True
    assert participants[client_user.pk]["lastSeenAt"] == update["lastSeenAt"]


async def test_a_killed_process_leaves_its_users_offline_within_the_ttl_and_grace(
    two_servers, client_user, provider, conversation
):
    first, second = two_servers
    async with open_socket(second, provider) as bob, open_socket(first, client_user):
        assert (await next_presence(bob))["online"] is True

        first.popen.kill()
        first.popen.wait()

        # A tick of the surviving process may pass before it sweeps: at most the grace period.
        update = await next_presence(bob, timeout=TTL_SECONDS + 2 * GRACE_SECONDS + FRAME_SECONDS)

    assert (update["userId"], update["online"]) == (client_user.pk, False)

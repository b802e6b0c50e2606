"""A burst of sends far past SEND_MAX_IN_FLIGHT at a real server (uvicorn, the lean path): the excess is
answered 503 with ``Retry-After``, and every send that was accepted reaches the receiver's socket, none
dropped by the channel layer. (The benchmark measures the same at twice the knee: docs/performance.md.)"""

import asyncio

import httpx
import pytest

from tests.live import bearer, join, next_frame, open_socket
from tests.messaging.conftest import socket_thread_connections_closed  # noqa: F401

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SENDS_IN_FLIGHT = 2
BURST = 60


@pytest.fixture
def server(client_user, provider, conversation, live_servers):
    env = {"SEND_MAX_IN_FLIGHT": str(SENDS_IN_FLIGHT), "THROTTLE_MESSAGE_SEND": "1000/min"}
    return live_servers.start(kind="uvicorn", env=env)


async def test_a_burst_past_the_bound_is_refused_503_and_every_accepted_send_is_delivered(
    server, client_user, provider, conversation
):
    async with open_socket(server, provider) as receiver, httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        await join(receiver, conversation.pk)

        async def send(number: int) -> httpx.Response:
            body = {"conversationId": conversation.pk, "content": f"burst {number}"}
            return await http.post("/api/messages", json=body, headers=bearer(client_user))

        answers = await asyncio.gather(*(send(number) for number in range(BURST)))
        accepted = {answer.json()["id"] for answer in answers if answer.status_code == 201}
        refused = [answer for answer in answers if answer.status_code == 503]
        delivered = set()
        while len(delivered) < len(accepted):
            frame = await next_frame(receiver)
            if frame["event"] == "message:new":
                delivered.add(frame["data"]["id"])
        health = (await http.get("/api/health")).json()

    assert len(accepted) + len(refused) == BURST
    assert refused, "a burst of 60 against a bound of 2 must be refused in part"
    assert {answer.headers["Retry-After"] for answer in refused} == {"1"}
    assert {answer.json()["code"] for answer in refused} == {"overloaded"}
    assert delivered == accepted
    assert health["publish"]["dropped"] == 0
    assert health["sends"]["rejected"] == len(refused)

"""Two real daphne processes on one PostgreSQL and one Redis: events cross between them."""

import json

import httpx
import pytest

from tests.conftest import requires_postgres
from tests.live import FRAME_SECONDS, bearer, join, next_frame, open_socket, requires_redis

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def two_servers(live_servers):
    """Two daphne processes sharing the test database and this run's Redis prefix."""
    requires_postgres()
    requires_redis()
    return [live_servers.start(), live_servers.start()]


async def test_a_message_posted_to_one_process_reaches_a_socket_on_the_other(
    two_servers, client_user, provider, conversation
):
    first, second = two_servers
    async with open_socket(first, provider) as bob:
        await join(bob, conversation.pk)

        async with httpx.AsyncClient(base_url=second.url, timeout=FRAME_SECONDS) as http:
            response = await http.post(
                "/api/messages",
                json={"conversationId": conversation.pk, "content": "across the cluster"},
                headers=bearer(client_user),
            )

        assert response.status_code == 201, response.text
        assert await next_frame(bob) == {"event": "message:new", "data": response.json()}


async def test_typing_on_one_process_reaches_a_socket_on_the_other(two_servers, client_user, provider, conversation):
    first, second = two_servers
    async with open_socket(first, provider) as bob, open_socket(second, client_user) as alice:
        await join(bob, conversation.pk)
        await join(alice, conversation.pk)

        await alice.send(
            json.dumps({"event": "conversation:typing", "data": {"conversationId": conversation.pk, "isTyping": True}})
        )

        frame = await next_frame(bob)
        assert frame["event"] == "conversation:typing"
        assert frame["data"] == {
            "conversationId": conversation.pk,
            "userId": client_user.pk,
            "username": "alice",
            "isTyping": True,
        }

"""A browser's session cookie opens a socket on a real server only from the site's own origin: a page on
another port or scheme of the same host (which the browser sends the cookie from too) gets 4401."""

import pytest
from django.test import Client
from websockets.asyncio.client import connect as websocket_connect
from websockets.exceptions import ConnectionClosed

from realtime.consumers import CLOSE_UNAUTHENTICATED
from tests.live import bearer, join, next_frame

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def session_id(client_user) -> str:
    """A logged-in browser's session, made before the server starts (on SQLite it serves a copy)."""
    browser = Client()
    browser.force_login(client_user)
    return browser.cookies["sessionid"].value


@pytest.fixture(params=["uvicorn", "daphne"])
def server(request, live_servers, conversation, session_id):
    return live_servers.start(kind=request.param)


def _socket(server, *, origin: str, headers: dict[str, str]):
    return websocket_connect(server.ws_url, origin=origin, additional_headers=headers)


async def test_a_session_socket_from_the_sites_origin_joins(server, session_id, conversation):
    async with _socket(server, origin=server.url, headers={"Cookie": f"sessionid={session_id}"}) as websocket:
        reply = await join(websocket, conversation.pk)

    assert reply["data"]["conversationId"] == conversation.pk


@pytest.mark.parametrize("origin", ["http://127.0.0.1:9999", "https://{address}"], ids=["other port", "other scheme"])
async def test_a_session_socket_from_another_origin_of_the_host_is_closed_with_4401(server, session_id, origin):
    origin = origin.format(address=server.url.removeprefix("http://"))
    async with _socket(server, origin=origin, headers={"Cookie": f"sessionid={session_id}"}) as websocket:
        with pytest.raises(ConnectionClosed) as closed:
            await next_frame(websocket)

    assert closed.value.rcvd.code == CLOSE_UNAUTHENTICATED


async def test_a_jwt_socket_from_another_port_of_the_host_joins(server, client_user, conversation):
    async with _socket(server, origin="http://127.0.0.1:9999", headers=bearer(client_user)) as websocket:
        reply = await join(websocket, conversation.pk)

    assert reply["data"]["conversationId"] == conversation.pk

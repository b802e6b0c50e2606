"""Socket.IO long-polling across two live uvicorn processes on PostgreSQL + Redis, with no sticky routing:
the handshake goes to one process, and the session's next requests and its WebSocket upgrade to the other."""

import asyncio
import json

import httpx
import pytest
from websockets.asyncio.client import connect as websocket_connect

from tests.conftest import requires_postgres
from tests.live import FRAME_SECONDS, bearer, requires_redis
from tests.realtime.socketio_frames import connect_packet, decode_ack, decode_event, emit_packet, token_auth

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

POLLING = "/socket.io/?EIO=4&transport=polling"


@pytest.fixture
def two_servers(live_servers):
    requires_postgres()
    requires_redis()
    return [live_servers.start(kind="uvicorn"), live_servers.start(kind="uvicorn")]


async def post_message(server, user, conversation, content: str) -> dict:
    async with httpx.AsyncClient(base_url=server.url, timeout=FRAME_SECONDS) as http:
        response = await http.post(
            "/api/messages", json={"conversationId": conversation.pk, "content": content}, headers=bearer(user)
        )
    assert response.status_code == 201, response.text
    return response.json()


async def test_a_polling_session_made_on_one_process_is_served_and_upgraded_on_the_other(
    two_servers, client_user, provider, conversation
):
    first, second = two_servers
    async with httpx.AsyncClient(timeout=FRAME_SECONDS) as http:
        opened = (await http.get(first.url + POLLING)).text
        sid = json.loads(opened[1:])["sid"]
        on_first, on_second = f"{first.url}{POLLING}&sid={sid}", f"{second.url}{POLLING}&sid={sid}"

        # CONNECT and join posted to the other process; the replies come back through either.
        assert (await http.post(on_second, content=connect_packet(token_auth(provider)))).text == "ok"
        assert (await http.get(on_second)).text.startswith("40{")
        join = emit_packet("join", {"conversationId": conversation.pk}, ack_id=1)
        assert (await http.post(on_first, content=join)).text == "ok"
        assert decode_ack((await http.get(on_second)).text, 1) == [{"conversationId": conversation.pk, "replayed": 0}]

        # A message posted over REST reaches a GET waiting on the other process.
        waiting = asyncio.create_task(http.get(on_first))
        sent = await post_message(second, client_user, conversation, "polled across processes")
        assert decode_event((await waiting).text) == ("message:new", sent)

        # The upgrade on the second process: the GET waiting on the first ends with a noop.
        waiting = asyncio.create_task(http.get(on_first))
        address = second.url.removeprefix("http://")
        async with websocket_connect(
            f"ws://{address}/socket.io/?EIO=4&transport=websocket&sid={sid}", origin=f"http://{address}"
        ) as websocket:
            await websocket.send("2probe")
            assert await asyncio.wait_for(websocket.recv(), FRAME_SECONDS) == "3probe"
            assert (await waiting).text == "6"
            during_probe = await post_message(first, client_user, conversation, "sent during the probe")

            await websocket.send("5")

            assert decode_event(await asyncio.wait_for(websocket.recv(), FRAME_SECONDS)) == (
                "message:new",
                during_probe,
            )
            await websocket.send(emit_packet("leave", {"conversationId": conversation.pk}, ack_id=2))
            assert decode_ack(await asyncio.wait_for(websocket.recv(), FRAME_SECONDS), 2) == [
                {"conversationId": conversation.pk}
            ]
            assert (await http.get(on_first)).status_code == 400

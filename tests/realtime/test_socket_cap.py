"""At most SOCKET_MAX_PER_USER open sockets per user, across server processes: one more is closed with
4429 and a reason; a closed socket gives its slot back, and a killed process's slots lapse by themselves."""

import asyncio
import json
import time
from contextlib import asynccontextmanager

import pytest
from websockets.exceptions import ConnectionClosed

from kernel.redis_client import shared_redis
from realtime.socket_slots import CLOSE_TOO_MANY_SOCKETS, user_key
from tests.live import next_frame as live_frame
from tests.live import open_socket, requires_redis
from tests.realtime.sockets import FRAME_TIMEOUT, bearer, socket

pytestmark = pytest.mark.django_db(transaction=True)

CAP = 2


@pytest.fixture(autouse=True)
def socket_cap(settings):
    settings.SOCKET_MAX_PER_USER = CAP


def _redis_client():
    return shared_redis()


async def _counted(user):
    """A socket as ``user`` that has answered a frame, so its connect (and slot) is done."""
    communicator, closed = await _open(user)
    assert closed is None
    return communicator


async def _open(user):
    """A socket as ``user`` and how the server answers its first frame: None if it stays open (it
    replies), else the close it gets instead."""
    communicator = socket(bearer(user))
    connected, _ = await communicator.connect(timeout=FRAME_TIMEOUT)
    assert connected
    await communicator.send_json_to({"event": "ping", "data": {}})
    output = await communicator.receive_output(timeout=FRAME_TIMEOUT)
    return communicator, (output if output["type"] == "websocket.close" else None)


async def _disconnect_all(communicators) -> None:
    for communicator in communicators:
        await communicator.disconnect()


async def test_one_socket_past_the_cap_is_closed_with_4429_and_a_reason(client_user):
    admitted = [await _counted(client_user) for _ in range(CAP)]

    extra, closed = await _open(client_user)

    assert closed == {
        "type": "websocket.close",
        "code": CLOSE_TOO_MANY_SOCKETS,
        "reason": f"too many sockets: at most {CAP} open per user",
    }
    await _disconnect_all([*admitted, extra])


async def test_a_closed_socket_gives_its_slot_back(client_user):
    first, second = [await _counted(client_user) for _ in range(CAP)]
    refused, refusal = await _open(client_user)
    await first.disconnect()

    third, closed = await _open(client_user)

    assert (refusal["code"], closed) == (CLOSE_TOO_MANY_SOCKETS, None)
    await _disconnect_all([second, third, refused])


async def test_another_users_sockets_do_not_count(client_user, provider):
    alices = [await _counted(client_user) for _ in range(CAP)]
    alices_extra, alices_closed = await _open(client_user)

    bobs_socket, bobs_closed = await _open(provider)

    assert (alices_closed["code"], bobs_closed) == (CLOSE_TOO_MANY_SOCKETS, None)
    await _disconnect_all([*alices, alices_extra, bobs_socket])


# ---- Redis: one count for every process --------------------------------------------------------


async def test_with_redis_the_count_is_one_sorted_set_per_user_with_a_lease_per_socket(client_user):
    requires_redis()
    sockets = [await _counted(client_user) for _ in range(CAP)]

    leases = _redis_client().zrange(user_key(client_user.pk), 0, -1, withscores=True)

    assert len(leases) == CAP
    assert all(lease_end > time.time() for _, lease_end in leases)
    await _disconnect_all(sockets)
    assert _redis_client().zcard(user_key(client_user.pk)) == 0


async def test_with_redis_slots_whose_lease_ran_out_do_not_count(client_user):
    """What a killed process leaves behind: members nobody renews any more."""
    requires_redis()
    _redis_client().zadd(user_key(client_user.pk), {f"dead-process-socket-{n}": time.time() - 1 for n in range(CAP)})

    sockets = [await _open(client_user) for _ in range(CAP + 1)]

    assert [closed and closed["code"] for _, closed in sockets] == [None] * CAP + [CLOSE_TOO_MANY_SOCKETS]
    await _disconnect_all([communicator for communicator, _ in sockets])


async def test_with_redis_open_sockets_keep_their_slots_past_their_first_lease(client_user, settings):
    requires_redis()
    settings.SOCKET_SLOT_LEASE_SECONDS = 3
    sockets = [await _counted(client_user) for _ in range(CAP)]
    await asyncio.sleep(2 * settings.SOCKET_SLOT_LEASE_SECONDS)

    extra, closed = await _open(client_user)

    assert closed is not None and closed["code"] == CLOSE_TOO_MANY_SOCKETS
    await _disconnect_all([*sockets, extra])


# ---- live server processes ---------------------------------------------------------------------

LEASE_SECONDS = 3


@pytest.fixture
def two_servers(live_servers):
    requires_redis()
    env = {"SOCKET_MAX_PER_USER": str(CAP), "SOCKET_SLOT_LEASE_SECONDS": str(LEASE_SECONDS)}
    return [live_servers.start(env=env, label=label) for label in ("first", "second")]


@asynccontextmanager
async def _counted_live(server, user):
    async with open_socket(server, user) as websocket:
        await websocket.send(json.dumps({"event": "ping", "data": {}}))
        assert (await live_frame(websocket))["data"]["code"] == "unknown_event"
        yield websocket


async def _close_code(server, user) -> int | None:
    """How the server ends a fresh socket of ``user``: its close code, or None if it stays open."""
    async with open_socket(server, user) as websocket:
        try:
            await live_frame(websocket, timeout=1.0)
        except ConnectionClosed as closed:
            return closed.rcvd.code
        except TimeoutError:
            return None
    return None


@pytest.mark.slow
async def test_the_cap_holds_across_server_processes(two_servers, client_user):
    first, second = two_servers
    async with _counted_live(first, client_user), _counted_live(first, client_user):
        refused_elsewhere = await _close_code(second, client_user)

    assert refused_elsewhere == CLOSE_TOO_MANY_SOCKETS


@pytest.mark.slow
async def test_a_killed_process_s_slots_lapse_after_one_lease(two_servers, client_user):
    first, second = two_servers
    async with _counted_live(first, client_user), _counted_live(first, client_user):
        first.popen.kill()
        first.popen.wait()
        codes = []
        deadline = time.monotonic() + 5 * LEASE_SECONDS
        while time.monotonic() < deadline and (not codes or codes[-1] is not None):
            codes.append(await _close_code(second, client_user))
            await asyncio.sleep(0.5)

    assert codes[0] == CLOSE_TOO_MANY_SOCKETS
    assert codes[-1] is None

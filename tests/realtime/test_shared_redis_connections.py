"""The socket slots and the Socket.IO sid map on Redis share the process's connection pool: sessions that
start and end in async contexts of their own, as a server's requests do (Django's per-context cache
objects used to open a connection each), open no new connection to Redis."""

import asyncio
import contextvars
from collections.abc import Coroutine

import pytest

from realtime.socket_slots import user_key
from tests.live import connections_received
from tests.realtime.socketio_frames import close, connected_session

pytestmark = pytest.mark.django_db(transaction=True)

SESSIONS = 10


async def in_a_context_of_its_own(work: Coroutine) -> None:
    await asyncio.get_running_loop().create_task(work, context=contextvars.Context())


async def test_socketio_sessions_take_slots_and_map_sids_without_opening_redis_connections(
    cache_on_own_redis, client_user
):
    async def session_start_and_end() -> None:
        # The handshake maps the sid to its owner, every request looks it up, connect takes a socket slot,
        # and the close gives the slot back and forgets the sid.
        await close(await connected_session(client_user))

    await in_a_context_of_its_own(session_start_and_end())  # the process opens its pool's connection here
    connections_before = connections_received(cache_on_own_redis)

    for _ in range(SESSIONS):
        await in_a_context_of_its_own(session_start_and_end())

    assert connections_received(cache_on_own_redis) == connections_before
    assert cache_on_own_redis.keys("*socketio:sid:*") == []
    assert cache_on_own_redis.zcard(user_key(client_user.pk)) == 0

import asyncio

import pytest
from channels.layers import get_channel_layer

from realtime.socketio.polling import _owners as polling_owners
from tests.messaging.conftest import fast_password_hashing, socket_thread_connections_closed  # noqa: F401


@pytest.fixture(autouse=True)
async def socketio_polling_sessions_ended():
    """A long-polling session outlives the requests of its test: end it in the test's own event loop.

    channels_redis keeps a per-channel lock (``receive_clean_locks``) that binds to the loop that first
    waited for it, and a receive cancelled while waiting leaves it behind (its wait count is never given
    back). Within one server's loop that is harmless; between tests, each on a new loop, the next receive
    that has to wait would fail. The sessions' relays cancel such receives, so each test starts afresh.
    """
    yield
    owners = list(polling_owners)
    for owner in owners:
        owner.cancel()
    await asyncio.gather(*owners, return_exceptions=True)
    layer = get_channel_layer()
    if hasattr(layer, "receive_clean_locks"):
        if layer.receive_cleaners:
            await asyncio.wait(list(layer.receive_cleaners))
        layer.receive_clean_locks = type(layer.receive_clean_locks)()

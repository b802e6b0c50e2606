import asyncio

import pytest
import redis

from realtime.layers import RedisChannelLayer
from realtime.socketio.polling import _owners as polling_owners
from tests.live import requires_redis
from tests.messaging.conftest import socket_thread_connections_closed  # noqa: F401

# The ``layer`` fixture's configuration; a test module may set its own (capacity, expiry).
OWN_REDIS_LAYER_CONFIG: dict = {}


@pytest.fixture(autouse=True)
async def socketio_polling_sessions_ended():
    """A long-polling session outlives the requests of its test: end it in the test's own event loop."""
    yield
    owners = list(polling_owners)
    for owner in owners:
        owner.cancel()
    await asyncio.gather(*owners, return_exceptions=True)


@pytest.fixture
async def layer(own_redis, request):
    """The product's Redis channel layer on ``own_redis`` (a server only this test uses), with the test module's
    ``OWN_REDIS_LAYER_CONFIG``."""
    requires_redis()
    config = getattr(request.module, "OWN_REDIS_LAYER_CONFIG", OWN_REDIS_LAYER_CONFIG)
    layer = RedisChannelLayer(hosts=[{"address": own_redis.url}], **config)
    yield layer
    await layer.flush()
    await layer.close_pools()


@pytest.fixture
def observer(own_redis):
    """A client of ``own_redis`` to count its commands and clients with."""
    client = redis.Redis.from_url(own_redis.url)
    yield client
    client.close()

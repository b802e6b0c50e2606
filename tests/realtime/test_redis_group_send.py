"""The Redis layer's own ``group_send`` (realtime.layers): what the stock one delivers, in two round trips, on a
Redis server of the test's own so that every command it receives can be counted."""

import asyncio
import time

import pytest
import redis

from realtime.layers import RedisChannelLayer
from tests.live import commands_run, commands_since, requires_redis

GROUP = "room"
EXPIRY_SECONDS = 60


@pytest.fixture
async def layer(own_redis):
    requires_redis()
    layer = RedisChannelLayer(hosts=[{"address": own_redis.url}], capacity=3, expiry=EXPIRY_SECONDS)
    yield layer
    await layer.flush()
    await layer.close_pools()


@pytest.fixture
def observer(own_redis):
    client = redis.Redis.from_url(own_redis.url)
    yield client
    client.close()


async def _receive(layer, channel):
    return await asyncio.wait_for(layer.receive(channel), 3)


async def test_every_member_gets_the_message_once(layer):
    first, second = await layer.new_channel(), await layer.new_channel()
    await layer.group_add(GROUP, first)
    await layer.group_add(GROUP, second)

    await layer.group_send(GROUP, {"type": "room.said", "n": 1})

    assert (await _receive(layer, first))["n"] == 1
    assert (await _receive(layer, second))["n"] == 1


async def test_a_group_send_is_two_round_trips(layer, observer):
    channel = await layer.new_channel()
    await layer.group_add(GROUP, channel)
    await layer.group_send(GROUP, {"type": "room.said", "n": 0})  # loads the script on this server
    before = commands_run(observer)

    await layer.group_send(GROUP, {"type": "room.said", "n": 1})

    # The script's own commands count too: the stock send also sent ZREMRANGEBYSCORE, ZRANGE and a pipeline
    # of ZREMRANGEBYSCORE from the client, each a round trip of its own.
    assert commands_since(observer, before) == {
        "zrangebyscore": 1,
        "evalsha": 1,
        "zremrangebyscore": 2,
        "zcount": 1,
        "zadd": 1,
        "expire": 1,
    }


async def test_a_member_whose_membership_expired_gets_nothing_and_leaves_the_group(layer, observer):
    live, expired = await layer.new_channel(), await layer.new_channel()
    await layer.group_add(GROUP, live)
    await layer.group_add(GROUP, expired)
    observer.zadd(layer._group_key(GROUP), {expired: time.time() - layer.group_expiry - 10})

    await layer.group_send(GROUP, {"type": "room.said", "n": 1})

    assert (await _receive(layer, live))["n"] == 1
    assert [member.decode() for member in observer.zrange(layer._group_key(GROUP), 0, -1)] == [live]


async def test_a_message_past_its_expiry_is_trimmed_before_the_queue_is_counted_full(layer, observer):
    channel = await layer.new_channel()
    await layer.group_add(GROUP, channel)
    queue = layer.prefix + layer.non_local_name(channel)
    stale = time.time() - EXPIRY_SECONDS - 10
    observer.zadd(queue, {f"stale {n}".encode(): stale for n in range(layer.capacity)})

    await layer.group_send(GROUP, {"type": "room.said", "n": 1})

    assert (await _receive(layer, channel))["n"] == 1
    assert observer.zcard(queue) == 0


async def test_a_group_without_members_costs_one_round_trip(layer, observer):
    await layer.group_send("elsewhere", {"type": "room.said", "n": 0})  # the layer's connection is open
    before = commands_run(observer)

    await layer.group_send(GROUP, {"type": "room.said", "n": 1})

    assert commands_since(observer, before) == {"zrangebyscore": 1}

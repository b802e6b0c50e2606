"""The Redis layer's own ``group_send`` (realtime.layers): what the stock one delivers, in one round trip, on a
Redis server of the test's own so that every command it receives can be counted."""

import asyncio
import time

from realtime.layers import RedisChannelLayer
from tests.live import commands_run, commands_since, requires_redis

GROUP = "room"
EXPIRY_SECONDS = 60

OWN_REDIS_LAYER_CONFIG = {"capacity": 3, "expiry": EXPIRY_SECONDS}


async def _receive(layer, channel):
    return await asyncio.wait_for(layer.receive(channel), 3)


async def test_every_member_gets_the_message_once(layer):
    first, second = await layer.new_channel(), await layer.new_channel()
    await layer.group_add(GROUP, first)
    await layer.group_add(GROUP, second)

    await layer.group_send(GROUP, {"type": "room.said", "n": 1})

    assert (await _receive(layer, first))["n"] == 1
    assert (await _receive(layer, second))["n"] == 1


async def test_a_group_send_is_one_round_trip(layer, observer):
    channel = await layer.new_channel()
    await layer.group_add(GROUP, channel)
    await layer.group_send(GROUP, {"type": "room.said", "n": 0})  # loads the script on this server
    before = commands_run(observer)

    await layer.group_send(GROUP, {"type": "room.said", "n": 1})

    # The script's own commands count too: the stock send also sent ZREMRANGEBYSCORE, ZRANGE and a pipeline
    # of ZREMRANGEBYSCORE from the client, each a round trip of its own.
    assert commands_since(observer, before) == {
        "evalsha": 1,
        "zremrangebyscore": 2,
        "zrange": 1,
        "zcount": 1,
        "zadd": 1,
        "expire": 1,
    }


async def test_each_queue_gets_the_bytes_the_stock_send_stores_there(layer, observer):
    """One process's channels share its queue, whose message names them all; a channel of no process has its own."""
    first, second = await layer.new_channel(), await layer.new_channel()
    for channel in (first, second, "plain"):
        await layer.group_add(GROUP, channel)
    message = {"type": "room.said", "text": "é" * 40, "none": None, "n": 1.5, "list": [1, "two"], "empty": {}}
    members = [member.decode() for member in observer.zrange(layer._group_key(GROUP), 0, -1)]
    _, stock_bytes, _ = layer._map_channel_keys_to_connection(members, message)

    await layer.group_send(GROUP, message)

    prefix_length = layer._serializer.random_prefix_length
    for queue, expected in stock_bytes.items():
        (stored,) = observer.zrange(queue, 0, -1)
        assert stored[prefix_length:] == expected[prefix_length:]
    assert sorted(stock_bytes) == sorted({layer.prefix + layer.non_local_name(first), layer.prefix + "plain"})
    assert layer.deserialize(observer.zrange(layer.prefix + "plain", 0, -1)[0])["__asgi_channel__"] == ["plain"]


async def test_a_layer_with_encrypted_messages_sends_as_the_stock_layer_does(own_redis):
    requires_redis()
    layer = RedisChannelLayer(hosts=[{"address": own_redis.url}], symmetric_encryption_keys=["a key of the test"])
    channel = await layer.new_channel()
    await layer.group_add(GROUP, channel)
    try:
        await layer.group_send(GROUP, {"type": "room.said", "n": 1})

        assert (await _receive(layer, channel))["n"] == 1
    finally:
        await layer.flush()
        await layer.close_pools()


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


async def test_a_group_without_members_writes_nothing(layer, observer):
    await layer.group_send("elsewhere", {"type": "room.said", "n": 0})  # loads the script on this server
    before = commands_run(observer)

    await layer.group_send(GROUP, {"type": "room.said", "n": 1})

    assert commands_since(observer, before) == {"evalsha": 1, "zremrangebyscore": 1, "zrange": 1}

"""The Redis layer's own receive (realtime.layers): one round trip per message, and a message that Redis handed to
a receive cancelled meanwhile goes to the next receive, on a Redis server of the test's own so that every command
it receives can be counted.

One receive at a time takes the messages of all of a process's channels off Redis; a receive is cancelled when
its consumer ends (its socket closed), and the process's other channels go on receiving."""

import asyncio

import pytest
import redis

from tests.live import commands_run, commands_since

WAIT_SECONDS = 3


async def _pop_waiting(observer) -> None:
    """Until a client of the server is blocked in a pop."""
    async with asyncio.timeout(WAIT_SECONDS):
        while observer.info("clients")["blocked_clients"] == 0:
            await asyncio.sleep(0.005)


async def _no_pop_waiting(observer) -> None:
    async with asyncio.timeout(WAIT_SECONDS):
        while observer.info("clients")["blocked_clients"] != 0:
            await asyncio.sleep(0.005)


async def _cancelled_while_popping(layer, observer, *, taken: tuple[str, dict] | None = None) -> None:
    """A receive of a channel of this process is cancelled while it waits in a pop for the process's messages;
    with ``taken`` (a channel, a message), once Redis has handed its pop that message (with ``first_answer_held``,
    before the layer has read it)."""
    receive = asyncio.ensure_future(layer.receive(await layer.new_channel()))
    await _pop_waiting(observer)
    if taken is not None:
        await layer.send(*taken)
        await _no_pop_waiting(observer)
    receive.cancel()
    await asyncio.wait({receive}, timeout=WAIT_SECONDS)
    assert receive.cancelled()


async def test_a_received_message_is_one_round_trip(layer, observer):
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "room.said", "n": 1})
    before = commands_run(observer)

    message = await asyncio.wait_for(layer.receive(channel), WAIT_SECONDS)

    assert message == {"type": "room.said", "n": 1}
    # The stock receive also ran a script (EVAL: ZRANGE, DEL) before the pop, and a ZADD and a ZPOPMIN after it.
    assert commands_since(observer, before) == {"bzpopmin": 1}


@pytest.fixture
def first_answer_held(monkeypatch) -> asyncio.Event:
    """The first pop's answer reaches the layer only once the event is set: Redis has taken the message, the
    layer has not read it yet: the moment the stock layer keeps a backup queue for."""
    answer_read = asyncio.Event()
    pop = redis.asyncio.Redis.bzpopmin
    held = []

    async def answer_held(self, *args, **kwargs):
        popped = await pop(self, *args, **kwargs)
        if not held:
            held.append(popped)
            await answer_read.wait()
        return popped

    monkeypatch.setattr(redis.asyncio.Redis, "bzpopmin", answer_held)
    return answer_read


async def test_a_message_taken_as_its_receive_is_cancelled_goes_to_the_next_receive(layer, observer, first_answer_held):
    channel = await layer.new_channel()
    await _cancelled_while_popping(layer, observer, taken=(channel, {"type": "room.said", "n": 1}))

    first_answer_held.set()

    assert await asyncio.wait_for(layer.receive(channel), WAIT_SECONDS) == {"type": "room.said", "n": 1}
    queue = layer.prefix + layer.non_local_name(channel)
    assert observer.zcard(queue) == 0, "the message was received once and is gone from its queue"


async def test_a_message_taken_for_a_cancelled_receive_keeps_its_place_in_line(layer, observer, first_answer_held):
    channel = await layer.new_channel()
    await _cancelled_while_popping(layer, observer, taken=(channel, {"type": "room.said", "n": 1}))

    await layer.send(channel, {"type": "room.said", "n": 2})  # queued while the first is held
    first_answer_held.set()

    received = [await asyncio.wait_for(layer.receive(channel), WAIT_SECONDS) for _ in range(2)]
    assert [message["n"] for message in received] == [1, 2]


async def test_the_next_receive_takes_over_the_pop_of_a_cancelled_one(layer, observer):
    await _cancelled_while_popping(layer, observer)
    channel = await layer.new_channel()

    receiving = asyncio.ensure_future(layer.receive(channel))
    await asyncio.sleep(0.05)
    assert observer.info("clients")["blocked_clients"] == 1, "one pop waits for the queue, not two"

    await layer.send(channel, {"type": "room.said", "n": 1})
    assert await asyncio.wait_for(receiving, WAIT_SECONDS) == {"type": "room.said", "n": 1}


async def test_after_a_pop_failed_the_next_receive_pops_again(layer, observer, own_redis):
    channel = await layer.new_channel()
    receive = asyncio.ensure_future(layer.receive(channel))
    await _pop_waiting(observer)
    own_redis.kill()
    with pytest.raises(redis.exceptions.ConnectionError):
        await asyncio.wait_for(receive, WAIT_SECONDS)
    own_redis.start()

    await layer.send(channel, {"type": "room.said", "n": 1})

    assert await asyncio.wait_for(layer.receive(channel), WAIT_SECONDS) == {"type": "room.said", "n": 1}


async def test_a_pop_that_timed_out_with_nobody_receiving_is_not_kept(layer, observer):
    layer.brpop_timeout = 1
    await _cancelled_while_popping(layer, observer)

    await _no_pop_waiting(observer)
    await asyncio.sleep(0.05)  # the pop's end reaches the layer

    assert layer._pop_in_flight == {}

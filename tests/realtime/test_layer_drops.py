"""A channel layer with a tiny capacity under a burst: every drop is logged at WARNING and counted (also on
GET /api/health), and a socket that missed messages ends with each one, once and in order, by ``join`` +
``after``. On the in-memory layer and on Redis (this run's Redis; skipped locally without REDIS_URL)."""

import asyncio
import logging
import threading

import pytest
from asgiref.sync import sync_to_async
from channels.exceptions import ChannelFull
from channels.layers import get_channel_layer
from django.conf import settings
from django.test import override_settings
from rest_framework.test import APIClient

from messaging import events
from realtime.publish import publish_counters, publish_now
from tests.live import requires_redis
from tests.messaging.conftest import fresh_throttle_counts  # noqa: F401
from tests.realtime.sockets import assert_no_frame, connect_as, join, next_frame

pytestmark = pytest.mark.django_db(transaction=True)

CAPACITY = 3
BURST = 12
GROUP = "overload"


def _layers(backend: str) -> dict:
    if backend == "redis":
        requires_redis()
        config = {**settings.CHANNEL_LAYERS["default"]["CONFIG"], "capacity": CAPACITY}
        return {"default": {"BACKEND": "realtime.layers.RedisChannelLayer", "CONFIG": config}}
    return {"default": {"BACKEND": "realtime.layers.InMemoryChannelLayer", "CONFIG": {"capacity": CAPACITY}}}


@pytest.fixture(params=["memory", "redis"])
def tiny_layer(request):
    """The configured channel layer, with room for CAPACITY messages per queue."""
    # Channels drops its cached layers when CHANNEL_LAYERS changes, so this and every consumer get the tiny one.
    with override_settings(CHANNEL_LAYERS=_layers(request.param)):
        yield get_channel_layer()


@pytest.fixture
async def idle_channel(tiny_layer):
    """A channel in GROUP that nobody reads."""
    channel = await tiny_layer.new_channel()
    await tiny_layer.group_add(GROUP, channel)
    yield channel
    await tiny_layer.group_discard(GROUP, channel)
    await tiny_layer.flush()


def _dropped() -> int:
    return publish_counters.snapshot()["dropped"]


def _drop_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "realtime.layers" and r.levelno == logging.WARNING]


@sync_to_async
def _publish_burst(count: int) -> None:
    for n in range(count):
        publish_now([GROUP], "test:burst", {"n": n})


async def test_a_group_send_to_a_full_queue_is_logged_at_warning_and_counted(tiny_layer, idle_channel, caplog):
    before = _dropped()

    with caplog.at_level(logging.WARNING):
        await _publish_burst(CAPACITY + 2)

    assert _dropped() - before == 2
    warnings = _drop_warnings(caplog)
    assert len(warnings) == 2 and all(f"for group {GROUP}" in warning for warning in warnings), warnings
    kept = [await asyncio.wait_for(tiny_layer.receive(idle_channel), 3) for _ in range(CAPACITY)]
    assert [message["data"]["n"] for message in kept] == list(range(CAPACITY))


async def test_a_send_to_a_full_channel_is_counted_logged_and_still_raises(tiny_layer, idle_channel, caplog):
    for n in range(CAPACITY):
        await tiny_layer.send(idle_channel, {"type": "test.fill", "n": n})
    before = _dropped()

    with caplog.at_level(logging.WARNING), pytest.raises(ChannelFull):
        await tiny_layer.send(idle_channel, {"type": "test.fill", "n": CAPACITY})

    assert _dropped() - before == 1
    assert _drop_warnings(caplog) == [
        f"channel layer dropped 1 message(s) for channel {idle_channel}: queue full; clients catch up by cursor"
    ]


async def test_health_shows_the_dropped_count(tiny_layer, idle_channel, api):
    await _publish_burst(CAPACITY + 1)

    response = await sync_to_async(api.get)("/api/health")

    assert response.status_code == 200
    assert response.json()["publish"]["dropped"] == _dropped() > 0


async def test_a_socket_that_stops_reading_loses_the_oldest_of_its_local_buffer_counted(caplog):
    """channels_redis moves every message for this process's sockets from Redis into per-socket buffers;
    a socket that does not read has its oldest evicted once its buffer is full."""
    with override_settings(CHANNEL_LAYERS=_layers("redis")):
        layer = get_channel_layer()
        idle, reader = await layer.new_channel(), await layer.new_channel()
        await layer.group_add(GROUP, idle)
        before = _dropped()

        with caplog.at_level(logging.WARNING):
            for n in range(CAPACITY + 2):
                # Each read by the other socket drains the process's Redis queue into the buffers.
                await layer.group_send(GROUP, {"type": "test.burst", "n": n})
                await layer.send(reader, {"type": "test.tick"})
                await asyncio.wait_for(layer.receive(reader), 3)

        assert _dropped() - before == 2
        assert len([w for w in _drop_warnings(caplog) if "local buffer" in w]) == 2
        kept = [(await asyncio.wait_for(layer.receive(idle), 3))["n"] for _ in range(CAPACITY)]
        assert kept == [2, 3, 4]
        await layer.group_discard(GROUP, idle)
        await layer.flush()


def _post_burst_when_opened(gate: threading.Event, user, conversation) -> list[dict]:
    gate.wait(timeout=10)
    api = APIClient()
    api.force_authenticate(user=user)
    sent = []
    for n in range(BURST):
        response = api.post(
            "/api/messages", {"conversationId": conversation.pk, "content": f"burst {n}"}, format="json"
        )
        assert response.status_code == 201, response.data
        sent.append(response.data)
    return sent


async def _frames_until_quiet(communicator) -> list[dict]:
    frames = []
    while not await communicator.receive_nothing(timeout=0.5):
        frames.append(await next_frame(communicator))
    return frames


def _messages(frames: list[dict]) -> list[dict]:
    return [frame["data"] for frame in frames if frame["event"] == events.MESSAGE_NEW]


async def test_a_socket_that_missed_a_burst_gets_every_message_once_in_order_by_joining_with_after(
    tiny_layer, client_user, provider, conversation, caplog
):
    bob = await connect_as(provider)
    await join(bob, conversation.pk)
    before = _dropped()
    gate = threading.Event()
    # Sync code called from async code (the burst below, and the database calls of Bob's consumer) runs one
    # call at a time in asgiref's one shared thread. The burst takes that thread first, so Bob's next frame,
    # which needs the database, keeps his consumer from reading the channel layer until the burst is over.
    burst = asyncio.ensure_future(sync_to_async(_post_burst_when_opened)(gate, client_user, conversation))
    await bob.send_json_to({"event": "join", "data": {"conversationId": conversation.pk}, "ref": "stalled"})
    await assert_no_frame(bob)

    with caplog.at_level(logging.WARNING):
        gate.set()
        sent = await burst
        live = _messages(await _frames_until_quiet(bob))
    await bob.send_json_to(
        {"event": "join", "data": {"conversationId": conversation.pk, "after": live[-1]["id"]}, "ref": "again"}
    )
    caught_up = _messages(await _frames_until_quiet(bob))

    assert 0 < len(live) < BURST
    assert _dropped() - before == BURST - len(live)
    assert _drop_warnings(caplog)
    assert live + caught_up == sent
    await bob.disconnect()

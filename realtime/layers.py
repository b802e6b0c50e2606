"""Channel layers that count, and log at WARNING, every delivery they drop because a queue is full.

Dropping is by design (the database is the record and clients catch up with ``join`` + ``after``),
but the stock layers hide it: the in-memory layer swallows ``ChannelFull`` inside ``group_send``;
channels_redis 4.3 reports the queues a group send found full only in an INFO line and evicts the
oldest message of a socket's local buffer without a word. Here each drop adds to
``publish_counters.dropped`` (GET /api/health) and logs a WARNING on logger ``realtime.layers``.

The Redis layer's ``group_send`` is also this module's own: two round trips to Redis instead of four
(every push of the product goes through it, docs/performance.md).
"""

import asyncio
import contextvars
import logging
import time

from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer as StockInMemoryChannelLayer
from channels_redis.core import BoundedQueue
from channels_redis.core import RedisChannelLayer as StockRedisChannelLayer
from redis.asyncio import BlockingConnectionPool

from kernel.redis_client import LuaScript
from realtime.publish import publish_counters

logger = logging.getLogger(__name__)

# The group a group_send is delivering to, so the per-channel sends it makes can name it when refused.
_sending_to_group: contextvars.ContextVar[str | None] = contextvars.ContextVar("sending_to_group", default=None)


def _record_drops(count: int, where: str) -> None:
    publish_counters.add_dropped(count)
    logger.warning("channel layer dropped %s message(s) %s: queue full; clients catch up by cursor", count, where)


class _CountsRefusedSends:
    """``send`` to a full channel raises ``ChannelFull`` in both backends; count it before it goes up."""

    async def send(self, channel, message):
        try:
            await super().send(channel, message)
        except ChannelFull:
            group = _sending_to_group.get()
            _record_drops(1, f"for group {group}" if group else f"for channel {channel}")
            raise


class InMemoryChannelLayer(_CountsRefusedSends, StockInMemoryChannelLayer):
    """The stock in-memory layer, whose ``group_send`` swallows the ``ChannelFull`` counted above."""

    def discard_channel(self, channel: str) -> None:
        """Drop what is queued for the channel of a consumer that has ended; later sends to it expire."""
        self.channels.pop(channel, None)

    async def group_send(self, group, message):
        # The stock group_send sends through tasks, which copy this context.
        token = _sending_to_group.set(group)
        try:
            await super().group_send(group, message)
        finally:
            _sending_to_group.reset(token)


class _LocalBuffer(BoundedQueue):
    """A socket's buffer of messages already taken from Redis; when full, channels_redis evicts the oldest."""

    def put_nowait(self, item):
        if self.full():
            _record_drops(1, "from a socket's local buffer (its consumer is not reading)")
        super().put_nowait(item)


class _ReceiveBuffers(dict):
    """The local buffers by channel, kept only for channels a consumer of this process still receives on.

    channels_redis creates a channel's buffer on first use and deletes it when the channel's receive is
    cancelled, i.e. when its consumer ends. A message already on its way to that channel (a group send
    that read the group just before the socket's ``group_discard``) then made a new buffer that nobody
    would read or delete: about 5 KB per socket in a connect/disconnect churn, without bound
    (channels_redis issue 384; tests/reliability/test_churn_and_crash.py). Such a message now goes to a
    buffer that is not kept.
    """

    def __init__(self, capacity: int, receiving: set[str]):
        super().__init__()
        self.capacity, self.receiving = capacity, receiving

    def __missing__(self, channel: str) -> _LocalBuffer:
        buffer = _LocalBuffer(self.capacity)
        if channel in self.receiving:
            self[channel] = buffer
        return buffer

    def __delitem__(self, channel: str) -> None:
        # The receive being cancelled deletes its channel's buffer, which discard_channel may have taken first;
        # a KeyError there would skip the cancelling of its lock-acquiring task and stall every receive.
        self.pop(channel, None)


# The delivery half of a group send, atomic: forget the group's members whose membership expired, then for each
# receiving queue (one per process, or per channel) trim the messages past their expiry and add this one where
# there is room. KEYS: the group, then the queues. ARGV: the message for each queue, each queue's capacity, then
# the times before which a membership and a message expired, the time now and the queues' expiry in seconds.
# Returns how many queues were full.
_GROUP_DELIVER = LuaScript(
    """
local queues = #KEYS - 1
local memberships_expired_before = ARGV[2 * queues + 1]
local messages_expired_before = ARGV[2 * queues + 2]
local now = ARGV[2 * queues + 3]
local expiry = ARGV[2 * queues + 4]
redis.call('ZREMRANGEBYSCORE', KEYS[1], 0, memberships_expired_before)
local full = 0
for i = 1, queues do
    local queue = KEYS[i + 1]
    redis.call('ZREMRANGEBYSCORE', queue, 0, messages_expired_before)
    if redis.call('ZCOUNT', queue, '-inf', '+inf') < tonumber(ARGV[queues + i]) then
        redis.call('ZADD', queue, now, ARGV[i])
        redis.call('EXPIRE', queue, expiry)
    else
        full = full + 1
    end
end
return full
"""
)


class RedisChannelLayer(_CountsRefusedSends, StockRedisChannelLayer):
    """The stock Redis layer with every drop counted (refused sends, full queues in a group send, evictions
    from a socket's local buffer) and a group send in two round trips."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The channels this process handed to consumers whose receive has not been cancelled yet.
        self.receiving_channels: set[str] = set()
        self.receive_buffer = _ReceiveBuffers(self.capacity, self.receiving_channels)

    async def group_send(self, group, message):
        """What the stock ``group_send`` does, in two round trips instead of four: read the group's live members,
        then one script (``_GROUP_DELIVER``) forgets the expired ones, trims each receiving queue and adds the
        message. The members must be read first: the message each queue gets names its channels there.

        With several Redis hosts a group's queues may live on other hosts than the group: the stock send, which
        talks to each host apart, is used, and its full queues are not counted."""
        if self.ring_size > 1:
            await super().group_send(group, message)
            return
        assert self.require_valid_group_name(group), "Group name not valid"
        group_key = self._group_key(group)
        connection = self.connection(0)
        now = time.time()
        memberships_expired_before = int(now) - self.group_expiry
        members = await connection.zrangebyscore(group_key, f"({memberships_expired_before}", "+inf")
        channels = [member.decode("utf8") for member in members]
        queues_by_connection, message_by_queue, capacity_by_queue = self._map_channel_keys_to_connection(
            channels, message
        )
        queues = queues_by_connection.get(0, [])
        if not queues:
            # Nobody to deliver to. Expired members of such a group expired with its key, which every
            # group_add sets to expire group_expiry after it.
            return
        full = await _GROUP_DELIVER.run_async(
            connection,
            keys=[group_key, *queues],
            args=[
                *(message_by_queue[queue] for queue in queues),
                *(capacity_by_queue[queue] for queue in queues),
                memberships_expired_before,
                int(now) - int(self.expiry),
                now,
                self.expiry,
            ],
        )
        if full:
            _record_drops(full, f"for group {group}, on {full} process queue(s) of its {len(channels)} channels")

    async def new_channel(self, prefix="specific"):
        channel = await super().new_channel(prefix)
        self.receiving_channels.add(channel)
        return channel

    async def receive(self, channel):
        try:
            return await super().receive(channel)
        except asyncio.CancelledError:
            # A consumer's receive is cancelled only when the consumer ends (channels.utils.await_many_dispatch).
            self.discard_channel(channel)
            raise

    async def _brpop_with_clean(self, index, channel, timeout):
        message = await super()._brpop_with_clean(index, channel, timeout)
        # redis-py writes each command through asyncio.wait_for, which on Python 3.11 returns normally when
        # the task is cancelled just as the write completes (CPython gh-86296, fixed in 3.12). receive_single
        # then polls again, forever: the consumer of a closed socket never ended, and uvicorn's shutdown waited
        # for it. A message taken meanwhile stays in the backup queue, which the next poll puts back.
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise asyncio.CancelledError
        return message

    def discard_channel(self, channel: str) -> None:
        """Forget the channel of a consumer that has ended: what is buffered for it, and what arrives for it
        later, is dropped. Its receive may have returned a message just as it ended, so the consumer says
        so itself (RealtimeConsumer.disconnect)."""
        self.receiving_channels.discard(channel)
        self.receive_buffer.pop(channel, None)

    def create_pool(self, index):
        """A pool where a command waits for a free connection instead of failing.

        The stock pool raises ``MaxConnectionsError`` once ``max_connections`` commands are in flight:
        when hundreds of sockets closed at once, most of their disconnects' ``group_discard`` calls
        failed and left the channels in their groups until ``group_expiry`` (docs/performance.md, fix 3;
        tests/reliability/test_churn_and_crash.py). Waiting is bounded by the pool's 20 s ``timeout``.
        Hosts are given by ``address`` (config/settings.py).
        """
        host = dict(self.hosts[index])
        return BlockingConnectionPool.from_url(host.pop("address"), **host)

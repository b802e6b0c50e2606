"""Channel layers that count, and log at WARNING, every delivery they drop because a queue is full.

Dropping is by design (the database is the record and clients catch up with ``join`` + ``after``),
but the stock layers hide it: the in-memory layer swallows ``ChannelFull`` inside ``group_send``;
channels_redis 4.3 reports the queues a group send found full only in an INFO line and evicts the
oldest message of a socket's local buffer without a word. Here each drop adds to
``publish_counters.dropped`` (GET /api/health) and logs a WARNING on logger ``realtime.layers``.

The Redis layer's ``group_send`` and its receive are also this module's own: one round trip to Redis each
instead of four (every push of the product goes through both, docs/performance.md).
"""

import asyncio
import contextvars
import functools
import logging
import time

from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer as StockInMemoryChannelLayer
from channels_redis.core import BoundedQueue
from channels_redis.core import RedisChannelLayer as StockRedisChannelLayer
from channels_redis.serializers import MsgPackSerializer
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


# A group send in one round trip, atomic: forget the group's members whose membership expired, read the others, and
# give each receiving queue (one per process for its sockets' channels, ``prefix`` + the channel up to its ``!``; a
# queue per channel otherwise) the message naming its channels: the bytes channels_redis's own group send stores,
# the message serialized with its ``__asgi_channel__`` list last (``head`` is those bytes up to that list, whose
# msgpack ``cmsgpack`` writes as Python's msgpack does). For each queue it first trims the messages past their
# expiry and adds this one only where there is room. KEYS: the group. ARGV: the layer's prefix, the head, the
# queues' capacity, the times before which a membership and a message expired, the time now and the queues' expiry
# in seconds. Returns how many queues were full and how many channels the group had.
_GROUP_SEND = LuaScript(
    """
local prefix, head = ARGV[1], ARGV[2]
local capacity = tonumber(ARGV[3])
local memberships_expired_before, messages_expired_before = ARGV[4], ARGV[5]
local now, expiry = ARGV[6], ARGV[7]
redis.call('ZREMRANGEBYSCORE', KEYS[1], 0, memberships_expired_before)
local members = redis.call('ZRANGE', KEYS[1], 0, -1)
local queues, channels_of = {}, {}
for _, channel in ipairs(members) do
    local bang = string.find(channel, '!', 1, true)
    local queue = prefix .. (bang and string.sub(channel, 1, bang) or channel)
    if channels_of[queue] == nil then
        channels_of[queue] = {}
        queues[#queues + 1] = queue
    end
    table.insert(channels_of[queue], channel)
end
local full = 0
for _, queue in ipairs(queues) do
    redis.call('ZREMRANGEBYSCORE', queue, 0, messages_expired_before)
    if redis.call('ZCOUNT', queue, '-inf', '+inf') < capacity then
        redis.call('ZADD', queue, now, head .. cmsgpack.pack(channels_of[queue]))
        redis.call('EXPIRE', queue, expiry)
    else
        full = full + 1
    end
end
return {full, #members}
"""
)


class RedisChannelLayer(_CountsRefusedSends, StockRedisChannelLayer):
    """The stock Redis layer with every drop counted (refused sends, full queues in a group send, evictions
    from a socket's local buffer), a group send in one round trip and a receive in one round trip."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The channels this process handed to consumers whose receive has not been cancelled yet.
        self.receiving_channels: set[str] = set()
        self.receive_buffer = _ReceiveBuffers(self.capacity, self.receiving_channels)
        # The pop of each queue's messages, from its start until a receive has its answer (_brpop_with_clean).
        self._pop_in_flight: dict[str, asyncio.Task] = {}
        # The one configuration _GROUP_SEND writes the stock send's bytes for: one Redis host, messages packed as
        # msgpack without encryption, one capacity for every channel.
        serializer = self._serializer
        self.group_send_in_one_trip = (
            self.ring_size == 1
            and isinstance(serializer, MsgPackSerializer)
            and serializer.crypter is None
            and not self.channel_capacity
        )
        # What ends a serialized message whose last value is an empty list: the script writes the list there.
        self._empty_list_length = len(serializer.as_bytes([]))

    async def group_send(self, group, message):
        """What the stock ``group_send`` does, in one round trip instead of four: one script (``_GROUP_SEND``) forgets
        the expired members, reads the others and gives each of their queues the message, as the stock send
        stores it, where there is room. A layer the script does not know (``group_send_in_one_trip``) takes the
        stock send, whose full queues are not counted."""
        if not self.group_send_in_one_trip:
            await super().group_send(group, message)
            return
        assert self.require_valid_group_name(group), "Group name not valid"
        assert "__asgi_channel__" not in message
        stored = self.serialize({**message, "__asgi_channel__": []})
        now = time.time()
        full, members = await _GROUP_SEND.run_async(
            self.connection(0),
            keys=[self._group_key(group)],
            args=[
                self.prefix,
                stored[: -self._empty_list_length],
                self.capacity,
                int(now) - self.group_expiry,
                int(now) - int(self.expiry),
                now,
                self.expiry,
            ],
        )
        if full:
            _record_drops(full, f"for group {group}, on {full} process queue(s) of its {members} channels")

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
        """The next message of ``channel`` (``None`` after ``timeout`` seconds without one) in one round trip.

        The stock receive takes four per message: a script that puts back what a cancelled receive left in a
        backup queue, the pop, a copy of the message into that backup, and its removal once received. The
        backup is for a receive cancelled (its consumer ended) while Redis's answer to the pop is on its way:
        Redis has taken the message, the layer has not. Here the pop runs in a task of its own that the cancel
        does not reach, and the next receive of the queue takes over that pop and what it brings
        (``_pop_in_flight``). Receives of one queue take turns (channels_redis's locks), so one pop at most is
        in flight per queue. Each message is received once and in order, as before; a process that dies loses
        what its queue held, as before (nothing read a dead process's backup)."""
        popping = self._pop_in_flight.get(channel)
        if popping is None or popping.get_loop() is not asyncio.get_running_loop():
            popping = asyncio.ensure_future(self.connection(index).bzpopmin(channel, timeout=timeout))
            popping.add_done_callback(functools.partial(self._pop_ended, channel))
            self._pop_in_flight[channel] = popping
        popped = await asyncio.shield(popping)
        # A cancel that an await swallowed leaves the task cancelling: redis-py writes each command through
        # asyncio.wait_for, which on Python 3.11 returns normally when cancelled just as the write completes
        # (CPython gh-86296, fixed in 3.12). receive_single would then poll again, forever: the consumer of a
        # closed socket never ended, and uvicorn's shutdown waited for it. The pop's message is left to the next.
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise asyncio.CancelledError
        self._pop_in_flight.pop(channel, None)
        return None if popped is None else popped[1]

    def _pop_ended(self, channel: str, popping: asyncio.Task) -> None:
        """A pop that brought a message waits for a receive to take it. One that failed, was cancelled or timed
        out is forgotten, its error marked seen (the receive that took it over gets it all the same): a queue
        that nobody receives from any more keeps no pop here."""
        brought_nothing = popping.cancelled() or popping.exception() is not None or popping.result() is None
        if brought_nothing and self._pop_in_flight.get(channel) is popping:
            del self._pop_in_flight[channel]

    async def _clean_receive_backup(self, index, channel):
        """Nothing: there is no backup queue (``_brpop_with_clean``)."""

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

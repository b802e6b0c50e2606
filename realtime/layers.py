"""Channel layers that count, and log at WARNING, every delivery they drop because a queue is full.

Dropping is by design (the database is the record and clients catch up with ``join`` + ``after``),
but the stock layers hide it: the in-memory layer swallows ``ChannelFull`` inside ``group_send``;
channels_redis 4.3 reports the queues a group send found full only in an INFO line and evicts the
oldest message of a socket's local buffer without a word. Here each drop adds to
``publish_counters.dropped`` (GET /api/health) and logs a WARNING on logger ``realtime.layers``.
"""

import asyncio
import contextvars
import logging
from typing import cast

from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer as StockInMemoryChannelLayer
from channels_redis.core import BoundedQueue
from channels_redis.core import RedisChannelLayer as StockRedisChannelLayer
from redis.asyncio import BlockingConnectionPool

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


OVER_CAPACITY_LINE = "%s of %s channels over capacity in group %s"


class _OverCapacityLine(logging.Filter):
    """Turns channels_redis's INFO line about a group send that found queues full into counted drops.

    channels_redis 4.3 counts those queues inside the Lua script of ``group_send`` and hands the count
    only to this log line, so reading the record is the one way to learn it without copying
    ``group_send``. Its count is of Redis queues, one per receiving process (all of a process's sockets
    share one), not of sockets. Should a later version reword the line, tests/realtime/test_layer_drops.py
    fails rather than the count silently stopping.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg != OVER_CAPACITY_LINE:
            return True
        full_queues, channels, group = cast(tuple[int, int, str], record.args)
        _record_drops(full_queues, f"for group {group}, on {full_queues} process queue(s) of its {channels} channels")
        return False


_over_capacity_line = _OverCapacityLine()


class RedisChannelLayer(_CountsRefusedSends, StockRedisChannelLayer):
    """The stock Redis layer with every drop counted: refused sends, full queues in a group send, and
    evictions from a socket's local buffer."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The channels this process handed to consumers whose receive has not been cancelled yet.
        self.receiving_channels: set[str] = set()
        self.receive_buffer = _ReceiveBuffers(self.capacity, self.receiving_channels)
        source = logging.getLogger("channels_redis.core")
        # The line is made only if INFO is enabled there; a LOG_LEVEL above INFO must not stop the count.
        # The filter swallows the line, and channels_redis.core logs nothing else at INFO.
        source.setLevel(logging.INFO)
        source.addFilter(_over_capacity_line)

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

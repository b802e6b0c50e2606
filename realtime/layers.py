"""Channel layers that count, and log at WARNING, every delivery they drop because a queue is full.

Dropping is by design (the database is the record and clients catch up with ``join`` + ``after``),
but the stock layers hide it: the in-memory layer swallows ``ChannelFull`` inside ``group_send``;
channels_redis 4.3 reports the queues a group send found full only in an INFO line and evicts the
oldest message of a socket's local buffer without a word. Here each drop adds to
``publish_counters.dropped`` (GET /api/health) and logs a WARNING on logger ``realtime.layers``.
"""

import collections
import contextvars
import functools
import logging

from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer as StockInMemoryChannelLayer
from channels_redis.core import BoundedQueue
from channels_redis.core import RedisChannelLayer as StockRedisChannelLayer

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
        full_queues, channels, group = record.args
        _record_drops(full_queues, f"for group {group}, on {full_queues} process queue(s) of its {channels} channels")
        return False


_over_capacity_line = _OverCapacityLine()


class RedisChannelLayer(_CountsRefusedSends, StockRedisChannelLayer):
    """The stock Redis layer with every drop counted: refused sends, full queues in a group send, and
    evictions from a socket's local buffer."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.receive_buffer = collections.defaultdict(functools.partial(_LocalBuffer, self.capacity))
        source = logging.getLogger("channels_redis.core")
        # The line is made only if INFO is enabled there; a LOG_LEVEL above INFO must not stop the count.
        # The filter swallows the line, and channels_redis.core logs nothing else at INFO.
        source.setLevel(logging.INFO)
        source.addFilter(_over_capacity_line)

"""Publishing events to socket groups, only once the rows they describe are committed.

The channel layer is at-most-once: a failed publish is logged and counted, never raised, because
the rows are already committed and clients recover them by cursor (``join`` with ``after``).
"""

import logging
import threading
import time

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

EVENT_MESSAGE_TYPE = "realtime.event"


class _Counters:
    """Process-wide publish counters, read by the health endpoint.

    ``published`` and ``failed`` count this process's group sends; ``dropped`` counts deliveries the
    channel layer refused because a queue was full (``realtime.layers``): a published event can still
    miss a socket.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self.published = 0
        self.failed = 0
        self.dropped = 0

    def add(self, *, ok: bool) -> None:
        with self._lock:
            if ok:
                self.published += 1
            else:
                self.failed += 1

    def add_dropped(self, count: int) -> None:
        with self._lock:
            self.dropped += count

    def snapshot(self) -> dict:
        with self._lock:
            return {"published": self.published, "failed": self.failed, "dropped": self.dropped}


publish_counters = _Counters()


def group_message(event: str, data: dict, *, exclude_user_id: int | None = None) -> dict:
    """The layer message of a push. ``published_at`` (wall time, so that another process or host can read
    it) lets the receiving socket report how long the push took to reach it (``realtime.admission``)."""
    return {
        "type": EVENT_MESSAGE_TYPE,
        "event": event,
        "data": data,
        "exclude_user_id": exclude_user_id,
        "published_at": time.time(),
    }


async def publish(groups: list[str], event: str, data: dict, *, exclude_user_id: int | None = None) -> None:
    """Send ``event`` to ``groups`` now, from async code (a socket handler with nothing to commit)."""
    layer = get_channel_layer()
    message = group_message(event, data, exclude_user_id=exclude_user_id)
    for group in groups:
        try:
            await layer.group_send(group, message)
        except Exception:
            publish_counters.add(ok=False)
            logger.warning("publish of %s to %s failed; clients will catch up by cursor", event, group, exc_info=True)
        else:
            publish_counters.add(ok=True)


def publish_now(groups: list[str], event: str, data: dict, *, exclude_user_id: int | None = None) -> None:
    async_to_sync(publish)(groups, event, data, exclude_user_id=exclude_user_id)


def publish_on_commit(groups: list[str], event: str, data: dict, *, exclude_user_id: int | None = None) -> None:
    """Send ``event`` to ``groups`` after the current transaction commits (at once if none is open)."""
    transaction.on_commit(lambda: publish_now(groups, event, data, exclude_user_id=exclude_user_id))

"""Presence as the socket session sees it: each opened and closed socket goes to the store
(``presence.store``), and what changes a user's state is announced to their peers (``presence.services``).

While a process holds sockets, one task of it ticks: it renews its sockets' entries (so they outlive a tick by
``PRESENCE_TTL_SECONDS``) and sweeps for users whose grace period is over or whose sockets all lapsed with a
killed process. A closed last socket also settles its user itself once the grace period is over, so a normal
close is announced on time; the sweep is what catches a process that died before it could.

Presence is a courtesy: while Redis or the database is unreachable sockets still open and close, and what
could not be announced is logged.
"""

import asyncio
import logging

from channels.db import database_sync_to_async
from django.conf import settings
from redis.exceptions import RedisError

from presence import services
from presence.store import memory_presence, presence_store

logger = logging.getLogger(__name__)

# Sockets of this process that count for presence: channel name -> user id.
_held: dict[str, int] = {}
_ticker: asyncio.Task | None = None
# Grace-period timers waiting to settle a user (kept here: the loop holds only weak references to tasks).
_settlers: set[asyncio.Task] = set()
# A settle waits this much past the grace period, so the store (on Redis's clock) finds it over.
SETTLE_MARGIN_SECONDS = 0.1


def tick_seconds() -> float:
    """Often enough to renew entries well within their TTL and to sweep about once per grace period."""
    return min(settings.PRESENCE_TTL_SECONDS / 3, max(settings.PRESENCE_OFFLINE_GRACE_SECONDS, 1.0))


async def presence_socket_opened(user_id: int, channel_name: str) -> None:
    _held[channel_name] = user_id
    _tick_while_held()
    try:
        came_online = await presence_store().open(user_id, channel_name)
    except RedisError:
        logger.warning("presence unreachable; user %s's socket is counted at the next tick", user_id)
        return
    if came_online:
        await _announce(user_id, online=True)


async def presence_socket_closed(channel_name: str) -> None:
    """Called on every end of a session (possibly more than once): only the first call counts."""
    user_id = _held.pop(channel_name, None)
    if user_id is None:
        return
    try:
        last_socket = await presence_store().close(user_id, channel_name)
    except RedisError:
        logger.warning("presence unreachable; user %s's socket lapses with its entry instead", user_id)
        return
    if last_socket:
        settler = asyncio.get_running_loop().create_task(_settle_after_grace(user_id))
        _settlers.add(settler)
        settler.add_done_callback(_settlers.discard)


async def _settle_after_grace(user_id: int) -> None:
    await asyncio.sleep(settings.PRESENCE_OFFLINE_GRACE_SECONDS + SETTLE_MARGIN_SECONDS)
    try:
        went_offline = await presence_store().settle(user_id)
    except RedisError:
        logger.warning("presence unreachable; user %s is settled by a later sweep", user_id)
        return
    if went_offline:
        await _announce(user_id, online=False)


async def _announce(user_id: int, *, online: bool) -> None:
    try:
        await database_sync_to_async(services.presence_announce)(user_id=user_id, online=online)
    except Exception:
        # The state in the store is right whatever happens here; peers see it in the REST answers.
        logger.exception("could not announce user %s %s", user_id, "online" if online else "offline")


def _tick_while_held() -> None:
    """One ticking task per process (per event loop), running while this process holds sockets."""
    global _ticker
    loop = asyncio.get_running_loop()
    if _ticker is None or _ticker.done() or _ticker.get_loop() is not loop:
        _ticker = loop.create_task(_tick())


async def _tick() -> None:
    while _held:
        await asyncio.sleep(tick_seconds())
        store = presence_store()
        try:
            lapsed = await store.renew(list(_held.items()))
            back_online = [
                user_id
                for user_id, channel_name in ((_held.get(name), name) for name in lapsed)
                if user_id is not None and await store.open(user_id, channel_name)
            ]
            offline = await store.sweep(lock_seconds=tick_seconds())
        except RedisError:
            logger.warning("presence unreachable; not renewed or swept this tick")
            continue
        for user_id in back_online:
            await _announce(user_id, online=True)
        for user_id in offline:
            await _announce(user_id, online=False)


def forget_sockets() -> None:
    """Forget this process's sockets and the in-memory store (between tests, whose ids repeat)."""
    _held.clear()
    _settlers.clear()
    memory_presence.clear()

"""At most ``SOCKET_MAX_PER_USER`` open sockets per user, counted across every server process.

With Redis (``REDIS_URL``, on the process's shared client: ``kernel.redis_client``) a user's sockets are
one sorted set: a member per socket (its channel name, unique per socket), scored by the time its lease
runs out. Taking a slot is one Lua script, so two processes cannot both take the last one: it drops
members whose lease ran out, counts, and adds the socket only below the cap. While a process runs it
renews the leases of its own sockets every third of ``SOCKET_SLOT_LEASE_SECONDS``; a process that is
killed stops renewing, and its sockets stop counting one lease later. So the count cannot leak: a slot
is given back on disconnect, or lapses by itself.
Without Redis each process counts its own sockets in memory, where a dead process takes its count along.

While Redis is unreachable sockets are admitted uncounted (and logged), like the rate limits: an outage
of the limiter must not become an outage of messaging.
"""

import asyncio
import logging
import time

from django.conf import settings
from redis.asyncio import Redis
from redis.exceptions import RedisError

from kernel.redis_client import LuaScript, cache_key, shared_redis_async

logger = logging.getLogger(__name__)

CLOSE_TOO_MANY_SOCKETS = 4429


def close_reason() -> str:
    return f"too many sockets: at most {settings.SOCKET_MAX_PER_USER} open per user"


# KEYS[1] the user's set; ARGV: socket, now, lease end, cap. 1 if the socket now holds a slot.
_TAKE_SCRIPT = LuaScript(
    """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
if redis.call('ZSCORE', KEYS[1], ARGV[1]) == false and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then
    return 0
end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
redis.call('EXPIREAT', KEYS[1], math.ceil(tonumber(ARGV[3])))
return 1
"""
)

# Sockets holding a slot in this process: channel name -> the user's key (Redis) or user id (memory).
_held: dict[str, str | int] = {}
_renewer: asyncio.Task | None = None


def user_key(user_id: int) -> str:
    return cache_key(f"sockets:{user_id}")


async def socket_slot_take(user_id: int, channel_name: str) -> bool:
    """Take one of the user's socket slots for ``channel_name``; False if all are taken."""
    redis = shared_redis_async()
    if redis is None:
        if sum(1 for holder in _held.values() if holder == user_id) >= settings.SOCKET_MAX_PER_USER:
            return False
        _held[channel_name] = user_id
        return True
    key = user_key(user_id)
    try:
        taken = await _take_in_redis(redis, key, channel_name)
    except RedisError:
        logger.warning("socket slots unreachable; admitting a socket of user %s uncounted", user_id)
        return True
    if taken:
        _held[channel_name] = key
        _renew_while_held()
    return taken


async def socket_slot_give_back(channel_name: str) -> None:
    """Give back the slot ``channel_name`` holds, if it holds one (it may be called more than once)."""
    key = _held.pop(channel_name, None)
    redis = shared_redis_async()
    if key is None or redis is None:
        return
    try:
        await _give_back_in_redis(redis, str(key), channel_name)
    except RedisError:
        logger.warning("socket slots unreachable; a slot lapses with its lease instead")


async def _take_in_redis(redis: Redis, key: str, channel_name: str) -> bool:
    now = time.time()
    taken = await _TAKE_SCRIPT.run_async(
        redis,
        keys=[key],
        args=[channel_name, now, now + settings.SOCKET_SLOT_LEASE_SECONDS, settings.SOCKET_MAX_PER_USER],
    )
    return bool(taken)


async def _give_back_in_redis(redis: Redis, key: str, channel_name: str) -> None:
    await redis.zrem(key, channel_name)


async def _renew_in_redis(redis: Redis, held: list[tuple[str, str]]) -> None:
    lease_end = time.time() + settings.SOCKET_SLOT_LEASE_SECONDS
    pipeline = redis.pipeline(transaction=False)
    for channel_name, key in held:
        # XX: a slot that lapsed meanwhile (this process stalled past its lease) is not taken back unasked.
        pipeline.zadd(key, {channel_name: lease_end}, xx=True)
        pipeline.expireat(key, int(lease_end) + 1)
    await pipeline.execute()


def _renew_while_held() -> None:
    """One renewing task per process (per event loop), running while this process holds slots."""
    global _renewer
    loop = asyncio.get_running_loop()
    if _renewer is None or _renewer.done() or _renewer.get_loop() is not loop:
        _renewer = loop.create_task(_renew_leases())


async def _renew_leases() -> None:
    while _held:
        await asyncio.sleep(settings.SOCKET_SLOT_LEASE_SECONDS / 3)
        redis = shared_redis_async()
        if redis is None:
            return  # the settings moved the cache into memory (a test): no lease there to renew
        try:
            await _renew_in_redis(redis, [(name, str(key)) for name, key in _held.items()])
        except RedisError:
            logger.warning("socket slots unreachable; leases not renewed this round")

"""Where presence is kept: which sockets each user has open, and which users are announced online.

With Redis (``REDIS_URL``, on the process's shared client: ``kernel.redis_client``) a user's sockets are one
sorted set, a member per socket (its channel name) scored by the time its entry runs out; the process that holds
the socket renews it every tick (``presence.tracker``), so a killed process's sockets lapse within
``PRESENCE_TTL_SECONDS``. One more sorted set, the index, holds every user announced online, scored by when to
look at them next: their sockets' last expiry, or, once their last socket closed, the end of the grace period.
A user leaves the index, and is announced offline, only when that time has come and no entry of theirs is
left; each step is one Lua script, so of all the processes that look, exactly one sees the user go.
Scripts read the time from Redis, so processes on hosts whose clocks differ agree on what has run out.

Without Redis (``make run``) the one process keeps the same two maps in memory, where its sockets cannot
outlive it.
"""

import logging
import time
from collections.abc import Iterable

from django.conf import settings
from redis.asyncio import Redis as AsyncRedis
from redis.exceptions import RedisError

from kernel.redis_client import LuaScript, cache_key, shared_redis, shared_redis_async

logger = logging.getLogger(__name__)

_COMMON = """
local function now()
    local t = redis.call('TIME')
    return tonumber(t[1]) + tonumber(t[2]) / 1000000
end
-- Drop the user's lapsed sockets; with one left, look again when the last runs out (0); with none, the
-- user leaves the index (1): the caller announces them offline.
local function settle(index, key, uid, at)
    redis.call('ZREMRANGEBYSCORE', key, '-inf', at)
    local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
    if #last > 0 then
        redis.call('ZADD', index, last[2], uid)
        return 0
    end
    redis.call('ZREM', index, uid)
    return 1
end
"""

# KEYS: index, the user's sockets. ARGV: channel, user id, TTL. 1 if the user was not announced online.
_OPEN = LuaScript(
    _COMMON
    + """
local at = now()
local announced = redis.call('ZSCORE', KEYS[1], ARGV[2])
local expires = at + tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', at)
redis.call('ZADD', KEYS[2], expires, ARGV[1])
redis.call('ZADD', KEYS[1], 'GT', expires, ARGV[2])
if announced then return 0 end
return 1
"""
)

# KEYS: index, the user's sockets. ARGV: channel, user id, grace. 1 if that was the user's last socket: the
# caller settles them once the grace period is over.
_CLOSE = LuaScript(
    _COMMON
    + """
local at = now()
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', at)
if redis.call('ZCARD', KEYS[2]) > 0 or not redis.call('ZSCORE', KEYS[1], ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], at + tonumber(ARGV[3]), ARGV[2])
return 1
"""
)

# KEYS: index, the user's sockets. ARGV: user id. 1 if the user went offline.
_SETTLE = LuaScript(
    _COMMON
    + """
local at = now()
local due = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not due or tonumber(due) > at then return 0 end
return settle(KEYS[1], KEYS[2], ARGV[1], at)
"""
)

# KEYS: index, then the sockets of each held socket's user. ARGV: TTL, then channel and user id per held socket.
# The channels whose entry was gone (lapsed while this process stalled, or closed meanwhile) are returned.
_RENEW = LuaScript(
    _COMMON
    + """
local expires = now() + tonumber(ARGV[1])
local lapsed = {}
for i = 2, #KEYS do
    local channel, uid = ARGV[2 * i - 2], ARGV[2 * i - 1]
    if redis.call('ZSCORE', KEYS[i], channel) then
        redis.call('ZADD', KEYS[i], expires, channel)
        redis.call('ZADD', KEYS[1], 'GT', expires, uid)
    else
        table.insert(lapsed, channel)
    end
end
return lapsed
"""
)

# KEYS: index, the sweep's lock. ARGV: the sockets' key prefix, the lock's milliseconds, the batch size.
# The users whose time has come and who have no socket left: they went offline. The lock lets one process
# sweep per tick; the users' keys are built here from the prefix, so this needs one Redis, not a cluster.
_SWEEP = LuaScript(
    _COMMON
    + """
if not redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[2]) then return {} end
local at = now()
local offline = {}
for _, uid in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', at, 'LIMIT', 0, tonumber(ARGV[3]))) do
    if settle(KEYS[1], ARGV[1] .. uid, uid, at) == 1 then table.insert(offline, uid) end
end
return offline
"""
)

# KEYS: index. ARGV: user ids. Those announced online (a user in the grace period still is; one whose sockets
# all lapsed is not, even before a sweep announces it).
_ONLINE = LuaScript(
    _COMMON
    + """
local at = now()
local online = {}
for _, uid in ipairs(ARGV) do
    local due = redis.call('ZSCORE', KEYS[1], uid)
    if due and tonumber(due) > at then table.insert(online, uid) end
end
return online
"""
)

SWEEP_BATCH = 500


def _index_key() -> str:
    return cache_key("presence:online")


def _sockets_prefix() -> str:
    return cache_key("presence:sockets:")


def _sockets_key(user_id: int | str) -> str:
    return f"{_sockets_prefix()}{user_id}"


class RedisPresence:
    def __init__(self, client: AsyncRedis):
        self.client = client

    async def open(self, user_id: int, channel_name: str) -> bool:
        """Count the socket; True if its user was offline until now."""
        keys = [_index_key(), _sockets_key(user_id)]
        args = [channel_name, user_id, settings.PRESENCE_TTL_SECONDS]
        return bool(await _OPEN.run_async(self.client, keys=keys, args=args))

    async def close(self, user_id: int, channel_name: str) -> bool:
        """Stop counting the socket; True if it was its user's last: settle them after the grace period."""
        keys = [_index_key(), _sockets_key(user_id)]
        args = [channel_name, user_id, settings.PRESENCE_OFFLINE_GRACE_SECONDS]
        return bool(await _CLOSE.run_async(self.client, keys=keys, args=args))

    async def settle(self, user_id: int) -> bool:
        """True if the user's grace period is over with no socket reopened: they went offline."""
        return bool(await _SETTLE.run_async(self.client, keys=[_index_key(), _sockets_key(user_id)], args=[user_id]))

    async def renew(self, held: list[tuple[str, int]]) -> list[str]:
        """Push back the expiry of these sockets (channel, user id); the channels that had no entry left."""
        if not held:
            return []
        keys = [_index_key(), *(_sockets_key(user_id) for _, user_id in held)]
        args: list = [settings.PRESENCE_TTL_SECONDS]
        for channel_name, user_id in held:
            args += [channel_name, user_id]
        return [channel.decode() for channel in await _RENEW.run_async(self.client, keys=keys, args=args)]

    async def sweep(self, lock_seconds: float) -> list[int]:
        """The users of any process whose time has come and who have no socket left: they went offline."""
        keys = [_index_key(), cache_key("presence:sweep")]
        args = [_sockets_prefix(), int(lock_seconds * 1000), SWEEP_BATCH]
        return [int(user_id) for user_id in await _SWEEP.run_async(self.client, keys=keys, args=args)]


class MemoryPresence:
    """The same steps on one process's maps: its sockets never lapse, so only grace periods run out."""

    def __init__(self):
        self.sockets: dict[int, set[str]] = {}
        self.index: dict[int, float] = {}  # user id -> when to settle them (infinity while a socket is open)

    def clear(self) -> None:
        self.sockets.clear()
        self.index.clear()

    async def open(self, user_id: int, channel_name: str) -> bool:
        announced = user_id in self.index
        self.sockets.setdefault(user_id, set()).add(channel_name)
        self.index[user_id] = float("inf")
        return not announced

    async def close(self, user_id: int, channel_name: str) -> bool:
        sockets = self.sockets.get(user_id, set())
        sockets.discard(channel_name)
        if sockets or user_id not in self.index:
            return False
        self.sockets.pop(user_id, None)
        self.index[user_id] = time.time() + settings.PRESENCE_OFFLINE_GRACE_SECONDS
        return True

    async def settle(self, user_id: int) -> bool:
        due = self.index.get(user_id)
        if due is None or due > time.time():
            return False
        del self.index[user_id]
        return True

    async def renew(self, held: list[tuple[str, int]]) -> list[str]:
        return []

    async def sweep(self, lock_seconds: float) -> list[int]:
        return [
            user_id for user_id, due in list(self.index.items()) if due <= time.time() and await self.settle(user_id)
        ]

    def online_among(self, user_ids: Iterable[int]) -> set[int]:
        now = time.time()
        return {user_id for user_id in user_ids if self.index.get(user_id, 0.0) > now}


# The process's store when the cache is in memory; the in-memory channel layer reaches this process only.
memory_presence = MemoryPresence()


def presence_store() -> RedisPresence | MemoryPresence:
    """The store of the running event loop: Redis if the cache is there, else this process's memory."""
    client = shared_redis_async()
    return memory_presence if client is None else RedisPresence(client)


def users_online(user_ids: Iterable[int]) -> set[int]:
    """Which of these users are online, in one round trip (from synchronous code: a REST view). While Redis is
    unreachable nobody is: the answer that needs it still comes."""
    user_ids = list(user_ids)
    client = shared_redis()
    if client is None:
        return memory_presence.online_among(user_ids)
    if not user_ids:
        return set()
    try:
        online = _ONLINE(client, keys=[_index_key()], args=user_ids)
    except RedisError:
        logger.warning("presence unreachable; %s users shown offline", len(user_ids))
        return set()
    return {int(user_id) for user_id in online}

"""One Redis connection pool per server process for everything outside the channel layer: the rate limits,
the socket slots and the Django cache (the Socket.IO sid map), plus one asyncio pool per event loop for the
code that runs on the loop.

Django's ``caches`` keeps a cache object per async context, so under ASGI every request built a new
``RedisCache`` with a pool of its own and opened a TCP connection that nothing closed. The cache backend
here (``SharedPoolRedisCache``, the ``CACHES`` backend when ``REDIS_URL`` is set) hands each of those
objects the process's pool instead, and ``shared_redis()`` gives code that needs more than the cache API
(a Lua script, a pipeline) a client on that same pool; ``shared_redis_async()`` is its counterpart for
coroutines, which then await Redis on the loop instead of hopping to a thread. Pools are made lazily and per
process id: a forked worker opens its own connections rather than share its parent's sockets. An asyncio
pool belongs to the loop that made it (a server process has one; each async test has its own).
"""

import asyncio
import os
import threading
import weakref
from functools import cache as memoized
from typing import Any

import redis
import redis.asyncio
from django.conf import settings
from django.core.cache.backends.base import get_key_func
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string
from redis.commands.core import AsyncScript, Script

_lock = threading.Lock()
# (process id, url, pool options) -> the client on that pool; entries of a parent process are never used.
_clients: dict[tuple, redis.Redis] = {}
_async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple, redis.asyncio.Redis]] = (
    weakref.WeakKeyDictionary()
)


def _shared_client(url: str, options: dict[str, Any]) -> redis.Redis:
    key = (os.getpid(), url, tuple(sorted(options.items())))
    client = _clients.get(key)
    if client is None:
        with _lock:
            client = _clients.get(key)
            if client is None:
                client = _clients[key] = redis.Redis(connection_pool=redis.ConnectionPool.from_url(url, **options))
    return client


class SharedPoolRedisCacheClient(RedisCacheClient):
    """Django's Redis cache client with every command on the process's pool for its server; ``OPTIONS``
    other than ``serializer`` are that pool's options."""

    def __init__(self, servers: list[str], serializer: Any = None, **options: Any):
        if len(servers) != 1:
            raise ImproperlyConfigured("SharedPoolRedisCache takes one Redis server (LOCATION)")
        super().__init__(servers, serializer=serializer)
        self._server = servers[0]
        self._shared_pool_options = options

    def get_client(self, key: Any = None, *, write: bool = False) -> redis.Redis:
        return _shared_client(self._server, self._shared_pool_options)


class SharedPoolRedisCache(RedisCache):
    """Django's Redis cache on the process's pool: a cache object per request costs no connection."""

    def __init__(self, server: str | list[str], params: dict[str, Any]):
        super().__init__(server, params)
        self._class = SharedPoolRedisCacheClient


@memoized
def _is_redis_cache(backend: str) -> bool:
    return issubclass(import_string(backend), RedisCache)


def _default_cache_redis() -> tuple[str, dict[str, Any]] | None:
    config: dict[str, Any] = settings.CACHES["default"]
    if not _is_redis_cache(config["BACKEND"]):
        return None
    return config["LOCATION"], config.get("OPTIONS", {})


def shared_redis() -> redis.Redis | None:
    """The process's client on the default cache's Redis; ``None`` when the cache is in memory."""
    server = _default_cache_redis()
    return None if server is None else _shared_client(*server)


def shared_redis_async() -> redis.asyncio.Redis | None:
    """The running loop's client on the default cache's Redis; ``None`` when the cache is in memory."""
    server = _default_cache_redis()
    if server is None:
        return None
    url, options = server
    loop = asyncio.get_running_loop()
    key = (os.getpid(), url, tuple(sorted(options.items())))
    client = _async_clients.get(loop, {}).get(key)
    if client is None:
        with _lock:
            clients = _async_clients.setdefault(loop, {})
            client = clients.get(key)
            if client is None:
                pool = redis.asyncio.ConnectionPool.from_url(url, **options)
                client = clients[key] = redis.asyncio.Redis(connection_pool=pool)
    return client


def cache_key(name: str) -> str:
    """``name`` as the default cache stores it (its prefix and version), without building a cache object."""
    config: dict[str, Any] = settings.CACHES["default"]
    return get_key_func(config.get("KEY_FUNCTION"))(name, config.get("KEY_PREFIX", ""), config.get("VERSION", 1))


class LuaScript:
    """A Lua script run by EVALSHA: one round trip, atomic. The server is sent the text only when a call
    finds it unknown (the first on each server)."""

    def __init__(self, text: str):
        self._sync = Script(None, text.encode())  # type: ignore[arg-type]  # each call names its client
        self._async = AsyncScript(None, text.encode())  # type: ignore[arg-type]

    def __call__(self, client: redis.Redis, *, keys: list[str], args: list[Any] | None = None) -> Any:
        return self._sync(keys=keys, args=args, client=client)

    async def run_async(self, client: redis.asyncio.Redis, *, keys: list[str], args: list[Any] | None = None) -> Any:
        return await self._async(keys=keys, args=args, client=client)

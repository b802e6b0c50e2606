"""One Redis connection pool per server process for everything outside the channel layer: the rate limits,
the socket slots and the Django cache (the Socket.IO sid map).

Django's ``caches`` keeps a cache object per async context, so under ASGI every request built a new
``RedisCache`` with a pool of its own and opened a TCP connection that nothing closed. The cache backend
here (``SharedPoolRedisCache``, the ``CACHES`` backend when ``REDIS_URL`` is set) hands each of those
objects the process's pool instead, and ``shared_redis()`` gives code that needs more than the cache API
(a Lua script, a pipeline) a client on that same pool. Pools are made lazily and per process id: a forked
worker opens its own connections rather than share its parent's sockets.
"""

import os
import threading
from functools import cache as memoized
from typing import Any

import redis
from django.conf import settings
from django.core.cache.backends.base import get_key_func
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string
from redis.commands.core import Script

_lock = threading.Lock()
# (process id, url, pool options) -> the client on that pool; entries of a parent process are never used.
_clients: dict[tuple, redis.Redis] = {}


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


def shared_redis() -> redis.Redis | None:
    """The process's client on the default cache's Redis; ``None`` when the cache is in memory."""
    config: dict[str, Any] = settings.CACHES["default"]
    if not _is_redis_cache(config["BACKEND"]):
        return None
    return _shared_client(config["LOCATION"], config.get("OPTIONS", {}))


def cache_key(name: str) -> str:
    """``name`` as the default cache stores it (its prefix and version), without building a cache object."""
    config: dict[str, Any] = settings.CACHES["default"]
    return get_key_func(config.get("KEY_FUNCTION"))(name, config.get("KEY_PREFIX", ""), config.get("VERSION", 1))


def lua_script(text: str) -> Script:
    """A script to call as ``script(keys=..., args=..., client=shared_redis())``: one EVALSHA round trip, atomic
    (the server is sent the text once, on the first call that finds it unknown)."""
    return Script(None, text.encode())  # type: ignore[arg-type]  # each call names its client

"""What one rate check costs in-process, each request in an async context of its own as under ASGI:
``REDIS_URL=redis://127.0.0.1:6379/<db> python -m bench.ratelimit_micro [--requests N]``.

Prints, per way of counting, the mean and median milliseconds per check and the connections Redis
accepted meanwhile (``INFO stats``; other clients of the same server add to it):
- Django's stock ``RedisCache`` as the limiter used it before: a cache object per context, hence a new
  pool and connection, then ``incr`` (EXISTS + INCRBY; the first of a window also SET NX);
- ``rate_spend`` today: the process's shared pool, one EVALSHA;
- a socket frame's check awaited from the loop: through ``sync_to_async`` as before (a thread hop, the
  shared pool), and ``rate_spend_async`` (the loop's asyncio pool, no thread);
- ``rate_spend`` on the in-memory cache (no ``REDIS_URL``).
Keys live under a prefix of the run's own and are deleted at the end. It prints figures; it asserts nothing.
"""

import argparse
import asyncio
import contextvars
import functools
import gc
import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

import redis  # noqa: E402
from asgiref.sync import sync_to_async  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.cache import caches  # noqa: E402
from django.test import override_settings  # noqa: E402

from kernel.ratelimit import Rate, rate_spend, rate_spend_async  # noqa: E402

RATE = Rate.parse("1000000/h")
STOCK_REDIS = "django.core.cache.backends.redis.RedisCache"
SHARED_REDIS = "kernel.redis_client.SharedPoolRedisCache"
LOCMEM = "django.core.cache.backends.locmem.LocMemCache"


def stock_cache_incr(number: int) -> None:
    """The limiter's count before: ``incr`` on the context's cache object, ``add`` to open the window."""
    cache = caches["default"]
    key = f"rate:micro:{number % 10}"
    try:
        cache.incr(key)
    except ValueError:
        if not cache.add(key, 1, RATE.seconds + 1):
            cache.incr(key)


def shared_spend(number: int) -> None:
    rate_spend(scope="micro", ident=number % 10, rate=RATE)


# How socket frames counted before rate_spend_async: a hop to a worker thread each.
spend_in_a_thread = sync_to_async(rate_spend, thread_sensitive=False)


async def timed(check: Callable[[int], None], requests: int) -> list[float]:
    """Milliseconds per check, each run in a context of its own and off the loop, as a view's throttle is."""
    seconds = []
    for number in range(requests):

        def one(number: int = number) -> None:
            started = time.perf_counter()
            check(number)
            seconds.append(time.perf_counter() - started)

        await asyncio.get_running_loop().run_in_executor(None, contextvars.Context().run, one)
    return [value * 1000 for value in seconds]


async def timed_on_the_loop(spend: Callable[..., Awaitable[int | None]], requests: int) -> list[float]:
    """Milliseconds per awaited ``spend``, each in a task and context of its own, as a socket frame's is."""
    seconds = []
    for number in range(requests):
        started = time.perf_counter()
        spending = spend(scope="micro", ident=number % 10, rate=RATE)
        await asyncio.get_running_loop().create_task(spending, context=contextvars.Context())
        seconds.append(time.perf_counter() - started)
    return [value * 1000 for value in seconds]


async def measure(
    timer: Callable[[int], Awaitable[list[float]]], requests: int, observer: redis.Redis
) -> tuple[list[float], int]:
    """Warm up, then time ``requests`` checks on one loop (an asyncio pool belongs to its loop, as in a
    server process); also the connections Redis accepted while they ran."""
    await timer(10)  # imports, the script loaded on the server, the shared pools' connections
    before = observer.info("stats")["total_connections_received"]
    milliseconds = await timer(requests)
    return milliseconds, observer.info("stats")["total_connections_received"] - before


def report(label: str, milliseconds: list[float], connections: int | None) -> None:
    opened = "-" if connections is None else str(connections)
    print(
        f"{label:<58} mean {statistics.fmean(milliseconds):6.3f} ms  median {statistics.median(milliseconds):6.3f} ms"
        f"  connections opened {opened:>5}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    requests = parser.parse_args().requests
    if not settings.REDIS_URL:
        raise SystemExit("set REDIS_URL (e.g. redis://127.0.0.1:6379/5): the figures compare ways of using Redis")
    observer = redis.Redis.from_url(settings.REDIS_URL)
    prefix = f"bench-micro-{uuid.uuid4().hex[:8]}"
    redis_cache = {**settings.CACHES["default"], "KEY_PREFIX": prefix}
    ways: list[tuple[str, Callable[[int], Awaitable[list[float]]], str]] = [
        ("stock RedisCache per context, incr (before)", functools.partial(timed, stock_cache_incr), STOCK_REDIS),
        ("rate_spend, shared pool, one EVALSHA (now)", functools.partial(timed, shared_spend), SHARED_REDIS),
        (
            "socket frame: sync_to_async(rate_spend), shared pool",
            functools.partial(timed_on_the_loop, spend_in_a_thread),
            SHARED_REDIS,
        ),
        (
            "socket frame: rate_spend_async, the loop's pool (now)",
            functools.partial(timed_on_the_loop, rate_spend_async),
            SHARED_REDIS,
        ),
        ("rate_spend, in-memory cache (no REDIS_URL)", functools.partial(timed, shared_spend), LOCMEM),
    ]
    print(f"{requests} checks per way, each in a context of its own; Redis {settings.REDIS_URL}")
    try:
        for label, timer, backend in ways:
            in_redis = backend != LOCMEM
            config = {**redis_cache, "BACKEND": backend} if in_redis else {"BACKEND": LOCMEM}
            with override_settings(CACHES={"default": config}):
                milliseconds, opened = asyncio.run(measure(timer, requests, observer))
                gc.collect()  # the stock way's pools, and so their connections, go with their cache objects
            report(label, milliseconds, opened if in_redis else None)
    finally:
        keys = list(observer.scan_iter(match=f"{prefix}:*"))
        if keys:
            observer.delete(*keys)


if __name__ == "__main__":
    main()

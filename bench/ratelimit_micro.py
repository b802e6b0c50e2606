"""What one rate check costs in-process, each request in an async context of its own as under ASGI:
``REDIS_URL=redis://127.0.0.1:6379/<db> python -m bench.ratelimit_micro [--requests N]``.

Prints, per way of counting, the mean and median milliseconds per check and the connections Redis
accepted meanwhile (``INFO stats``; other clients of the same server add to it):
- Django's stock ``RedisCache`` as the limiter used it before: a cache object per context, hence a new
  pool and connection, then ``incr`` (EXISTS + INCRBY; the first of a window also SET NX);
- ``rate_spend`` today: the process's shared pool, one EVALSHA;
- ``rate_spend`` on the in-memory cache (no ``REDIS_URL``).
Keys live under a prefix of the run's own and are deleted at the end. It prints figures; it asserts nothing.
"""

import argparse
import asyncio
import contextvars
import gc
import os
import statistics
import time
import uuid
from collections.abc import Callable

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

import redis  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.cache import caches  # noqa: E402
from django.test import override_settings  # noqa: E402

from config.ratelimit import Rate, rate_spend  # noqa: E402

RATE = Rate.parse("1000000/h")


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
    ways = [
        (
            "stock RedisCache per context, incr (before)",
            stock_cache_incr,
            "django.core.cache.backends.redis.RedisCache",
        ),
        ("rate_spend, shared pool, one EVALSHA (now)", shared_spend, redis_cache["BACKEND"]),
        ("rate_spend, in-memory cache (no REDIS_URL)", shared_spend, "django.core.cache.backends.locmem.LocMemCache"),
    ]
    print(f"{requests} checks per way, each in a context of its own; Redis {settings.REDIS_URL}")
    try:
        for label, check, backend in ways:
            config = {**redis_cache, "BACKEND": backend} if backend.endswith("RedisCache") else {"BACKEND": backend}
            with override_settings(CACHES={"default": config}):
                asyncio.run(timed(check, 10))  # warm: imports, the script loaded, the shared pool's connection
                before = observer.info("stats")["total_connections_received"]
                milliseconds = asyncio.run(timed(check, requests))
                opened = observer.info("stats")["total_connections_received"] - before
                gc.collect()  # the stock way's pools, and so their connections, go with their cache objects
            report(label, milliseconds, opened if backend.endswith("RedisCache") else None)
    finally:
        keys = list(observer.scan_iter(match=f"{prefix}:*"))
        if keys:
            observer.delete(*keys)


if __name__ == "__main__":
    main()

"""Per-user rate limits that hold across worker processes: one atomic counter per scope, user and fixed
window, kept in Redis when ``REDIS_URL`` is set (one round trip a request, on the process's shared client:
``kernel.redis_client``), otherwise in the process's memory cache.

REST views use ``ScopedRateThrottle`` (DRF's, counted here); socket handlers declare their rate in
``realtime.handlers``. While the cache is unreachable requests are admitted and a warning is logged:
an outage of the limiter must not become an outage of messaging.
"""

import contextlib
import logging
import math
import re
import time
from dataclasses import dataclass
from functools import cache as memoized

from django.core.cache import cache
from redis.exceptions import RedisError
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from kernel.client_address import client_address
from kernel.redis_client import LuaScript, cache_key, shared_redis, shared_redis_async

logger = logging.getLogger(__name__)

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RATE_PATTERN = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([a-z]+)\s*$")


@dataclass(frozen=True)
class Rate:
    """At most ``limit`` requests per ``seconds``-long window."""

    limit: int
    seconds: int

    @staticmethod
    @memoized
    def parse(text: str) -> "Rate":
        """``"20/10s"``, ``"120/min"``, ``"1000/h"``, ``"5000/day"``: DRF's notation, plus a multiple of the unit."""
        match = _RATE_PATTERN.match(text.lower())
        limit, multiple = (int(match[1]), int(match[2] or 1)) if match else (0, 0)
        if match is None or limit < 1 or multiple < 1 or match[3][0] not in _UNIT_SECONDS:
            raise ValueError(f"A rate is '<requests>/<period>', e.g. '20/10s' or '120/min'; got {text!r}.")
        return Rate(limit=limit, seconds=multiple * _UNIT_SECONDS[match[3][0]])


def rate_spend(*, scope: str, ident: int | str, rate: Rate) -> int | None:
    """Count one request of ``ident`` in ``scope``: ``None`` if it is admitted, otherwise the seconds until
    the window that admits the next one."""
    now = time.time()
    name, timeout = _window_name(scope, ident, rate, now), rate.seconds + 1
    try:
        redis = shared_redis()
        if redis is not None:
            count = _SPEND_SCRIPT(redis, keys=[cache_key(name)], args=[timeout])
        else:
            count = _count_in_memory(name, timeout=timeout)
    except RedisError:
        logger.warning("rate limiter unreachable; admitting a %s request unlimited", scope)
        return None
    return _retry_after(count, rate, now)


async def rate_spend_async(*, scope: str, ident: int | str, rate: Rate) -> int | None:
    """``rate_spend`` for code on the event loop: the same count and answer, with Redis awaited on the loop
    rather than in a thread (the memory count never blocks)."""
    now = time.time()
    name, timeout = _window_name(scope, ident, rate, now), rate.seconds + 1
    try:
        redis = shared_redis_async()
        if redis is not None:
            count = await _SPEND_SCRIPT.run_async(redis, keys=[cache_key(name)], args=[timeout])
        else:
            count = _count_in_memory(name, timeout=timeout)
    except RedisError:
        logger.warning("rate limiter unreachable; admitting a %s request unlimited", scope)
        return None
    return _retry_after(count, rate, now)


def rate_refund(*, scope: str, ident: int | str, rate: Rate) -> None:
    """Give back one request that ``rate_spend`` counted in the current window (a request that turned out
    not to be what the limit is about, such as a login that succeeded). Nothing if the window has moved on."""
    try:
        _give_back_in_window(_window_name(scope, ident, rate, time.time()))
    except RedisError:
        logger.warning("rate limiter unreachable; a %s request was not given back", scope)


# One round trip, atomic: the first request of a window opens it with its expiry, so a window's key
# cannot be left without one.
_SPEND_SCRIPT = LuaScript(
    """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
"""
)
# Nothing once the window has closed: its count is gone with it, and a refund must not open a new one.
_REFUND_SCRIPT = LuaScript(
    """
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('DECR', KEYS[1]) end
"""
)


def _window_name(scope: str, ident: int | str, rate: Rate, now: float) -> str:
    return f"rate:{scope}:{ident}:{int(now // rate.seconds)}"


def _retry_after(count: int, rate: Rate, now: float) -> int | None:
    if count <= rate.limit:
        return None
    return max(1, math.ceil((int(now // rate.seconds) + 1) * rate.seconds - now))


def _count_in_memory(name: str, *, timeout: int) -> int:
    # incr is atomic; add opens the window, and if a thread of this process opened it first, ours is
    # counted in the window that one opened.
    try:
        return cache.incr(name)
    except ValueError:
        if cache.add(name, 1, timeout):
            return 1
        return cache.incr(name)


def _give_back_in_window(name: str) -> None:
    redis = shared_redis()
    if redis is not None:
        _REFUND_SCRIPT(redis, keys=[cache_key(name)])
        return
    with contextlib.suppress(ValueError):  # the window closed since; its count is gone with it
        cache.decr(name)


class ScopedRateThrottle(BaseThrottle):
    """DRF's ScopedRateThrottle with the count in ``rate_spend``: a user's concurrent requests on several
    processes cannot slip past the limit together (DRF's read-modify-write history lets them).

    The view's ``throttle_scope`` names its rate in ``DEFAULT_THROTTLE_RATES``; users are counted by id,
    anonymous callers by address (``kernel.client_address``).
    """

    def __init__(self):
        self.retry_after: int | None = None

    def allow_request(self, request, view) -> bool:
        scope = self.scope_for(view)
        if not scope:
            return True
        ident = self.ident(request)
        self.retry_after = rate_spend(
            scope=scope, ident=ident, rate=Rate.parse(api_settings.DEFAULT_THROTTLE_RATES[scope])
        )
        return self.retry_after is None

    def scope_for(self, view) -> str | None:
        return getattr(view, "throttle_scope", None)

    def ident(self, request) -> int | str:
        return request.user.pk if request.user and request.user.is_authenticated else self.get_ident(request)

    def get_ident(self, request) -> str:
        # DRF's reads X-Forwarded-For from anyone unless NUM_PROXIES is set, so the sender picks the key.
        return client_address(request)

    def wait(self) -> int | None:
        return self.retry_after


class AuthAddressThrottle(ScopedRateThrottle):
    """The auth endpoints' requests per address, all together in the ``auth`` scope (``THROTTLE_AUTH``).

    Counted from the connection alone, before the body is parsed: a caller without an account or a token
    gets a bounded number of parses from one address, however large or deep its bodies.
    """

    def scope_for(self, view) -> str:
        return "auth"

    def ident(self, request) -> str:
        return self.get_ident(request)

"""The rate limiter on Redis: every request of a server process counts on the process's one connection pool
(Django's per-request cache objects used to open a connection each and never close it), and a check or a
refund is one command, one round trip: an EVALSHA (the commands the script runs inside Redis count in
``INFO commandstats`` too, and are named in the asserts).

Counted on a ``redis-server`` of the test's own, so that only this test's server and client talk to it.
"""

import logging

import httpx
import pytest
import redis
from django.test import override_settings

from bench.servers import free_port
from kernel.ratelimit import Rate, rate_refund, rate_spend, rate_spend_async
from tests.live import commands_run, commands_since, connections_received, requires_redis

pytestmark = pytest.mark.django_db(transaction=True)

REQUESTS = 50


async def test_the_rate_limiter_opens_no_new_redis_connection_per_request(live_servers, own_redis):
    requires_redis()
    server = live_servers.start(kind="uvicorn", env={"REDIS_URL": own_redis.url, "THROTTLE_AUTH": "100000/d"})
    observer = redis.Redis.from_url(own_redis.url)
    async with httpx.AsyncClient(timeout=10) as http:

        async def attempt_login() -> int:
            # No password: the address throttle counts it, then the body is refused before any password check.
            response = await http.post(f"{server.url}/api/auth/token", json={"username": "nobody"})
            return response.status_code

        assert await attempt_login() == 400  # the process opens its pool's connection here
        connections_before, commands_before = connections_received(observer), commands_run(observer)
        codes = {await attempt_login() for _ in range(REQUESTS)}

    assert codes == {400}
    assert connections_received(observer) == connections_before
    # INFO commandstats also counts the commands a script runs: here the INCR of the day-long window the first
    # request opened.
    assert commands_since(observer, commands_before) == {"evalsha": REQUESTS, "incr": REQUESTS}


def test_a_rate_check_is_one_round_trip(cache_on_own_redis):
    rate = Rate.parse("3/h")
    rate_spend(scope="round_trips", ident=1, rate=rate)  # loads the script on this server
    before = commands_run(cache_on_own_redis)

    retry_afters = [rate_spend(scope="round_trips", ident=1, rate=rate) for _ in range(3)]

    assert retry_afters[:2] == [None, None] and retry_afters[2] >= 1
    assert commands_since(cache_on_own_redis, before) == {"evalsha": 3, "incr": 3}  # the INCR inside the script


async def test_a_rate_check_on_the_event_loop_is_one_round_trip_counted_with_the_threads_checks(cache_on_own_redis):
    rate = Rate.parse("3/h")
    await rate_spend_async(scope="on_the_loop", ident=1, rate=rate)  # the loop's pool connects here
    before, connections_before = commands_run(cache_on_own_redis), connections_received(cache_on_own_redis)

    retry_afters = [await rate_spend_async(scope="on_the_loop", ident=1, rate=rate) for _ in range(2)]

    assert retry_afters == [None, None]
    assert commands_since(cache_on_own_redis, before) == {"evalsha": 2, "incr": 2}
    assert connections_received(cache_on_own_redis) == connections_before
    assert rate_spend(scope="on_the_loop", ident=1, rate=rate) >= 1  # one count, whichever side spends


def test_a_refund_is_one_round_trip_and_admits_one_more_request(cache_on_own_redis):
    rate = Rate.parse("1/h")
    rate_spend(scope="refunds", ident=1, rate=rate)
    rate_refund(scope="refunds", ident=1, rate=rate)  # loads the script on this server
    rate_spend(scope="refunds", ident=1, rate=rate)
    before = commands_run(cache_on_own_redis)

    rate_refund(scope="refunds", ident=1, rate=rate)

    assert commands_since(cache_on_own_redis, before) == {"evalsha": 1, "exists": 1, "decr": 1}  # one script
    assert rate_spend(scope="refunds", ident=1, rate=rate) is None
    assert rate_spend(scope="refunds", ident=1, rate=rate) is not None


def test_a_refund_after_the_window_closed_opens_no_window(cache_on_own_redis):
    rate_refund(scope="closed", ident=1, rate=Rate.parse("1/h"))

    assert cache_on_own_redis.keys("*closed*") == []


def test_a_window_expires_with_its_period(cache_on_own_redis):
    rate_spend(scope="expiring", ident=1, rate=Rate.parse("5/min"))

    (key,) = cache_on_own_redis.keys("*expiring*")
    assert 0 < cache_on_own_redis.ttl(key) <= 61


async def test_a_rate_check_on_the_event_loop_admits_and_logs_while_redis_is_unreachable(caplog):
    unreachable = {
        "BACKEND": "kernel.redis_client.SharedPoolRedisCache",
        "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
    }
    with override_settings(CACHES={"default": unreachable}), caplog.at_level(logging.WARNING, "kernel.ratelimit"):
        retry_after = await rate_spend_async(scope="unreachable", ident=1, rate=Rate.parse("1/h"))

    assert retry_after is None
    assert "rate limiter unreachable" in caplog.text

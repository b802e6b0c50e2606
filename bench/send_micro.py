"""What one send costs in-process through the ASGI handler: ``python -m bench.send_micro [--requests N]``.

``POST /api/messages`` with a JSON text message and a Bearer JWT, one at a time, through Django's stock
``ASGIHandler`` and through the handler ``config.asgi`` serves Django with (``kernel.asgi_handler``), the
latter with the send's queries on a thread (Django's connection) and, on PostgreSQL, on the event loop
(``SEND_DATABASE_ON_LOOP``, ``kernel.loop_database``); they take turns round by round, so a change in the
machine's load reaches all alike. The database is
``DATABASE_URL``'s server (a database of its own, ``send_micro_<pid>``, made, migrated and dropped) or a SQLite
file of its own without it; the channel layer and the rate limiter are Redis with ``REDIS_URL``. Prints, per send,
the median over the rounds of: wall time, process CPU time (all threads) and threads started.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

import argparse  # noqa: E402
import asyncio  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from pathlib import Path  # noqa: E402

from django.conf import settings  # noqa: E402
from django.core.handlers.asgi import ASGIHandler  # noqa: E402
from django.db import connection, connections  # noqa: E402
from django.test import override_settings  # noqa: E402

from bench import seed  # noqa: E402
from bench.middleware_micro import asgi_request, asgi_scope  # noqa: E402
from kernel import loop_database  # noqa: E402
from kernel.loop_database import loop_pools_close  # noqa: E402

ROUNDS = 7
BODY_TEMPLATE = '{{"conversationId": {conversation}, "content": "micro"}}'


@contextmanager
def threads_started():
    """Counts ``Thread.start`` calls in this process while the block runs: ``started[0]``."""
    started = [0]
    start = threading.Thread.start

    def counted_start(thread):
        started[0] += 1
        start(thread)

    threading.Thread.start = counted_start  # type: ignore[method-assign]
    try:
        yield started
    finally:
        threading.Thread.start = start  # type: ignore[method-assign]


async def _round(handler, scope: dict, body: bytes, requests: int) -> tuple[float, float, float]:
    with threads_started() as started:
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(requests):
            assert await asgi_request(handler, scope, body) == 201
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    await loop_pools_close()  # each round runs on a loop of its own
    return wall * 1000 / requests, cpu * 1000 / requests, started[0] / requests


def _round_with(variant: tuple[object, bool], scope: dict, body: bytes, requests: int) -> tuple[float, float, float]:
    handler, on_loop = variant
    with override_settings(SEND_DATABASE_ON_LOOP=on_loop):
        return asyncio.run(_round(handler, scope, body, requests))


def measure(variants: dict[str, tuple[object, bool]], requests: int) -> dict[str, dict]:
    """Each variant's (a handler, and whether sends run their queries on the loop) median wall ms, CPU ms and
    threads started per send, sending to one seeded pair."""
    pair = seed.pairs_create("micro", 1)[0]
    body = BODY_TEMPLATE.format(conversation=pair.conversation_id).encode()
    scope = asgi_scope("POST", seed.token_for(pair.sender))
    scope["headers"].append((b"content-length", str(len(body)).encode()))
    rounds: dict[str, list[tuple[float, float, float]]] = {name: [] for name in variants}
    # DEBUG off, as in production: with it on the handler also logs each sync adaptation. The sends of a
    # round are one user's: the per-user rate must not refuse them.
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "message_send": "1000000000/min"}
    with override_settings(DEBUG=False, REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}):
        for variant in variants.values():
            _round_with(variant, scope, body, max(requests // 10, 1))  # warm-up
        for _ in range(ROUNDS):
            for name, variant in variants.items():
                rounds[name].append(_round_with(variant, scope, body, requests))
    return {
        name: {
            "wall_ms": statistics.median(wall for wall, _, _ in figures),
            "cpu_ms": statistics.median(cpu for _, cpu, _ in figures),
            "threads_started": statistics.median(threads for _, _, threads in figures),
        }
        for name, figures in rounds.items()
    }


@contextmanager
def own_database():
    """A database of the run's own on ``DATABASE_URL``'s server (SQLite: a file), migrated, then dropped.

    Not SQLite's in-memory test database: Django never closes a connection to one, so a request thread would
    keep its connection between requests, which no deployment does."""
    # Named after the process: two runs on one shared server must not drop each other's database.
    own = f"send_micro_{os.getpid()}"
    connection.settings_dict["TEST"]["NAME"] = (
        own if connection.vendor == "postgresql" else str(Path(tempfile.gettempdir()) / f"{own}.sqlite3")
    )
    name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        yield
    finally:
        connections.close_all()
        connection.creation.destroy_test_db(name, verbosity=0)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.send_micro", description=__doc__)
    parser.add_argument("--requests", type=int, default=200, help=f"sends per round ({ROUNDS} rounds)")
    requests = parser.parse_args().requests
    from config.asgi import django_http

    ours = f"config.asgi ({type(django_http).__name__})"
    variants = {"stock ASGIHandler, on a thread": (ASGIHandler(), False), f"{ours}, on a thread": (django_http, False)}
    if loop_database.is_available():
        variants[f"{ours}, on the loop"] = (django_http, True)
    print(f"{connection.vendor}, load average {' '.join(f'{load:.2f}' for load in os.getloadavg())}")
    with own_database():
        try:
            figures = measure(variants, requests)
        finally:
            close_idle_threads = getattr(django_http, "close_idle_threads", None)
            if close_idle_threads is not None:
                close_idle_threads()
    print(f"median of {ROUNDS} rounds x {requests} sends")
    print(f"{'handler, where the queries run':<56} {'wall ms':>8} {'CPU ms':>8} {'threads started':>16}")
    for name, row in figures.items():
        print(f"{name:<56} {row['wall_ms']:>8.2f} {row['cpu_ms']:>8.2f} {row['threads_started']:>16.2f}")


if __name__ == "__main__":
    main()

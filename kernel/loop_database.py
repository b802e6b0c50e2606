"""PostgreSQL on the event loop: one psycopg async connection pool per running loop, to the database Django's
``default`` connection names.

Why: Django's database connections are per thread, so async code reaches them only through ``sync_to_async``,
a hop to a thread and back on every call. The send path (``messaging.send``) runs its two statements here
instead, on the loop that serves the request. Only code that writes out its own SQL uses it; the ORM stays
on Django's connections.

A pool belongs to the loop that opened it and lasts until ``loop_pools_close`` on that loop: a server process
has one loop, and each async test or benchmark round that opens a pool closes it at its end. Code that runs
each request on a loop of its own (an async view under WSGI) must not use this module.
"""

import asyncio
from contextlib import asynccontextmanager

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.utils import load_backend
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

# Django's own psycopg connection parameters that belong to its sync cursors, not to an async connection.
_DJANGO_ONLY_PARAMETERS = ("cursor_factory", "context")

# Not a weak mapping: each opening future holds its loop, so the entry would never go by itself.
_pools: dict[asyncio.AbstractEventLoop, "asyncio.Future[AsyncConnectionPool]"] = {}


def is_available() -> bool:
    """Whether the default database is PostgreSQL, the only one this module speaks to.

    Read off the backend's class: ``connections["default"]``, asked on the loop, builds a connection wrapper for
    the request's context (Django's connections are context-local under ASGI), a dozen objects in reference
    cycles left for the cycle collector on every send."""
    engine = connections.settings[DEFAULT_DB_ALIAS]["ENGINE"]
    return load_backend(engine).DatabaseWrapper.vendor == "postgresql"


async def _pool_opened(connection_parameters: dict) -> AsyncConnectionPool:
    pool: AsyncConnectionPool = AsyncConnectionPool(
        kwargs={**connection_parameters, "autocommit": True},
        min_size=1,
        # Its one user, the send path, holds a connection per admitted send.
        max_size=settings.SEND_MAX_IN_FLIGHT,
        timeout=settings.DATABASES["default"].get("OPTIONS", {}).get("pool", {}).get("timeout", 10),
        open=False,
    )
    await pool.open()
    return pool


def _parameters() -> dict:
    parameters = connections["default"].get_connection_params()
    for name in _DJANGO_ONLY_PARAMETERS:
        parameters.pop(name, None)
    # Prepared after a few runs (psycopg's default threshold): the send's statements are the same every time.
    parameters["prepare_threshold"] = 5
    return parameters


@asynccontextmanager
async def loop_connection():
    """A connection of the running loop's pool, in autocommit: ``async with connection.transaction()`` for more."""
    loop = asyncio.get_running_loop()
    opened = _pools.get(loop)
    if opened is None:
        # Kept before it is awaited, so concurrent first calls share one pool.
        opened = _pools[loop] = asyncio.ensure_future(_pool_opened(_parameters()))
    try:
        pool = await opened
    except BaseException:
        # A pool that failed to open is not kept: the next call tries again.
        if _pools.get(loop) is opened and opened.done():
            del _pools[loop]
        raise
    connection: AsyncConnection
    async with pool.connection() as connection:
        yield connection


async def loop_pools_close() -> None:
    """Close the running loop's pool, if it opened one."""
    opened = _pools.pop(asyncio.get_running_loop(), None)
    if opened is not None:
        await (await opened).close()

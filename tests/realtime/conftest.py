import asyncio

import pytest

from realtime.socketio.polling import _owners as polling_owners
from tests.messaging.conftest import socket_thread_connections_closed  # noqa: F401


@pytest.fixture(autouse=True)
async def socketio_polling_sessions_ended():
    """A long-polling session outlives the requests of its test: end it in the test's own event loop."""
    yield
    owners = list(polling_owners)
    for owner in owners:
        owner.cancel()
    await asyncio.gather(*owners, return_exceptions=True)

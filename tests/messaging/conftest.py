"""Helpers for messaging tests: sending through the service, and listening on a socket group."""

import asyncio

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import connections
from django.db.backends.utils import CursorWrapper

from messaging import services
from messaging.events import conversation_group
from tests.conftest import fresh_throttle_counts  # noqa: F401 - still imported from here by tests/security
from tests.realtime.sockets import connect_as, join


@pytest.fixture(autouse=True)
async def socket_thread_connections_closed():
    """Consumers reach the database from asgiref's shared worker thread, whose connection would
    outlive the test and keep PostgreSQL from dropping the test database at the end of the run."""
    yield
    await database_sync_to_async(connections.close_all)()


@pytest.fixture
def send():
    """``send(user, conversation, content)`` posts a text message through the service."""

    def send_message(user, conversation, content="hello", **fields):
        return services.message_send(user=user, conversation_id=conversation.pk, content=content, **fields).message

    return send_message


@pytest.fixture
def post_text(api):
    """``await post_text(user, conversation, content)``: POST /api/messages from an async test."""

    async def post(user, conversation, content="hello", **fields):
        payload = {"conversationId": conversation.pk, "content": content, **fields}
        response = await sync_to_async(api.as_user(user).post)("/api/messages", payload, format="json")
        assert response.status_code in (200, 201), response.data
        return response.data

    return post


@pytest.fixture
def queries_in_any_thread(monkeypatch):
    """The SQL run from now on by any thread (consumers query from a worker thread, so the
    per-connection CaptureQueriesContext of the test's thread would not see it)."""
    statements: list[str] = []
    execute = CursorWrapper._execute_with_wrappers

    def recording(cursor, sql, params, many, executor):
        statements.append(sql)
        return execute(cursor, sql, params, many, executor)

    monkeypatch.setattr(CursorWrapper, "_execute_with_wrappers", recording)
    return statements


class GroupListener:
    """A channel of the real channel layer, added to a group, that reads what is published there."""

    def __init__(self, group: str):
        self.layer = get_channel_layer()
        self.group = group
        self.channel = async_to_sync(self.layer.new_channel)()
        async_to_sync(self.layer.group_add)(group, self.channel)

    def next_event(self, timeout: float = 2.0) -> dict:
        message = async_to_sync(self._receive)(timeout)
        return {"event": message["event"], "data": message["data"]}

    def assert_silent(self, timeout: float = 0.3) -> None:
        try:
            message = async_to_sync(self._receive)(timeout)
        except TimeoutError:
            return
        raise AssertionError(f"expected nothing, got {message['event']}: {message['data']}")

    async def _receive(self, timeout: float) -> dict:
        return await asyncio.wait_for(self.layer.receive(self.channel), timeout)

    def close(self) -> None:
        async_to_sync(self.layer.group_discard)(self.group, self.channel)


@pytest.fixture
def conversation_listener(conversation):
    """What the channel layer carries to ``conversation_{id}``; use with on-commit callbacks executed."""
    listener = GroupListener(conversation_group(conversation.pk))
    yield listener
    listener.close()


@pytest.fixture
async def alice_and_bob(client_user, provider, conversation):
    """Both members connected and joined to the conversation."""
    alice, bob = await connect_as(client_user), await connect_as(provider)
    await join(alice, conversation.pk)
    await join(bob, conversation.pk)
    yield alice, bob
    await alice.disconnect()
    await bob.disconnect()

"""POST /api/messages for a Bearer JWT caller with ``SEND_DATABASE_ON_LOOP`` on PostgreSQL: the caller's lookup,
the lock and the append run on the test's event loop over ``kernel.loop_database``'s pool, with no hop to a
thread (``messaging.send._send_text_on_loop``). Its answers and guarantees are the thread path's
(tests/messaging/test_send_path.py, test_send_concurrency.py): each refusal is held against that path's answer
to the same request, with the setting turned off for it.

The pool's connections see only committed rows: these tests are transactional, and read and write the
database through the ORM's async methods or ``sync_to_async``, never from the event loop's thread.
"""

import asyncio
import contextlib
import contextvars
import itertools
import json
import logging
import tempfile
import uuid

import psycopg
import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import HttpCommunicator
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler
from django.db import connection, connections
from django.test import AsyncClient
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

import messaging.send
from accounts import services as account_services
from accounts import tokens
from accounts.models import User
from integrations import events as integration_events
from integrations.models import Event
from kernel import loop_database
from kernel.asgi_handler import ReusedThreadASGIHandler
from messaging import events
from messaging.models import Conversation, Message, Participant
from messaging.selectors import conversation_chain_verify
from projects import services as project_services
from tests.conftest import HANDLER_HOPS, make_project, requires_postgres, run_behind_a_removal

pytestmark = pytest.mark.django_db(transaction=True)

SEND_PATH = "/api/messages"
CSRF_SECRET = "a" * 32
# The headers DRF's view answers with, or that depend on who asked: the loop's answers must carry the same.
ANSWER_HEADERS = ("Content-Type", "Allow", "Vary", "Cache-Control", "WWW-Authenticate")
SENDERS = 20
RACERS = 8
_LOCK_NOWAIT = "SELECT 1 FROM messaging_conversation WHERE id = %s FOR UPDATE NOWAIT"


def _text(conversation_id: int, content: str = "hello", **fields) -> dict:
    return {"conversationId": conversation_id, "content": content, **fields}


def _with_authorization(authorization: str) -> AsyncClient:
    # A raw ASGI header name as an extra: Django 5.2's AsyncClient sends headers={"Authorization": ...} as
    # "http-authorization", which no authenticator reads.
    return AsyncClient(authorization=authorization)


async def _bearer_header(user) -> str:
    return f"Bearer {await sync_to_async(AccessToken.for_user)(user)}"


async def _bearer(user) -> AsyncClient:
    return _with_authorization(await _bearer_header(user))


async def _post(client: AsyncClient, payload: dict, **extra):
    return await client.post(SEND_PATH, payload, content_type="application/json", **extra)


async def _post_on_loop(client: AsyncClient, payload: dict, queries: list[str]):
    """POST, and hold that Django's connections (in any thread) ran no statement for it: the loop path's mark."""
    before = len(queries)
    response = await _post(client, payload)
    assert queries[before:] == [], "the send reached Django's connection: it did not take the loop path"
    return response


@contextlib.contextmanager
def _on_the_thread():
    """The thread path (``messaging.send._send_text``) for what is sent inside, as with the setting off."""
    settings.SEND_DATABASE_ON_LOOP = False
    try:
        yield
    finally:
        settings.SEND_DATABASE_ON_LOOP = True


def _headers(response, headers: tuple[str, ...] = ANSWER_HEADERS) -> dict:
    return {header: response.headers.get(header) for header in headers}


def _assert_same_answer(on_loop, on_thread) -> None:
    assert on_loop.status_code == on_thread.status_code
    assert on_loop.json() == on_thread.json()
    assert _headers(on_loop, ANSWER_HEADERS) == _headers(on_thread, ANSWER_HEADERS)


async def _on_both_paths(send):
    """``send()`` on the loop, then the same on the thread: their two answers."""
    on_loop = await send()
    with _on_the_thread():
        on_thread = await send()
    return on_loop, on_thread


async def _messages() -> int:
    return await Message.objects.acount()


async def _created_events() -> list[dict]:
    query = Event.objects.filter(type=integration_events.MESSAGE_CREATED).order_by("id").values_list("data", flat=True)
    return [data async for data in query]


# ---- the send, on the loop ----------------------------------------------------------------------------


async def test_a_bearer_send_on_the_loop_is_stored_and_answered_201_without_djangos_connection(
    sends_on_loop, client_user, conversation, queries_in_any_thread
):
    requires_postgres()
    client_message_id = str(uuid.uuid4())

    response = await _post_on_loop(
        await _bearer(client_user),
        _text(conversation.pk, "on the loop", clientMessageId=client_message_id),
        queries_in_any_thread,
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["seq"], body["clientMessageId"], body["content"]) == (1, client_message_id, "on the loop")
    assert body["sender"] == {"id": client_user.pk, "username": client_user.username, "role": "client"}
    stored = await Message.objects.aget()
    assert (stored.pk, stored.seq, stored.sender_id, str(stored.client_message_id)) == (
        body["id"],
        1,
        client_user.pk,
        client_message_id,
    )


async def test_a_send_on_the_loop_builds_no_django_connection_for_its_context(
    sends_on_loop, client_user, conversation, monkeypatch
):
    """Django's connections are context-local under ASGI: asking for one on the loop builds a wrapper (a dozen
    objects in reference cycles) for the request alone. Sent from an empty context, as a server's request is,
    after a first send has opened the loop's pool (which reads Django's connection parameters once)."""
    requires_postgres()
    client = await _bearer(client_user)
    assert (await _post(client, _text(conversation.pk, "opens the pool"))).status_code == 201
    built: list[str] = []
    create_connection = connections.create_connection
    monkeypatch.setattr(connections, "create_connection", lambda alias: built.append(alias) or create_connection(alias))

    response = await asyncio.create_task(_post(client, _text(conversation.pk)), context=contextvars.Context())

    assert response.status_code == 201
    assert built == []


@contextlib.contextmanager
def _round_trips_to_postgresql(monkeypatch):
    """Counts the round trips of the loop's connections while the block runs (libpq's trace of the protocol: a
    turn from what the client sent to what the server answered is one): ``counted[0]`` once it has ended."""
    counted = [0]
    opened = loop_database.loop_connection
    with tempfile.TemporaryFile() as trace:

        @contextlib.asynccontextmanager
        async def traced_connection():
            async with opened() as database:
                database.pgconn.trace(trace.fileno())
                database.pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS)
                try:
                    yield database
                finally:
                    database.pgconn.untrace()

        monkeypatch.setattr(loop_database, "loop_connection", traced_connection)
        yield counted
        trace.seek(0)
        directions = [line.split(b"\t")[0] for line in trace.read().splitlines()]
    counted[0] = sum(1 for turn in itertools.pairwise(directions) if turn == (b"F", b"B"))


async def test_a_send_on_the_loop_takes_two_round_trips_to_postgresql(
    sends_on_loop, client_user, conversation, monkeypatch
):
    """The caller's read and the lock, then the append with the commit (one pipeline's implicit transaction)."""
    requires_postgres()
    client = await _bearer(client_user)

    with _round_trips_to_postgresql(monkeypatch) as round_trips:
        response = await _post(client, _text(conversation.pk))

    assert response.status_code == 201
    assert round_trips[0] == 2


async def test_the_lock_of_the_first_round_trip_is_held_until_the_append_commits(
    sends_on_loop, client_user, conversation, monkeypatch
):
    """The two round trips are one transaction (the pipeline's implicit one): while the caller is admitted, between
    them, the conversation's row is locked, and the lock goes with the commit."""
    requires_postgres()
    client = await _bearer(client_user)
    admitted = messaging.send._caller_admitted
    lock_tries = []

    async def lock_tried(other) -> str:
        try:
            await other.execute(_LOCK_NOWAIT, [conversation.pk])
        except psycopg.errors.LockNotAvailable:
            return "held"
        return "free"

    async def admitted_then_lock_tried(request, user):
        async with loop_database.loop_connection() as other:
            lock_tries.append(await lock_tried(other))
        return await admitted(request, user)

    monkeypatch.setattr(messaging.send, "_caller_admitted", admitted_then_lock_tried)
    response = await _post(client, _text(conversation.pk))

    assert response.status_code == 201
    async with loop_database.loop_connection() as other:
        lock_tries.append(await lock_tried(other))
    assert lock_tries == ["held", "free"]


async def test_an_outsiders_send_on_the_loop_ends_its_transaction_with_its_pipeline_and_leaves_the_connection_idle(
    sends_on_loop, outsider, conversation, monkeypatch, caplog
):
    """The lock finds no conversation of the sender's: the 404 is raised between the two statements, and the
    pipeline's end closes the transaction (it only read), so the pool gets its connection back idle."""
    requires_postgres()
    client = await _bearer(outsider)
    caplog.set_level(logging.WARNING, logger="psycopg.pool")

    with _round_trips_to_postgresql(monkeypatch) as round_trips:
        response = await _post(client, _text(conversation.pk))

    assert response.status_code == 404
    assert round_trips[0] == 2
    assert [record.getMessage() for record in caplog.records if record.name.startswith("psycopg")] == []


async def _sent_through(handler, authorization: str, conversation) -> dict:
    body = json.dumps(_text(conversation.pk, "no hop")).encode()
    headers = {
        "host": "127.0.0.1",
        "content-type": "application/json",
        "content-length": str(len(body)),
        "authorization": authorization,
    }
    communicator = HttpCommunicator(
        handler, "POST", SEND_PATH, body=body, headers=[(k.encode(), v.encode()) for k, v in headers.items()]
    )
    response = await communicator.get_response()
    await communicator.wait()  # the handler's response.close() comes after the body
    return response


async def test_a_bearer_send_through_djangos_asgi_handler_hops_to_a_thread_only_for_the_handlers_own_signals(
    sends_on_loop, client_user, conversation, hops
):
    requires_postgres()
    authorization = await _bearer_header(client_user)
    hops.clear()

    response = await _sent_through(ASGIHandler(), authorization, conversation)

    assert response["status"] == 201, response["body"]
    assert hops == HANDLER_HOPS


async def test_a_bearer_send_through_the_servers_handler_never_hops_to_a_thread(
    sends_on_loop, client_user, conversation, hops
):
    """config.asgi's handler (kernel.asgi_handler) sends the request's signals on the loop when the request ran
    nothing on its thread."""
    requires_postgres()
    handler = ReusedThreadASGIHandler()
    authorization = await _bearer_header(client_user)
    hops.clear()

    response = await _sent_through(handler, authorization, conversation)

    assert response["status"] == 201, response["body"]
    assert hops == []
    handler.close_idle_threads()


async def test_the_loops_answer_is_the_threads_answer_to_the_same_send(
    sends_on_loop, client_user, conversation, queries_in_any_thread
):
    requires_postgres()
    client = await _bearer(client_user)

    on_loop = await _post_on_loop(client, _text(conversation.pk, "one"), queries_in_any_thread)
    before_thread = len(queries_in_any_thread)
    with _on_the_thread():
        on_thread = await _post(client, _text(conversation.pk, "two"))

    assert queries_in_any_thread[before_thread:], "with the setting off the send runs on Django's connection"
    assert on_loop.status_code == on_thread.status_code == 201
    assert _headers(on_loop) == _headers(on_thread)
    assert on_loop.headers["Allow"] == "POST, OPTIONS"
    assert on_loop.headers["Content-Type"] == "application/json"
    loop_body, thread_body = on_loop.json(), on_thread.json()
    assert loop_body.keys() == thread_body.keys()
    differing = ("id", "seq", "content", "createdAt")
    assert {key: value for key, value in loop_body.items() if key not in differing} == {
        key: value for key, value in thread_body.items() if key not in differing
    }
    assert (loop_body["seq"], thread_body["seq"]) == (1, 2)
    assert loop_body["id"] < thread_body["id"]


async def test_a_send_on_the_loop_moves_the_conversation_the_read_marker_and_records_one_event(
    sends_on_loop, client_user, conversation
):
    requires_postgres()

    response = await _post(await _bearer(client_user), _text(conversation.pk))

    assert response.status_code == 201
    message = await Message.objects.aget(pk=response.json()["id"])
    moved = await Conversation.objects.aget(pk=conversation.pk)
    marker = await Participant.objects.aget(conversation=conversation, user=client_user)
    assert (moved.last_message_id, moved.last_message_seq, moved.chain_head) == (message.pk, 1, message.chain_hash)
    assert (marker.last_read_message_id, marker.last_read_seq) == (message.pk, 1)
    assert marker.last_read_at == moved.last_activity_at == message.created_at
    assert await _created_events() == [{**response.json(), "review": None}]
    assert await sync_to_async(conversation_chain_verify)(conversation_id=conversation.pk) is None


async def test_a_retry_on_the_loop_is_answered_200_with_the_original(sends_on_loop, client_user, conversation):
    requires_postgres()
    client = await _bearer(client_user)
    payload = _text(conversation.pk, "once", clientMessageId=str(uuid.uuid4()))

    first = await _post(client, payload)
    retry = await _post(client, payload)
    with _on_the_thread():
        retry_on_thread = await _post(client, payload)

    assert (first.status_code, retry.status_code) == (201, 200)
    assert retry.json() == first.json()
    _assert_same_answer(retry, retry_on_thread)
    assert await _messages() == 1
    assert len(await _created_events()) == 1


# ---- refusals, as the thread path answers them -------------------------------------------------------


async def test_an_outsider_on_the_loop_is_told_not_found_as_on_the_thread(
    sends_on_loop, outsider, conversation, queries_in_any_thread
):
    requires_postgres()
    client = await _bearer(outsider)

    on_loop = await _post_on_loop(client, _text(conversation.pk), queries_in_any_thread)
    with _on_the_thread():
        on_thread = await _post(client, _text(conversation.pk))

    assert on_loop.status_code == 404
    assert on_loop.json()["code"] == "not_found"
    assert on_loop.json()["fields"]["conversationId"] == ["No such conversation."]
    _assert_same_answer(on_loop, on_thread)
    assert await _messages() == 0


async def test_a_send_on_the_loop_to_a_conversation_that_does_not_exist_is_404(sends_on_loop, client_user):
    requires_postgres()
    client = await _bearer(client_user)
    missing = await Conversation.objects.acount() + 1000

    on_loop, on_thread = await _on_both_paths(lambda: _post(client, _text(missing, "hi")))

    assert on_loop.status_code == 404
    assert on_loop.json()["fields"]["conversationId"] == ["No such conversation."]
    _assert_same_answer(on_loop, on_thread)


async def _revoked(user) -> str:
    access = await sync_to_async(lambda: str(tokens.refresh_token_for(user).access_token))()
    await sync_to_async(account_services.credentials_revoke)(user_id=user.pk)
    return f"Bearer {access}"


async def _of_an_inactive_user(user) -> str:
    authorization = await _bearer_header(user)
    await User.objects.filter(pk=user.pk).aupdate(is_active=False)
    return authorization


async def _of_a_deleted_user(user) -> str:
    authorization = await _bearer_header(user)
    await User.objects.filter(pk=user.pk).adelete()
    return authorization


async def _not_a_jwt(user) -> str:
    return "Bearer not-a-jwt"


async def _malformed(user) -> str:
    return "Bearer a b"


REFUSED_BEARERS = [
    pytest.param("member", _revoked, "token_revoked", id="revoked"),
    pytest.param("member", _of_an_inactive_user, "user_inactive", id="inactive-user"),
    # A user on no project: a project's client and provider cannot be deleted (PROTECT).
    pytest.param("loner", _of_a_deleted_user, "user_not_found", id="deleted-user"),
    pytest.param("member", _not_a_jwt, "token_not_valid", id="invalid-token"),
    pytest.param("member", _malformed, "authentication_failed", id="malformed-header"),
]


async def _refused_on_both_paths(whose, authorization_of, *, client_user, outsider, conversation, queries):
    user = {"member": client_user, "loner": outsider}[whose]
    client = _with_authorization(await authorization_of(user))
    on_loop = await _post_on_loop(client, _text(conversation.pk), queries)
    with _on_the_thread():
        on_thread = await _post(client, _text(conversation.pk))
    return on_loop, on_thread


@pytest.mark.parametrize(("whose", "authorization_of", "code"), REFUSED_BEARERS)
async def test_a_refused_bearer_on_the_loop_is_answered_401_as_on_the_thread(
    sends_on_loop, client_user, outsider, conversation, queries_in_any_thread, whose, authorization_of, code
):
    requires_postgres()

    on_loop, on_thread = await _refused_on_both_paths(
        whose,
        authorization_of,
        client_user=client_user,
        outsider=outsider,
        conversation=conversation,
        queries=queries_in_any_thread,
    )

    assert on_loop.status_code == 401
    assert on_loop.json()["code"] == code
    assert on_loop.headers["WWW-Authenticate"] == 'Bearer realm="api"'
    _assert_same_answer(on_loop, on_thread)
    assert await _messages() == 0


REFUSED_BODIES = [
    pytest.param(b'{"conversationId": 1, "content": ', id="malformed-json"),
    pytest.param(b'{"content": "hello"}', id="no-conversation-id"),
]


@pytest.mark.parametrize("body", REFUSED_BODIES)
async def test_an_inactive_user_with_a_refused_body_on_the_loop_is_answered_401_first_as_on_the_thread(
    sends_on_loop, client_user, queries_in_any_thread, body
):
    """The body is read before the caller, for the lock's round trip, but its refusal waits for the caller's."""
    requires_postgres()
    client = _with_authorization(await _of_an_inactive_user(client_user))

    before = len(queries_in_any_thread)
    on_loop = await client.post(SEND_PATH, body, content_type="application/json")
    assert queries_in_any_thread[before:] == []
    with _on_the_thread():
        on_thread = await client.post(SEND_PATH, body, content_type="application/json")

    assert on_loop.status_code == 401
    assert on_loop.json()["code"] == "user_inactive"
    _assert_same_answer(on_loop, on_thread)


async def _past_the_rate(settings, user) -> AsyncClient:
    """``user``'s client, past an hour's rate of one send (spent here)."""
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "message_send": "1/h"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    client = await _bearer(user)
    with _on_the_thread():
        assert (await _post(client, {"content": "no conversation"})).status_code == 400  # spends the one
    return client


@pytest.mark.parametrize("body", REFUSED_BODIES)
async def test_a_caller_past_the_rate_with_a_refused_body_on_the_loop_is_answered_429_as_on_the_thread(
    sends_on_loop, settings, client_user, body
):
    requires_postgres()
    client = await _past_the_rate(settings, client_user)

    on_loop = await client.post(SEND_PATH, body, content_type="application/json")
    with _on_the_thread():
        on_thread = await client.post(SEND_PATH, body, content_type="application/json")

    assert on_loop.status_code == on_thread.status_code == 429
    assert on_loop.json()["code"] == on_thread.json()["code"]


async def test_an_outsider_past_the_rate_on_the_loop_is_answered_429_not_404(
    sends_on_loop, settings, outsider, conversation, monkeypatch
):
    """The lock's row is read in the caller's round trip, but looked at only once the caller is admitted."""
    requires_postgres()
    client = await _past_the_rate(settings, outsider)

    with _round_trips_to_postgresql(monkeypatch) as round_trips:
        on_loop = await _post(client, _text(conversation.pk))
    with _on_the_thread():
        on_thread = await _post(client, _text(conversation.pk))

    assert on_loop.status_code == on_thread.status_code == 429
    assert round_trips[0] == 2  # the lock's, then the pipeline's end
    assert await _messages() == 0


@pytest.mark.parametrize("status", ["completed", "cancelled"])
async def test_a_send_on_the_loop_to_a_closed_project_is_409_read_only(
    sends_on_loop, client_user, conversation, queries_in_any_thread, status
):
    requires_postgres()
    await sync_to_async(project_services.project_set_status)(project_id=conversation.project_id, status=status)
    client = await _bearer(client_user)

    on_loop = await _post_on_loop(client, _text(conversation.pk, "late"), queries_in_any_thread)
    with _on_the_thread():
        on_thread = await _post(client, _text(conversation.pk, "late"))

    assert on_loop.status_code == 409
    assert on_loop.json()["code"] == "conversation_read_only"
    _assert_same_answer(on_loop, on_thread)
    # The change of status posted its system message; the sends added none.
    assert not await Message.objects.filter(content="late").aexists()


async def test_a_suspended_provider_on_the_loop_is_refused_but_their_retry_gets_the_original(
    sends_on_loop, provider, conversation
):
    requires_postgres()
    client = await _bearer(provider)
    payload = _text(conversation.pk, "before", clientMessageId=str(uuid.uuid4()))
    first = await _post(client, payload)
    await sync_to_async(account_services.provider_set_status)(
        provider_id=provider.pk, status=User.ProviderStatus.SUSPENDED
    )

    retry = await _post(client, payload)
    new, new_on_thread = await _on_both_paths(lambda: _post(client, _text(conversation.pk, "after")))

    assert (first.status_code, retry.status_code) == (201, 200)
    assert retry.json() == first.json()
    assert new.status_code == 403
    assert new.json()["code"] == "provider_suspended"
    _assert_same_answer(new, new_on_thread)
    assert [content async for content in Message.objects.values_list("content", flat=True)] == ["before"]


async def test_a_send_on_the_loop_past_the_rate_is_answered_429_with_retry_after(
    sends_on_loop, settings, client_user, conversation
):
    requires_postgres()
    # An hour-long window: the burst never straddles two of them, so the count is exact.
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "message_send": "3/h"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    client = await _bearer(client_user)

    admitted = [await _post(client, _text(conversation.pk, f"within {n}")) for n in range(3)]
    refused = await _post(client, _text(conversation.pk, "past it"))
    with _on_the_thread():
        refused_on_thread = await _post(client, _text(conversation.pk, "past it"))

    assert [response.status_code for response in admitted] == [201] * 3
    assert refused.status_code == refused_on_thread.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 3600
    assert 1 <= int(refused_on_thread["Retry-After"]) <= 3600
    assert refused.json()["detail"] == f"Request was throttled. Expected available in {refused['Retry-After']} seconds."
    assert refused.json().keys() == refused_on_thread.json().keys()
    assert refused.json()["code"] == refused_on_thread.json()["code"]
    assert _headers(refused) == _headers(refused_on_thread)
    assert await _messages() == 3


@pytest.mark.parametrize(
    ("payload_of", "field"),
    [
        pytest.param(lambda conversation: _text(conversation.pk, ""), "content", id="empty-content"),
        pytest.param(lambda conversation: {"content": "hello"}, "conversationId", id="no-conversation-id"),
    ],
)
async def test_a_body_that_fails_validation_on_the_loop_is_400_and_writes_nothing(
    sends_on_loop, client_user, conversation, queries_in_any_thread, payload_of, field
):
    requires_postgres()
    client = await _bearer(client_user)

    on_loop = await _post_on_loop(client, payload_of(conversation), queries_in_any_thread)
    with _on_the_thread():
        on_thread = await _post(client, payload_of(conversation))

    assert on_loop.status_code == 400
    assert on_loop.json()["code"] == "invalid"
    assert list(on_loop.json()["fields"]) == [field]
    _assert_same_answer(on_loop, on_thread)
    assert await _messages() == 0
    assert await _created_events() == []
    assert (await Conversation.objects.aget(pk=conversation.pk)).last_message_seq == 0


# ---- concurrent sends on the loop ---------------------------------------------------------------------


async def test_concurrent_sends_on_the_loop_get_consecutive_seqs_in_id_order(
    sends_on_loop, settings, client_user, provider, conversation
):
    requires_postgres()
    # Every one admitted at once (realtime.admission refuses past SEND_MAX_IN_FLIGHT), on a pool that size.
    settings.SEND_MAX_IN_FLIGHT = SENDERS
    clients = [await _bearer(client_user), await _bearer(provider)]

    responses = await asyncio.gather(
        *(_post(clients[n % 2], _text(conversation.pk, f"race {n}")) for n in range(SENDERS))
    )

    assert [response.status_code for response in responses] == [201] * SENDERS
    assert sorted(response.json()["seq"] for response in responses) == list(range(1, SENDERS + 1))
    seqs_by_id = [seq async for seq in Message.objects.order_by("id").values_list("seq", flat=True)]
    assert seqs_by_id == list(range(1, SENDERS + 1))
    assert (await Conversation.objects.aget(pk=conversation.pk)).last_message_seq == SENDERS
    assert await sync_to_async(conversation_chain_verify)(conversation_id=conversation.pk) is None


async def test_concurrent_retries_on_the_loop_of_one_client_message_id_make_one_message(
    sends_on_loop, client_user, conversation
):
    requires_postgres()
    client = await _bearer(client_user)
    payload = _text(conversation.pk, "once", clientMessageId=str(uuid.uuid4()))

    responses = await asyncio.gather(*(_post(client, payload) for _ in range(RACERS)))

    assert sorted(response.status_code for response in responses) == [200] * (RACERS - 1) + [201]
    assert len({response.content for response in responses}) == 1
    assert await _messages() == 1
    assert len(await _created_events()) == 1


async def test_one_client_message_id_racing_on_the_loop_in_two_conversations_makes_one_message(
    sends_on_loop, client_user, provider, conversation
):
    requires_postgres()
    second = (await sync_to_async(make_project)(client_user, provider, title="Second")).conversation
    client = await _bearer(client_user)
    client_message_id = str(uuid.uuid4())

    responses = await asyncio.gather(
        *(
            _post(client, _text(target.pk, "once", clientMessageId=client_message_id))
            for target in (conversation, second) * (RACERS // 2)
        )
    )

    assert sorted(response.status_code for response in responses) == [200] * (RACERS - 1) + [201]
    (winner,) = [response.json() for response in responses if response.status_code == 201]
    assert all(response.json() == winner for response in responses)
    assert await _messages() == 1
    assert len(await _created_events()) == 1


async def test_a_send_on_the_loop_that_waited_behind_the_removal_is_refused_with_404(
    sends_on_loop, provider, staff, conversation
):
    requires_postgres()
    client = await _bearer(provider)
    # run_behind polls pg_stat_activity inside the removal's transaction, where PostgreSQL lists the backends as
    # they were at its first read (their wait events are live): the pool's connection must be open before it.
    async with loop_database.loop_connection():
        pass
    loop = asyncio.get_running_loop()
    answers = []

    def post_as_bob_on_the_loop():
        sending = asyncio.run_coroutine_threadsafe(_post(client, _text(conversation.pk, "sneaking in")), loop)
        answers.append(sending.result(timeout=30))

    def remove_bob_while_he_sends():
        # The removal's transaction stays open on this thread's connection until the loop's send waits for
        # the conversation's row lock in pg_stat_activity; the test's loop is free meanwhile.
        try:
            run_behind_a_removal(
                post_as_bob_on_the_loop, conversation_id=conversation.pk, user_id=provider.pk, by=staff
            )
        finally:
            connections.close_all()

    await asyncio.to_thread(remove_bob_while_he_sends)

    assert [answer.status_code for answer in answers] == [404]
    assert answers[0].json()["fields"]["conversationId"] == ["No such conversation."]
    assert not await Message.objects.filter(content="sneaking in").aexists()
    assert not await Participant.objects.filter(conversation=conversation, user=provider).aexists()


# ---- the session's path, the pool, the push -----------------------------------------------------------


async def _browser(user, *, csrf_header: bool):
    """A page's fetch: the session cookie, the CSRF cookie and, unless left out, the CSRF header."""
    browser = AsyncClient(enforce_csrf_checks=True)
    await browser.aforce_login(user)
    browser.cookies[settings.CSRF_COOKIE_NAME] = CSRF_SECRET
    return browser, ({"x_csrftoken": CSRF_SECRET} if csrf_header else {})


async def test_a_session_caller_still_sends_on_the_thread_with_the_setting_on(
    sends_on_loop, client_user, conversation, queries_in_any_thread
):
    requires_postgres()
    browser, csrf = await _browser(client_user, csrf_header=True)

    before = len(queries_in_any_thread)
    response = await _post(browser, _text(conversation.pk, "from a page"), **csrf)

    assert response.status_code == 201, response.json()
    assert response.json()["sender"]["username"] == client_user.username
    assert queries_in_any_thread[before:], "a session send runs on Django's connection, in a thread"
    assert await Message.objects.filter(content="from a page").acount() == 1


async def test_a_session_send_without_the_csrf_token_is_still_refused_with_403(
    sends_on_loop, client_user, conversation
):
    requires_postgres()
    browser, csrf = await _browser(client_user, csrf_header=False)

    response = await _post(browser, _text(conversation.pk), **csrf)

    assert response.status_code == 403
    assert response.json()["detail"].startswith("CSRF Failed")
    assert await _messages() == 0


async def test_a_bearer_send_under_wsgi_takes_the_thread_with_the_setting_on(
    sends_on_loop, client_user, conversation, queries_in_any_thread
):
    """Under WSGI each request's async view gets an event loop of its own, which a loop's pool would not outlive."""
    requires_postgres()
    token = await sync_to_async(lambda: str(AccessToken.for_user(client_user)))()
    wsgi_client = APIClient()
    wsgi_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    before = len(queries_in_any_thread)
    response = await sync_to_async(wsgi_client.post)(
        "/api/messages", _text(conversation.pk, "over wsgi"), format="json"
    )

    assert response.status_code == 201
    assert queries_in_any_thread[before:], "a WSGI send runs on Django's connection, in a thread"
    assert await Message.objects.filter(content="over wsgi").acount() == 1


async def _pool_connection_pids(count: int) -> set[int]:
    """The backend pids of ``count`` connections of the running loop's pool, all held at once (so distinct)."""
    all_held = asyncio.Barrier(count)
    pids = set()

    async def hold():
        async with loop_database.loop_connection() as database:
            pids.add(database.info.backend_pid)
            await all_held.wait()

    await asyncio.gather(*(hold() for _ in range(count)))
    return pids


@sync_to_async
def _backends_alive(pids: set[int]) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid = ANY(%s)",
            [sorted(pids)],
        )
        return cursor.fetchone()[0]


async def _backends_alive_after(pids: set[int], *, timeout: float = 5.0) -> int:
    """How many of ``pids`` are still in pg_stat_activity once they are gone, or once ``timeout`` has passed: a
    backend leaves it a moment after its client closed the connection."""
    deadline = asyncio.get_running_loop().time() + timeout
    alive = await _backends_alive(pids)
    while alive and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.02)
        alive = await _backends_alive(pids)
    return alive


async def test_closing_the_loops_pools_leaves_no_connection_of_theirs(sends_on_loop, client_user, conversation):
    requires_postgres()
    response = await _post(await _bearer(client_user), _text(conversation.pk))
    assert response.status_code == 201
    # The pool opened with one connection for the send; held three at once, it has grown to those three.
    pids = await _pool_connection_pids(3)
    assert len(pids) == 3
    assert await _backends_alive(pids) == 3

    await loop_database.loop_pools_close()

    assert await _backends_alive_after(pids) == 0


async def test_a_pool_that_failed_to_open_is_opened_again_by_the_next_send(
    sends_on_loop, client_user, conversation, monkeypatch
):
    requires_postgres()
    opened = loop_database._pool_opened
    attempts = []

    async def failing_once(parameters):
        attempts.append(parameters)
        if len(attempts) == 1:
            raise OSError("the database is not there yet")
        return await opened(parameters)

    monkeypatch.setattr(loop_database, "_pool_opened", failing_once)
    client = await _bearer(client_user)

    with pytest.raises(OSError):
        await _post(client, _text(conversation.pk, "too early"))
    response = await _post(client, _text(conversation.pk, "in time"))

    assert response.status_code == 201
    assert len(attempts) == 2
    assert [message.content async for message in Message.objects.all()] == ["in time"]


async def test_the_message_new_push_goes_to_the_conversation_after_the_commit(sends_on_loop, client_user, conversation):
    requires_postgres()
    layer = get_channel_layer()
    # A named channel, received on its own (tests/reliability/test_races.py's _GroupTap says why).
    group, channel = events.conversation_group(conversation.pk), f"send-on-loop-tap-{uuid.uuid4().hex}"
    await layer.group_add(group, channel)
    try:
        sending = asyncio.ensure_future(_post(await _bearer(client_user), _text(conversation.pk, "pushed")))
        pushed = await asyncio.wait_for(layer.receive(channel), timeout=10)
        committed_when_pushed = await Message.objects.filter(pk=pushed["data"]["id"]).aexists()
        response = await sending
        with contextlib.suppress(TimeoutError):
            extra = await asyncio.wait_for(layer.receive(channel), timeout=0.3)
            pytest.fail(f"one push expected, another came: {extra}")
    finally:
        await layer.group_discard(group, channel)

    assert response.status_code == 201
    assert pushed["event"] == events.MESSAGE_NEW
    assert pushed["data"] == response.json()
    assert pushed["exclude_user_id"] is None
    assert committed_when_pushed

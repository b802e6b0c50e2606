"""The hot path: ``POST /api/messages`` with a JSON text message, from the request to the publish.

Why it is shaped so (issue 15): a send through DRF's view and ``services.message_send`` cost 8–10 times the
bare Channels relay per message. The CPU went to thread hops, to nine ORM statements and to the rate
limiter; the guarantees did not need any of it. This module keeps every guarantee of ``message_send`` and
pays for each once:

- **One async view, no hop to a thread for a Bearer JWT on PostgreSQL** (``_send_text_on_loop``). The view runs
  on the event loop behind the async middleware stack. The JWT's user, the rate and the transaction go over
  connections that live on the loop (``kernel.loop_database``'s pool, the loop's Redis client), and the
  ``message:new`` publish is awaited there after the commit. A hop to a thread and back cost more of the
  interpreter than the statements it ran; Django's database connections are per thread, so the ORM is not
  used on this path. A session caller (CSRF, its session in the database), SQLite, or ``SEND_DATABASE_ON_LOOP``
  off take ``_send_text`` instead: the same steps in one ``sync_to_async`` call on Django's connection.
- **The same contract, not a copy of it.** Credentials are DRF's authenticators in DRF's order (Bearer JWT,
  then the session with CSRF enforced exactly as ``SessionAuthentication`` does), the rate is the
  ``message_send`` scope of ``kernel.ratelimit``, the body is read by the API's JSON parser and validated
  by ``MessageCreateInputSerializer``, the refusals are ``messaging.services.message_send_refusal``'s
  domain errors, and every error is shaped by the one handler (``kernel.rest.api_exception_handler``).
  What this view does not take (a file sent as multipart, a form, any other method) goes to the DRF view
  on the same path, which also describes the endpoint in the OpenAPI schema.
- **Two statements on PostgreSQL** (``_append_steps``, written once for the loop's driver and the thread's): the
  conversation row lock (written out in SQL, ``_LOCK_STATEMENT``: building the ORM's locking query, with its joins,
  took a quarter of a send's CPU on the interpreter), then one statement that checks membership, finds a retry's
  original, inserts the message (with its link in the conversation's hash chain, ``messaging.chain``, hashed in
  Python before the statement), moves the conversation's last message and chain head and the sender's read marker,
  and records the ``message.created`` integration event in the outbox (``integrations.services.event_record``'s
  row). On the loop the two go in two round trips with the caller's read, in one pipeline's implicit transaction:
  the JWT's user and the lock in one, the append and the commit in the other (``_append_on_loop``); the refusals
  keep DRF's order.
  Elsewhere (SQLite, the embedded default) ``services.message_store`` does the same through the ORM; both pass
  the same tests.

The send admission bound (503 + ``Retry-After`` past ``SEND_MAX_IN_FLIGHT``) is held around this view by
``realtime.admission``'s middleware, for the whole request including the awaited publish.
"""

import functools
import json
import uuid
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass
from typing import Any

import psycopg
from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.handlers.asgi import ASGIRequest
from django.db import DEFAULT_DB_ALIAS, connection, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views import View
from psycopg import AsyncConnection
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from accounts.authentication import (
    USER_COLUMN_COUNT,
    JWTAuthentication,
    token_user_id,
    user_columns,
    user_read_accepted,
)
from accounts.models import User
from integrations import events as integration_events
from integrations.services import event_public_id
from kernel import loop_database
from kernel.contact_review import contact_review
from kernel.errors import NotFound
from kernel.parsers import JSONParser
from kernel.ratelimit import Rate, rate_spend, rate_spend_async
from kernel.rest import api_exception_handler
from messaging import api, chain, events, services
from messaging.models import Message
from messaging.serializers import MessageCreateInputSerializer
from projects.models import Project
from realtime.publish import publish

RATE_SCOPE = "message_send"
# As DRF's view answers: it allows POST (and OPTIONS) here, and its answer depends on Accept.
RESPONSE_HEADERS = {"Allow": "POST, OPTIONS", "Vary": "Accept"}

general_send = api.MessageViewSet.as_view({"post": "create"})


class MessageSendView(View):
    """``POST /api/messages``: a JSON text message here; anything else on the general DRF view.

    Mounted through ``csrf_exempt`` as DRF's views are: CSRF is enforced below, for session callers only."""

    # An async view's dispatch returns a coroutine (View.view_is_async); the stubs know only the sync one.
    async def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:  # type: ignore[override]
        if request.method == "POST" and request.content_type == "application/json":
            return await self.post(request)
        return await sync_to_async(general_send)(request)

    async def post(self, request: HttpRequest) -> HttpResponse:
        try:
            raw_token = _bearer_token(request) if _database_on_loop(request) else None
            if raw_token is not None:
                sent = await _send_text_on_loop(request, raw_token)
            else:
                sent = await sync_to_async(_send_text)(request)
        except Exception as exc:
            return _error_response(request, exc)
        if sent.created:
            for groups, payload, exclude_user_id in sent.pushes():
                await publish(groups, events.MESSAGE_NEW, payload, exclude_user_id=exclude_user_id)
        return RenderedResponse(sent.payload, status=201 if sent.created else 200)


def _database_on_loop(request: HttpRequest) -> bool:
    # Under WSGI (runserver, a WSGI server) an async view runs on an event loop of its own per request, which
    # the loop's pool would not outlive: only an ASGI server's loop serves many requests.
    return settings.SEND_DATABASE_ON_LOOP and isinstance(request, ASGIRequest) and loop_database.is_available()


def _bearer_token(request: HttpRequest) -> bytes | None:
    """The raw JWT of a Bearer ``Authorization`` header, read as DRF's first authenticator reads it; ``None``
    without one (the session's turn). A malformed header raises that authenticator's refusal."""
    authenticator = JWTAuthentication()
    header = authenticator.get_header(request)  # type: ignore[arg-type]  # it reads request.META alone
    return None if header is None else authenticator.get_raw_token(header)


def _send_text(request: HttpRequest) -> services.SentMessage:
    """Everything of a send that needs the database, in the order DRF's view takes it: who is calling,
    their rate, the body, then the transaction."""
    rest_request = Request(
        request,
        parsers=[JSONParser()],
        authenticators=[authentication() for authentication in APIView.authentication_classes],
    )
    user = rest_request.user  # raises AuthenticationFailed, or PermissionDenied for a missing CSRF token
    if not (user and user.is_authenticated):
        raise exceptions.NotAuthenticated()
    _refuse_past_rate(rate_spend(scope=RATE_SCOPE, ident=user.pk, rate=_send_rate()))
    data = _validated(rest_request)
    if data["type"] != Message.Type.TEXT or connection.vendor != "postgresql":
        return _stored_through_the_orm(user, data)
    return services.message_stored_once(
        lambda: _append_on_thread(
            user=user,
            conversation_id=data["conversationId"],
            content=data["content"],
            client_message_id=data["clientMessageId"],
        ),
        user=user,
        client_message_id=data["clientMessageId"],
    )


async def _send_text_on_loop(request: HttpRequest, raw_token: bytes) -> services.SentMessage:
    """``_send_text`` for a Bearer JWT caller on PostgreSQL, with no hop to a thread: the user's read and the
    two statements go over a connection of the loop's pool (``kernel.loop_database``), the rate over the
    loop's Redis client. A retry's original (rare) is read through the ORM on a thread.

    A valid JSON text message (the send of every client) reads its user in the round trip of the transaction's
    lock (``_append_on_loop``). The refusals still come in DRF's order, who, then the rate, then the body, then
    the conversation: the body is read first but its refusal waits, and any other body takes the steps one at a
    time, as the thread does."""
    authenticator = JWTAuthentication()
    validated_token = authenticator.get_validated_token(raw_token)
    try:
        data = _validated(Request(request, parsers=[JSONParser()]))
    except Exception as refused:  # raised in its turn, after the caller's
        data, body_refusal = None, refused
    original = sync_to_async(services.message_by_client_id)
    async with loop_database.loop_connection() as database:
        if data is None or data["type"] != Message.Type.TEXT:
            user = await _caller_admitted(request, await authenticator.user_on_loop(validated_token, database))
            if data is None:
                raise body_refusal
            return await sync_to_async(_stored_through_the_orm)(user, data)

        async def admitted(user_row: tuple | None) -> User:
            return await _caller_admitted(request, user_read_accepted(validated_token, user_row))

        try:
            appended = await _append_on_loop(
                database,
                admitted=admitted,
                sender_id=token_user_id(validated_token),
                conversation_id=data["conversationId"],
                content=data["content"],
                client_message_id=data["clientMessageId"],
            )
        except psycopg.IntegrityError:
            # As services.message_stored_once: the same client id raced in through another conversation's lock.
            raced = await original(user=request.user, client_message_id=data["clientMessageId"])
            if raced is None:
                raise
            return raced
    if appended is _ORIGINAL:
        found = await original(user=request.user, client_message_id=data["clientMessageId"])
        assert found is not None  # found by the append statement, and messages are not deleted
        return found
    return appended


async def _caller_admitted(request: HttpRequest, user: User) -> User:
    """``user``, once their rate has room for this send (429 otherwise)."""
    # As DRF's Request sets it: the middleware that reads request.user then needs no session.
    request.user = user
    _refuse_past_rate(await rate_spend_async(scope=RATE_SCOPE, ident=user.pk, rate=_send_rate()))
    return user


def _stored_through_the_orm(user, data: dict) -> services.SentMessage:
    """A send the two statements do not take (a JSON ``type: file``, whose refusals come in the service's order;
    SQLite), as the general path stores it."""
    return services.message_store(
        user=user,
        conversation_id=data["conversationId"],
        content=data["content"],
        type=data["type"],
        client_message_id=data["clientMessageId"],
    )


def _send_rate() -> Rate:
    return Rate.parse(api_settings.DEFAULT_THROTTLE_RATES[RATE_SCOPE])


def _refuse_past_rate(retry_after: int | None) -> None:
    if retry_after is not None:
        raise exceptions.Throttled(wait=retry_after)


def _validated(rest_request: Request) -> dict:
    payload = MessageCreateInputSerializer(data=rest_request.data)
    payload.is_valid(raise_exception=True)
    return payload.validated_data  # a JSON body has no file: the serializer refuses one


# Run after the conversation row lock is granted, so under READ COMMITTED its snapshot sees every commit that
# came before the lock: a removal the sender waited behind, a retry's original in this conversation. Its
# CTEs share that one snapshot and each statement's effects: the INSERT happens only for a member, without
# an original, when ``may_insert`` (no refusal); the two UPDATEs and the outbox's event (the message's payload,
# built before its id was known, with the id set here) happen only with a row the INSERT returned.
# The unique (sender, client_message_id) index catches a retry racing in through another conversation's
# lock: its INSERT waits for the first one's transaction and then fails (services.message_stored_once answers).
_APPEND_STATEMENT = """
WITH member AS (
    SELECT id FROM messaging_participant WHERE conversation_id = %(conversation)s AND user_id = %(sender)s
), original AS (
    SELECT id FROM messaging_message WHERE sender_id = %(sender)s AND client_message_id = %(client_message_id)s
), inserted AS (
    INSERT INTO messaging_message
        (conversation_id, sender_id, seq, type, content, file, file_name, file_content_type,
         client_message_id, created_at, chain_hash,
         review, contact_kinds)
    SELECT %(conversation)s, %(sender)s, %(seq)s, 'text', %(content)s, '', '', '', %(client_message_id)s, %(now)s,
        %(chain_hash)s, %(review)s, %(contact_kinds)s
    WHERE %(may_insert)s AND EXISTS (SELECT 1 FROM member) AND NOT EXISTS (SELECT 1 FROM original)
    RETURNING id, seq
), conversation_moved AS (
    UPDATE messaging_conversation
    SET last_message_id = inserted.id, last_message_seq = inserted.seq, last_activity_at = %(now)s,
        chain_head = %(chain_hash)s
    FROM inserted WHERE messaging_conversation.id = %(conversation)s
), marker_moved AS (
    UPDATE messaging_participant
    SET last_read_message_id = inserted.id, last_read_seq = inserted.seq, last_read_at = %(now)s
    FROM inserted WHERE messaging_participant.id = (SELECT id FROM member)
), event_recorded AS (
    INSERT INTO integrations_event (public_id, type, created_at, data, fanned_out)
    SELECT %(event_id)s, %(event_type)s, %(now)s, jsonb_set(%(event_data)s::jsonb, '{id}', to_jsonb(inserted.id)), false
    FROM inserted
)
SELECT EXISTS (SELECT 1 FROM member), (SELECT id FROM original), (SELECT id FROM inserted)
"""


# The lock ``services.conversation_lock_for_member`` takes (``FOR UPDATE`` of the conversation's row alone, for a
# member when the statement began), with what a send reads under it: the seq and chain head to follow, and
# whether the project still takes messages.
_LOCK_STATEMENT = """
SELECT conversation.last_message_seq, conversation.chain_head, project.id, project.status
FROM messaging_conversation conversation
JOIN projects_project project ON project.id = conversation.project_id
WHERE conversation.id = %(conversation)s AND EXISTS (
    SELECT 1 FROM messaging_participant
    WHERE messaging_participant.conversation_id = conversation.id AND messaging_participant.user_id = %(sender)s
)
FOR UPDATE OF conversation
"""


@dataclass(frozen=True)
class _Appended:
    is_member: bool
    original_id: int | None
    message_id: int | None


# What ``_append_steps`` returns when the sender's retry found its original: each driver reads it its own way.
_ORIGINAL = object()

# A statement to run and its parameters; the driver sends back the one row it returned, or None.
_Step = tuple[str, dict]


def _append_steps(
    *, sender_id: int, conversation_id: int, content: str, client_message_id: uuid.UUID | None
) -> Generator[_Step, Any, "services.SentMessage | object"]:
    """``services.message_store`` for a text message in two statements: the lock, then ``_APPEND_STATEMENT``.

    Written once for the two drivers, the thread's (``_append_on_thread``, Django's connection) and the loop's
    (``_append_on_loop``, ``kernel.loop_database``): each runs the statements this yields, inside one
    transaction, and sends back the row each returned, the lock's with the sender (``(row, user)``): the lock
    needs only the sender's id, and the loop's driver reads the sender in the lock's round trip. An exception
    raised here rolls that transaction back.

    The first statement takes the conversation's row lock (``_LOCK_STATEMENT``, the lock of
    ``services.conversation_lock_for_member``), the lock ``services.participant_remove`` and every other send
    take too: senders of one conversation are serialized from here to the commit, so the seq read under it is
    the last one and the ids they insert rise with their seqs. The membership this statement asks is only the
    404 of an outsider: one that waited for the lock answered from the snapshot it started with, before a
    removal it waited behind committed, so ``_APPEND_STATEMENT`` asks again.
    """
    now = timezone.now()
    # The contact scan (kernel.contact_review): Python's work before the lock, its result two more values of
    # the INSERT, not a round trip.
    review, contact_kinds = contact_review(content)
    locked, user = yield _LOCK_STATEMENT, {"conversation": conversation_id, "sender": sender_id}
    if locked is None:
        raise NotFound("No such conversation.", field="conversationId")
    last_message_seq, chain_head, project_id, project_status = locked
    refusal = services.message_send_refusal(
        user=user,
        # The two columns the lock read, as the ORM loads a row: a fifth of the cost of Project(pk=..., status=...).
        project=Project.from_db(DEFAULT_DB_ALIAS, ["id", "status"], (project_id, project_status)),
        type=Message.Type.TEXT,
        content=content,
        upload=None,
    )
    seq = last_message_seq + 1
    message = Message(
        conversation_id=conversation_id,
        sender=user,
        seq=seq,
        type=Message.Type.TEXT,
        content=content,
        client_message_id=client_message_id,
        created_at=now,
        review=review,
        contact_kinds=contact_kinds,
    )
    # Hashed here, before the INSERT: everything the link covers is known, and the head came with the lock.
    chain.message_seal(message, head=chain_head)
    appended_row = yield (
        _APPEND_STATEMENT,
        {
            "conversation": conversation_id,
            "sender": user.pk,
            "seq": seq,
            "content": content,
            "client_message_id": client_message_id,
            "now": now,
            "chain_hash": message.chain_hash,
            "may_insert": refusal is None,
            "event_id": event_public_id(),
            "event_type": integration_events.MESSAGE_CREATED,
            "event_data": json.dumps(events.message_event_payload(message)),
            "review": review,
            "contact_kinds": contact_kinds,
        },
    )
    assert appended_row is not None  # the statement's last SELECT returns one row
    appended = _Appended(*appended_row)
    if not appended.is_member:
        raise NotFound("No such conversation.", field="conversationId")
    if appended.original_id is not None:
        return _ORIGINAL
    if refusal is not None:
        raise refusal
    message.pk = appended.message_id
    return services.SentMessage.of(message, created=True)


def _append_on_thread(*, user, conversation_id: int, content: str, client_message_id: uuid.UUID | None):
    steps = _append_steps(
        sender_id=user.pk, conversation_id=conversation_id, content=content, client_message_id=client_message_id
    )
    with transaction.atomic(), connection.cursor() as cursor:
        statement, parameters = next(steps)
        cursor.execute(statement, parameters)
        statement, parameters = steps.send((cursor.fetchone(), user))
        cursor.execute(statement, parameters)
        try:
            steps.send(cursor.fetchone())
        except StopIteration as done:
            appended = done.value
        if appended is _ORIGINAL:
            original = services.message_by_client_id(user=user, client_message_id=client_message_id)
            assert original is not None  # found by this transaction's statement, and messages are not deleted
            return original
    return appended


async def _append_on_loop(
    database: AsyncConnection,
    *,
    admitted: Callable[[tuple | None], Awaitable[User]],
    sender_id: int,
    conversation_id: int,
    content: str,
    client_message_id: uuid.UUID | None,
):
    """The caller's read and the two statements in two round trips to PostgreSQL, where one at a time with their
    ``BEGIN`` and ``COMMIT`` they take five. The caller's row is read by the lock's statement
    (``_with_the_caller``). In pipeline mode, statements up to the pipeline's ``Sync`` run in one implicit
    transaction, which the ``Sync`` commits (or, after an error, rolls back): reading the lock's row asks the
    server only to flush its answers, so the lock is held from the first round trip to the end of the second, the
    append's with the ``Sync``. A ``BEGIN`` and a ``COMMIT`` would cost each a message of its own and an
    execution. The caller is ``admitted`` (their refusals, then their rate) before the lock's row is looked at,
    so an outsider over their rate is still told 429, not 404. Committing before the append's row is read gives
    nothing away: every outcome that raises below (an outsider, a retry's original, a refusal) is one in which the
    statement wrote nothing; one raised before the append commits a transaction that only read."""
    steps = _append_steps(
        sender_id=sender_id, conversation_id=conversation_id, content=content, client_message_id=client_message_id
    )
    statement, parameters = next(steps)
    async with database.pipeline():
        locked = await database.execute(_with_the_caller(statement), parameters)
        row = await locked.fetchone()
        caller_row, lock_row = (None, None) if row is None else (row[:USER_COLUMN_COUNT], row[USER_COLUMN_COUNT:])
        user = await admitted(caller_row)
        # The lateral join's columns are all null where the lock found no row.
        statement, parameters = steps.send((None if lock_row is None or _all_null(lock_row) else lock_row, user))
        appended = await database.execute(statement, parameters)
    try:
        steps.send(await appended.fetchone())
    except StopIteration as done:
        return done.value
    raise AssertionError("_append_steps takes two statements")


@functools.cache
def _with_the_caller(lock_statement: str) -> str:
    """``lock_statement`` with the caller's row (``%(sender)s``'s) before its columns, in one statement: one
    execution fewer than the two apart. A caller who does not exist takes no lock and is refused (401) as the read
    alone refused them; the row's snapshot, taken before any wait for the lock, is no older than when the read
    was a statement of its own just before."""
    return (
        f"SELECT {user_columns('caller')}, locked.* FROM accounts_user caller "
        f"LEFT JOIN LATERAL ({lock_statement}) locked ON true WHERE caller.id = %(sender)s"
    )


def _all_null(row: tuple) -> bool:
    return all(value is None for value in row)


def _error_response(request: HttpRequest, exc: Exception) -> HttpResponse:
    """The answer DRF's view gives to ``exc``: the one exception handler's body, status and headers."""
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        # As APIView.handle_exception: the first authenticator's challenge (the JWT's), which keeps it a 401.
        first_authenticator = APIView.authentication_classes[0]()
        exc.auth_header = first_authenticator.authenticate_header(Request(request))  # type: ignore[union-attr]
        # As DRF's Request when its authenticators refuse: the caller is anonymous. Left to the middleware, the
        # session's lazy user would be read, and reading it marks the session accessed (``Vary: Cookie``).
        request.user = AnonymousUser()
    handled = api_exception_handler(exc, {})
    if handled is None:
        raise exc
    # The handler's headers, less the Content-Type of a response not yet rendered.
    headers = {name: value for name, value in handled.items() if name != "Content-Type"}
    return RenderedResponse(handled.data, status=handled.status_code, headers=headers)


class RenderedResponse(HttpResponse):
    """What DRF's view answers an API client, built at once: the JSON renderer's bytes, its content type and the
    view's headers (``RESPONSE_HEADERS``), plus ``headers`` (an error's ``Retry-After``, ``WWW-Authenticate``).

    A plain ``HttpResponse``, not DRF's ``Response`` rendered: Django's async handler runs the ``render()`` of a
    response that has one on a thread, even when there is nothing left to render, a hop for nothing on every send.
    It keeps the ``data`` that DRF's ``Response`` carries, which APIClient's callers read."""

    def __init__(self, data, *, status: int, headers: dict[str, str] | None = None):
        super().__init__(
            _JSON.render(data, _JSON.media_type, {}),
            status=status,
            content_type=_JSON.media_type,
            headers={**RESPONSE_HEADERS, **(headers or {})},
        )
        self.data = data


_JSON = JSONRenderer()

"""The hot path: ``POST /api/messages`` with a JSON text message, from the request to the publish.

Why it is shaped so (issue 15): a send through DRF's view and ``services.message_send`` cost 8–10 times the
bare Channels relay per message. The CPU went to thread hops, to nine ORM statements and to the rate
limiter; the guarantees did not need any of it. This module keeps every guarantee of ``message_send`` and
pays for each once:

- **One async view, one hop to a thread.** The view runs on the event loop behind the async middleware
  stack. Authentication, the rate, parsing and the transaction run in one ``sync_to_async`` call (Django's
  database connections are per thread); the ``message:new`` publish is then awaited on the loop, after
  the commit, with nothing left to hop back for.
- **The same contract, not a copy of it.** Credentials are DRF's authenticators in DRF's order (Bearer JWT,
  then the session with CSRF enforced exactly as ``SessionAuthentication`` does), the rate is the
  ``message_send`` scope of ``kernel.ratelimit``, the body is read by the API's JSON parser and validated
  by ``MessageCreateInputSerializer``, the refusals are ``messaging.services.message_send_refusal``'s
  domain errors, and every error is shaped by the one handler (``kernel.rest.api_exception_handler``).
  What this view does not take (a file sent as multipart, a form, any other method) goes to the DRF view
  on the same path, which also describes the endpoint in the OpenAPI schema.
- **Two statements on PostgreSQL** (``_append_on_postgresql``): the conversation row lock (written out in
  SQL, ``_LOCK_STATEMENT``: building the ORM's locking query, with its joins, took a quarter of a send's
  CPU on the interpreter), then one statement that checks membership, finds a retry's original, inserts the
  message (with its link in the conversation's hash chain, ``messaging.chain``, hashed in Python before the
  statement), moves the conversation's last message and chain head and the sender's read marker, and records
  the ``message.created`` integration event in the outbox (``integrations.services.event_record``'s row).
  Elsewhere (SQLite, the embedded default) ``services.message_store`` does the same through the ORM; both
  pass the same tests.

The send admission bound (503 + ``Retry-After`` past ``SEND_MAX_IN_FLIGHT``) is held around this view by
``realtime.admission``'s middleware, for the whole request including the awaited publish.
"""

import json
import uuid
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views import View
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from integrations import events as integration_events
from integrations.services import event_public_id
from kernel.contact_review import contact_review
from kernel.errors import NotFound
from kernel.parsers import JSONParser
from kernel.ratelimit import Rate, rate_spend
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
            sent = await sync_to_async(_send_text)(request)
        except Exception as exc:
            return _error_response(request, exc)
        if sent.created:
            for groups, payload, exclude_user_id in sent.pushes():
                await publish(groups, events.MESSAGE_NEW, payload, exclude_user_id=exclude_user_id)
        return _json_response(sent.payload, status=201 if sent.created else 200)


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
    retry_after = rate_spend(
        scope=RATE_SCOPE, ident=user.pk, rate=Rate.parse(api_settings.DEFAULT_THROTTLE_RATES[RATE_SCOPE])
    )
    if retry_after is not None:
        raise exceptions.Throttled(wait=retry_after)
    payload = MessageCreateInputSerializer(data=rest_request.data)
    payload.is_valid(raise_exception=True)
    data = payload.validated_data  # a JSON body has no file: the serializer refuses one
    if data["type"] != Message.Type.TEXT or connection.vendor != "postgresql":
        return services.message_store(
            user=user,
            conversation_id=data["conversationId"],
            content=data["content"],
            type=data["type"],
            client_message_id=data["clientMessageId"],
        )
    return services.message_stored_once(
        lambda: _append_on_postgresql(
            user=user,
            conversation_id=data["conversationId"],
            content=data["content"],
            client_message_id=data["clientMessageId"],
        ),
        user=user,
        client_message_id=data["clientMessageId"],
    )


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
class _Locked:
    last_message_seq: int
    chain_head: str
    project: Project


def _lock_for_member(cursor, *, user, conversation_id: int) -> _Locked:
    cursor.execute(_LOCK_STATEMENT, {"conversation": conversation_id, "sender": user.pk})
    row = cursor.fetchone()
    if row is None:
        raise NotFound("No such conversation.", field="conversationId")
    last_message_seq, chain_head, project_id, project_status = row
    return _Locked(last_message_seq, chain_head, Project(pk=project_id, status=project_status))


@dataclass(frozen=True)
class _Appended:
    is_member: bool
    original_id: int | None
    message_id: int | None


def _append_on_postgresql(
    *, user, conversation_id: int, content: str, client_message_id: uuid.UUID | None
) -> services.SentMessage:
    """``services.message_store`` for a text message in two statements: the lock, then ``_APPEND_STATEMENT``.

    The first takes the conversation's row lock (``_LOCK_STATEMENT``, the lock of
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
    with transaction.atomic(), connection.cursor() as cursor:
        locked = _lock_for_member(cursor, user=user, conversation_id=conversation_id)
        refusal = services.message_send_refusal(
            user=user, project=locked.project, type=Message.Type.TEXT, content=content, upload=None
        )
        seq = locked.last_message_seq + 1
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
        chain.message_seal(message, head=locked.chain_head)
        cursor.execute(
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
        appended = _Appended(*cursor.fetchone())
        if not appended.is_member:
            raise NotFound("No such conversation.", field="conversationId")
        if appended.original_id is not None:
            original = services.message_by_client_id(user=user, client_message_id=client_message_id)
            assert original is not None  # found by this transaction's statement, and messages are not deleted
            return original
        if refusal is not None:
            raise refusal
    message.pk = appended.message_id
    return services.SentMessage.of(message, created=True)


def _error_response(request: HttpRequest, exc: Exception) -> HttpResponse:
    """The answer DRF's view gives to ``exc``: the one exception handler's body, status and headers."""
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        # As APIView.handle_exception: the first authenticator's challenge (the JWT's), which keeps it a 401.
        first_authenticator = APIView.authentication_classes[0]()
        exc.auth_header = first_authenticator.authenticate_header(Request(request))  # type: ignore[union-attr]
    handled = api_exception_handler(exc, {})
    if handled is None:
        raise exc
    return _rendered(handled)


def _json_response(data, *, status: int) -> Response:
    return _rendered(Response(data, status=status))


def _rendered(response: Response) -> Response:
    """``response`` rendered as DRF's view renders it for an API client: JSON, with the view's headers."""
    response.accepted_renderer = JSONRenderer()
    response.accepted_media_type = JSONRenderer.media_type
    response.renderer_context = {}  # type: ignore[attr-defined]  # set by APIView.finalize_response; the stubs omit it
    for header, value in RESPONSE_HEADERS.items():
        response[header] = value
    return response.render()

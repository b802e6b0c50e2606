"""REST endpoints of the messaging module, as the spec names them."""

import logging

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import parsers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from kernel.errors import Conflict, FileMissing, Invalid, NotAllowed, NotFound, ProviderSuspended, Unavailable
from kernel.ids import ID_MAX, is_id
from kernel.parsers import JSONParser
from kernel.ratelimit import ScopedRateThrottle
from kernel.schema import errors, path_id
from messaging import events, selectors, services
from messaging.serializers import (
    ConversationSerializer,
    MessageCreateInputSerializer,
    MessageEditInputSerializer,
    MessageSearchInputSerializer,
    MessageSearchPageSerializer,
    MessageSearchResultSerializer,
    MessageSerializer,
    MessagesPageSerializer,
    ReadMarkerSerializer,
)

logger = logging.getLogger(__name__)

# What _optional_int accepts: a message id as a cursor, or 0 for "from the start"; a page size.
_INT64 = {"type": "integer", "minimum": 0, "maximum": ID_MAX}


class ConversationViewSet(viewsets.GenericViewSet):
    serializer_class = ConversationSerializer

    def get_queryset(self):
        return selectors.participant_list_for_user(user=self.request.user)

    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(ConversationSerializer(page, many=True).data)

    @extend_schema(parameters=[path_id("id", "The conversation's id.")])
    def retrieve(self, request, pk=None):
        participation = selectors.participant_get(user=request.user, conversation_id=pk)
        return Response(ConversationSerializer(participation).data)

    @extend_schema(parameters=[path_id("project_id", "The project's id.")])
    @action(detail=False, url_path="project/<id:project_id>")
    def for_project(self, request, project_id=None):
        participation = selectors.participant_get_for_project(user=request.user, project_id=project_id)
        return Response(ConversationSerializer(participation).data)


class MessageViewSet(viewsets.GenericViewSet):
    serializer_class = MessageSerializer
    parser_classes = [JSONParser, parsers.MultiPartParser, parsers.FormParser]

    def get_throttles(self):
        if self.action == "create":
            self.throttle_scope = "message_send"
            return [ScopedRateThrottle()]
        return super().get_throttles()

    @extend_schema(
        request=MessageCreateInputSerializer,
        responses={
            201: MessageSerializer,
            200: MessageSerializer,
            **errors(NotFound, ProviderSuspended, Conflict, Unavailable),
        },
    )
    def create(self, request):
        # A JSON send is messaging.send's; this takes the others (a file as multipart) on the same path.
        # Past SEND_MAX_IN_FLIGHT this request never gets here (realtime.admission.SendAdmissionMiddleware).
        payload = MessageCreateInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        sent = services.message_send(
            user=request.user,
            conversation_id=data["conversationId"],
            content=data["content"],
            type=data["type"],
            client_message_id=data["clientMessageId"],
            upload=data["file"],
        )
        return Response(sent.payload, status=status.HTTP_201_CREATED if sent.created else status.HTTP_200_OK)

    @extend_schema(
        request=MessageEditInputSerializer,
        responses={200: MessageSerializer, **errors(Invalid, NotAllowed, NotFound, Conflict)},
        parameters=[path_id("id", "The message's id.")],
        description="The sender replaces a text message's content, within MESSAGE_EDIT_WINDOW of sending it and "
        "while the project is active; the conversation is pushed `message:updated`.",
    )
    def partial_update(self, request, pk=None):
        payload = MessageEditInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        message = services.message_edit(user=request.user, message_id=pk, content=payload.validated_data["content"])
        return Response(MessageSerializer(message, context={"viewer_id": request.user.pk}).data)

    @extend_schema(
        request=None,
        responses={204: None, **errors(NotAllowed, NotFound, Conflict)},
        parameters=[path_id("id", "The message's id.")],
        description="The sender deletes a message, within MESSAGE_EDIT_WINDOW of sending it and while the project "
        "is active: it stays in history as a tombstone at its seq; the conversation is pushed `message:deleted`.",
    )
    def destroy(self, request, pk=None):
        services.message_delete(user=request.user, message_id=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        parameters=[
            path_id("conversation_id", "The conversation's id."),
            OpenApiParameter("before", _INT64, description="Scroll back: messages older than this id."),
            OpenApiParameter("after", _INT64, description="Catch up: messages newer than this id."),
            OpenApiParameter("limit", _INT64, description="Page size, capped by MESSAGE_PAGE_MAX."),
        ],
        responses=MessagesPageSerializer,
    )
    @action(detail=False, url_path="conversation/<id:conversation_id>")
    def history(self, request, conversation_id=None):
        selectors.conversation_require_member(user=request.user, conversation_id=conversation_id)
        before = _optional_int(request.query_params.get("before"), "before")
        after = _optional_int(request.query_params.get("after"), "after")
        if before is not None and after is not None:
            raise Invalid("Give either before or after, not both.", field="before")
        messages, has_more = selectors.message_list_page(
            conversation_id=conversation_id,
            before=before,
            after=after,
            limit=_optional_int(request.query_params.get("limit"), "limit"),
        )
        messages_seen = MessageSerializer(messages, many=True, context={"viewer_id": request.user.pk}).data
        return Response({"results": messages_seen, "hasMore": has_more})

    @extend_schema(
        parameters=[MessageSearchInputSerializer], responses={200: MessageSearchPageSerializer, **errors(NotFound)}
    )
    @action(detail=False, url_path="search")
    def search(self, request):
        """The caller's messages matching ``q``, best first: each with a highlighted snippet, HTML that is safe to
        insert as is (matches in ``<mark>``, everything else escaped). A conversation not theirs is a 404."""
        # ``?name=`` is no ``name``, as everywhere in the API (kernel.schema).
        query = MessageSearchInputSerializer(data={key: value for key, value in request.query_params.items() if value})
        query.is_valid(raise_exception=True)
        data = query.validated_data
        results, next_cursor = selectors.message_search_page(
            user=request.user,
            query=data["q"],
            conversation_id=data.get("conversationId"),
            cursor=data.get("cursor"),
            limit=data.get("limit"),
        )
        return Response({"results": MessageSearchResultSerializer(results, many=True).data, "next": next_cursor})

    @extend_schema(
        request=None, responses=ReadMarkerSerializer, parameters=[path_id("conversation_id", "The conversation's id.")]
    )
    @action(detail=False, methods=["patch"], url_path="conversation/<id:conversation_id>/read")
    def read(self, request, conversation_id=None):
        marker = services.conversation_mark_read(user=request.user, conversation_id=conversation_id)
        return Response(ReadMarkerSerializer(marker).data)

    @extend_schema(
        # The file as uploaded, with the content type it was uploaded with.
        responses={(200, "*/*"): OpenApiTypes.BINARY},
        parameters=[path_id("id", "The file message's id.")],
    )
    @action(detail=True, url_path="file", url_name="file")
    def download(self, request, pk=None):
        message = selectors.message_get_file_for_member(user=request.user, message_id=pk)
        try:
            stored = message.file.open("rb")
        except FileNotFoundError:
            # The row outlived its file (storage restored without it, a manual delete): say so, not 500.
            logger.warning("message %s: its file %s is missing from storage", message.pk, message.file.name)
            raise FileMissing("This file is no longer stored.") from None
        response = FileResponse(
            stored,
            as_attachment=True,
            filename=events.message_file_name_seen(message, as_sent=message.sender_id == request.user.pk),
            content_type=message.file_content_type or "application/octet-stream",
        )
        response["X-Content-Type-Options"] = "nosniff"
        return response


def _optional_int(raw, field: str) -> int | None:
    if raw in (None, ""):
        return None
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise Invalid(f"{field} must be an integer.", field=field) from None
    if not is_id(value, minimum=0):
        raise Invalid(f"{field} is out of range.", field=field)
    return value

"""The camelCase shapes of conversations and messages in the REST API. Those a socket event carries too
(messages, read markers) are written by the builders in ``messaging.events``; their fields document them."""

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.serializers import UserBriefSerializer
from kernel.contact_review import SHOWN_OTHERWISE_TO_RECIPIENTS, moderation_shown
from kernel.ids import IdField
from kernel.schema import BuiltPayload
from kernel.serializers import FieldsFromDeclarations
from messaging import events
from messaging.models import Message, Participant
from presence.selectors import users_online


class MessageFileSerializer(serializers.Serializer):
    name = serializers.CharField()
    size = serializers.IntegerField()
    contentType = serializers.CharField()
    url = serializers.CharField()


class MessageSystemSerializer(serializers.Serializer):
    """What a system message tells, for clients that act on it: its ``kind`` and the fields of that kind
    (docs/realtime.md, "System messages")."""

    kind = serializers.ChoiceField(choices=events.SYSTEM_KINDS)
    meetingId = serializers.IntegerField(required=False, help_text="meeting.*: the meeting's id.")
    title = serializers.CharField(required=False, help_text="meeting.*: the meeting's title.")
    durationSeconds = serializers.IntegerField(required=False, help_text="meeting.ended: how long it lasted.")
    expired = serializers.BooleanField(
        required=False, help_text="meeting.ended: true when it ran out at the maximum length, not ended by its host."
    )
    projectId = serializers.IntegerField(required=False, help_text="project.*: the project's id.")


class MessageSerializer(BuiltPayload, serializers.ModelSerializer):
    """A message as the context's ``viewer_id`` reads it (``events.message_payload``): as sent for its sender,
    as its recipients may read it for anyone else."""

    build = staticmethod(events.message_payload)

    conversationId = serializers.IntegerField(source="conversation_id")
    sender = UserBriefSerializer(allow_null=True, help_text="Null for a system message.")
    file = serializers.SerializerMethodField()
    system = MessageSystemSerializer(allow_null=True, help_text="A system message's event; null otherwise.")
    clientMessageId = serializers.UUIDField(source="client_message_id", allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at")
    editedAt = serializers.DateTimeField(
        source="edited_at", allow_null=True, help_text="When its sender last edited it; null if never."
    )
    deletedAt = serializers.DateTimeField(
        source="deleted_at",
        allow_null=True,
        help_text="When its sender deleted it: the message is then a tombstone at its seq, with an empty content "
        "and no file. Null otherwise.",
    )
    moderation = serializers.SerializerMethodField(
        help_text="What the off-platform contact filter did to it (docs/moderation.md): `masked`, its recipients read "
        "it with each contact replaced; `held`, they read a placeholder (no content, no file) until support staff "
        "approve it; `rejected`, staff refused it and the placeholder stays. Its sender reads it as sent, with the "
        "same value. Null otherwise.",
    )

    class Meta:
        model = Message
        fields = [
            "id",
            "conversationId",
            "seq",
            "sender",
            "type",
            "content",
            "file",
            "system",
            "clientMessageId",
            "createdAt",
            "editedAt",
            "deletedAt",
            "moderation",
        ]
        read_only_fields = fields

    def to_representation(self, instance) -> dict:
        return events.message_payload(instance, viewer_id=self.context.get("viewer_id"))

    @extend_schema_field(MessageFileSerializer(allow_null=True))
    def get_file(self, message: Message) -> dict | None:
        return events.message_file_payload(message)

    @extend_schema_field(
        serializers.ChoiceField(choices=[str(review) for review in SHOWN_OTHERWISE_TO_RECIPIENTS], allow_null=True)
    )
    def get_moderation(self, message: Message) -> str | None:
        return None if message.deleted_at is not None else moderation_shown(message.review)


class MessageBriefSerializer(serializers.ModelSerializer):
    """A conversation's last message as the context's ``viewer_id`` reads it (``MessageSerializer``)."""

    senderId = serializers.IntegerField(source="sender_id", allow_null=True, help_text="Null for a system message.")
    content = serializers.SerializerMethodField(
        help_text="As the reader may read it: a masked message's contacts replaced, a held one's empty."
    )
    createdAt = serializers.DateTimeField(source="created_at")
    deletedAt = serializers.DateTimeField(
        source="deleted_at", allow_null=True, help_text="Set when its sender deleted it (its content is then empty)."
    )

    class Meta:
        model = Message
        fields = ["id", "seq", "senderId", "type", "content", "createdAt", "deletedAt"]
        read_only_fields = fields

    def get_content(self, message: Message) -> str:
        viewer_id = self.context.get("viewer_id")
        return events.message_content_seen(message, as_sent=viewer_id is not None and viewer_id == message.sender_id)


class ReadMarkerFieldsSerializer(serializers.ModelSerializer):
    """A participant's read marker: everything up to this message (and seq) is read, since then."""

    lastReadMessageId = serializers.IntegerField(source="last_read_message_id", allow_null=True)
    lastReadSeq = serializers.IntegerField(source="last_read_seq")
    lastReadAt = serializers.DateTimeField(source="last_read_at", allow_null=True)

    class Meta:
        model = Participant
        fields = ["lastReadMessageId", "lastReadSeq", "lastReadAt"]
        read_only_fields = fields


class ParticipantSerializer(ReadMarkerFieldsSerializer):
    """A participant with their read marker and presence (docs/realtime.md, "Presence")."""

    user = UserBriefSerializer()
    # From the context's ``online_user_ids``: looked up once for every participant of the answer.
    online = serializers.SerializerMethodField(
        help_text="True while a socket of the user's is open on any server, and for the grace period after the "
        "last one closed (PRESENCE_OFFLINE_GRACE_SECONDS)."
    )
    lastSeenAt = serializers.DateTimeField(
        source="user.last_seen_at",
        allow_null=True,
        help_text="When the user came online or went offline, up to a minute behind (written at most once a "
        "minute); null if never seen.",
    )

    class Meta(ReadMarkerFieldsSerializer.Meta):
        fields = ["user", *ReadMarkerFieldsSerializer.Meta.fields, "online", "lastSeenAt"]
        read_only_fields = fields

    def get_online(self, participant: Participant) -> bool:
        return participant.user_id in self.context["online_user_ids"]


class ReadMarkerSerializer(BuiltPayload, ReadMarkerFieldsSerializer):
    """The answer to PATCH .../read and the payload of ``message:read`` and ``conversation:read``."""

    build = staticmethod(events.read_marker_payload)

    conversationId = serializers.IntegerField(source="conversation_id")
    userId = serializers.IntegerField(source="user_id")

    class Meta(ReadMarkerFieldsSerializer.Meta):
        fields = ["conversationId", "userId", *ReadMarkerFieldsSerializer.Meta.fields]
        read_only_fields = fields


class ProjectBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    publicId = serializers.UUIDField(source="public_id")
    title = serializers.CharField()
    status = serializers.CharField()


class ConversationListSerializer(serializers.ListSerializer):
    """A page of conversations; who of their participants is online is looked up once for the page."""

    def to_representation(self, data):
        participations = list(data)
        self._context["online_user_ids"] = _online_among(participations)
        return super().to_representation(participations)


def _online_among(participations) -> set[int]:
    """Who of the participants of these conversations is online: one presence round trip for a page."""
    return users_online(
        {member.user_id for participation in participations for member in participation.conversation.participants.all()}
    )


class ConversationSerializer(serializers.Serializer):
    """A conversation as one participant sees it; built from that participant's row."""

    id = serializers.IntegerField(source="conversation.id")
    project = ProjectBriefSerializer(source="conversation.project")
    participants = serializers.SerializerMethodField()
    lastMessage = serializers.SerializerMethodField()
    lastSeq = serializers.IntegerField(source="conversation.last_message_seq")
    unreadCount = serializers.SerializerMethodField()
    lastActivityAt = serializers.DateTimeField(source="conversation.last_activity_at")
    createdAt = serializers.DateTimeField(source="conversation.created_at")
    readOnly = serializers.SerializerMethodField()

    class Meta:
        list_serializer_class = ConversationListSerializer

    @extend_schema_field(ParticipantSerializer(many=True))
    def get_participants(self, participation: Participant) -> list[dict]:
        # many=True makes a list serializer, whose data is a list; the stubs type the call as the single one.
        online = self.context.get("online_user_ids")
        if online is None:  # one conversation, not a page of them
            online = _online_among([participation])
        participants = participation.conversation.participants.all()
        return ParticipantSerializer(participants, many=True, context={"online_user_ids": online}).data  # type: ignore[return-value]

    @extend_schema_field(MessageBriefSerializer(allow_null=True))
    def get_lastMessage(self, participation: Participant) -> dict | None:  # noqa: N802 - camelCase contract
        last = participation.conversation.last_message
        if last is None:
            return None
        return MessageBriefSerializer(last, context={"viewer_id": participation.user_id}).data

    def get_unreadCount(self, participation: Participant) -> int:  # noqa: N802 - camelCase contract
        # System messages past the marker count as nothing unread (annotated by participant_list_for_user).
        unread = participation.conversation.last_message_seq - participation.last_read_seq
        return unread - participation.system_messages_unread  # type: ignore[attr-defined]

    def get_readOnly(self, participation: Participant) -> bool:  # noqa: N802 - camelCase contract
        return not participation.conversation.project.is_active


class MessageCreateInputSerializer(FieldsFromDeclarations, serializers.Serializer):
    conversationId = serializers.IntegerField(min_value=1)
    # System messages are the server's: a client cannot send one.
    type = serializers.ChoiceField(choices=Message.CLIENT_TYPES, default=Message.Type.TEXT)
    content = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=settings.MESSAGE_MAX_LENGTH, trim_whitespace=False
    )
    clientMessageId = serializers.UUIDField(required=False, allow_null=True, default=None)
    file = serializers.FileField(required=False, allow_null=True, default=None)


class MessageEditInputSerializer(serializers.Serializer):
    # Blank passes here and is refused by the send's own rules (services._validate_body), which edits share.
    content = serializers.CharField(allow_blank=True, max_length=settings.MESSAGE_MAX_LENGTH, trim_whitespace=False)


class MessagesPageSerializer(serializers.Serializer):
    results = MessageSerializer(many=True)
    hasMore = serializers.BooleanField()


class MessageSearchInputSerializer(serializers.Serializer):
    """``GET /api/messages/search``'s query."""

    q = serializers.CharField(
        max_length=settings.SEARCH_QUERY_MAX_LENGTH,
        help_text="The words to find. On PostgreSQL web-search syntax: every word must occur, "
        '"a phrase" in quotes, `or` between alternatives, `-word` to exclude one.',
    )
    conversationId = IdField(required=False, help_text="Only this conversation; all of yours without it.")
    cursor = serializers.CharField(
        max_length=200, required=False, help_text="The previous page's `next`: the page after it."
    )
    limit = serializers.IntegerField(
        min_value=1, max_value=settings.SEARCH_PAGE_MAX, required=False, help_text="Page size (SEARCH_PAGE_DEFAULT)."
    )


class MessageSearchMessageSerializer(serializers.ModelSerializer):
    conversationId = serializers.IntegerField(source="conversation_id")
    sender = UserBriefSerializer(allow_null=True, help_text="Null for a system message.")
    createdAt = serializers.DateTimeField(source="created_at")

    class Meta:
        model = Message
        fields = ["id", "conversationId", "seq", "sender", "type", "createdAt"]
        read_only_fields = fields


class MessageSearchResultSerializer(serializers.Serializer):
    message = MessageSearchMessageSerializer()
    snippet = serializers.CharField(
        help_text="HTML, safe to insert as is: the text around the matches, every match inside "
        "`<mark>`…`</mark>`, everything else HTML-escaped (no other tag, no attribute)."
    )


class MessageSearchPageSerializer(serializers.Serializer):
    results = MessageSearchResultSerializer(many=True)
    next = serializers.CharField(
        allow_null=True, help_text="The cursor of the next page (pass it as `cursor`); null on the last page."
    )

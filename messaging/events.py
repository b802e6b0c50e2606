"""Socket event names of the messaging module (the spec's strings), their groups, and the builders of
their payloads; the REST answers of messages and read markers are the same builders' dicts."""

from django.urls import reverse

from accounts.events import user_brief_payload
from kernel.contact_review import (
    HIDDEN_FROM_RECIPIENTS,
    SHOWN_OTHERWISE_TO_RECIPIENTS,
    Review,
    moderation_shown,
    recipients_text,
)
from kernel.json_values import iso_datetime
from messaging.models import Message, Participant
from realtime.events import user_group

JOIN = "join"
LEAVE = "leave"
MESSAGE_NEW = "message:new"
# A message's sender edited or deleted it: its current version, as history shows it (docs/realtime.md).
MESSAGE_UPDATED = "message:updated"
MESSAGE_DELETED = "message:deleted"
MESSAGE_READ = "message:read"
CONVERSATION_READ = "conversation:read"
CONVERSATION_TYPING = "conversation:typing"
CONVERSATION_NEW = "conversation:new"
CONVERSATION_REMOVED = "conversation:removed"

# The kinds of system message (``services.system_message_post``): what happened, in a message's ``system``.
SYSTEM_MEETING_STARTED = "meeting.started"
SYSTEM_MEETING_ENDED = "meeting.ended"
SYSTEM_MEETING_CANCELLED = "meeting.cancelled"
SYSTEM_PROJECT_COMPLETED = "project.completed"
SYSTEM_PROJECT_CANCELLED = "project.cancelled"
SYSTEM_MEMBER_JOINED = "member.joined"
SYSTEM_MEMBER_LEFT = "member.left"
SYSTEM_KINDS = (
    SYSTEM_MEETING_STARTED,
    SYSTEM_MEETING_ENDED,
    SYSTEM_MEETING_CANCELLED,
    SYSTEM_PROJECT_COMPLETED,
    SYSTEM_PROJECT_CANCELLED,
    SYSTEM_MEMBER_JOINED,
    SYSTEM_MEMBER_LEFT,
)


def conversation_group(conversation_id: int) -> str:
    return f"conversation_{conversation_id}"


def message_payload(message: Message, *, viewer_id: int | None = None) -> dict:
    """A message as ``message:new``, ``message:updated``, ``message:deleted``, the join replay and the REST API
    all carry it: its current version. A system message has no ``sender``, its event in ``system`` and a
    sentence about it in ``content``; a deleted message is a tombstone with ``deletedAt``, an empty
    ``content`` and no ``file`` (docs/realtime.md).

    As its recipients may read it unless ``viewer_id`` is its sender's: a masked message with its contacts
    replaced, a held or rejected one as a placeholder (no content, no file); ``moderation`` says which
    (docs/moderation.md). Its sender reads what they sent, with the same ``moderation``."""
    as_sent = viewer_id is not None and viewer_id == message.sender_id
    return {
        "id": message.pk,
        "conversationId": message.conversation_id,
        "seq": message.seq,
        "sender": None if message.sender is None else user_brief_payload(message.sender),
        "type": str(message.type),
        "content": message_content_seen(message, as_sent=as_sent),
        "file": message_file_payload(message, as_sent=as_sent),
        "system": message.system,
        "clientMessageId": str(message.client_message_id) if message.client_message_id is not None else None,
        "createdAt": iso_datetime(message.created_at),
        "editedAt": iso_datetime(message.edited_at),
        "deletedAt": iso_datetime(message.deleted_at),
        "moderation": None if message.deleted_at is not None else moderation_shown(message.review),
    }


def message_event_payload(message: Message, *, sender_payload: dict | None = None) -> dict:
    """A message as the integration events (webhooks) carry it: as sent (``sender_payload``, when the caller built
    it already), whatever recipients see, with the state of its contact review (``review``: null, flagged, masked,
    held, approved or rejected) for the platform's backend, which is trusted with both (docs/integration.md)."""
    if sender_payload is None:
        sender_payload = message_payload(message, viewer_id=message.sender_id)
    return {**sender_payload, "review": message.review or None}


def message_content_seen(message: Message, *, as_sent: bool) -> str:
    """The message's content as its sender (``as_sent``) or its recipients read it."""
    if as_sent or message.review not in SHOWN_OTHERWISE_TO_RECIPIENTS:
        return message.content
    if message.review in HIDDEN_FROM_RECIPIENTS:
        return ""
    return recipients_text(message.content)


def message_file_name_seen(message: Message, *, as_sent: bool) -> str:
    if as_sent or message.review != Review.MASKED:
        return message.file_name
    return recipients_text(message.file_name)


def message_pushes(message: Message, *, sender_payload: dict) -> list[tuple[list[str], dict, int | None]]:
    """Who is pushed which version of ``message`` (groups, payload, the user whose sockets skip it), given its
    sender's (``sender_payload``): one push to the conversation when everyone reads the same; otherwise the
    recipients' version to the conversation but the sender's sockets, and the sender's to their own sockets."""
    if message.sender_id is None or message.review not in SHOWN_OTHERWISE_TO_RECIPIENTS:
        return [([conversation_group(message.conversation_id)], sender_payload, None)]
    return [
        ([conversation_group(message.conversation_id)], message_payload(message), message.sender_id),
        ([user_group(message.sender_id)], sender_payload, None),
    ]


def message_file_payload(message: Message, *, as_sent: bool = False) -> dict | None:
    if message.type != Message.Type.FILE or message.deleted_at is not None:
        return None
    if not as_sent and message.review in HIDDEN_FROM_RECIPIENTS:
        return None
    return {
        "name": message_file_name_seen(message, as_sent=as_sent),
        "size": message.file_size,
        "contentType": message.file_content_type,
        # The path alone: the same for every reader, whatever host or scheme they came in by.
        "url": reverse("message-file", kwargs={"pk": message.pk}),
    }


def read_marker_payload(participant: Participant) -> dict:
    """A participant's read marker: everything up to this message (and seq) is read, since then."""
    return {
        "conversationId": participant.conversation_id,
        "userId": participant.user_id,
        "lastReadMessageId": participant.last_read_message_id,
        "lastReadSeq": participant.last_read_seq,
        "lastReadAt": iso_datetime(participant.last_read_at),
    }


def conversation_new_payload(conversation) -> dict:
    return {
        "id": conversation.pk,
        "projectId": conversation.project_id,
        "projectTitle": conversation.project.title,
    }


def participant_removed_payload(conversation, *, user_id: int, by) -> dict:
    """The removal of ``user_id`` from the conversation by ``by``, support staff or the owner of their side (the
    ``participant.removed`` integration event), at the conversation's seq before its ``member.left`` message."""
    return {
        "conversationId": conversation.pk,
        "projectId": conversation.project_id,
        "userId": user_id,
        "removedBy": by.pk,
        "seq": conversation.last_message_seq,
    }


def conversation_removed_payload(conversation_id: int) -> dict:
    return {"conversationId": conversation_id}


def typing_payload(*, conversation_id: int, user, is_typing: bool) -> dict:
    return {"conversationId": conversation_id, "userId": user.pk, "username": user.username, "isTyping": is_typing}

"""Writes of the messaging module: conversations, messages, read markers. Each is one transaction,
and each real-time event goes out only after it commits."""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.suspension import require_not_suspended
from integrations import events as integration_events
from integrations.services import event_record
from kernel.contact_review import SHOWN_OTHERWISE_TO_RECIPIENTS, Review, contact_review
from kernel.errors import (
    ConversationReadOnly,
    DomainError,
    EditWindowPassed,
    Invalid,
    MessageDeleted,
    MessageNotEditable,
    NotAllowed,
    NotFound,
    NotSender,
)
from kernel.invisible_text import shows_nothing
from messaging import chain, events, selectors
from messaging.models import Conversation, Message, MessageRevision, Participant
from presence import events as presence_events
from projects import selectors as project_selectors
from projects import services as project_services
from realtime.events import user_group
from realtime.publish import publish_on_commit


def conversation_create_for_project(*, project) -> Conversation:
    """Open the project's conversation with its client and provider, in the caller's transaction."""
    with transaction.atomic():
        conversation = Conversation.objects.create(project=project, last_activity_at=timezone.now())
        Participant.objects.bulk_create(
            [
                Participant(conversation=conversation, user_id=project.client_id),
                Participant(conversation=conversation, user_id=project.provider_id),
            ]
        )
    publish_on_commit(
        [user_group(project.client_id), user_group(project.provider_id)],
        events.CONVERSATION_NEW,
        events.conversation_new_payload(conversation),
    )
    return conversation


def conversation_lock_for_member(*, user, conversation_id: int) -> Conversation:
    """The conversation's row lock (``FOR UPDATE`` of the conversation alone, its project read beside it), the
    lock every send and ``participant_remove`` take; 404 unless ``user`` was a member when the query began.

    A caller that waited for the lock behind a removal read the membership before the removal committed:
    it must ask again in a statement started after the lock was granted."""
    try:
        # get(), not first(): at most one row matches (one participant row per user), and first() would have the
        # locking statement sort by pk (ORDER BY ... LIMIT 1) for nothing; get() drops the ordering.
        return (
            Conversation.objects.select_for_update(of=("self",))
            .select_related("project")
            .get(pk=conversation_id, participants__user=user)
        )
    except Conversation.DoesNotExist:
        raise NotFound("No such conversation.", field="conversationId") from None


def _locked_conversation_for_member(*, user, conversation_id: int) -> Conversation:
    conversation = conversation_lock_for_member(user=user, conversation_id=conversation_id)
    if not Participant.objects.filter(conversation=conversation, user=user).exists():
        raise NotFound("No such conversation.", field="conversationId")
    return conversation


def _validate_body(*, type: str, content: str, upload: UploadedFile | None) -> None:
    if type == Message.Type.TEXT:
        if upload is not None:
            raise Invalid("A text message carries no file; send type 'file'.", field="file")
        if shows_nothing(content):
            raise Invalid("A text message cannot be empty.", field="content")
    elif type == Message.Type.FILE:
        if upload is None:
            raise Invalid("A file message needs a file (multipart field 'file').", field="file")
        if upload.size is None or upload.size > settings.UPLOAD_MAX_BYTES:
            raise Invalid(f"Files are limited to {settings.UPLOAD_MAX_BYTES} bytes.", field="file")
        if upload.content_type not in settings.UPLOAD_ALLOWED_CONTENT_TYPES:
            raise Invalid(
                f"Files of type {upload.content_type!r} are not accepted; allowed: "
                f"{', '.join(settings.UPLOAD_ALLOWED_CONTENT_TYPES)}.",
                field="file",
            )
    else:
        raise Invalid("Type must be 'text' or 'file'.", field="type")
    if len(content) > settings.MESSAGE_MAX_LENGTH:
        raise Invalid(f"Messages are limited to {settings.MESSAGE_MAX_LENGTH} characters.", field="content")


@dataclass(frozen=True)
class SentMessage:
    """What ``message_send`` did: the message, whether this call created it, and the message as its
    ``message:new`` carried it (``events.message_payload``). The REST answer is that same dict: a send
    shapes its message once."""

    message: Message
    created: bool
    payload: dict

    @classmethod
    def of(cls, message: Message, *, created: bool) -> "SentMessage":
        return cls(
            message=message, created=created, payload=events.message_payload(message, viewer_id=message.sender_id)
        )

    def pushes(self) -> list[tuple[list[str], dict, int | None]]:
        """Where its ``message:new`` goes, and with which version (``events.message_pushes``)."""
        return events.message_pushes(self.message, sender_payload=self.payload)


def message_send(
    *,
    user,
    conversation_id: int,
    content: str,
    type: str = Message.Type.TEXT,
    client_message_id: uuid.UUID | None = None,
    upload: UploadedFile | None = None,
) -> SentMessage:
    """Persist a message and announce it after commit; return it, whether it is new, and its payload (as its
    sender reads it: recipients may be shown it masked or held, ``kernel.contact_review``).

    A retry with the same ``client_message_id`` from the same sender returns the first message and
    announces nothing. The conversation row lock serializes senders, so ids, seqs and commit order
    agree inside a conversation and a catch-up by id never skips a late commit.
    """
    sent = message_store(
        user=user,
        conversation_id=conversation_id,
        content=content,
        type=type,
        client_message_id=client_message_id,
        upload=upload,
    )
    if sent.created:
        for groups, payload, exclude_user_id in sent.pushes():
            publish_on_commit(groups, events.MESSAGE_NEW, payload, exclude_user_id=exclude_user_id)
    return sent


def message_store(
    *,
    user,
    conversation_id: int,
    content: str,
    type: str = Message.Type.TEXT,
    client_message_id: uuid.UUID | None = None,
    upload: UploadedFile | None = None,
) -> SentMessage:
    """``message_send`` without the announcement, through the ORM: the caller publishes ``message:new``
    once the message is committed (``messaging.send`` awaits it on the event loop)."""

    def store() -> SentMessage:
        with transaction.atomic():
            conversation = _locked_conversation_for_member(user=user, conversation_id=conversation_id)
            original = message_by_client_id(user=user, client_message_id=client_message_id)
            if original is not None:
                return original
            refusal = message_send_refusal(
                user=user, project=conversation.project, type=type, content=content, upload=upload
            )
            if refusal is not None:
                raise refusal
            return _message_append(
                conversation=conversation,
                user=user,
                content=content,
                type=type,
                client_message_id=client_message_id,
                upload=upload,
            )

    return message_stored_once(store, user=user, client_message_id=client_message_id)


def message_stored_once(store: Callable[[], SentMessage], *, user, client_message_id: uuid.UUID | None) -> SentMessage:
    """``store()``, or the original when the same client id raced in through another conversation's lock:
    the unique (sender, client id) index refused this one's INSERT, and the first one won."""
    try:
        return store()
    except IntegrityError:
        original = message_by_client_id(user=user, client_message_id=client_message_id)
        if original is None:
            raise
        return original


def message_send_refusal(*, user, project, type: str, content: str, upload: UploadedFile | None) -> DomainError | None:
    """Why this member may not send this message here, or ``None``: a suspended provider, a project that
    is no longer active (409 ``conversation_read_only``), then the body's rules, in that order. Asked
    after membership and after a retry's original, which answer first."""
    try:
        require_not_suspended(user)
        project_selectors.project_require_active(
            project=project, consequence="its conversation is read-only", refusal=ConversationReadOnly
        )
        _validate_body(type=type, content=content, upload=upload)
    except DomainError as refusal:
        return refusal
    return None


def message_by_client_id(*, user, client_message_id: uuid.UUID | None) -> SentMessage | None:
    """The message ``user`` already sent under ``client_message_id``, as a retry is answered with it."""
    if client_message_id is None:
        return None
    original = Message.objects.select_related("sender").filter(sender=user, client_message_id=client_message_id).first()
    return None if original is None else SentMessage.of(original, created=False)


def _message_append(
    *,
    conversation: Conversation,
    user,
    content: str,
    type: str,
    client_message_id: uuid.UUID | None = None,
    upload: UploadedFile | None = None,
    system: dict | None = None,
) -> SentMessage:
    """Insert the message at the next seq of ``conversation`` (locked by the caller) and make it the
    conversation's last; a sender's (``user``'s) read marker moves to it, a system message moves none."""
    now = timezone.now()
    message = Message(
        conversation=conversation,
        sender=user,
        seq=conversation.last_message_seq + 1,
        type=type,
        content=content,
        client_message_id=client_message_id,
        system=system,
        created_at=now,
    )
    if user is not None:  # the server's own system messages are not scanned
        message.review, message.contact_kinds = contact_review(content, upload.name or "" if upload is not None else "")
    if upload is not None:
        # Django's multipart parser keeps only named files; the content type was checked against the allowed ones.
        assert upload.name is not None and upload.content_type is not None
        message.file_name = upload.name[:255]
        message.file_size = upload.size
        message.file_content_type = upload.content_type
        message.file.save(upload.name, upload, save=False)
    head = chain.message_seal(message, head=conversation.chain_head)
    message.save()
    Conversation.objects.filter(pk=conversation.pk).update(
        last_message=message, last_message_seq=message.seq, last_activity_at=now, chain_head=head
    )
    if user is not None:
        Participant.objects.filter(conversation=conversation, user=user).update(
            last_read_seq=message.seq, last_read_message=message, last_read_at=now
        )
    sent = SentMessage.of(message, created=True)
    event_record(integration_events.MESSAGE_CREATED, events.message_event_payload(message, sender_payload=sent.payload))
    return sent


def message_edit(*, user, message_id: int, content: str) -> Message:
    """The sender replaces a text message's content within ``MESSAGE_EDIT_WINDOW`` of sending it; the
    version it replaces is kept as a revision. ``message:updated`` goes out after commit."""
    with transaction.atomic():
        message = _own_message_locked(user=user, message_id=message_id)
        if message.type != Message.Type.TEXT:
            raise MessageNotEditable("Only a text message can be edited.")
        _validate_body(type=Message.Type.TEXT, content=content, upload=None)
        now = timezone.now()
        # Reviewed again as a new text: an edit that adds a contact is flagged, masked or held like a send,
        # one that leaves none clears the review (the revision keeps what staff reviewed). The review is not
        # part of the record's chain: staff decide on it afterwards.
        review, contact_kinds = contact_review(content)
        _message_change(
            message,
            change=MessageRevision.Change.EDITED,
            at=now,
            by=user,
            said={"content": content, "edited_at": now, "review": review, "contact_kinds": contact_kinds},
        )
        payload = events.message_payload(message, viewer_id=user.pk)
        event_record(integration_events.MESSAGE_UPDATED, events.message_event_payload(message, sender_payload=payload))
    _message_pushes_on_commit(message, events.MESSAGE_UPDATED, sender_payload=payload)
    return message


def _message_pushes_on_commit(message: Message, event: str, *, sender_payload: dict) -> None:
    for groups, payload, exclude_user_id in events.message_pushes(message, sender_payload=sender_payload):
        publish_on_commit(groups, event, payload, exclude_user_id=exclude_user_id)


def message_review_decide(*, message_id: int, approve: bool, by) -> bool:
    """Support staff's decision on a message whose contact review is open or done: approved, recipients read it as
    sent (a held message is released, a flag or a mask cleared); rejected, recipients keep a placeholder. Pushes
    ``message:updated`` after commit when what recipients read changed, and records the decision as the integration
    event ``message.updated``. Idempotent: False when the message already was so, or was never reviewed."""
    if not by.is_staff:
        raise NotAllowed("Only support staff review messages.")
    decided = Review.APPROVED if approve else Review.REJECTED
    with transaction.atomic():
        message = Message.objects.select_for_update(of=("self",)).select_related("sender").filter(pk=message_id).first()
        if message is None:
            raise NotFound("No such message.")
        if message.review in (Review.NONE, decided):
            return False
        shown_before = message.review in SHOWN_OTHERWISE_TO_RECIPIENTS
        message.review = decided
        message.save(update_fields=["review"])
        payload = events.message_payload(message, viewer_id=message.sender_id)
        event_record(integration_events.MESSAGE_UPDATED, events.message_event_payload(message, sender_payload=payload))
    if message.deleted_at is None and (shown_before or message.review in SHOWN_OTHERWISE_TO_RECIPIENTS):
        _message_pushes_on_commit(message, events.MESSAGE_UPDATED, sender_payload=payload)
    return True


def message_delete(*, user, message_id: int) -> Message:
    """The sender withdraws a message within ``MESSAGE_EDIT_WINDOW`` of sending it: it stays at its seq as
    a tombstone (no content, no file, ``deleted_at`` set), so history shows no gap; what it said and the file
    it carried are kept as a revision. ``message:deleted`` goes out after commit."""
    with transaction.atomic():
        message = _own_message_locked(user=user, message_id=message_id)
        now = timezone.now()
        _message_change(
            message,
            change=MessageRevision.Change.DELETED,
            at=now,
            by=user,
            # The file is detached, not removed from storage: the revision still names it for support staff.
            # Its name is the empty one, as a message without a file has.
            said={
                "content": "",
                "file": "",
                "file_name": "",
                "file_size": None,
                "file_content_type": "",
                "deleted_at": now,
            },
        )
        payload = events.message_payload(message)
        event_record(integration_events.MESSAGE_DELETED, events.message_event_payload(message, sender_payload=payload))
    publish_on_commit([events.conversation_group(message.conversation_id)], events.MESSAGE_DELETED, payload)
    return message


def _own_message_locked(*, user, message_id: int) -> Message:
    """The message ``message_id`` read under its conversation's row lock (the one sends take, so an edit,
    a delete and a removal of its sender are serialized with them), if ``user`` may still change it:
    a member's (404 otherwise: a foreign message does not exist), their own (403), not deleted, within
    the edit window and while the project is active (409)."""
    conversation_id = (
        Message.objects.filter(pk=message_id, conversation__participants__user=user)
        .values_list("conversation_id", flat=True)
        .first()
    )
    if conversation_id is None:
        raise NotFound("No such message.")
    conversation = _locked_conversation_for_member(user=user, conversation_id=conversation_id)
    # Read after the lock was granted: a concurrent edit or delete of it has committed or not begun.
    message = Message.objects.select_related("sender").get(pk=message_id)
    message.conversation = conversation  # the locked row, with the chain's head a change links after
    if message.sender_id != user.pk:
        raise NotSender("Only its sender can change a message.")
    require_not_suspended(user)
    if message.deleted_at is not None:
        raise MessageDeleted("This message was deleted.")
    project_selectors.project_require_active(
        project=conversation.project, consequence="its conversation is read-only", refusal=ConversationReadOnly
    )
    if timezone.now() > message.created_at + settings.MESSAGE_EDIT_WINDOW:
        minutes = int(settings.MESSAGE_EDIT_WINDOW.total_seconds() // 60)
        raise EditWindowPassed(f"A message can be changed only within {minutes} minutes of sending it.")
    return message


def _message_change(message: Message, *, change: str, at, by, said: dict) -> MessageRevision:
    """Set ``said``'s fields of ``message`` (read by ``_own_message_locked``), keep the version they replace as a
    revision, and chain the change after the conversation's head.

    The head moves before the message row is written: on PostgreSQL the row's trigger lets its body change only
    with a revision that is the conversation's newest link (migration 0005)."""
    conversation = message.conversation
    revision = MessageRevision(
        message=message,
        content=message.content,
        file=message.file.name if message.file else "",
        file_name=message.file_name,
        file_size=message.file_size,
        file_content_type=message.file_content_type,
        change=change,
        replaced_at=at,
        replaced_by=by,
        chain_after_seq=conversation.last_message_seq,
    )
    for field, value in said.items():
        setattr(message, field, value)
    head = chain.change_seal(revision, message, head=conversation.chain_head)
    revision.save()
    Conversation.objects.filter(pk=conversation.pk).update(chain_head=head)
    message.save(update_fields=list(said))
    return revision


def system_message_post(
    *, project_id: int, kind: str, data: dict, content: str, exclude_user_id: int | None = None
) -> Message:
    """Tell the project's conversation what happened to the project or one of its meetings: a message of
    type ``system`` with no sender, ``{"kind": kind, **data}`` for clients that act on it and ``content``, a
    sentence for those that show it (the kinds: ``events.SYSTEM_KINDS``, docs/realtime.md).

    Written in the caller's transaction under the conversation's row lock, at the next seq like any send,
    and announced as ``message:new`` after commit. Callers lock their project or meeting row before calling:
    every writer that holds both takes the conversation's lock second, so none waits in the other order."""
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(project_id=project_id)
        sent = _message_append(
            conversation=conversation,
            user=None,
            content=content,
            type=Message.Type.SYSTEM,
            system={"kind": kind, **data},
        )
    publish_on_commit(
        [events.conversation_group(conversation.pk)], events.MESSAGE_NEW, sent.payload, exclude_user_id=exclude_user_id
    )
    return sent.message


def _read_marker_move(*, user, conversation_id: int, message: Message | None, event: str) -> Participant:
    """Advance the caller's marker to ``message``, announcing it only if it moved; never backwards.
    Return the caller's participant row, which holds the marker."""
    moved = message is not None and Participant.objects.filter(
        conversation_id=conversation_id, user=user, last_read_seq__lt=message.seq
    ).update(last_read_seq=message.seq, last_read_message=message, last_read_at=timezone.now())
    marker = Participant.objects.get(conversation_id=conversation_id, user=user)
    if moved:
        payload = events.read_marker_payload(marker)
        event_record(integration_events.CONVERSATION_READ, {**payload, "seq": marker.last_read_seq})
        publish_on_commit([events.conversation_group(conversation_id)], event, payload)
    return marker


@transaction.atomic
def conversation_mark_read(*, user, conversation_id: int) -> Participant:
    """Mark everything up to the conversation's newest message read for ``user``."""
    conversation = (
        Conversation.objects.filter(pk=conversation_id, participants__user=user).select_related("last_message").first()
    )
    if conversation is None:
        raise NotFound("No such conversation.")
    return _read_marker_move(
        user=user, conversation_id=conversation_id, message=conversation.last_message, event=events.CONVERSATION_READ
    )


@transaction.atomic
def message_mark_read(*, user, conversation_id: int, message_id: int) -> Participant:
    """Mark one message (and everything before it) read for ``user``."""
    if not Participant.objects.filter(conversation_id=conversation_id, user=user).exists():
        raise NotFound("No such conversation.", field="conversationId")
    message = Message.objects.filter(pk=message_id, conversation_id=conversation_id).first()
    if message is None:
        raise NotFound("No such message in this conversation.", field="messageId")
    return _read_marker_move(user=user, conversation_id=conversation_id, message=message, event=events.MESSAGE_READ)


def participant_join(*, project_id: int, user, data: dict) -> Participant:
    """Add ``user`` to the project's conversation, in the caller's transaction, which holds the project's row
    lock (the conversation's comes second, as everywhere). Their read marker starts before the first message:
    the whole history is theirs to read, and unread. A ``member.joined`` system message (``data`` added to it)
    records the join; after commit ``conversation:new`` on their personal group tells their sockets."""
    with transaction.atomic():
        conversation = (
            Conversation.objects.select_for_update(of=("self",)).select_related("project").get(project_id=project_id)
        )
        participant = Participant.objects.create(conversation=conversation, user=user)
        system_message_post(
            project_id=project_id,
            kind=events.SYSTEM_MEMBER_JOINED,
            data={"userId": user.pk, "username": user.username, **data},
            content=f"{user.username} joined the conversation.",
        )
    publish_on_commit([user_group(user.pk)], events.CONVERSATION_NEW, events.conversation_new_payload(conversation))
    return participant


def participant_leave(*, project_id: int, user_id: int, by) -> None:
    """Take ``user_id`` out of the project's conversation, and so out of the project (``projects.selectors``):
    their reads and writes of the conversation, the project, its meetings and their tokens are refused (404)
    at once, and its meetings tell them nothing more. The one removal path: support staff's
    (``participant_remove``) and an owner's of their teammate (``projects.services.project_member_remove``).

    The caller holds the project's row lock, which orders the removal against meeting creation (it reads the
    members it invites under it); the conversation's, taken here second, orders it against sends. After
    commit ``conversation:removed`` on their personal group makes every socket of theirs leave the
    conversation's group (``messaging.socket_handlers.removed``), and the others read a ``member.left``
    system message."""
    conversation = Conversation.objects.select_for_update().get(project_id=project_id)
    participant = Participant.objects.select_related("user").filter(conversation=conversation, user_id=user_id).first()
    if participant is None:
        raise NotFound("This user is not in the conversation.", field="userId")
    participant.delete()
    event_record(
        integration_events.PARTICIPANT_REMOVED,
        events.participant_removed_payload(conversation, user_id=user_id, by=by),
    )
    publish_on_commit(
        [user_group(user_id)], events.CONVERSATION_REMOVED, events.conversation_removed_payload(conversation.pk)
    )
    username = participant.user.username
    system_message_post(
        project_id=project_id,
        kind=events.SYSTEM_MEMBER_LEFT,
        data={"userId": user_id, "username": username, "removedBy": by.pk},
        content=f"{username} left the conversation.",
        # Their sockets may not have left the conversation's group yet when it goes out.
        exclude_user_id=user_id,
    )


def participant_remove(*, conversation_id: int, user_id: int, by) -> None:
    """Support staff take ``user_id`` out of the conversation and its project (``participant_leave``); a
    teammate's membership of the project (``projects.ProjectMember``) ends with it."""
    if not by.is_staff:
        raise NotAllowed("Only support staff remove participants.")
    with transaction.atomic():
        # The project's row lock first, then (in participant_leave) the conversation's: the order of meeting
        # creation, project_set_status, the owners' member changes and system_message_post, which lock the
        # project (or a meeting) and then the conversation.
        conversations = Conversation.objects.filter(pk=conversation_id)
        conversation = conversations.select_related("project").select_for_update(of=("project",)).first()
        if conversation is None:
            raise NotFound("No such conversation.", field="conversationId")
        participant_leave(project_id=conversation.project_id, user_id=user_id, by=by)
        project_services.project_member_forget(project_id=conversation.project_id, user_id=user_id, by=by)


def presence_publish_to_peers(*, user_id: int, online: bool, last_seen_at: datetime | None) -> None:
    """``presence:update`` to the user group of everyone who shares a conversation with the user, after the
    commit of the caller's transaction (``presence.services.presence_announce``, through ``presence_changed``)."""
    peers = selectors.conversation_peer_ids(user_id=user_id)
    if peers:
        payload = presence_events.presence_payload(user_id=user_id, online=online, last_seen_at=last_seen_at)
        publish_on_commit([user_group(peer) for peer in peers], presence_events.PRESENCE_UPDATE, payload)

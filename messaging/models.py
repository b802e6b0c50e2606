"""A project's conversation, its participants with their read markers, its messages and their earlier versions.

Messages get a per-conversation ``seq`` under the conversation's row lock, so ids and seqs
rise together inside a conversation and a client can see a gap in what it was pushed. A message is never
removed: its sender's delete leaves a tombstone at its seq, and each version it replaced is a ``MessageRevision``.
Messages and changes are the links of the conversation's hash chain (``messaging.chain``); on PostgreSQL the
database refuses any other change of them (migration 0005).
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from kernel.contact_review import Review


class Conversation(models.Model):
    project = models.OneToOneField("projects.Project", on_delete=models.PROTECT, related_name="conversation")
    created_at = models.DateTimeField(auto_now_add=True)
    last_message = models.ForeignKey(
        "messaging.Message", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    last_message_seq = models.PositiveBigIntegerField(default=0)
    last_activity_at = models.DateTimeField(db_index=True)
    # The newest link of its record's hash chain (messaging.chain), moved by every write that adds one; at first
    # chain.GENESIS, which a conversation without messages verifies against.
    chain_head = models.CharField(max_length=64, default="0" * 64)

    class Meta:
        ordering = ["-last_activity_at", "-id"]

    def __str__(self) -> str:
        return f"Conversation #{self.pk} ({self.project})"


class Participant(models.Model):
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="participants")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="participations")
    joined_at = models.DateTimeField(auto_now_add=True)
    # Everything up to this seq is read. A sender's marker moves to their own message, so every
    # message after the marker is someone else's or the server's (system messages, which count as
    # nothing unread): the unread count is a subtraction, less the few system messages past the marker.
    last_read_seq = models.PositiveBigIntegerField(default=0)
    last_read_message = models.ForeignKey(
        "messaging.Message", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    last_read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["conversation", "user"], name="participant_once_per_conversation"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.conversation_id}"


def message_file_path(message: "Message", filename: str) -> str:
    return f"conversations/{message.conversation_id}/{uuid.uuid4().hex}"


class Message(models.Model):
    class Type(models.TextChoices):
        TEXT = "text", "Text"
        FILE = "file", "File"
        # Written by the server (``services.system_message_post``) when the project or one of its meetings
        # changes; no sender, never sent by a client.
        SYSTEM = "system", "System"

    # What a client may send (``MessageCreateInputSerializer``).
    CLIENT_TYPES = ((Type.TEXT.value, Type.TEXT.label), (Type.FILE.value, Type.FILE.label))

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="messages", null=True, blank=True
    )
    seq = models.PositiveBigIntegerField()
    type = models.CharField(max_length=8, choices=Type.choices, default=Type.TEXT)
    content = models.TextField(blank=True)
    file = models.FileField(upload_to=message_file_path, null=True, blank=True)
    file_name = models.CharField(max_length=255, blank=True)
    file_size = models.PositiveBigIntegerField(null=True, blank=True)
    file_content_type = models.CharField(max_length=100, blank=True)
    client_message_id = models.UUIDField(null=True, blank=True)
    # A system message's event, as its clients read it: ``{"kind": "meeting.ended", "meetingId": 7, ...}``.
    system = models.JSONField(null=True, blank=True)
    # Set by the writers, not on save: the message's link (``chain_hash``) covers it before the row is written.
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # Set by the sender's edit and delete (``services.message_edit``, ``services.message_delete``); a deleted
    # message is a tombstone that keeps its seq, type and sender, with no content and no file.
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    # The message's link in its conversation's chain (messaging.chain.message_record): what it said when sent.
    # Empty only for rows written around the writers (a benchmark's seeded history).
    chain_hash = models.CharField(max_length=64, blank=True)
    # Off-platform contact found at send or edit (kernel.contact_review, CONTACT_FILTER): the state of its
    # review and the kinds found ("email,phone"). The database's defaults let the fast send's INSERT leave them out.
    review = models.CharField(max_length=8, choices=Review.choices, blank=True, default="", db_default="")
    contact_kinds = models.CharField(max_length=64, blank=True, default="", db_default="")

    class Meta:
        ordering = ["id"]
        indexes = [
            # Staff's review queue (the admin's "review" filter): the few messages with a review state.
            models.Index(fields=["review", "id"], condition=~models.Q(review=""), name="message_review_idx"),
            models.Index(fields=["conversation", "id"], name="message_conversation_id_idx"),
            # The unread count subtracts the system messages past a marker: few rows, found here.
            models.Index(
                fields=["conversation", "seq"], condition=models.Q(type="system"), name="message_system_seq_idx"
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["conversation", "seq"], name="message_seq_unique_in_conversation"),
            models.UniqueConstraint(fields=["sender", "client_message_id"], name="message_client_id_unique_per_sender"),
            models.CheckConstraint(
                name="message_has_body",
                condition=(models.Q(type="text") & ~models.Q(content=""))
                | (models.Q(type="file") & ~models.Q(file=""))
                | (models.Q(type="system") & ~models.Q(content="") & models.Q(system__isnull=False))
                | (models.Q(deleted_at__isnull=False) & models.Q(content="") & models.Q(file="")),
            ),
            # A tombstone carries nothing of what was deleted: search and history can never show it.
            models.CheckConstraint(
                name="message_deleted_is_empty",
                condition=models.Q(deleted_at__isnull=True) | (models.Q(content="") & models.Q(file="")),
            ),
            models.CheckConstraint(
                name="message_system_iff_no_sender",
                condition=(models.Q(type="system") & models.Q(sender__isnull=True))
                | (~models.Q(type="system") & models.Q(sender__isnull=False)),
            ),
        ]

    def __str__(self) -> str:
        return f"Message #{self.pk} in {self.conversation_id}"


class MessageRevision(models.Model):
    """A version of a message that its sender's edit or delete replaced: what it said (and the file it
    carried), when and by whom it was replaced. Support staff read them in the admin; participants never."""

    class Change(models.TextChoices):
        EDITED = "edited", "Edited"
        DELETED = "deleted", "Deleted"

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="revisions")
    content = models.TextField(blank=True)
    # The stored file stays where the message had it: the revision is its one remaining reference.
    file = models.FileField(upload_to=message_file_path, blank=True)
    file_name = models.CharField(max_length=255, blank=True)
    file_size = models.PositiveBigIntegerField(null=True, blank=True)
    file_content_type = models.CharField(max_length=100, blank=True)
    change = models.CharField(max_length=8, choices=Change.choices)
    replaced_at = models.DateTimeField()
    replaced_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # The change's link (messaging.chain.change_record), made while the message at this seq was the newest.
    chain_after_seq = models.PositiveBigIntegerField(default=0)
    chain_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"Revision #{self.pk} of message #{self.message_id}"

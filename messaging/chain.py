"""The conversation record's hash chain (issue 19): each message, and each edit or delete of one, is a link
``hash = SHA-256(previous link's hash ‖ canonical JSON of the link's record)`` in its conversation.

The writers (``services``, ``send``) and the verifier (``selectors.conversation_chain_verify``) build the
records and hashes here, and only here, so they agree byte for byte. docs/record.md describes the format.

- A message's link covers what it said when it was sent (``message_record``), at its seq.
- An edit or a delete is a link of its ``MessageRevision`` (``change_record``), chained after whatever link was
  the conversation's head when it was made (the revision's ``chain_after_seq`` places it: after the message
  at that seq and the changes before it), and it covers what the message says from then on. The message's
  current row is so covered by its last link, and each revision (the version it replaced) by the link before.
- The newest link's hash is the conversation's ``chain_head``: a writer under the conversation's row lock
  reads it with the lock, and a cut-off tail no longer ends there.
"""

import hashlib
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from kernel.json_values import canonical_json

if TYPE_CHECKING:  # for the annotations only: the records are built from any object with the fields
    from messaging.models import Message, MessageRevision

# The previous hash of a conversation's first link, and the head of a conversation without any.
GENESIS = "0" * 64

MESSAGE = "message"


def timestamp(moment: datetime | None) -> str | None:
    """``2026-12-01T06:05:00.123456Z``: UTC, always six digits of microseconds (the databases' precision)."""
    if moment is None:
        return None
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def link_hash(previous: str, record: dict) -> str:
    """SHA-256 of the previous link's 32 digest bytes followed by the record's canonical JSON, in hex."""
    return hashlib.sha256(bytes.fromhex(previous) + canonical_json(record)).hexdigest()


def _said(source) -> dict:
    """What a message says: its body and when it was last edited or deleted. ``source`` is a message, or the
    version of one that a revision kept (``said_before``)."""
    return {
        "content": source.content,
        "file": str(source.file or ""),  # a stored file's name; a message without one stores '' (or NULL)
        "fileName": source.file_name,
        "fileSize": source.file_size,
        "fileContentType": source.file_content_type,
        "editedAt": timestamp(source.edited_at),
        "deletedAt": timestamp(source.deleted_at),
    }


def message_record(message, *, said=None) -> dict:
    """A message's link: where and by whom it was sent, and what it said then (``said``, the message itself
    until it is changed). No id: the PostgreSQL send hashes before its INSERT numbers the row."""
    client_message_id = message.client_message_id
    if client_message_id is not None and not isinstance(client_message_id, uuid.UUID):
        client_message_id = uuid.UUID(client_message_id)  # as the column gives it back: a UUID, printed canonically
    return {
        "kind": MESSAGE,
        "conversation": message.conversation_id,
        "seq": message.seq,
        "type": message.type,
        "sender": message.sender_id,
        "clientMessageId": None if client_message_id is None else str(client_message_id),
        "system": message.system,
        "createdAt": timestamp(message.created_at),
        **_said(message if said is None else said),
    }


def change_record(revision, message, *, said=None) -> dict:
    """An edit's or a delete's link: which message changed, how, when, by whom, where in the chain, and what the
    message says since (``said``, the message itself while this is its last change)."""
    return {
        "kind": revision.change,
        "conversation": message.conversation_id,
        "seq": message.seq,
        "afterSeq": revision.chain_after_seq,
        "at": timestamp(revision.replaced_at),
        "by": revision.replaced_by_id,
        **_said(message if said is None else said),
    }


def message_seal(message, *, head: str) -> str:
    """Set the new message's ``chain_hash``, its link after ``head``, and return it: the conversation's new head."""
    message.chain_hash = link_hash(head, message_record(message))
    return message.chain_hash


def change_seal(revision, message, *, head: str) -> str:
    """Set the revision's ``chain_hash``, the link of the change that ``message`` (already changed) records,
    and return it: the conversation's new head."""
    revision.chain_hash = link_hash(head, change_record(revision, message))
    return revision.chain_hash


@dataclass(frozen=True)
class _Said:
    content: str
    file: str
    file_name: str
    file_size: int | None
    file_content_type: str
    edited_at: datetime | None
    deleted_at: None = None  # a deleted message is not changed again


def said_before(revisions: list) -> list[_Said]:
    """What a message said before each of its ``revisions`` (in the order they were made): the version each
    kept, last edited when the one before it was made."""
    edited_at = None
    states = []
    for revision in revisions:
        states.append(
            _Said(
                content=revision.content,
                file=str(revision.file or ""),
                file_name=revision.file_name,
                file_size=revision.file_size,
                file_content_type=revision.file_content_type,
                edited_at=edited_at,
            )
        )
        if revision.change == "edited":
            edited_at = revision.replaced_at
    return states


@dataclass(frozen=True)
class Link:
    """One link rebuilt from the rows: its kind (``message``, ``edited``, ``deleted``), the seq of the message
    it concerns, the row that stores its hash, and the record the writer hashed (``None`` when the rows
    cannot say it: a change of a message that is not there)."""

    kind: str
    seq: int | None
    row: "Message | MessageRevision"
    record: dict | None


def conversation_links(messages: Iterable, revisions: Iterable) -> Iterator[Link]:
    """A conversation's links in chain order, from its ``messages`` in seq order and its ``revisions`` in
    ``(chain_after_seq, id)`` order: each message's link, then the changes made while it was the newest."""
    pending = list(revisions)
    by_message: dict[int, list] = {}
    for revision in pending:
        by_message.setdefault(revision.message_id, []).append(revision)
    # Each changed message with what it said before each change and, last, its row: the states its links cover.
    states: dict[int, tuple] = {}
    position = {revision.pk: index for kept in by_message.values() for index, revision in enumerate(kept)}
    next_change = 0

    def changes_up_to(seq: int | None) -> Iterator[Link]:
        nonlocal next_change
        while next_change < len(pending) and (seq is None or pending[next_change].chain_after_seq <= seq):
            revision = pending[next_change]
            next_change += 1
            known = states.get(revision.message_id)
            if known is None:
                yield Link(kind=revision.change, seq=None, row=revision, record=None)
                continue
            message, said = known
            yield Link(
                kind=revision.change,
                seq=message.seq,
                row=revision,
                record=change_record(revision, message, said=said[position[revision.pk] + 1]),
            )

    for message in messages:
        yield from changes_up_to(message.seq - 1)
        kept = by_message.get(message.pk)
        said = None
        if kept:
            said = [*said_before(kept), message]
            states[message.pk] = (message, said)
        yield Link(kind=MESSAGE, seq=message.seq, row=message, record=message_record(message, said=said and said[0]))
    yield from changes_up_to(None)

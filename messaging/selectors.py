"""Reads of conversations and messages, shaped for the API; the place that owns query counts."""

from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from kernel.contact_review import HIDDEN_FROM_RECIPIENTS
from kernel.errors import NotFound
from messaging import chain, events, search
from messaging.models import Conversation, Message, MessageRevision, Participant


def participant_list_for_user(*, user) -> QuerySet[Participant]:
    """The caller's side of each of their conversations, newest activity first: one query for the
    rows with their project and last message, one for every conversation's participants.

    Each row counts the system messages past its read marker (``system_messages_unread``), which the
    unread count leaves out: a subquery on the partial index of system messages, cheap at any depth."""
    system_past_marker = (
        Message.objects.filter(
            conversation_id=OuterRef("conversation_id"), type=Message.Type.SYSTEM, seq__gt=OuterRef("last_read_seq")
        )
        .order_by()
        .values("conversation_id")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return (
        Participant.objects.filter(user=user)
        .annotate(system_messages_unread=Coalesce(Subquery(system_past_marker), 0))
        .select_related("conversation__project", "conversation__last_message")
        .prefetch_related(
            Prefetch(
                "conversation__participants",
                queryset=Participant.objects.select_related("user"),
            )
        )
        .order_by("-conversation__last_activity_at", "-conversation_id")
    )


def participant_get(*, user, conversation_id: int) -> Participant:
    participation = participant_list_for_user(user=user).filter(conversation_id=conversation_id).first()
    if participation is None:
        raise NotFound("No such conversation.")
    return participation


def participant_get_for_project(*, user, project_id: int) -> Participant:
    participation = participant_list_for_user(user=user).filter(conversation__project_id=project_id).first()
    if participation is None:
        raise NotFound("No conversation for this project.")
    return participation


# What other apps ask of the conversations, by project: projects.selectors reads a project's members and its
# conversation's id through these rather than through messaging's tables.


def project_ids_for_participant(*, user) -> QuerySet:
    """The ids of the projects whose conversation ``user`` takes part in, as a subquery for a filter."""
    return Participant.objects.filter(user=user).values("conversation__project_id")


def project_participant_ids(*, project_id: int) -> list[int]:
    """The ids of the users taking part in the conversation of the project ``project_id``."""
    return list(Participant.objects.filter(conversation__project_id=project_id).values_list("user_id", flat=True))


def project_conversation_id() -> Subquery:
    """The id of a project's conversation, as an annotation of a query of projects (one query for a list)."""
    return Subquery(Conversation.objects.filter(project_id=OuterRef("pk")).order_by().values("pk")[:1])


def conversation_peer_ids(*, user_id: int) -> list[int]:
    """The users who share a conversation with ``user_id``: whom their presence concerns."""
    peers = Participant.objects.filter(conversation__participants__user_id=user_id).exclude(user_id=user_id)
    return list(peers.order_by().values_list("user_id", flat=True).distinct())


def conversation_is_member(*, user_id: int, conversation_id: int) -> bool:
    return Participant.objects.filter(user_id=user_id, conversation_id=conversation_id).exists()


def message_list_page(
    *, conversation_id: int, before: int | None = None, after: int | None = None, limit: int | None = None
) -> tuple[list[Message], bool]:
    """One page of history by keyset on the message id, in chronological order, and whether more exist.

    Newest page by default; ``before`` scrolls back, ``after`` catches up. Each is one index range
    scan on (conversation, id), so a page costs the same at any depth.
    """
    limit = min(max(limit or settings.MESSAGE_PAGE_DEFAULT, 1), settings.MESSAGE_PAGE_MAX)
    messages = Message.objects.filter(conversation_id=conversation_id).select_related("sender")
    if after is not None:
        page = list(messages.filter(id__gt=after).order_by("id")[: limit + 1])
        return page[:limit], len(page) > limit
    if before is not None:
        messages = messages.filter(id__lt=before)
    page = list(messages.order_by("-id")[: limit + 1])
    has_more = len(page) > limit
    return list(reversed(page[:limit])), has_more


def message_get_file_for_member(*, user, message_id: int) -> Message:
    """A file message the caller may download; anything else is simply not there (a held or rejected file is
    there for its sender only)."""
    message = (
        Message.objects.filter(pk=message_id, conversation__participants__user=user, type=Message.Type.FILE)
        .exclude(file="")
        .exclude(Q(review__in=HIDDEN_FROM_RECIPIENTS) & ~Q(sender=user))
        .first()
    )
    if message is None:
        raise NotFound("No such file.")
    return message


def message_get_for_member(*, user, message_id: int) -> Message:
    """A message of a conversation the caller takes part in now, with its conversation; to anyone else (a
    removed participant included) it is not there."""
    message = (
        Message.objects.filter(pk=message_id, conversation__participants__user=user)
        .select_related("conversation")
        .first()
    )
    if message is None:
        raise NotFound("No such message.")
    return message


def conversation_require_member(*, user, conversation_id: int) -> None:
    if not conversation_is_member(user_id=user.pk, conversation_id=conversation_id):
        raise NotFound("No such conversation.")


# What notifications asks of the conversations to email those who missed messages (its offline notices and
# digests, docs/notifications.md).


def participant_read_markers(*, conversation_ids) -> list[tuple[int, int, int]]:
    """(conversation id, user id, last read seq) of every participant of these conversations, in one query."""
    return list(
        Participant.objects.filter(conversation_id__in=conversation_ids).values_list(
            "conversation_id", "user_id", "last_read_seq"
        )
    )


def participant_find(*, user, conversation_id: int) -> Participant | None:
    """The user's side of the conversation with the user and the project, or None once they were removed."""
    return (
        Participant.objects.select_related("user", "conversation__project")
        .filter(conversation_id=conversation_id, user=user)
        .first()
    )


def participant_list_unread(*, user) -> QuerySet[Participant]:
    """The user's participations in conversations with messages past their marker, latest activity first."""
    return (
        Participant.objects.filter(user=user, conversation__last_message_seq__gt=F("last_read_seq"))
        .select_related("conversation__project")
        .order_by("-conversation__last_activity_at")
    )


def message_list_unread(*, participant: Participant, after_seq: int, limit: int) -> list[Message]:
    """The others' messages (no system messages, none held or rejected) past both the participant's read marker and
    ``after_seq``, oldest first: the latest ``limit`` of them, with their senders, as the participant may read them
    (a masked message's content and file name with the contacts replaced, on these instances only: never saved)."""
    latest = list(
        Message.objects.filter(
            conversation_id=participant.conversation_id, seq__gt=max(after_seq, participant.last_read_seq)
        )
        .exclude(type=Message.Type.SYSTEM)
        .exclude(sender_id=participant.user_id)
        .exclude(review__in=HIDDEN_FROM_RECIPIENTS)
        .select_related("sender")
        .order_by("-seq")[:limit]
    )
    for message in latest:
        message.content = events.message_content_seen(message, as_sent=False)
        message.file_name = events.message_file_name_seen(message, as_sent=False)
    return list(reversed(latest))


def message_unread_exists_after(*, user_id: int, conversation_id: int, after_seq: int) -> bool:
    """Whether a message of another sender (not a system message) came after ``after_seq``, unread by the user."""
    return (
        Message.objects.filter(conversation_id=conversation_id, seq__gt=after_seq)
        .exclude(type=Message.Type.SYSTEM)
        .exclude(sender_id=user_id)
        .exclude(review__in=HIDDEN_FROM_RECIPIENTS)
        .filter(
            Exists(
                Participant.objects.filter(
                    conversation_id=conversation_id, user_id=user_id, last_read_seq__lt=OuterRef("seq")
                )
            )
        )
        .exists()
    )


@dataclass(frozen=True)
class SearchResult:
    message: Message
    snippet: str


def message_search_page(
    *, user, query: str, conversation_id: int | None = None, cursor: str | None = None, limit: int | None = None
) -> tuple[list[SearchResult], str | None]:
    """One page of the messages matching ``query`` in the caller's conversations (or in ``conversation_id``,
    404 unless theirs), best first, with their snippets, and the cursor of the next page (None at the end).

    Two queries: the ranked page with its snippets (``messaging.search``), then its messages with senders."""
    if conversation_id is not None:
        conversation_require_member(user=user, conversation_id=conversation_id)
    limit = min(max(limit or settings.SEARCH_PAGE_DEFAULT, 1), settings.SEARCH_PAGE_MAX)
    hits = search.search(
        user_id=user.pk,
        query=query,
        conversation_id=conversation_id,
        after=search.cursor_decode(cursor) if cursor else None,
        limit=limit + 1,
    )
    page = hits[:limit]
    messages = Message.objects.select_related("sender").in_bulk([hit.message_id for hit in page])
    # A message deleted between the two queries (its conversation's, by cascade) is left out.
    results = [SearchResult(messages[hit.message_id], hit.snippet) for hit in page if hit.message_id in messages]
    return results, search.cursor_encode(page[-1]) if len(hits) > limit else None


def conversation_record(*, conversation_id: int) -> list[Message]:
    """Every message of the conversation in seq order, with its sender and its earlier versions (edits and
    deletes, with who replaced them): the conversation as a record (an evidence export)."""
    revisions = MessageRevision.objects.select_related("replaced_by").order_by("id")
    return list(
        Message.objects.filter(conversation_id=conversation_id)
        .select_related("sender")
        .prefetch_related(Prefetch("revisions", queryset=revisions))
        .order_by("seq")
    )


def conversation_participants(*, conversation_id: int) -> list[Participant]:
    """The conversation's participants now, with their users, in the order they joined."""
    return list(Participant.objects.filter(conversation_id=conversation_id).select_related("user").order_by("id"))


# The conversation record's verifier (messaging.chain; manage.py verify_conversation and the conversation's admin).


@dataclass(frozen=True)
class ChainBreak:
    """Where a conversation's record stops verifying: the seq of the message concerned (of the missing one for a
    gap), the link's kind (``message``, ``edited``, ``deleted``; ``head`` for the conversation's head), the id
    of the row that stores it (a message's, a revision's, the conversation's; none for a missing message), why."""

    seq: int | None
    kind: str
    id: int | None
    reason: str

    def __str__(self) -> str:
        row = "" if self.id is None else f" #{self.id}"
        return f"{self.kind}{row} at seq {self.seq}: {self.reason}"


def conversation_chain_verify(*, conversation_id: int) -> ChainBreak | None:
    """The first broken link of the conversation's hash chain, or ``None`` when every message, revision and
    tombstone is as it was written and the chain ends at the conversation's head. Rehashes every link: two
    queries (the messages streamed in seq order, the revisions), linear in the conversation's length."""
    conversation = Conversation.objects.filter(pk=conversation_id).first()
    if conversation is None:
        raise NotFound("No such conversation.")
    messages = Message.objects.filter(conversation_id=conversation_id).order_by("seq").iterator(chunk_size=2000)
    revisions = MessageRevision.objects.filter(message__conversation_id=conversation_id).order_by(
        "chain_after_seq", "id"
    )
    head = chain.GENESIS
    next_seq = 1
    for link in chain.conversation_links(messages, revisions):
        if link.kind == chain.MESSAGE:
            if link.seq != next_seq:
                return ChainBreak(seq=next_seq, kind=chain.MESSAGE, id=None, reason="the message is missing")
            next_seq += 1
        if link.record is None:
            return ChainBreak(seq=None, kind=link.kind, id=link.row.pk, reason="the changed message is missing")
        head = chain.link_hash(head, link.record)
        if head != link.row.chain_hash:
            return ChainBreak(seq=link.seq, kind=link.kind, id=link.row.pk, reason="the record does not match its hash")
    if next_seq <= conversation.last_message_seq:
        return ChainBreak(seq=next_seq, kind=chain.MESSAGE, id=None, reason="the message is missing")
    if head != conversation.chain_head:
        return ChainBreak(
            seq=conversation.last_message_seq,
            kind="head",
            id=conversation.pk,
            reason="the chain does not end at the conversation's head",
        )
    return None

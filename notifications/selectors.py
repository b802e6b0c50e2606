"""Reads of the notifications module: a user's email preference, stored or the defaults, and what the worker
needs to compose an email: the messages a user missed, their unread conversations, the reminders now due."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, F, Max, OuterRef, QuerySet

from meetings.models import InvitationStatus, MeetingParticipant, MeetingStatus
from messaging.models import Message, Participant
from notifications.models import Notification, NotificationPreference

# An email lists at most this many messages of a conversation (the latest); the rest are on the site.
MESSAGES_PER_EMAIL = 50


def preference_get(*, user) -> NotificationPreference:
    """The user's preference; a user who never changed it has the defaults (an unsaved row)."""
    preference = NotificationPreference.objects.filter(user=user).first()
    return preference if preference is not None else NotificationPreference.defaults_for(user)


def preferences_of(*, user_ids) -> dict[int, NotificationPreference]:
    """The preference of each of these users, in one query (the defaults for those without a row)."""
    stored = {p.user_id: p for p in NotificationPreference.objects.filter(user_id__in=user_ids)}
    return {user_id: stored.get(user_id) or NotificationPreference(user_id=user_id) for user_id in user_ids}


def offline_notice_emailed_through(*, user_id: int, conversation_id: int) -> int:
    """The seq up to which the user's last offline email of this conversation went (0 before the first)."""
    emailed = Notification.objects.filter(
        kind=Notification.Kind.OFFLINE,
        user_id=user_id,
        conversation_id=conversation_id,
        status=Notification.Status.SENT,
    ).aggregate(through=Max("through_seq"))["through"]
    return emailed or 0


def messages_missed(*, participant: Participant, after_seq: int) -> list[Message]:
    """The others' messages (no system messages) past both the participant's read marker and ``after_seq``,
    oldest first: the latest MESSAGES_PER_EMAIL of them, with their senders."""
    latest = (
        Message.objects.filter(
            conversation_id=participant.conversation_id, seq__gt=max(after_seq, participant.last_read_seq)
        )
        .exclude(type=Message.Type.SYSTEM)
        .exclude(sender_id=participant.user_id)
        .select_related("sender")
        .order_by("-seq")[:MESSAGES_PER_EMAIL]
    )
    return list(reversed(latest))


def messages_missed_after(*, user_id: int, conversation_id: int, after_seq: int) -> bool:
    """Whether a message of another sender came after ``after_seq``, unread by the user."""
    return (
        Message.objects.filter(conversation_id=conversation_id, seq__gt=after_seq)
        .exclude(type=Message.Type.SYSTEM)
        .exclude(sender_id=user_id)
        .filter(
            Exists(
                Participant.objects.filter(
                    conversation_id=conversation_id, user_id=user_id, last_read_seq__lt=OuterRef("seq")
                )
            )
        )
        .exists()
    )


def participations_unread(*, user) -> QuerySet[Participant]:
    """The user's participations in conversations with messages past their marker, latest activity first."""
    return (
        Participant.objects.filter(user=user, conversation__last_message_seq__gt=F("last_read_seq"))
        .select_related("conversation__project")
        .order_by("-conversation__last_activity_at")
    )


def reminders_due(*, now: datetime) -> QuerySet:
    """(meeting id, user id, start) of each participant who has not declined a pending meeting starting
    within MEETING_REMINDER_MINUTES and has no reminder for that start yet."""
    horizon = now + timedelta(minutes=settings.MEETING_REMINDER_MINUTES)
    reminded = Notification.objects.filter(
        kind=Notification.Kind.REMINDER,
        meeting_id=OuterRef("meeting_id"),
        user_id=OuterRef("user_id"),
        meeting_time=OuterRef("meeting__scheduled_for"),
    )
    return (
        MeetingParticipant.objects.filter(
            meeting__status=MeetingStatus.PENDING, meeting__scheduled_for__gt=now, meeting__scheduled_for__lte=horizon
        )
        .exclude(status=InvitationStatus.DECLINED)
        .exclude(Exists(reminded))
        .values_list("meeting_id", "user_id", "meeting__scheduled_for")
    )

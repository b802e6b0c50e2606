"""Reads of the notifications module: a user's email preference, stored or the defaults, how far their offline
emails went, and the reminders now due. The messages a user missed are messaging's to read (its selectors)."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, Max, OuterRef, QuerySet

from meetings import selectors as meeting_selectors
from notifications.models import Notification, NotificationPreference


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
        meeting_selectors.participant_list_starting_between(after=now, until=horizon)
        .exclude(Exists(reminded))
        .values_list("meeting_id", "user_id", "meeting__scheduled_for")
    )

"""Reads of the notifications module: a user's email preference, stored or the defaults."""

from notifications.models import NotificationPreference


def preference_get(*, user) -> NotificationPreference:
    """The user's preference; a user who never changed it has the defaults (an unsaved row)."""
    preference = NotificationPreference.objects.filter(user=user).first()
    return preference if preference is not None else NotificationPreference.defaults_for(user)

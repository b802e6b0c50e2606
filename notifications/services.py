"""Writes of the notifications module: a user's email preference, changed by its owner or by an email's
one-click unsubscribe link."""

from datetime import time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import transaction

from accounts import selectors as account_selectors
from kernel.errors import Invalid, UnsubscribeLinkInvalid
from notifications.models import EmailFrequency, NotificationPreference
from notifications.tokens import unsubscribe_token_user_id


def time_zone_require_known(name: str) -> str:
    """``name`` if it is an IANA time zone this server knows ("Europe/Berlin", "UTC"), else 400 on the field."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid(
            f"{name!r} is not a known time zone (an IANA name like Europe/Berlin).", field="timeZone"
        ) from None
    return name


@transaction.atomic
def preference_update(
    *, user, email: str | None = None, daily_digest_time: time | None = None, time_zone: str | None = None
) -> NotificationPreference:
    """Change what is given, keep the rest; the first change writes the user's row.

    ``update_or_create`` locks an existing row, and the one-row-per-user constraint turns two first changes
    at once into a create and an update, never two rows.
    """
    changes: dict[str, object] = {}
    if email is not None:
        if email not in EmailFrequency.values:
            raise Invalid(f"email must be one of {', '.join(EmailFrequency.values)}.", field="email")
        changes["email"] = email
    if daily_digest_time is not None:
        changes["daily_digest_time"] = daily_digest_time.replace(second=0, microsecond=0, tzinfo=None)
    if time_zone is not None:
        changes["time_zone"] = time_zone_require_known(time_zone)
    preference, _ = NotificationPreference.objects.update_or_create(user=user, defaults=changes)
    return preference


def preference_unsubscribe(*, token: str) -> NotificationPreference:
    """Turn email off for the user an unsubscribe link was made for, with no login: the signed token is the proof."""
    user = account_selectors.user_get_active(user_id=unsubscribe_token_user_id(token=token))
    if user is None:
        raise UnsubscribeLinkInvalid("This unsubscribe link is not valid.")
    return preference_update(user=user, email=EmailFrequency.OFF)

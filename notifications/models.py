"""What each user wants to be emailed, and when.

A user without a row has the defaults (``NotificationPreference.defaults_for``): rows are written only when a
preference is changed, so a read never writes.
"""

from datetime import time

from django.conf import settings
from django.db import models
from django.db.models import Q


class EmailFrequency(models.TextChoices):
    OFF = "off", "Off: no emails"
    BATCHED = "batched", "Batched: one email per conversation for what I missed"
    DAILY = "daily", "Daily: one digest of all unread conversations"


DEFAULT_DAILY_DIGEST_TIME = time(8, 0)
DEFAULT_TIME_ZONE = "UTC"


class NotificationPreference(models.Model):
    Email = EmailFrequency

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    email = models.CharField(max_length=8, choices=Email.choices, default=Email.BATCHED)
    # With ``daily``, the digest goes out at this wall-clock time in ``time_zone`` (an IANA name such as
    # "Europe/Berlin"), so it stays at 08:00 for the user across daylight-saving changes.
    daily_digest_time = models.TimeField(default=DEFAULT_DAILY_DIGEST_TIME)
    time_zone = models.CharField(max_length=64, default=DEFAULT_TIME_ZONE)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(name="notification_email_known", condition=Q(email__in=EmailFrequency.values)),
        ]

    def __str__(self) -> str:
        return f"{self.user}: email {self.email}"

    @classmethod
    def defaults_for(cls, user) -> "NotificationPreference":
        """The unsaved preference of a user who never changed theirs."""
        return cls(user=user)

"""The camelCase shape of a user's email preference, read and written by ``/api/notifications/preferences``."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from notifications.models import EmailFrequency

TIME_FORMAT = "%H:%M"


# OpenAPI's "format: time" is RFC 3339's HH:MM:SS; this field speaks HH:MM, so its schema says so.
@extend_schema_field({"type": "string", "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9]$", "example": "08:00"})
class HourMinuteField(serializers.TimeField):
    def __init__(self, **kwargs):
        super().__init__(format=TIME_FORMAT, input_formats=[TIME_FORMAT], **kwargs)


class PreferenceSerializer(serializers.Serializer):
    email = serializers.ChoiceField(choices=EmailFrequency.choices, help_text="off, batched (default) or daily.")
    dailyDigestTime = HourMinuteField(
        source="daily_digest_time",
        help_text="HH:MM, in timeZone: when the daily digest goes out (with email daily).",
    )
    timeZone = serializers.CharField(
        source="time_zone", max_length=64, help_text="An IANA time zone name, e.g. Europe/Berlin (default UTC)."
    )

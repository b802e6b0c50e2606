"""The camelCase shape of a user's email preference, read and written by ``/api/notifications/preferences``."""

from rest_framework import serializers

from notifications.models import EmailFrequency

TIME_FORMAT = "%H:%M"


class PreferenceSerializer(serializers.Serializer):
    email = serializers.ChoiceField(choices=EmailFrequency.choices, help_text="off, batched (default) or daily.")
    dailyDigestTime = serializers.TimeField(
        source="daily_digest_time",
        format=TIME_FORMAT,
        input_formats=[TIME_FORMAT],
        help_text="HH:MM, in timeZone: when the daily digest goes out (with email daily).",
    )
    timeZone = serializers.CharField(
        source="time_zone", max_length=64, help_text="An IANA time zone name, e.g. Europe/Berlin (default UTC)."
    )

from zoneinfo import available_timezones

from django import forms

from notifications.models import EmailFrequency


def _time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(available_timezones())]


class PreferenceForm(forms.Form):
    """The settings page's form: the same three fields as ``PATCH /api/notifications/preferences``."""

    email = forms.ChoiceField(choices=EmailFrequency.choices, widget=forms.RadioSelect, label="Email me")
    daily_digest_time = forms.TimeField(
        label="Daily digest at", input_formats=["%H:%M"], widget=forms.TimeInput(format="%H:%M", attrs={"type": "time"})
    )
    time_zone = forms.ChoiceField(choices=_time_zone_choices, label="Time zone")

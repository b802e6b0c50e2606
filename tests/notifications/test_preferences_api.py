"""GET and PATCH /api/notifications/preferences: the caller's own email preference, camelCase, 400 per field."""

import pytest

from notifications.models import NotificationPreference

pytestmark = pytest.mark.django_db

URL = "/api/notifications/preferences"


def test_a_user_who_never_chose_gets_the_defaults_without_a_row_written(api, provider):
    response = api.as_user(provider).get(URL)

    assert response.status_code == 200
    assert response.json() == {"email": "batched", "dailyDigestTime": "08:00", "timeZone": "UTC"}
    assert not NotificationPreference.objects.exists()


def test_patch_changes_what_is_given_and_keeps_the_rest(api, provider):
    response = api.as_user(provider).patch(
        URL, {"email": "daily", "dailyDigestTime": "18:30", "timeZone": "Europe/Berlin"}, format="json"
    )
    assert response.status_code == 200
    assert response.json() == {"email": "daily", "dailyDigestTime": "18:30", "timeZone": "Europe/Berlin"}

    response = api.patch(URL, {"email": "off"}, format="json")

    assert response.json() == {"email": "off", "dailyDigestTime": "18:30", "timeZone": "Europe/Berlin"}
    assert api.get(URL).json()["email"] == "off"
    assert NotificationPreference.objects.filter(user=provider).count() == 1


def test_each_user_changes_only_their_own(api, provider, client_user):
    api.as_user(provider).patch(URL, {"email": "off"}, format="json")

    assert api.as_user(client_user).get(URL).json()["email"] == "batched"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"email": "hourly"}, "email"),
        ({"dailyDigestTime": "25:00"}, "dailyDigestTime"),
        ({"dailyDigestTime": "8am"}, "dailyDigestTime"),
        ({"timeZone": "Mars/Olympus_Mons"}, "timeZone"),
    ],
)
def test_an_invalid_value_is_refused_on_its_field_and_changes_nothing(api, provider, body, field):
    response = api.as_user(provider).patch(URL, body, format="json")

    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert not NotificationPreference.objects.exists()


@pytest.mark.parametrize("method", ["get", "patch"])
def test_anonymous_is_refused(api, method):
    response = getattr(api, method)(URL, {"email": "off"} if method == "patch" else None, format="json")

    assert response.status_code == 401
    assert not NotificationPreference.objects.exists()

"""/settings/notifications: the same preference on a server-rendered page, with the session and CSRF."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from notifications.models import NotificationPreference

pytestmark = pytest.mark.django_db

URL = "/settings/notifications"
FORM = {"email": "daily", "daily_digest_time": "07:15", "time_zone": "America/New_York"}


def test_the_page_shows_the_current_choice(client, provider):
    client.force_login(provider)

    response = client.get(URL)

    assert response.status_code == 200
    checked = re.findall(r'<input type="radio" name="email" value="(\w+)"[^>]*\bchecked\b', response.content.decode())
    assert checked == ["batched"]
    assert b'name="csrfmiddlewaretoken"' in response.content


def test_saving_the_form_changes_the_preference_and_says_so(client, provider):
    client.force_login(provider)

    response = client.post(URL, FORM, follow=True)

    assert response.redirect_chain == [(URL, 302)]
    assert b"Your email settings are saved." in response.content
    preference = NotificationPreference.objects.get(user=provider)
    assert (preference.email, preference.daily_digest_time.strftime("%H:%M"), preference.time_zone) == (
        "daily",
        "07:15",
        "America/New_York",
    )


def test_an_invalid_choice_is_shown_on_the_form_and_saves_nothing(client, provider):
    client.force_login(provider)

    response = client.post(URL, {**FORM, "email": "hourly"})

    assert response.status_code == 400
    assert b'role="alert"' in response.content
    assert not NotificationPreference.objects.exists()


def test_a_post_without_the_csrf_token_is_refused(provider):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(provider)

    response = browser.post(URL, FORM)

    assert response.status_code == 403
    assert not NotificationPreference.objects.exists()


def test_anonymous_is_sent_to_log_in(client):
    response = client.get(URL)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={URL}"


def test_the_dashboard_links_to_the_settings(client, provider):
    client.force_login(provider)

    assert f'href="{URL}"'.encode() in client.get(reverse("dashboard")).content

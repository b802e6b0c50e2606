"""Support staff read each user's email preference in the admin (the user alone changes it), and watch and
retry the emails the worker sends."""

import pytest
from django.utils import timezone

from notifications import services
from notifications.models import Notification
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(make_user("root", is_staff=True, is_superuser=True))
    return client


def test_the_list_shows_each_users_choice(admin_client, provider):
    services.preference_update(user=provider, email="off")

    response = admin_client.get("/admin/notifications/notificationpreference/", {"email__exact": "off"})

    assert response.status_code == 200
    assert provider.username in response.content.decode()


def test_staff_cannot_add_change_or_delete_a_preference(admin_client, provider):
    preference = services.preference_update(user=provider, email="daily")
    base = "/admin/notifications/notificationpreference/"

    assert admin_client.get(f"{base}add/").status_code == 403
    assert admin_client.post(f"{base}{preference.pk}/change/", {"email": "off"}).status_code == 403
    assert admin_client.post(f"{base}{preference.pk}/delete/", {"post": "yes"}).status_code == 403
    preference.refresh_from_db()
    assert preference.email == "daily"


@pytest.fixture
def notifications(provider, conversation):
    """A failed offline email and a sent one."""
    failed = Notification.objects.create(
        kind=Notification.Kind.OFFLINE,
        user=provider,
        conversation=conversation,
        status=Notification.Status.FAILED,
        attempts=5,
        last_error="SMTPDataError: (451, b'Try again later')",
        next_attempt_at=timezone.now(),
    )
    sent = Notification.objects.create(
        kind=Notification.Kind.OFFLINE,
        user=provider,
        conversation=conversation,
        status=Notification.Status.SENT,
        attempts=1,
        outcome="3 messages",
        next_attempt_at=timezone.now(),
    )
    return failed, sent


def test_the_email_list_shows_status_attempts_and_the_last_error(admin_client, notifications):
    page = admin_client.get("/admin/notifications/notification/").content.decode()

    assert "Try again later" in page and "3 messages" in page
    assert "Failed" in page and "Sent" in page


def test_retry_makes_a_failed_email_pending_and_due_now_with_fresh_attempts(admin_client, notifications):
    failed, sent = notifications

    response = admin_client.post(
        "/admin/notifications/notification/",
        {"action": "retry", "_selected_action": [failed.pk, sent.pk]},
        follow=True,
    )

    assert response.status_code == 200
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == ("pending", 0)
    assert Notification.objects.get(pk=sent.pk).status == "sent"  # a sent email is not sent again


def test_a_user_without_staff_rights_cannot_open_the_email_list(client, client_user):
    client.force_login(client_user)

    assert client.get("/admin/notifications/notification/").status_code == 302

"""The unsubscribe link of every email: GET asks and changes nothing, POST (one-click, RFC 8058) turns emails
off without a login; an altered or expired token is refused with 400 and changes nothing."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail, signing
from django.test import Client
from django.utils import timezone

from config.log_redaction import redact
from meetings import services as meeting_services
from messaging import services as messaging_services
from moderation import services as moderation_services
from notifications import services
from notifications.emails import unsubscribe_headers
from notifications.models import NotificationPreference
from notifications.tokens import unsubscribe_token_make
from tests.integrations.conftest import work_until_idle
from tests.notifications.conftest import SITE_URL

pytestmark = pytest.mark.django_db


def _path(user) -> str:
    return f"/unsubscribe/{unsubscribe_token_make(user_id=user.pk)}"


def _email_of(user) -> str:
    preference = NotificationPreference.objects.filter(user=user).first()
    return preference.email if preference else "batched"


def test_get_shows_a_button_and_changes_nothing(client, provider):
    path = _path(provider)

    response = client.get(path)

    assert response.status_code == 200
    assert f'action="{path}"'.encode() in response.content
    assert _email_of(provider) == "batched"


def test_one_click_post_turns_email_off_without_login_or_csrf_token(provider):
    mail_client = Client(enforce_csrf_checks=True)

    response = mail_client.post(_path(provider), {"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200
    assert _email_of(provider) == "off"


def test_the_post_turns_off_only_the_token_owners_email(client, provider, client_user):
    services.preference_update(user=client_user, email="daily")

    client.post(_path(provider))

    assert _email_of(client_user) == "daily"


def test_a_tampered_token_is_refused_and_changes_nothing(client, provider, client_user):
    token = unsubscribe_token_make(user_id=provider.pk)
    # The same signature over another user's id.
    forged = unsubscribe_token_make(user_id=client_user.pk).split(":")[0] + ":" + token.split(":", 1)[1]

    for path in (f"/unsubscribe/{forged}", f"/unsubscribe/{token[:-1]}x", "/unsubscribe/not-a-token"):
        assert client.get(path).status_code == 400
        assert client.post(path).status_code == 400
    assert _email_of(provider) == _email_of(client_user) == "batched"


def test_an_expired_token_is_refused_and_changes_nothing(client, provider, settings):
    settings.UNSUBSCRIBE_TOKEN_MAX_AGE_DAYS = 60
    path = _path(provider)

    with time_machine.travel(timezone.now() + timedelta(days=61)):
        response = client.post(path)

    assert response.status_code == 400
    assert b"expired" in response.content
    assert _email_of(provider) == "batched"


def test_a_token_just_inside_its_age_still_works(client, provider):
    path = _path(provider)

    with time_machine.travel(timezone.now() + timedelta(days=59)):
        assert client.post(path).status_code == 200

    assert _email_of(provider) == "off"


def test_a_token_signed_for_another_purpose_is_refused(client, provider):
    other = signing.TimestampSigner(salt="notifications.unsubscribe").sign_object({"u": provider.pk, "p": "other"})

    assert client.post(f"/unsubscribe/{other}").status_code == 400
    assert _email_of(provider) == "batched"


def test_the_headers_carry_the_absolute_link_and_one_click(provider):
    headers = unsubscribe_headers(provider, SITE_URL)

    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = headers["List-Unsubscribe"]
    assert link.startswith(f"<{SITE_URL}/unsubscribe/") and link.endswith(">")


def test_the_headers_take_the_host_from_a_request(rf, provider):
    request = rf.get("/", secure=True, HTTP_HOST="testserver")

    assert unsubscribe_headers(provider, request)["List-Unsubscribe"].startswith("<https://testserver/unsubscribe/")


def test_access_logs_do_not_keep_the_token(provider):
    token = unsubscribe_token_make(user_id=provider.pk)

    line = redact(f'127.0.0.1 - "POST /unsubscribe/{token} HTTP/1.1" 200')

    assert token not in line
    assert line == '127.0.0.1 - "POST /unsubscribe/[redacted] HTTP/1.1" 200'


def test_every_kind_of_email_the_worker_sends_carries_the_one_click_link(
    client_user, provider, staff, project, conversation, clock, settings
):
    settings.MEETING_REMINDER_MINUTES = 10
    meeting_services.meeting_create(  # bob's invitation, then both participants' reminders
        user=client_user, project_id=project.pk, title="Review", scheduled_for=timezone.now() + timedelta(minutes=10)
    )
    bobs = messaging_services.message_send(user=provider, conversation_id=conversation.pk, content="Hi").message
    reported = moderation_services.report_create(user=client_user, message_id=bobs.pk, reason="spam")
    moderation_services.report_resolve(report_id=reported.report.pk, by=staff, status="dismissed", note="Not spam.")
    work_until_idle()
    clock.shift(settings.NOTIFY_DELAY)
    work_until_idle()  # alice's offline email
    services.preference_update(user=provider, email="daily")
    messaging_services.message_send(user=client_user, conversation_id=conversation.pk, content="Hello")
    work_until_idle()
    clock.shift(timedelta(days=1).total_seconds())
    work_until_idle()  # bob's digest

    assert sorted((email.to[0], email.subject) for email in mail.outbox) == [
        ("alice@example.com", "1 new message in “Website”"),
        ("alice@example.com", "Starting soon: Review"),
        ("alice@example.com", "Your report in “Website” was dismissed"),
        ("bob@example.com", "Invitation: Review"),
        ("bob@example.com", "Starting soon: Review"),
        ("bob@example.com", "Your daily digest: 1 unread message"),
    ]
    for email in mail.outbox:
        assert email.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert email.extra_headers["List-Unsubscribe"].startswith(f"<{SITE_URL}/unsubscribe/")

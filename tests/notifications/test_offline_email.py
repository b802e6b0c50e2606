"""Offline email, batched (issue 17, point 2): a participant who is offline when messages arrive gets one email
for the conversation NOTIFY_DELAY later, with what they have not read, through a real SMTP server in the test
process; nothing if they read it meanwhile, are online, were removed, or turned email off; system messages
never make one; an SMTP failure is retried."""

import pytest
from asgiref.sync import sync_to_async
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from meetings import services as meeting_services
from messaging import services as messaging_services
from notifications import selectors, services
from notifications.models import Notification
from tests.conftest import requires_postgres
from tests.integrations.conftest import work_in_two_threads_at_once, work_until_idle
from tests.notifications.conftest import SITE_URL, html_body, text_body
from tests.realtime.sockets import connect_as

pytestmark = pytest.mark.django_db

DELAY = 120


@pytest.fixture(autouse=True)
def notify_delay(settings):
    settings.NOTIFY_DELAY = DELAY


def send(api, user, conversation, content: str) -> None:
    """POST /api/messages as ``user``: the send path a browser takes (on PostgreSQL, its two-statement path)."""
    response = api.as_user(user).post(
        "/api/messages", {"conversationId": conversation.pk, "content": content}, format="json"
    )
    assert response.status_code == 201, response.content


def three_messages(api, client_user, conversation) -> None:
    for content in ("Hello Bob", "The mock-ups are ready", "Can we talk <b>tomorrow</b> & decide?"):
        send(api, client_user, conversation, content)


def test_three_messages_to_an_offline_provider_make_one_email_after_the_delay(
    api, client_user, provider, project, conversation, inbox, clock
):
    three_messages(api, client_user, conversation)
    work_until_idle()

    clock.shift(DELAY)
    work_until_idle()

    [envelope] = inbox.envelopes
    assert envelope.rcpt_tos == [provider.email]
    [message] = inbox.messages()
    text = text_body(message)
    assert "Hello Bob" in text and "The mock-ups are ready" in text and "Can we talk <b>tomorrow</b> & decide?" in text
    assert f"{SITE_URL}/projects/{project.pk}" in text
    assert message["Subject"] == "3 new messages in “Website”"


def test_nothing_is_sent_before_the_delay(api, client_user, provider, conversation, inbox, clock):
    three_messages(api, client_user, conversation)

    clock.shift(DELAY - 1)
    work_until_idle()

    assert inbox.envelopes == []


def test_message_content_is_escaped_in_the_html_body(api, client_user, provider, conversation, inbox, clock):
    three_messages(api, client_user, conversation)
    work_until_idle()
    clock.shift(DELAY)
    work_until_idle()

    html = html_body(inbox.messages()[0])
    assert "Can we talk &lt;b&gt;tomorrow&lt;/b&gt; &amp; decide?" in html
    assert "<b>tomorrow" not in html


def test_the_email_names_each_sender_and_file(client_user, provider, conversation, inbox, clock):
    upload = SimpleUploadedFile("brief.txt", b"text", "text/plain")
    messaging_services.message_send(
        user=client_user, conversation_id=conversation.pk, content="", type="file", upload=upload
    )
    work_until_idle()
    clock.shift(DELAY)
    work_until_idle()

    text = text_body(inbox.messages()[0])
    assert "alice," in text and "[file] brief.txt" in text


def test_each_message_shows_its_time_in_the_users_zone(api, client_user, provider, conversation, inbox, clock):
    services.preference_update(user=provider, time_zone="Europe/Berlin")
    clock.move_to("2026-12-01T09:41:00Z")  # 10:41 in Berlin
    send(api, client_user, conversation, "Hello")
    work_until_idle()
    clock.shift(DELAY)
    work_until_idle()

    assert "alice, Tue 1 Dec, 10:41" in text_body(inbox.messages()[0])


def test_a_long_message_is_shown_as_an_excerpt(api, client_user, provider, conversation, inbox, clock):
    send(api, client_user, conversation, "x" * 400)
    work_until_idle()
    clock.shift(DELAY)
    work_until_idle()

    [message] = inbox.messages()
    for body in (text_body(message), html_body(message)):
        assert "x" * 299 + "…" in body and "x" * 300 not in body


def test_the_email_carries_the_one_click_unsubscribe_headers(api, client_user, provider, conversation, inbox, clock):
    send(api, client_user, conversation, "Hello")
    work_until_idle()
    clock.shift(DELAY)
    work_until_idle()

    [message] = inbox.messages()
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["List-Unsubscribe"].strip().startswith(f"<{SITE_URL}/unsubscribe/")


def test_the_emails_unsubscribe_link_turns_email_off_without_login_and_no_email_follows(
    api, client_user, provider, conversation, inbox, clock
):
    send(api, client_user, conversation, "Hello")
    work_until_idle()
    clock.shift(DELAY)
    work_until_idle()
    [message] = inbox.messages()
    link = message["List-Unsubscribe"].strip().removeprefix("<").removesuffix(">")

    # A mail client's one-click POST: no session, no CSRF token.
    assert Client(enforce_csrf_checks=True).post(link.removeprefix(SITE_URL)).status_code == 200
    send(api, client_user, conversation, "Are you there?")
    work_until_idle()
    clock.shift(DELAY)
    work_until_idle()

    assert selectors.preference_get(user=provider).email == "off"
    assert len(inbox.envelopes) == 1


def test_messages_read_within_the_delay_make_no_email(api, client_user, provider, conversation, inbox, clock):
    three_messages(api, client_user, conversation)
    work_until_idle()

    clock.shift(60)
    messaging_services.conversation_mark_read(user=provider, conversation_id=conversation.pk)
    clock.shift(DELAY - 60)
    work_until_idle()

    assert inbox.envelopes == []
    assert Notification.objects.get().outcome == "read meanwhile"


def test_only_the_messages_still_unread_are_in_the_email(api, client_user, provider, conversation, inbox, clock):
    send(api, client_user, conversation, "read at once")
    work_until_idle()
    messaging_services.conversation_mark_read(user=provider, conversation_id=conversation.pk)
    send(api, client_user, conversation, "still unread")
    clock.shift(DELAY)
    work_until_idle()

    text = text_body(inbox.messages()[0])
    assert "still unread" in text and "read at once" not in text


def test_the_sender_gets_no_email_of_their_own_messages(api, client_user, provider, conversation, inbox, clock):
    three_messages(api, client_user, conversation)
    work_until_idle()
    clock.shift(DELAY)
    work_until_idle()

    assert [envelope.rcpt_tos for envelope in inbox.envelopes] == [[provider.email]]


def test_a_message_after_the_email_makes_the_next_one_a_window_later_with_only_it(
    api, client_user, provider, conversation, inbox, clock
):
    three_messages(api, client_user, conversation)
    work_until_idle()
    clock.shift(DELAY)
    work_until_idle()

    send(api, client_user, conversation, "One more thing")
    work_until_idle()
    clock.shift(DELAY - 1)
    work_until_idle()
    assert len(inbox.envelopes) == 1
    clock.shift(1)
    work_until_idle()

    first, second = inbox.messages()
    assert "One more thing" in text_body(second) and "Hello Bob" not in text_body(second)
    assert second["Subject"] == "1 new message in “Website”"


def test_messages_while_the_notice_waits_join_it(api, client_user, provider, conversation, inbox, clock):
    send(api, client_user, conversation, "first")
    work_until_idle()
    clock.shift(DELAY / 2)
    send(api, client_user, conversation, "second")
    work_until_idle()
    clock.shift(DELAY / 2)
    work_until_idle()

    [message] = inbox.messages()
    assert "first" in text_body(message) and "second" in text_body(message)
    assert Notification.objects.count() == 1


def test_email_off_makes_no_email(api, client_user, provider, conversation, inbox, clock):
    services.preference_update(user=provider, email="off")
    three_messages(api, client_user, conversation)
    work_until_idle()
    clock.shift(DELAY)
    work_until_idle()

    assert inbox.envelopes == []
    assert not Notification.objects.exists()


def test_email_turned_off_during_the_delay_makes_no_email(api, client_user, provider, conversation, inbox, clock):
    three_messages(api, client_user, conversation)
    work_until_idle()
    services.preference_update(user=provider, email="off")
    clock.shift(DELAY)
    work_until_idle()

    assert inbox.envelopes == []
    assert Notification.objects.get().outcome == "email off"


def test_system_messages_make_no_email(client_user, provider, project, conversation, inbox, clock):
    meeting = meeting_services.meeting_create(user=client_user, project_id=project.pk, title="Now", instant=True)
    meeting_services.meeting_end(user=client_user, meeting_id=meeting.pk)
    work_until_idle()
    clock.shift(DELAY)
    work_until_idle()

    assert inbox.envelopes == []
    assert not Notification.objects.filter(kind=Notification.Kind.OFFLINE).exists()


def test_a_participant_removed_during_the_delay_gets_no_email(
    api, client_user, provider, staff, conversation, inbox, clock
):
    three_messages(api, client_user, conversation)
    work_until_idle()
    messaging_services.participant_remove(conversation_id=conversation.pk, user_id=provider.pk, by=staff)
    clock.shift(DELAY)
    work_until_idle()

    assert inbox.envelopes == []
    assert Notification.objects.get().outcome == "removed from the conversation"


def test_an_smtp_failure_is_retried_and_the_email_delivered_once(
    api, client_user, provider, conversation, inbox, clock, settings
):
    settings.NOTIFY_RETRY_SCHEDULE = [30.0, 60.0]
    inbox.refuse = 1
    three_messages(api, client_user, conversation)
    work_until_idle()
    clock.shift(DELAY)
    work_until_idle()
    notification = Notification.objects.get()
    assert (notification.status, notification.attempts) == ("pending", 1)
    assert "451" in notification.last_error

    clock.shift(30 * 1.1)
    work_until_idle()

    assert len(inbox.envelopes) == 1
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == ("sent", 2)


def test_an_email_that_keeps_failing_is_failed_after_the_last_retry(
    api, client_user, provider, conversation, inbox, clock, settings
):
    settings.NOTIFY_RETRY_SCHEDULE = [30.0]
    inbox.refuse = 2
    send(api, client_user, conversation, "Hello")
    work_until_idle()
    clock.shift(DELAY)
    work_until_idle()
    clock.shift(30 * 1.1)
    work_until_idle()

    assert inbox.envelopes == []
    assert Notification.objects.get().status == "failed"


@pytest.mark.django_db(transaction=True)
async def test_a_provider_online_gets_no_email(api, client_user, provider, conversation, inbox, clock):
    bob = await connect_as(provider)
    await sync_to_async(three_messages)(api, client_user, conversation)
    await sync_to_async(work_until_idle)()
    clock.shift(DELAY)
    await sync_to_async(work_until_idle)()

    assert inbox.envelopes == []
    await bob.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_provider_who_comes_online_during_the_delay_gets_no_email(
    api, client_user, provider, conversation, inbox, clock
):
    await sync_to_async(three_messages)(api, client_user, conversation)
    await sync_to_async(work_until_idle)()
    bob = await connect_as(provider)
    clock.shift(DELAY)
    await sync_to_async(work_until_idle)()

    assert inbox.envelopes == []
    assert (await Notification.objects.aget()).outcome == "online"
    await bob.disconnect()


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_send_one_email(api, client_user, provider, conversation, inbox, clock):
    requires_postgres()
    three_messages(api, client_user, conversation)
    clock.shift(DELAY)
    work_in_two_threads_at_once()

    assert len(inbox.envelopes) == 1
    assert list(Notification.objects.values_list("status", flat=True)) == ["sent"]


def test_a_daily_digest_goes_at_the_users_time_in_their_zone(api, client_user, provider, conversation, inbox, clock):
    services.preference_update(user=provider, email="daily", time_zone="Europe/Berlin")
    clock.move_to("2026-12-01T06:00:00Z")  # 07:00 in Berlin
    three_messages(api, client_user, conversation)
    work_until_idle()
    clock.move_to("2026-12-01T06:59:00Z")
    work_until_idle()
    assert inbox.envelopes == []

    clock.move_to("2026-12-01T07:00:00Z")  # 08:00 in Berlin
    work_until_idle()

    [message] = inbox.messages()
    assert message["Subject"] == "Your daily digest: 3 unread messages"
    assert "Website" in text_body(message) and "The mock-ups are ready" in text_body(message)
    assert "alice, Tue 1 Dec, 07:00" in text_body(message)  # sent at 06:00 UTC, shown in Berlin time


def test_a_daily_digest_goes_once_a_day(api, client_user, provider, conversation, inbox, clock):
    services.preference_update(user=provider, email="daily")
    clock.move_to("2026-12-01T06:00:00Z")
    send(api, client_user, conversation, "one")
    work_until_idle()
    clock.move_to("2026-12-01T07:00:00Z")
    send(api, client_user, conversation, "two")
    work_until_idle()
    clock.move_to("2026-12-01T08:00:01Z")
    work_until_idle()

    assert len(inbox.envelopes) == 1
    assert Notification.objects.get().digest_date.isoformat() == "2026-12-01"


def test_a_message_after_the_digest_waits_for_the_next_day(api, client_user, provider, conversation, inbox, clock):
    services.preference_update(user=provider, email="daily")
    clock.move_to("2026-12-01T09:00:00Z")
    send(api, client_user, conversation, "after eight")
    work_until_idle()

    assert Notification.objects.get().next_attempt_at.isoformat() == "2026-12-02T08:00:00+00:00"

"""The meeting invitation email, composed (sending is the worker's): text and escaped HTML bodies, the .ics
attachment under the matching METHOD, and the one-click unsubscribe headers; and one sent through a real
SMTP server in-process, parsed as it arrived."""

import email
import email.policy
from datetime import timedelta

import icalendar
import pytest
import vobject
from django.core.mail import get_connection

from meetings import selectors as meeting_selectors
from meetings import services as meeting_services
from notifications.emails import meeting_invitation_email
from notifications.selectors import preference_get
from tests.notifications.conftest import SITE_URL, Inbox, smtp_server

pytestmark = pytest.mark.django_db


def _invitation(meeting, recipient):
    return meeting_invitation_email(
        meeting=meeting_selectors.meeting_get(meeting_id=meeting.pk), recipient=recipient, site_url=SITE_URL
    )


def _parsed(message) -> email.message.EmailMessage:
    return email.message_from_bytes(message.message().as_bytes(), policy=email.policy.default)


def _calendar_part(parsed):
    return next(part for part in parsed.walk() if part.get_content_type() == "text/calendar")


def test_the_invitation_goes_to_the_invitee_with_text_html_and_the_calendar_request(scheduled_meeting, provider):
    parsed = _parsed(_invitation(scheduled_meeting, provider))

    assert parsed["To"] == "bob@example.com"
    assert parsed["Subject"] == "Invitation: Design review"
    text = parsed.get_body(preferencelist=("plain",)).get_content()
    assert "alice invites you" in text and f"{SITE_URL}/meetings/{scheduled_meeting.pk}/call" in text
    part = _calendar_part(parsed)
    assert part.get_param("method") == "REQUEST"
    assert part.get_filename() == "invite.ics"
    ics = part.get_content()
    assert str(icalendar.Calendar.from_ical(ics)["METHOD"]) == "REQUEST"
    assert vobject.readOne(ics).vevent.uid.value == f"meeting-{scheduled_meeting.pk}@chat.example.com"


def test_user_written_text_is_escaped_in_the_html_body(scheduled_meeting, provider):
    html = _parsed(_invitation(scheduled_meeting, provider)).get_body(preferencelist=("html",)).get_content()

    assert "Pages &lt;1&gt; &amp; &lt;2&gt;" in html
    assert "<1>" not in html


def test_the_invitation_carries_the_one_click_unsubscribe_headers(scheduled_meeting, provider, client):
    parsed = _parsed(_invitation(scheduled_meeting, provider))

    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # Long enough to be folded onto a line of its own: the value is the <link> after the fold's space.
    link = parsed["List-Unsubscribe"].strip().removeprefix("<").removesuffix(">")
    assert link.startswith(f"{SITE_URL}/unsubscribe/")
    # The link works, without a login: posting to it turns the invitee's emails off.
    assert client.post(link.removeprefix(SITE_URL)).status_code == 200
    assert preference_get(user=provider).email == "off"


def test_a_reschedule_sends_an_update_and_a_cancellation_a_cancel(scheduled_meeting, client_user, provider):
    later = scheduled_meeting.scheduled_for + timedelta(days=1)
    meeting_services.meeting_reschedule(user=client_user, meeting_id=scheduled_meeting.pk, scheduled_for=later)
    update = _parsed(_invitation(scheduled_meeting, provider))
    meeting_services.meeting_cancel(user=client_user, meeting_id=scheduled_meeting.pk)
    cancellation = _parsed(_invitation(scheduled_meeting, provider))

    assert update["Subject"] == "Updated invitation: Design review"
    assert _calendar_part(update).get_param("method") == "REQUEST"
    assert cancellation["Subject"] == "Cancelled: Design review"
    assert _calendar_part(cancellation).get_param("method") == "CANCEL"
    assert _calendar_part(cancellation).get_filename() == "cancel.ics"
    sequences = [vobject.readOne(_calendar_part(m).get_content()).vevent.sequence.value for m in (update, cancellation)]
    assert sequences == ["1", "2"]


def test_the_invitation_survives_a_real_smtp_round_trip(scheduled_meeting, provider):
    inbox = Inbox()
    server = smtp_server(inbox)
    try:
        connection = get_connection(
            "django.core.mail.backends.smtp.EmailBackend", host="127.0.0.1", port=server.port, timeout=5
        )
        message = _invitation(scheduled_meeting, provider)
        message.connection = connection
        assert message.send() == 1
    finally:
        server.stop()

    [envelope] = inbox.envelopes
    assert envelope.rcpt_tos == ["bob@example.com"]
    arrived = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert arrived["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    calendar = vobject.readOne(_calendar_part(arrived).get_content())
    assert (calendar.method.value, calendar.vevent.summary.value) == ("REQUEST", "Design review")

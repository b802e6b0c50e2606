"""Meetings by email (issue 17, points 4 and 5), sent by the worker through a real SMTP server in the test
process: the invitation when a meeting is scheduled, its update after a reschedule and its cancellation, all
one calendar entry (same UID, rising SEQUENCE); and the reminder MEETING_REMINDER_MINUTES before the start,
once per participant and start, by socket event (both dialects) and, to those offline, by email."""

from datetime import timedelta

import icalendar
import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from meetings import services as meeting_services
from notifications import services
from notifications.models import Notification
from tests.conftest import requires_postgres
from tests.integrations.conftest import work_in_two_threads_at_once, work_until_idle
from tests.notifications.conftest import text_body
from tests.realtime.socketio_frames import decode_event, next_packet, sio_connected_as
from tests.realtime.sockets import connect_as, next_frame

pytestmark = pytest.mark.django_db

REMINDER_MINUTES = 10


@pytest.fixture(autouse=True)
def reminder_minutes(settings):
    settings.MEETING_REMINDER_MINUTES = REMINDER_MINUTES


def schedule(client_user, project, *, in_minutes: int = 30):
    return meeting_services.meeting_create(
        user=client_user,
        project_id=project.pk,
        title="Design review",
        scheduled_for=timezone.now() + timedelta(minutes=in_minutes),
    )


def calendar_of(message) -> icalendar.Calendar:
    part = next(part for part in message.walk() if part.get_content_type() == "text/calendar")
    return icalendar.Calendar.from_ical(part.get_content())


def entry(calendar: icalendar.Calendar) -> tuple[str, str, int]:
    event = calendar.walk("VEVENT")[0]
    return str(calendar["METHOD"]), str(event["UID"]), int(event["SEQUENCE"])


def test_scheduling_a_meeting_emails_the_invitee_the_request(client_user, provider, project, inbox, clock):
    meeting = schedule(client_user, project)

    work_until_idle()

    [envelope] = inbox.envelopes
    assert envelope.rcpt_tos == [provider.email]
    [message] = inbox.messages()
    assert message["Subject"] == "Invitation: Design review"
    assert entry(calendar_of(message)) == ("REQUEST", f"meeting-{meeting.pk}@chat.example.com", 0)


def test_a_reschedule_sends_the_update_and_a_cancel_the_cancellation_of_one_calendar_entry(
    client_user, provider, project, inbox, clock
):
    meeting = schedule(client_user, project)
    work_until_idle()
    meeting_services.meeting_reschedule(
        user=client_user, meeting_id=meeting.pk, scheduled_for=meeting.scheduled_for + timedelta(hours=1)
    )
    work_until_idle()
    meeting_services.meeting_cancel(user=client_user, meeting_id=meeting.pk)
    work_until_idle()

    entries = [entry(calendar_of(message)) for message in inbox.messages()]
    uid = f"meeting-{meeting.pk}@chat.example.com"
    assert entries == [("REQUEST", uid, 0), ("REQUEST", uid, 1), ("CANCEL", uid, 2)]
    assert [m["Subject"] for m in inbox.messages()][1:] == [
        "Updated invitation: Design review",
        "Cancelled: Design review",
    ]


def test_an_invitation_not_yet_sent_goes_out_as_the_latest_update_only(client_user, provider, project, inbox, clock):
    meeting = schedule(client_user, project)
    meeting_services.meeting_reschedule(
        user=client_user, meeting_id=meeting.pk, scheduled_for=meeting.scheduled_for + timedelta(hours=1)
    )

    work_until_idle()

    [message] = inbox.messages()
    assert entry(calendar_of(message))[2] == 1


def test_an_instant_meeting_sends_no_invitation(client_user, provider, project, inbox, clock):
    meeting_services.meeting_create(user=client_user, project_id=project.pk, title="Now", instant=True)

    work_until_idle()

    assert inbox.envelopes == []


def test_an_invitee_with_email_off_gets_no_invitation(client_user, provider, project, inbox, clock):
    services.preference_update(user=provider, email="off")
    schedule(client_user, project)

    work_until_idle()

    assert inbox.envelopes == []
    assert Notification.objects.get().outcome == "email off"


def test_an_invitee_without_an_email_address_gets_no_invitation(client_user, provider, project, inbox, clock):
    provider.email = ""
    provider.save(update_fields=["email"])
    schedule(client_user, project)

    work_until_idle()

    assert inbox.envelopes == []


def reminders_for(user) -> list:
    return list(Notification.objects.filter(kind=Notification.Kind.REMINDER, user=user))


def test_each_participant_is_reminded_once_before_the_meeting(client_user, provider, project, inbox, clock):
    schedule(client_user, project, in_minutes=30)
    work_until_idle()  # the invitation
    clock.shift(timedelta(minutes=30 - REMINDER_MINUTES - 1))
    work_until_idle()
    assert len(inbox.envelopes) == 1

    clock.shift(timedelta(minutes=1))
    work_until_idle()
    clock.shift(timedelta(minutes=1))
    work_until_idle()

    reminders = [m for m in inbox.messages() if m["Subject"] == "Starting soon: Design review"]
    assert sorted(m["To"] for m in reminders) == [client_user.email, provider.email]
    assert "Join the call" in text_body(reminders[0])


def test_the_reminder_is_scheduled_once_however_often_it_is_looked_for(client_user, provider, project, clock):
    schedule(client_user, project, in_minutes=REMINDER_MINUTES)

    services.reminders_schedule()
    services.reminders_schedule()

    assert Notification.objects.filter(kind=Notification.Kind.REMINDER).count() == 2


def test_a_participant_who_declined_is_not_reminded(client_user, provider, project, inbox, clock):
    meeting = schedule(client_user, project, in_minutes=30)
    meeting_services.meeting_decline(user=provider, meeting_id=meeting.pk)
    clock.shift(timedelta(minutes=30 - REMINDER_MINUTES))

    work_until_idle()

    assert reminders_for(provider) == []
    assert len(reminders_for(client_user)) == 1


def test_a_reschedule_moves_the_reminder_to_the_new_time(client_user, provider, project, inbox, clock):
    meeting = schedule(client_user, project, in_minutes=30)
    meeting_services.meeting_reschedule(
        user=client_user, meeting_id=meeting.pk, scheduled_for=meeting.scheduled_for + timedelta(minutes=60)
    )
    clock.shift(timedelta(minutes=30 - REMINDER_MINUTES))
    work_until_idle()
    assert reminders_for(provider) == []

    clock.shift(timedelta(minutes=60))
    work_until_idle()

    [reminder] = reminders_for(provider)
    assert (reminder.status, reminder.meeting_time) == ("sent", meeting.scheduled_for + timedelta(minutes=60))


def test_a_reminder_made_for_the_old_time_is_not_sent_after_a_reschedule(client_user, provider, project, clock):
    meeting = schedule(client_user, project, in_minutes=30)
    clock.shift(timedelta(minutes=30 - REMINDER_MINUTES))
    services.reminders_schedule()
    meeting_services.meeting_reschedule(
        user=client_user, meeting_id=meeting.pk, scheduled_for=meeting.scheduled_for + timedelta(hours=2)
    )

    work_until_idle()

    [old] = reminders_for(provider)
    assert (old.status, old.outcome) == ("skipped", "meeting moved, started or cancelled")


def test_a_participant_reminded_for_the_old_time_is_reminded_again_for_the_new_one(
    client_user, provider, project, clock
):
    meeting = schedule(client_user, project, in_minutes=30)
    clock.shift(timedelta(minutes=30 - REMINDER_MINUTES))
    work_until_idle()
    new_time = meeting.scheduled_for + timedelta(hours=1)
    meeting_services.meeting_reschedule(user=client_user, meeting_id=meeting.pk, scheduled_for=new_time)
    clock.move_to(new_time - timedelta(minutes=REMINDER_MINUTES))
    work_until_idle()

    assert [(r.meeting_time, r.status) for r in reminders_for(provider)] == [
        (meeting.scheduled_for, "sent"),
        (new_time, "sent"),
    ]


def test_a_cancelled_meeting_is_not_reminded(client_user, provider, project, clock):
    meeting = schedule(client_user, project, in_minutes=30)
    meeting_services.meeting_cancel(user=client_user, meeting_id=meeting.pk)
    clock.shift(timedelta(minutes=30 - REMINDER_MINUTES))

    work_until_idle()

    assert reminders_for(provider) == []


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_remind_each_participant_once(client_user, provider, project, inbox, clock):
    requires_postgres()
    schedule(client_user, project, in_minutes=REMINDER_MINUTES)
    work_in_two_threads_at_once()

    reminders = [m["To"] for m in inbox.messages() if m["Subject"].startswith("Starting soon")]
    assert sorted(reminders) == [client_user.email, provider.email]


@pytest.mark.django_db(transaction=True)
async def test_the_reminder_reaches_the_participants_socket_and_no_email_while_online(
    client_user, provider, project, inbox, clock
):
    bob = await connect_as(provider)
    meeting = await sync_to_async(schedule)(client_user, project, in_minutes=REMINDER_MINUTES)
    assert (await next_frame(bob))["event"] == "meeting:invite"

    await sync_to_async(work_until_idle)()

    frame = await next_frame(bob)
    assert (frame["event"], frame["data"]["id"], frame["data"]["title"]) == (
        "meeting:reminder",
        meeting.pk,
        "Design review",
    )
    reminded = [m["To"] for m in inbox.messages() if m["Subject"].startswith("Starting soon")]
    assert reminded == [client_user.email]
    await bob.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_the_reminder_reaches_a_socketio_participant(client_user, provider, project, clock):
    bob = await sio_connected_as(provider)
    meeting = await sync_to_async(schedule)(client_user, project, in_minutes=REMINDER_MINUTES)
    assert decode_event(await next_packet(bob))[0] == "meeting:invite"

    await sync_to_async(work_until_idle)()

    event, data = decode_event(await next_packet(bob))
    assert (event, data["id"]) == ("meeting:reminder", meeting.pk)
    await bob.disconnect()

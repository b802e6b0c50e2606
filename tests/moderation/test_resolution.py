"""Support staff's decision on a report: the first of two decisions stands, and the reporter hears of it on
their sockets once it commits (not before) and by an email the worker sends."""

import pytest
from asgiref.sync import sync_to_async
from django.core import mail

from kernel.errors import Invalid, NotAllowed, ReportClosed
from moderation import services
from moderation.models import Report
from notifications import services as notification_services
from notifications.models import Notification
from realtime.events import user_group
from realtime.publish import publish_counters
from tests.integrations.conftest import work_until_idle
from tests.messaging.conftest import GroupListener
from tests.realtime.socketio_frames import decode_event, next_packet, sio_connected_as
from tests.realtime.sockets import connect_as, next_frame

pytestmark = pytest.mark.django_db

NOTE = "We warned the provider; payments stay on the platform."


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.SITE_URL = "https://chat.example.com"


def resolve(report, staff, status="resolved", note=NOTE):
    return services.report_resolve(report_id=report.pk, by=staff, status=status, note=note)


def test_resolving_records_the_decision(report, staff):
    resolve(report, staff)

    report.refresh_from_db()
    assert (report.status, report.resolution_note, report.resolved_by_id) == ("resolved", NOTE, staff.pk)
    assert report.resolved_at is not None


def test_the_reporter_hears_of_it_on_their_sockets_after_commit_not_before(
    report, staff, client_user, django_capture_on_commit_callbacks
):
    listener = GroupListener(user_group(client_user.pk))
    published = publish_counters.snapshot()["published"]

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        resolve(report, staff, status="dismissed")
    # Nothing left for the channel layer before the commit. (Listening for silence here would cancel a
    # receive, which loses the next message on channels_redis.)
    assert publish_counters.snapshot()["published"] == published
    for callback in callbacks:
        callback()

    event = listener.next_event()
    assert event["event"] == "report:resolved"
    assert (event["data"]["id"], event["data"]["status"], event["data"]["resolutionNote"]) == (
        report.pk,
        "dismissed",
        NOTE,
    )
    assert "resolvedBy" not in event["data"]
    listener.close()


def test_the_worker_emails_the_reporter_the_decision_and_the_note(report, staff, client_user, project):
    resolve(report, staff)

    work_until_idle()

    [email] = mail.outbox
    assert email.to == [client_user.email]
    assert email.subject == f"Your report in “{project.title}” was resolved"
    assert NOTE in email.body and "bob at gmail dot com" in email.body
    assert Notification.objects.get(kind="report_resolved").status == Notification.Status.SENT


def test_a_reporter_who_turned_email_off_gets_no_email(report, staff, client_user):
    notification_services.preference_update(user=client_user, email="off")
    resolve(report, staff)

    work_until_idle()

    assert mail.outbox == []
    assert Notification.objects.get(kind="report_resolved").outcome == "email off"


def test_a_decided_report_stays_decided_and_nobody_is_told_twice(report, staff, django_capture_on_commit_callbacks):
    resolve(report, staff)

    with django_capture_on_commit_callbacks(execute=False) as callbacks, pytest.raises(ReportClosed):
        resolve(report, staff, status="dismissed", note="changed my mind")

    assert callbacks == []
    report.refresh_from_db()
    assert (report.status, report.resolution_note) == ("resolved", NOTE)


def test_only_staff_resolve(report, client_user):
    with pytest.raises(NotAllowed):
        resolve(report, client_user)
    assert Report.objects.get().status == "open"


@pytest.mark.parametrize(("status", "note", "field"), [("open", NOTE, "status"), ("resolved", "  ", "resolutionNote")])
def test_a_decision_needs_a_closing_status_and_a_note(report, staff, status, note, field):
    with pytest.raises(Invalid) as refused:
        resolve(report, staff, status=status, note=note)
    assert refused.value.field == field


@pytest.mark.django_db(transaction=True)
async def test_the_reporters_websocket_gets_report_resolved(report, staff, client_user):
    alice = await connect_as(client_user)

    await sync_to_async(resolve)(report, staff)

    frame = await next_frame(alice)
    assert (frame["event"], frame["data"]["id"], frame["data"]["status"]) == ("report:resolved", report.pk, "resolved")
    await alice.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_the_reporters_socketio_connection_gets_report_resolved(report, staff, client_user):
    alice = await sio_connected_as(client_user)

    await sync_to_async(resolve)(report, staff)

    event, data = decode_event(await next_packet(alice))
    assert (event, data["id"], data["resolutionNote"]) == ("report:resolved", report.pk, NOTE)
    await alice.disconnect()

"""The review queue in Django's admin, as support staff use it: open reports first, filtered by status and
reason, searched, with the reported text and links; the decision is an action with the note typed beside it,
through the service (its refusals shown to staff). Anyone not staff is sent to the login page."""

import pytest
from django.urls import reverse

from moderation import services
from moderation.models import Report
from realtime.events import user_group
from tests.admin_pages import messages_shown
from tests.messaging.conftest import GroupListener

pytestmark = pytest.mark.django_db

QUEUE = reverse("admin:moderation_report_changelist")
NOTE = "Warned the provider."


def decide(client, action: str, *reports, note: str = NOTE):
    return client.post(
        QUEUE,
        {"action": action, "_selected_action": [report.pk for report in reports], "resolution_note": note},
        follow=True,
    )


def test_the_queue_shows_the_reported_text_and_links_to_the_message_and_conversation(staff_admin, report):
    page = staff_admin.get(QUEUE).content.decode()

    assert "Pay me at bob at gmail dot com instead" in page
    assert reverse("admin:messaging_message_change", args=[report.message_id]) in page
    assert reverse("admin:messaging_conversation_change", args=[report.message.conversation_id]) in page
    assert 'name="resolution_note"' in page


def test_the_queue_filters_by_status_and_reason_and_searches(staff_admin, report, staff):
    services.report_resolve(report_id=report.pk, by=staff, status="dismissed", note=NOTE)

    def listed(query: dict) -> list[int]:
        return [row.pk for row in staff_admin.get(QUEUE, query).context["cl"].result_list]

    assert listed({"status__exact": "open"}) == []
    assert listed({"status__exact": "dismissed"}) == [report.pk]
    assert listed({"reason__exact": "spam"}) == []
    assert listed({"reason__exact": "off_platform"}) == [report.pk]
    assert listed({"q": "gmail"}) == [report.pk]


def test_the_change_page_shows_the_report_read_only(staff_admin, report):
    page = staff_admin.get(reverse("admin:moderation_report_change", args=[report.pk])).content.decode()

    assert "Asks to pay outside" in page and "Pay me at bob at gmail dot com instead" in page
    assert 'name="details"' not in page


def test_resolving_through_the_action_records_the_note_and_tells_the_reporter(
    staff_admin, staff, report, client_user, django_capture_on_commit_callbacks
):
    listener = GroupListener(user_group(client_user.pk))

    with django_capture_on_commit_callbacks(execute=True):
        response = decide(staff_admin, "resolve", report)

    assert messages_shown(response) == [("success", "Resolved: 1.")]
    report.refresh_from_db()
    assert (report.status, report.resolution_note, report.resolved_by_id) == ("resolved", NOTE, staff.pk)
    assert listener.next_event()["event"] == "report:resolved"
    listener.close()


def test_dismissing_through_the_action(staff_admin, report):
    decide(staff_admin, "dismiss", report)

    assert Report.objects.get().status == "dismissed"


def test_a_decision_without_a_note_is_refused_in_the_services_words(staff_admin, report):
    response = decide(staff_admin, "resolve", report, note="")

    assert messages_shown(response) == [("error", f"{report}: Write a note for the reporter.")]
    assert Report.objects.get().status == "open"


def test_deciding_a_decided_report_again_is_refused(staff_admin, staff, report):
    services.report_resolve(report_id=report.pk, by=staff, status="resolved", note=NOTE)
    report.refresh_from_db()

    response = decide(staff_admin, "dismiss", report, note="other")

    assert messages_shown(response) == [("error", f"{report}: This report was already resolved.")]
    assert Report.objects.get().resolution_note == NOTE


@pytest.mark.parametrize("persona", ["client_user", "provider"])
def test_anyone_not_staff_cannot_reach_the_queue(client, request, report, persona):
    client.force_login(request.getfixturevalue(persona))

    assert client.get(QUEUE).status_code == 302
    response = client.post(QUEUE, {"action": "resolve", "_selected_action": [report.pk], "resolution_note": NOTE})
    assert response.status_code == 302
    assert Report.objects.get().status == "open"

"""Concurrent reports and decisions on real PostgreSQL: the unique constraint makes one report of two first
reports at once, and the report's row lock makes one decision of two, told to the reporter once."""

import pytest
from rest_framework.test import APIClient

from integrations.models import Event
from moderation import services
from moderation.models import Report
from tests.concurrency import together
from tests.conftest import requires_postgres
from tests.moderation.conftest import report_url

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_first_reports_at_once_make_one_report_and_both_answer_it(client_user, bobs_message):
    requires_postgres()

    def post():
        client = APIClient()
        client.force_authenticate(client_user)
        response = client.post(report_url(bobs_message), {"reason": "spam"}, format="json")
        return response.status_code, response.json()["id"]

    outcomes = together([post, post])

    report = Report.objects.get()
    assert sorted(outcomes) == [(200, report.pk), (201, report.pk)]
    assert Event.objects.filter(type="report.created").count() == 1


def test_two_decisions_at_once_leave_the_first_and_one_event(report, staff):
    requires_postgres()

    def decide(status):
        return lambda: services.report_resolve(report_id=report.pk, by=staff, status=status, note=status)

    outcomes = together([decide("resolved"), decide("dismissed")])

    refused = [outcome for outcome in outcomes if isinstance(outcome, Exception)]
    assert [type(exc).__name__ for exc in refused] == ["ReportClosed"]
    report.refresh_from_db()
    assert report.resolution_note == report.status
    assert Event.objects.filter(type="report.resolved").count() == 1

"""POST /api/messages/{id}/report: a participant reports another's message to support staff, once; to anyone
outside the conversation the message does not exist."""

import pytest

from messaging import services as messaging_services
from moderation import events
from moderation.models import Report
from moderation.serializers import ReportSerializer
from tests.conftest import documented
from tests.moderation.conftest import report_url

pytestmark = pytest.mark.django_db


def test_a_participant_reports_a_message_and_gets_the_open_report(api, client_user, bobs_message):
    response = api.as_user(client_user).post(
        report_url(bobs_message), {"reason": "off_platform", "details": "  Wants to be paid outside  "}, format="json"
    )

    assert response.status_code == 201
    body = response.json()
    report = Report.objects.get()
    assert body == {
        "id": report.pk,
        "messageId": bobs_message.pk,
        "conversationId": bobs_message.conversation_id,
        "reason": "off_platform",
        "details": "Wants to be paid outside",
        "status": "open",
        "resolutionNote": "",
        "createdAt": body["createdAt"],
        "resolvedAt": None,
    }
    assert (report.reporter_id, report.message_content) == (client_user.pk, bobs_message.content)


def test_details_are_optional(api, client_user, bobs_message):
    response = api.as_user(client_user).post(report_url(bobs_message), {"reason": "spam"}, format="json")

    assert response.status_code == 201 and response.json()["details"] == ""


def test_reporting_again_answers_200_with_the_first_report_unchanged(api, client_user, bobs_message):
    first = api.as_user(client_user).post(report_url(bobs_message), {"reason": "spam"}, format="json").json()

    again = api.as_user(client_user).post(
        report_url(bobs_message), {"reason": "harassment", "details": "more"}, format="json"
    )

    assert again.status_code == 200
    assert again.json() == first
    assert Report.objects.count() == 1


def test_an_outsider_gets_404_as_for_a_message_that_does_not_exist(api, outsider, bobs_message):
    response = api.as_user(outsider).post(report_url(bobs_message), {"reason": "spam"}, format="json")

    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "detail": "No such message."}
    assert not Report.objects.exists()


def test_a_removed_participant_gets_404(api, staff, client_user, bobs_message, conversation):
    messaging_services.participant_remove(conversation_id=conversation.pk, user_id=client_user.pk, by=staff)

    response = api.as_user(client_user).post(report_url(bobs_message), {"reason": "spam"}, format="json")

    assert response.status_code == 404 and not Report.objects.exists()


def test_the_anonymous_get_401(api, bobs_message):
    assert api.post(report_url(bobs_message), {"reason": "spam"}, format="json").status_code == 401


def test_ones_own_message_cannot_be_reported(api, provider, bobs_message):
    response = api.as_user(provider).post(report_url(bobs_message), {"reason": "spam"}, format="json")

    assert response.status_code == 400
    assert response.json()["fields"] == {"messageId": ["You cannot report your own message."]}


def test_a_system_message_cannot_be_reported(api, client_user, project):
    system = messaging_services.system_message_post(
        project_id=project.pk, kind="project.completed", content="The project was completed.", data={}
    )

    response = api.as_user(client_user).post(report_url(system), {"reason": "spam"}, format="json")

    assert response.status_code == 400 and list(response.json()["fields"]) == ["messageId"]


def test_a_deleted_message_can_still_be_reported_staff_see_what_it_said(api, client_user, provider, bobs_message):
    messaging_services.message_delete(user=provider, message_id=bobs_message.pk)

    response = api.as_user(client_user).post(report_url(bobs_message), {"reason": "harassment"}, format="json")

    assert response.status_code == 201
    # The tombstone says nothing; its earlier version is in the message's revisions, which staff read.
    assert Report.objects.get().message_content == ""


@pytest.mark.parametrize(
    ("payload", "field"),
    [({}, "reason"), ({"reason": "rude"}, "reason"), ({"reason": "other", "details": "x" * 2001}, "details")],
)
def test_bad_input_is_refused_on_its_field(api, client_user, bobs_message, payload, field):
    response = api.as_user(client_user).post(report_url(bobs_message), payload, format="json")

    assert response.status_code == 400 and list(response.json()["fields"]) == [field]
    assert not Report.objects.exists()


def test_the_answer_is_the_payload_the_schema_documents(api, client_user, bobs_message):
    response = api.as_user(client_user).post(report_url(bobs_message), {"reason": "spam"}, format="json")

    report = Report.objects.select_related("message").get()
    assert response.json() == events.report_payload(report) == documented(ReportSerializer, report)


def test_a_report_costs_a_fixed_number_of_queries(api, client_user, bobs_message, django_assert_num_queries):
    # The service's transaction (a savepoint inside the test's), the message with its conversation, the earlier
    # report, the savepoint around the insert, the report and its outbox event, the two releases: the same for
    # any conversation length.
    with django_assert_num_queries(8):
        response = api.as_user(client_user).post(report_url(bobs_message), {"reason": "spam"}, format="json")
    assert response.status_code == 201

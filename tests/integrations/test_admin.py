"""Support staff register endpoints in the admin (the secret shown once) and watch and retry deliveries."""

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from integrations.models import Delivery, Endpoint, Event
from tests.integrations.conftest import endpoint_for

pytestmark = pytest.mark.django_db

PUBLIC_URL = "https://93.184.215.14/hooks"


@pytest.fixture
def support_admin(staff_admin, staff):
    staff.user_permissions.add(*Permission.objects.filter(content_type__app_label="integrations"))
    return staff_admin


@pytest.fixture
def deliveries(staff):
    endpoint = endpoint_for(PUBLIC_URL, staff=staff)
    made = []
    for number, status in enumerate(["failed", "delivered"]):
        event = Event.objects.create(public_id=f"evt_{number}", type="message.created", data={}, fanned_out=True)
        made.append(
            Delivery.objects.create(
                event=event,
                endpoint=endpoint,
                status=status,
                attempts=9 if status == "failed" else 1,
                last_status_code=503 if status == "failed" else 204,
                last_attempt_at=timezone.now(),
            )
        )
    return made


def test_the_delivery_list_shows_status_attempts_and_the_last_answer(support_admin, deliveries):
    page = support_admin.get("/admin/integrations/delivery/").content.decode()

    assert "503" in page and "204" in page
    assert "Failed" in page and "Delivered" in page


def test_the_delivery_list_filters_by_status(support_admin, deliveries):
    page = support_admin.get("/admin/integrations/delivery/", {"status__exact": "failed"}).content.decode()

    assert ("503" in page, "204" in page) == (True, False)


def test_retry_makes_the_chosen_deliveries_pending_and_due_now(support_admin, deliveries):
    failed = deliveries[0]
    before = timezone.now()

    response = support_admin.post(
        "/admin/integrations/delivery/", {"action": "retry", "_selected_action": [failed.pk]}, follow=True
    )

    failed.refresh_from_db()
    assert response.status_code == 200
    assert failed.status == "pending"
    assert before <= failed.next_attempt_at <= timezone.now()
    assert Delivery.objects.get(pk=deliveries[1].pk).status == "delivered"


def test_staff_add_an_endpoint_and_see_its_secret_once(support_admin):
    response = support_admin.post(
        "/admin/integrations/endpoint/add/",
        {"url": PUBLIC_URL, "events": ["message.created"], "description": "CRM", "active": "on"},
        follow=True,
    )

    endpoint = Endpoint.objects.get()
    assert endpoint.secret in response.content.decode()
    assert endpoint.created_by is not None
    assert (
        endpoint.secret not in support_admin.get(f"/admin/integrations/endpoint/{endpoint.pk}/change/").content.decode()
    )


def test_the_admin_refuses_a_private_target(support_admin):
    response = support_admin.post(
        "/admin/integrations/endpoint/add/", {"url": "http://127.0.0.1/hooks", "events": ["*"], "active": "on"}
    )

    assert response.status_code == 200  # the form again, with the error
    assert "private" in response.content.decode()
    assert not Endpoint.objects.exists()


def test_a_user_without_staff_rights_cannot_open_it(client, client_user):
    client.force_login(client_user)

    assert client.get("/admin/integrations/delivery/").status_code == 302

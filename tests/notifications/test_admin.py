"""Support staff read each user's email preference in the admin; the user alone changes it."""

import pytest

from notifications import services
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

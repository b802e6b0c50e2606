"""``/api/webhooks/endpoints``: support staff register, read, change, delete and test receivers; the secret
is shown once; unknown event types and private targets are refused on their field; nobody else gets in."""

import pytest

from integrations.models import Delivery, Endpoint
from tests.integrations.conftest import endpoint_for, verified, work_until_idle

pytestmark = pytest.mark.django_db

PUBLIC_URL = "https://93.184.215.14/hooks"


def test_staff_register_an_endpoint_and_see_its_secret_once(api, staff):
    response = api.as_user(staff).post(
        "/api/webhooks/endpoints",
        {"url": PUBLIC_URL, "events": ["message.created", "meeting.ended"], "description": "CRM"},
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    assert body["secret"].startswith("whsec_") and len(body["secret"]) > 40
    assert (body["url"], body["events"], body["active"]) == (PUBLIC_URL, ["message.created", "meeting.ended"], True)
    shown_again = api.get(f"/api/webhooks/endpoints/{body['id']}").json()
    assert "secret" not in shown_again
    assert "secret" not in api.get("/api/webhooks/endpoints").json()["results"][0]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hooks",
        "http://10.1.2.3/hooks",
        "http://192.168.0.10/hooks",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hooks",
        "http://localhost/hooks",
        "http://0.0.0.0/hooks",
        "http://[::ffff:127.0.0.1]/hooks",
    ],
)
def test_a_private_loopback_or_link_local_target_is_refused(api, staff, url):
    response = api.as_user(staff).post("/api/webhooks/endpoints", {"url": url, "events": ["*"]}, format="json")

    assert response.status_code == 400
    assert "url" in response.json()["fields"]
    assert not Endpoint.objects.exists()


def test_a_private_target_is_allowed_with_webhook_allow_private(api, staff, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    response = api.as_user(staff).post(
        "/api/webhooks/endpoints", {"url": "http://127.0.0.1:9/hooks", "events": ["*"]}, format="json"
    )

    assert response.status_code == 201


def test_an_unknown_event_type_is_refused_on_events(api, staff):
    response = api.as_user(staff).post(
        "/api/webhooks/endpoints", {"url": PUBLIC_URL, "events": ["message.reacted"]}, format="json"
    )

    assert response.status_code == 400
    assert "message.reacted" in response.json()["fields"]["events"][0]


def test_staff_change_an_endpoints_events_and_deactivate_it(api, staff):
    endpoint = endpoint_for(PUBLIC_URL, staff=staff)

    response = api.as_user(staff).patch(
        f"/api/webhooks/endpoints/{endpoint.pk}", {"events": ["project.created"], "active": False}, format="json"
    )

    assert response.status_code == 200
    assert (response.json()["events"], response.json()["active"]) == (["project.created"], False)


def test_staff_change_an_endpoints_url(api, staff):
    endpoint = endpoint_for(PUBLIC_URL, staff=staff)
    moved = "https://93.184.215.14/v2/hooks"

    response = api.as_user(staff).patch(f"/api/webhooks/endpoints/{endpoint.pk}", {"url": moved}, format="json")

    assert response.status_code == 200
    assert response.json()["url"] == moved
    endpoint.refresh_from_db()
    assert endpoint.url == moved


def test_changing_the_url_to_a_private_one_is_refused(api, staff):
    endpoint = endpoint_for(PUBLIC_URL, staff=staff)

    response = api.as_user(staff).patch(
        f"/api/webhooks/endpoints/{endpoint.pk}", {"url": "http://10.0.0.1/"}, format="json"
    )

    assert response.status_code == 400
    assert "url" in response.json()["fields"]


def test_staff_delete_an_endpoint(api, staff):
    endpoint = endpoint_for(PUBLIC_URL, staff=staff)

    response = api.as_user(staff).delete(f"/api/webhooks/endpoints/{endpoint.pk}")

    assert response.status_code == 204
    assert not Endpoint.objects.exists()


def test_a_missing_endpoint_is_404(api, staff):
    assert api.as_user(staff).get("/api/webhooks/endpoints/999").status_code == 404


def test_the_test_action_sends_webhook_test_to_that_endpoint_alone(api, staff, local_targets, receiver):
    hook = receiver()
    endpoint = endpoint_for(hook.url, staff=staff, events=["project.created"])
    endpoint_for(receiver().url, staff=staff)

    response = api.as_user(staff).post(f"/api/webhooks/endpoints/{endpoint.pk}/test")
    work_until_idle()

    assert response.status_code == 202
    (request,) = hook.received
    envelope = verified(endpoint, request)
    assert (envelope["type"], envelope["id"]) == ("webhook.test", response.json()["eventId"])
    assert Delivery.objects.count() == 1


@pytest.mark.parametrize("persona", ["client_user", "provider", "outsider"])
def test_no_one_but_staff_reaches_the_endpoints(api, staff, persona, request):
    endpoint = endpoint_for(PUBLIC_URL, staff=staff)
    caller = api.as_user(request.getfixturevalue(persona))

    answers = [
        caller.get("/api/webhooks/endpoints").status_code,
        caller.post("/api/webhooks/endpoints", {"url": PUBLIC_URL, "events": ["*"]}, format="json").status_code,
        caller.get(f"/api/webhooks/endpoints/{endpoint.pk}").status_code,
        caller.patch(f"/api/webhooks/endpoints/{endpoint.pk}", {"active": False}, format="json").status_code,
        caller.delete(f"/api/webhooks/endpoints/{endpoint.pk}").status_code,
        caller.post(f"/api/webhooks/endpoints/{endpoint.pk}/test").status_code,
    ]

    assert answers == [403] * 6
    assert Endpoint.objects.get().active

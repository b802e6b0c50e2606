"""Deliveries to a real receiver: Standard Webhooks' envelope and signature, retries with the same webhook-id,
410 disabling the endpoint, the retry schedule, and the address rules at send time."""

import json
import socket
import threading

import pytest
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from integrations import services
from integrations.models import Delivery, Endpoint, Event
from messaging import services as messaging_services
from projects import services as project_services
from projects.models import Project
from tests.integrations.conftest import endpoint_for, verified, work_until_idle

pytestmark = pytest.mark.django_db


@pytest.fixture
def immediate_retries(settings):
    """Retries at once and no jitter, so a test's worker steps make every attempt without waiting."""
    settings.WEBHOOK_RETRY_SCHEDULE = [0.0, 0.0, 0.0]
    settings.WEBHOOK_RETRY_JITTER = 0.0


def test_500_500_200_is_three_attempts_with_one_webhook_id_each_verified(
    local_targets, immediate_retries, receiver, staff, client_user, conversation
):
    hook = receiver(statuses=(500, 500))
    endpoint = endpoint_for(hook.url, staff=staff, events=["message.created"])
    message = messaging_services.message_send(user=client_user, conversation_id=conversation.pk, content="hi").message

    work_until_idle()

    assert hook.answered == [500, 500, 200]
    envelopes = [verified(endpoint, request) for request in hook.received]
    assert len(hook.distinct_ids()) == 1
    assert {envelope["id"] for envelope in envelopes} == hook.distinct_ids()
    assert envelopes[0]["type"] == "message.created"
    assert (envelopes[0]["data"]["id"], envelopes[0]["data"]["seq"]) == (message.pk, message.seq)
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 3, 200)


def test_the_envelope_is_id_type_created_at_and_the_rest_shape_of_the_resource(
    local_targets, receiver, staff, client_user, conversation, api
):
    hook = receiver()
    endpoint_for(hook.url, staff=staff, events=["message.created"])
    answer = api.as_user(client_user).post(
        "/api/messages", {"conversationId": conversation.pk, "content": "hello"}, format="json"
    )

    work_until_idle()

    envelope = json.loads(hook.received[0].body)
    assert set(envelope) == {"id", "type", "createdAt", "data"}
    assert envelope["data"] == {**answer.json(), "review": None}  # and the state of its contact review
    assert hook.received[0].headers["webhook-signature"].startswith("v1,")


def test_a_rolled_back_send_records_no_event_and_delivers_nothing(
    local_targets, receiver, staff, client_user, conversation
):
    hook = receiver()
    endpoint_for(hook.url, staff=staff)
    with pytest.raises(RuntimeError), transaction.atomic():
        messaging_services.message_send(user=client_user, conversation_id=conversation.pk, content="undone")
        raise RuntimeError("the caller's transaction fails after the send")

    work_until_idle()

    assert not Event.objects.filter(type="message.created").exists()
    assert (Delivery.objects.count(), hook.received) == (0, [])


def test_a_refused_send_records_no_event_and_delivers_nothing(
    local_targets, receiver, staff, client_user, project, conversation, api
):
    hook = receiver()
    endpoint_for(hook.url, staff=staff)
    project_services.project_set_status(project_id=project.pk, status=Project.Status.COMPLETED)
    work_until_idle()
    # The status change and its system message in the conversation.
    delivered_before, events_before = len(hook.received), Event.objects.count()

    response = api.as_user(client_user).post(
        "/api/messages", {"conversationId": conversation.pk, "content": "too late"}, format="json"
    )
    work_until_idle()

    assert response.status_code == 409
    assert Event.objects.count() == events_before
    assert len(hook.received) == delivered_before


def test_410_fails_the_delivery_and_disables_the_endpoint(local_targets, receiver, staff, client_user, conversation):
    hook = receiver(statuses=(410,))
    endpoint = endpoint_for(hook.url, staff=staff)
    messaging_services.message_send(user=client_user, conversation_id=conversation.pk, content="one")
    work_until_idle()
    messaging_services.message_send(user=client_user, conversation_id=conversation.pk, content="two")

    work_until_idle()

    endpoint.refresh_from_db()
    assert endpoint.active is False
    assert Delivery.objects.get().status == "failed"  # the second message found no active endpoint
    assert len(hook.received) == 1


def test_after_the_last_attempt_the_delivery_is_failed(
    local_targets, immediate_retries, receiver, staff, client_user, conversation
):
    hook = receiver(statuses=(500, 500, 500, 500, 500))
    endpoint_for(hook.url, staff=staff)
    messaging_services.message_send(user=client_user, conversation_id=conversation.pk, content="hi")

    work_until_idle()

    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, len(hook.received)) == ("failed", 4, 4)


def test_a_failing_delivery_does_not_hold_back_later_ones(local_targets, receiver, staff, client_user, conversation):
    hook = receiver(statuses=(500,))
    endpoint = endpoint_for(hook.url, staff=staff, events=["message.created"])
    for content in ("first", "second", "third"):
        messaging_services.message_send(user=client_user, conversation_id=conversation.pk, content=content)

    work_until_idle()

    contents = [verified(endpoint, request)["data"]["content"] for request in hook.received]
    assert contents == ["first", "second", "third"]  # in creation order; the first waits for its retry
    assert list(Delivery.objects.order_by("id").values_list("status", flat=True)) == [
        "pending",
        "delivered",
        "delivered",
    ]


def test_a_redirect_is_not_followed(local_targets, receiver, staff, client_user, conversation):
    hook = receiver(statuses=(302,))
    endpoint_for(hook.url, staff=staff)
    messaging_services.message_send(user=client_user, conversation_id=conversation.pk, content="hi")

    work_until_idle()

    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.last_status_code, len(hook.received)) == ("pending", 302, 1)


def test_a_private_target_is_refused_at_send_time_too(settings, receiver, staff, client_user, conversation):
    """Registered while private targets were allowed; the worker checks the resolved address again."""
    hook = receiver()
    settings.WEBHOOK_ALLOW_PRIVATE = True
    endpoint_for(hook.url, staff=staff)
    settings.WEBHOOK_ALLOW_PRIVATE = False
    messaging_services.message_send(user=client_user, conversation_id=conversation.pk, content="hi")

    work_until_idle()

    delivery = Delivery.objects.get()
    assert hook.received == []
    assert "private" in delivery.last_error
    assert delivery.status == "pending"


def test_the_default_schedule_retries_within_seconds_and_for_more_than_a_day():
    schedule = settings.WEBHOOK_RETRY_SCHEDULE

    assert schedule == [5, 30, 300, 1800, 7200, 18000, 36000, 36000]
    assert sum(schedule) >= 24 * 3600
    assert services.retry_delay(len(schedule) + 1) is None


@pytest.mark.parametrize("attempt", range(1, 9))
def test_each_retry_delay_is_jittered_within_ten_percent(attempt):
    nominal = settings.WEBHOOK_RETRY_SCHEDULE[attempt - 1]
    delays = {services.retry_delay(attempt) for _ in range(50)}

    assert all(0.9 * nominal <= delay <= 1.1 * nominal for delay in delays)
    assert len(delays) > 1


def test_a_delivery_another_worker_took_over_is_not_recorded_by_the_late_one(
    local_targets, receiver, staff, client_user, conversation
):
    hook = receiver()
    endpoint_for(hook.url, staff=staff)
    messaging_services.message_send(user=client_user, conversation_id=conversation.pk, content="hi")
    services.events_fan_out()
    (late,) = services.deliveries_claim(limit=1)
    Delivery.objects.update(claimed_until=timezone.now())  # its lease lapsed
    (current,) = services.deliveries_claim(limit=1)

    assert services.delivery_attempt(late) is False
    assert services.delivery_attempt(current) is True
    assert Delivery.objects.get().attempts == 1


def test_an_inactive_endpoint_gets_no_deliveries(local_targets, receiver, staff, client_user, conversation):
    hook = receiver()
    endpoint = endpoint_for(hook.url, staff=staff)
    Endpoint.objects.filter(pk=endpoint.pk).update(active=False)
    messaging_services.message_send(user=client_user, conversation_id=conversation.pk, content="hi")

    work_until_idle()

    assert (Delivery.objects.count(), hook.received) == (0, [])


def test_no_answer_within_the_timeout_is_a_failed_attempt_retried_later(
    local_targets, receiver, staff, client_user, conversation, settings
):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.2
    hook = receiver(delay=2.0)  # answers 200, but long after the timeout
    endpoint_for(hook.url, staff=staff)
    messaging_services.message_send(user=client_user, conversation_id=conversation.pk, content="hi")

    work_until_idle()

    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, None)
    assert "timed out" in delivery.last_error
    assert delivery.next_attempt_at > delivery.last_attempt_at


def test_the_default_timeout_is_ten_seconds():
    assert settings.WEBHOOK_TIMEOUT_SECONDS == 10.0


@pytest.fixture
def trickling_receiver():
    """A receiver that answers 200 one header line at a time, each well within the per-read timeout, so that
    the whole answer takes far longer than WEBHOOK_TIMEOUT_SECONDS."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve():
        connection, _ = server.accept()
        with connection:
            request = b""
            while b"\r\n\r\n" not in request:
                request += connection.recv(65536)
            head, body = request.split(b"\r\n\r\n", 1)
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            while len(body) < length:
                body += connection.recv(65536)
            connection.sendall(b"HTTP/1.1 200 OK\r\n")
            for _ in range(40):
                if stop.wait(0.1):
                    return
                try:
                    connection.sendall(b"x-slow: 1\r\n")
                except OSError:
                    return
            connection.sendall(b"content-length: 0\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/hooks"
    stop.set()
    server.close()
    thread.join(5)


def test_the_timeout_bounds_the_whole_attempt_not_each_read(
    local_targets, trickling_receiver, staff, client_user, conversation, settings
):
    """Otherwise a receiver trickling its answer could hold an attempt past its claim's lease, and another
    worker would make the same attempt at once."""
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    endpoint_for(trickling_receiver, staff=staff)
    messaging_services.message_send(user=client_user, conversation_id=conversation.pk, content="hi")

    work_until_idle()

    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, None)
    assert "timed out" in delivery.last_error

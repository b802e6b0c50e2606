"""POST /api/messages past SEND_MAX_IN_FLIGHT, or while the sockets' pushes lag past DELIVERY_MAX_LAG_MS: 503
with Retry-After, nothing written, the slot freed after; GET /api/health shows sends in flight, the limit,
the lag and the rejections."""

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
from channels.layers import get_channel_layer
from channels.testing import HttpCommunicator
from django.core.handlers.asgi import ASGIHandler
from django.db import connections, transaction
from django.http import JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from messaging.models import Conversation, Message
from realtime import admission
from realtime.admission import delivery_lag, send_admission
from realtime.events import user_group
from realtime.publish import group_message
from tests.conftest import requires_postgres
from tests.messaging.conftest import fresh_throttle_counts  # noqa: F401
from tests.realtime.sockets import connect_as, next_frame

pytestmark = pytest.mark.django_db


@contextmanager
def _holding_a_slot():
    """One send slot taken, as a concurrent request in flight takes it."""
    assert send_admission.acquire()
    try:
        yield
    finally:
        send_admission.release()


def _post(api, user, conversation, content="hello"):
    return api.as_user(user).post(
        "/api/messages", {"conversationId": conversation.pk, "content": content}, format="json"
    )


@pytest.fixture
def one_send_in_flight(settings):
    """A limit of one, held by a send in flight, as a concurrent request would hold it."""
    settings.SEND_MAX_IN_FLIGHT = 1
    with _holding_a_slot():
        yield


def test_a_send_past_the_limit_is_answered_503_with_retry_after(api, client_user, conversation, one_send_in_flight):
    response = _post(api, client_user, conversation)

    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    assert response.json() == {
        "code": "overloaded",
        "detail": "The server is at its limit of 1 message sends in flight; retry in 1 s.",
        "retryAfter": 1,
    }


def test_a_refusal_costs_no_query_not_even_the_callers_lookup(
    client_user, conversation, one_send_in_flight, django_assert_num_queries
):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(client_user)}")

    with django_assert_num_queries(0):
        response = api.post("/api/messages", {"conversationId": conversation.pk, "content": "hi"}, format="json")

    assert response.status_code == 503


def test_a_refused_send_writes_nothing(api, client_user, conversation, one_send_in_flight):
    _post(api, client_user, conversation, "refused")

    assert not Message.objects.filter(conversation=conversation).exists()


def test_the_slot_frees_once_the_send_in_flight_is_done(api, client_user, conversation, settings):
    settings.SEND_MAX_IN_FLIGHT = 1
    with _holding_a_slot():
        refused = _post(api, client_user, conversation, "refused")

    accepted = _post(api, client_user, conversation, "accepted")

    assert (refused.status_code, accepted.status_code) == (503, 201)
    assert list(Message.objects.values_list("content", flat=True)) == ["accepted"]


def test_a_send_that_fails_frees_its_slot(api, client_user, conversation, settings):
    settings.SEND_MAX_IN_FLIGHT = 1

    invalid = _post(api, client_user, conversation, "")
    accepted = _post(api, client_user, conversation, "after the invalid one")

    assert (invalid.status_code, accepted.status_code) == (400, 201)
    assert send_admission.snapshot()["inFlight"] == 0


def test_health_shows_sends_in_flight_the_limit_and_rejections(api, client_user, conversation, one_send_in_flight):
    rejected_before = send_admission.snapshot()["rejected"]
    _post(api, client_user, conversation)

    response = api.get("/api/health")

    assert response.status_code == 200
    assert response.json()["sends"] == {"inFlight": 1, "limit": 1, "rejected": rejected_before + 1}


def _post_from_another_thread(user, conversation) -> int:
    try:
        api = APIClient()
        api.force_authenticate(user=user)
        return api.post(
            "/api/messages", {"conversationId": conversation.pk, "content": "waited"}, format="json"
        ).status_code
    finally:
        connections.close_all()


def _wait_for_in_flight(count: int) -> None:
    deadline = time.monotonic() + 10
    while send_admission.snapshot()["inFlight"] != count:
        assert time.monotonic() < deadline, "the first send was never admitted"
        time.sleep(0.01)


@pytest.mark.django_db(transaction=True)
def test_a_send_waiting_on_the_database_holds_its_slot(api, client_user, provider, conversation, settings):
    requires_postgres()
    settings.SEND_MAX_IN_FLIGHT = 1
    with ThreadPoolExecutor(max_workers=1) as pool:
        with transaction.atomic():
            # The send takes this row lock too, so it waits, admitted, until this transaction ends.
            Conversation.objects.select_for_update().get(pk=conversation.pk)
            waiting = pool.submit(_post_from_another_thread, client_user, conversation)
            _wait_for_in_flight(1)
            refused = _post(api, provider, conversation, "refused")

        assert (refused.status_code, waiting.result(timeout=10)) == (503, 201)
    assert list(Message.objects.values_list("content", flat=True)) == ["waited"]


@csrf_exempt  # as DRF's views are
async def _held_send(request):
    """Stands in for the send view: it stays in flight until the test lets it go."""
    await sends_may_finish.wait()
    return JsonResponse({}, status=201)


sends_may_finish = asyncio.Event()
urlpatterns = [path("api/messages", _held_send, name="message-list")]


async def _post_through_asgi(handler: ASGIHandler) -> dict:
    communicator = HttpCommunicator(handler, "POST", "/api/messages", headers=[(b"host", b"127.0.0.1")])
    response = await communicator.get_response(timeout=10)
    await communicator.wait()
    return response


@pytest.mark.django_db(transaction=True)
async def test_under_asgi_sends_past_the_limit_are_refused_while_the_admitted_ones_run(settings):
    settings.SEND_MAX_IN_FLIGHT = 2
    settings.ROOT_URLCONF = __name__
    sends_may_finish.clear()
    handler = ASGIHandler()

    admitted = [asyncio.create_task(_post_through_asgi(handler)) for _ in range(2)]
    while send_admission.snapshot()["inFlight"] != 2:
        await asyncio.sleep(0.001)
    refused = await asyncio.gather(*(_post_through_asgi(handler) for _ in range(3)))
    sends_may_finish.set()
    answered = await asyncio.gather(*admitted)

    assert [response["status"] for response in refused] == [503, 503, 503]
    assert all((b"Retry-After", b"1") in response["headers"] for response in refused)
    assert [response["status"] for response in answered] == [201, 201]
    assert send_admission.snapshot()["inFlight"] == 0


# Delivery lag ------------------------------------------------------------------------------------


@pytest.fixture
def pushes_lagging(settings):
    """This process's sockets just received a push published 800 ms ago, past a limit of 500 ms."""
    settings.DELIVERY_MAX_LAG_MS = 500
    delivery_lag.observe(time.time() - 0.8)
    yield
    delivery_lag.observe(time.time())


def test_a_push_reports_its_age_from_its_publish():
    delivery_lag.observe(group_message("message:new", {})["published_at"] - 0.3)

    assert 300 <= delivery_lag.lag_ms() < 1000


def test_an_observed_lag_clears_after_a_quiet_second(monkeypatch):
    delivery_lag.observe(time.time() - 0.8)
    observed = time.monotonic()

    monkeypatch.setattr(admission.time, "monotonic", lambda: observed + admission.LAG_MEMORY_SECONDS)

    assert delivery_lag.lag_ms() == 0.0


def test_a_later_fresh_push_clears_the_lag(pushes_lagging):
    delivery_lag.observe(time.time())

    assert delivery_lag.lag_ms() < 500


def test_a_send_while_pushes_lag_is_answered_503_with_retry_after(api, client_user, conversation, pushes_lagging):
    response = _post(api, client_user, conversation)

    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    assert response.json() == {
        "code": "overloaded",
        "detail": "Deliveries to sockets are more than 500 ms behind; retry in 1 s.",
        "retryAfter": 1,
    }


def test_a_send_refused_for_lag_costs_no_query_and_holds_no_slot(
    client_user, conversation, pushes_lagging, django_assert_num_queries
):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(client_user)}")

    with django_assert_num_queries(0):
        response = api.post("/api/messages", {"conversationId": conversation.pk, "content": "hi"}, format="json")

    assert response.status_code == 503
    assert send_admission.snapshot()["inFlight"] == 0
    assert not Message.objects.exists()


@pytest.mark.django_db(transaction=True)
async def test_a_socket_receiving_a_push_reports_its_age(client_user):
    socket = await connect_as(client_user)
    message = group_message("conversation:new", {"id": 7})
    message["published_at"] -= 0.7

    await get_channel_layer().group_send(user_group(client_user.pk), message)
    frame = await next_frame(socket)
    await socket.disconnect()

    assert frame["data"] == {"id": 7}
    assert delivery_lag.lag_ms() >= 700
    delivery_lag.observe(time.time())


def test_health_shows_the_delivery_lag_its_limit_and_rejections(api, client_user, conversation, pushes_lagging):
    rejected_before = delivery_lag.snapshot()["rejected"]
    _post(api, client_user, conversation)

    delivery = api.get("/api/health").json()["delivery"]

    assert delivery["limitMs"] == 500
    assert delivery["lagMs"] >= 800
    assert delivery["rejected"] == rejected_before + 1


@pytest.mark.django_db(transaction=True)
async def test_under_asgi_a_send_while_pushes_lag_is_refused(settings):
    settings.ROOT_URLCONF = __name__
    settings.DELIVERY_MAX_LAG_MS = 100
    sends_may_finish.set()
    handler = ASGIHandler()
    delivery_lag.observe(time.time() - 0.2)
    refused = await _post_through_asgi(handler)
    delivery_lag.observe(time.time())

    admitted = await _post_through_asgi(handler)

    assert (refused["status"], admitted["status"]) == (503, 201)
    assert (b"Retry-After", b"1") in refused["headers"]

"""Real ``manage.py run_worker`` processes against a real receiver: a receiver that is down while 200 messages
are sent gets every one once it is up; a worker killed with ``kill -9`` mid-POST has its delivery made by the
next one after the lease; two workers on PostgreSQL never make one attempt twice at once."""

import json
from collections import Counter

import pytest

from bench.servers import free_port
from integrations.models import Event
from messaging import services as messaging_services
from tests.conftest import requires_postgres
from tests.integrations.conftest import endpoint_for, verified

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

DEADLINE_SECONDS = 90
# Short retries: a receiver that comes back is reached within seconds.
QUICK_RETRIES = {"WEBHOOK_RETRY_SCHEDULE": "1s,1s,2s,2s,3s,5s,5s,10s", "WORKER_POLL_SECONDS": "0.2"}


def send_messages(user, conversation, count: int) -> list[int]:
    return [
        messaging_services.message_send(user=user, conversation_id=conversation.pk, content=f"m{n}").message.pk
        for n in range(count)
    ]


def test_a_receiver_down_while_200_messages_are_sent_gets_each_once_it_is_up(
    receiver, workers, staff, client_user, conversation, settings
):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    port = free_port()
    endpoint = endpoint_for(f"http://127.0.0.1:{port}/hooks", staff=staff, events=["message.created"])
    sent = send_messages(client_user, conversation, 200)
    worker = workers.start(QUICK_RETRIES)
    # Nothing listens on the port: every delivery fails its first attempt (connection refused).
    failed_once = "SELECT count(*) FROM integrations_delivery WHERE attempts >= 1 AND status = 'pending'"
    assert workers.wait_for_rows(failed_once, 200, DEADLINE_SECONDS)
    hook = receiver(port=port)

    arrived = hook.wait_until(lambda received: len({r.webhook_id for r in received}) >= 200, DEADLINE_SECONDS)

    worker.stop()
    assert arrived, f"{len(hook.distinct_ids())} of 200 arrived"
    first_of_each = {request.webhook_id: request for request in reversed(hook.received)}
    delivered = sorted(verified(endpoint, request)["data"]["id"] for request in first_of_each.values())
    assert delivered == sorted(sent)
    assert set(first_of_each) == set(Event.objects.filter(type="message.created").values_list("public_id", flat=True))


def test_a_worker_killed_mid_post_has_its_delivery_made_after_the_lease(
    receiver, workers, staff, client_user, conversation, settings
):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    hook = receiver(hold=True)
    endpoint = endpoint_for(hook.url, staff=staff, events=["message.created"])
    (message_id,) = send_messages(client_user, conversation, 1)
    lease = {"WEBHOOK_CLAIM_LEASE_SECONDS": "3", "WEBHOOK_TIMEOUT_SECONDS": "2", "WORKER_POLL_SECONDS": "0.2"}
    first = workers.start(lease, concurrency=1)
    assert hook.held.wait(DEADLINE_SECONDS), "the first worker never posted"

    first.kill()
    hook.release()
    second = workers.start(lease, concurrency=1)
    arrived = hook.wait_until(lambda received: len(received) >= 2, DEADLINE_SECONDS)

    second.stop()
    assert arrived
    assert hook.answered == [200]
    killed, redelivered = hook.received[:2]
    assert killed.webhook_id == redelivered.webhook_id
    assert verified(endpoint, redelivered)["data"]["id"] == message_id


def test_two_workers_on_postgresql_never_make_one_attempt_twice(
    receiver, workers, staff, client_user, conversation, settings
):
    requires_postgres()
    settings.WEBHOOK_ALLOW_PRIVATE = True
    hook = receiver(delay=0.02)  # each POST takes a while, so both workers are claiming at once
    endpoint_for(hook.url, staff=staff, events=["message.created"])
    send_messages(client_user, conversation, 100)
    for _ in range(2):
        workers.start({"WORKER_POLL_SECONDS": "0.1"}, concurrency=4)

    arrived = hook.wait_until(lambda received: len(received) >= 100, DEADLINE_SECONDS)

    assert arrived
    posts = Counter(request.webhook_id for request in hook.received)
    assert len(posts) == 100
    assert max(posts.values()) == 1
    assert [json.loads(request.body)["type"] for request in hook.received] == ["message.created"] * 100

"""Concurrent sends on real PostgreSQL: the conversation row lock numbers them without gaps and
lets one client message id through once."""

import threading
import uuid

import pytest
from django.db import connection
from rest_framework.test import APIClient

from messaging.models import Message
from tests.conftest import requires_postgres

pytestmark = pytest.mark.django_db(transaction=True)

SENDERS = 8


def _post_all(payloads: list[tuple[object, dict]]) -> list[int]:
    barrier = threading.Barrier(len(payloads))
    statuses: list[int] = []

    def post(user, payload):
        try:
            client = APIClient()
            client.force_authenticate(user)
            barrier.wait()
            statuses.append(client.post("/api/messages", payload, format="json").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=pair) for pair in payloads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return statuses


def test_concurrent_sends_get_consecutive_seqs_in_id_order(client_user, provider, conversation):
    requires_postgres()
    payloads = [
        ((client_user, provider)[n % 2], {"conversationId": conversation.pk, "content": f"race {n}"})
        for n in range(SENDERS)
    ]

    statuses = _post_all(payloads)

    assert statuses == [201] * SENDERS
    seqs_by_id = list(Message.objects.order_by("id").values_list("seq", flat=True))
    assert seqs_by_id == list(range(1, SENDERS + 1))
    conversation.refresh_from_db()
    assert conversation.last_message_seq == SENDERS


def test_concurrent_retries_of_one_client_message_id_make_one_message(client_user, conversation):
    requires_postgres()
    payload = {"conversationId": conversation.pk, "content": "once", "clientMessageId": str(uuid.uuid4())}

    statuses = _post_all([(client_user, payload)] * SENDERS)

    assert sorted(statuses) == [200] * (SENDERS - 1) + [201]
    assert Message.objects.count() == 1

"""Concurrent sends on real PostgreSQL, through POST /api/messages (messaging.send): the conversation row
lock numbers them without gaps, lets one client message id through once, and orders them after a removal."""

import threading
import uuid

import pytest
from django.db import connection
from rest_framework.test import APIClient

from messaging import services
from messaging.models import Message
from messaging.selectors import conversation_chain_verify
from tests.concurrency import together
from tests.conftest import make_project, requires_postgres, run_behind_a_removal

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


def test_one_client_message_id_racing_in_two_conversations_makes_one_message(client_user, provider, conversation):
    requires_postgres()
    second = make_project(client_user, provider, title="Second").conversation
    client_message_id = str(uuid.uuid4())
    payloads = [
        (client_user, {"conversationId": target.pk, "content": "once", "clientMessageId": client_message_id})
        for target in (conversation, second) * (SENDERS // 2)
    ]

    statuses = _post_all(payloads)

    assert sorted(statuses) == [200] * (SENDERS - 1) + [201]
    assert Message.objects.count() == 1


def test_a_post_that_waited_behind_the_removal_is_refused_with_404(provider, staff, conversation):
    requires_postgres()
    answers = []

    def post_as_bob():
        api = APIClient()
        api.force_authenticate(provider)
        payload = {"conversationId": conversation.pk, "content": "sneaking in"}
        answers.append(api.post("/api/messages", payload, format="json"))

    run_behind_a_removal(post_as_bob, conversation_id=conversation.pk, user_id=provider.pk, by=staff)

    assert [answer.status_code for answer in answers] == [404]
    assert not Message.objects.filter(content="sneaking in").exists()


def test_concurrent_sends_changes_and_system_messages_keep_the_record_verifying(client_user, provider, conversation):
    # Each link is hashed after the head read under the conversation's row lock: racing writers chain in turn.
    requires_postgres()
    mine = services.message_send(user=client_user, conversation_id=conversation.pk, content="to edit").message
    theirs = services.message_send(user=provider, conversation_id=conversation.pk, content="to delete").message

    def post(user, content):
        client = APIClient()
        client.force_authenticate(user)
        return client.post("/api/messages", {"conversationId": conversation.pk, "content": content}, format="json")

    outcomes = together(
        [lambda n=n: post((client_user, provider)[n % 2], f"race {n}") for n in range(SENDERS)]
        + [
            lambda: services.message_edit(user=client_user, message_id=mine.pk, content="edited in the race"),
            lambda: services.message_delete(user=provider, message_id=theirs.pk),
            lambda: services.system_message_post(
                project_id=conversation.project_id, kind="meeting.started", data={"meetingId": 1}, content="Call"
            ),
        ]
    )

    assert [outcome.status_code for outcome in outcomes[:SENDERS]] == [201] * SENDERS
    assert not any(isinstance(outcome, Exception) for outcome in outcomes)
    assert Message.objects.count() == 2 + SENDERS + 1
    assert conversation_chain_verify(conversation_id=conversation.pk) is None

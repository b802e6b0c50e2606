"""The contact filter's policies where a message leaves the request: the sockets of its sender and of its
recipients, the join replay, the offline email (none for a held message until staff approve it), the fast send
statement of PostgreSQL, and the setting read at start-up."""

import os
import subprocess
import sys

import pytest
from channels.db import database_sync_to_async
from django.db import connection

from kernel.contact_filter import MASK
from messaging import services
from messaging.models import Message
from tests.conftest import requires_postgres
from tests.integrations.conftest import work_until_idle
from tests.messaging.conftest import socket_thread_connections_closed  # noqa: F401  (autouse: consumers' connections)
from tests.notifications.conftest import clock, inbox, site_url, text_body  # noqa: F401  (fixtures)
from tests.realtime.sockets import connect_as, join, next_frame, request

PHONE = "call me on +44 20 7946 0958 tonight"
MASKED = PHONE.replace("+44 20 7946 0958", MASK)


@pytest.fixture
def policy(settings):
    def set_policy(name: str) -> None:
        settings.CONTACT_FILTER = name

    return set_policy


@pytest.mark.django_db(transaction=True)
async def test_the_senders_sockets_get_the_original_and_the_recipients_the_masked_message(
    client_user, provider, conversation, policy, post_text
):
    policy("mask")
    alice, bob = await connect_as(client_user), await connect_as(provider)
    await join(alice, conversation.pk)
    await join(bob, conversation.pk)

    sent = await post_text(provider, conversation, PHONE)

    to_alice, to_bob = await next_frame(alice), await next_frame(bob)
    assert to_bob == {"event": "message:new", "data": sent}
    assert to_alice == {"event": "message:new", "data": {**sent, "content": MASKED}}
    assert sent["content"] == PHONE and sent["moderation"] == "masked"
    await alice.disconnect()
    await bob.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_the_join_replay_shows_each_reader_their_view_of_a_held_message(
    client_user, provider, conversation, policy, post_text
):
    policy("hold")
    sent = await post_text(provider, conversation, PHONE)
    alice, bob = await connect_as(client_user), await connect_as(provider)

    replayed_to_alice = await request(alice, "join", {"conversationId": conversation.pk, "after": 0})
    replayed_to_bob = await request(bob, "join", {"conversationId": conversation.pk, "after": 0})

    assert replayed_to_alice == {"event": "message:new", "data": {**sent, "content": ""}}
    assert replayed_to_bob == {"event": "message:new", "data": sent}
    await alice.disconnect()
    await bob.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_approval_pushes_the_full_message_to_every_socket(
    client_user, provider, staff, conversation, policy, post_text
):
    policy("hold")
    alice, bob = await connect_as(client_user), await connect_as(provider)
    await join(alice, conversation.pk)
    await join(bob, conversation.pk)
    sent = await post_text(provider, conversation, PHONE)
    await next_frame(alice), await next_frame(bob)

    await database_sync_to_async(services.message_review_decide)(message_id=sent["id"], approve=True, by=staff)

    approved = {**sent, "moderation": None}
    assert await next_frame(alice) == {"event": "message:updated", "data": approved}
    assert await next_frame(bob) == {"event": "message:updated", "data": approved}
    await alice.disconnect()
    await bob.disconnect()


def _send(api, user, conversation, content: str) -> dict:
    response = api.as_user(user).post(
        "/api/messages", {"conversationId": conversation.pk, "content": content}, format="json"
    )
    assert response.status_code == 201, response.content
    return response.json()


@pytest.mark.django_db
def test_a_held_message_is_emailed_only_after_staff_approve_it(
    api, client_user, provider, staff, conversation, policy, settings, inbox, clock
):
    settings.NOTIFY_DELAY = 120
    policy("hold")
    sent = _send(api, provider, conversation, PHONE)
    work_until_idle()
    clock.shift(120)
    work_until_idle()
    assert inbox.envelopes == []

    services.message_review_decide(message_id=sent["id"], approve=True, by=staff)
    work_until_idle()
    clock.shift(120)
    work_until_idle()

    [message] = inbox.messages()
    assert "+44 20 7946 0958" in text_body(message)


@pytest.mark.django_db
def test_the_postgresql_send_statement_stores_the_review(api, client_user, provider, conversation, policy):
    requires_postgres()
    policy("hold")

    sent = _send(api, provider, conversation, PHONE)

    assert connection.vendor == "postgresql"
    stored = Message.objects.get(pk=sent["id"])
    assert (stored.review, stored.contact_kinds) == ("held", "phone")
    assert (sent["content"], sent["moderation"]) == (PHONE, "held")


@pytest.mark.django_db
def test_a_clean_message_on_postgresql_leaves_the_columns_to_their_defaults(api, provider, conversation, policy):
    requires_postgres()
    policy("hold")

    sent = _send(api, provider, conversation, "the invoice for $1,500 is attached")

    assert Message.objects.filter(pk=sent["id"], review="", contact_kinds="").exists()


@pytest.mark.django_db  # for the directory's fixtures only
def test_an_unknown_contact_filter_stops_start_up():
    started = subprocess.run(
        [sys.executable, "-c", "import config.settings"],
        env={**os.environ, "CONTACT_FILTER": "block"},
        capture_output=True,
        text=True,
        check=False,
    )

    assert started.returncode != 0
    assert "CONTACT_FILTER must be off, flag, mask or hold" in started.stderr

"""Presence in the REST answers (participants' ``online`` and ``lastSeenAt``), and ``lastSeenAt`` written at
most once per user per minute."""

from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from accounts import services as accounts_services
from presence import services
from tests.realtime.sockets import connect_as, join

pytestmark = pytest.mark.django_db(transaction=True)


def _participants(api, user, path: str) -> dict[str, dict]:
    response = api.as_user(user).get(path)
    assert response.status_code == 200, response.data
    body = response.data["results"][0] if "results" in response.data else response.data
    return {participant["user"]["username"]: participant for participant in body["participants"]}


async def test_participants_show_who_is_online_and_when_they_were_last_seen(api, client_user, provider, conversation):
    alice = await connect_as(client_user)
    await join(alice, conversation.pk)  # answered once the connect, and its presence announcement, is done
    await sync_to_async(client_user.refresh_from_db)()

    for path in ("/api/conversations", f"/api/conversations/{conversation.pk}"):
        participants = await sync_to_async(_participants)(api, provider, path)

        assert participants["alice"]["online"] is True
        assert participants["alice"]["lastSeenAt"] == client_user.last_seen_at.isoformat().replace("+00:00", "Z")
        assert participants["bob"]["online"] is False
        assert participants["bob"]["lastSeenAt"] is None
    await alice.disconnect()


def test_a_participant_with_no_socket_is_offline(api, client_user, provider, conversation):
    participants = _participants(api, client_user, "/api/conversations")

    assert participants["bob"]["online"] is False


def test_last_seen_is_written_at_most_once_a_minute(client_user):
    seen = timezone.now()

    accounts_services.user_last_seen_record(user_id=client_user.pk, at=seen)
    again = accounts_services.user_last_seen_record(user_id=client_user.pk, at=seen + timedelta(seconds=59))

    assert again == seen
    client_user.refresh_from_db()
    assert client_user.last_seen_at == seen


def test_last_seen_is_written_again_a_minute_later(client_user):
    seen = timezone.now()
    accounts_services.user_last_seen_record(user_id=client_user.pk, at=seen)

    later = accounts_services.user_last_seen_record(user_id=client_user.pk, at=seen + timedelta(seconds=60))

    client_user.refresh_from_db()
    assert client_user.last_seen_at == later == seen + timedelta(seconds=60)


def test_announcing_a_user_twice_within_a_minute_writes_last_seen_once(client_user, provider, conversation):
    services.presence_announce(user_id=client_user.pk, online=True)
    client_user.refresh_from_db()
    first = client_user.last_seen_at

    services.presence_announce(user_id=client_user.pk, online=False)

    client_user.refresh_from_db()
    assert first is not None
    assert client_user.last_seen_at == first

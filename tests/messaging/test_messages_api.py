"""POST /api/messages and GET /api/messages/conversation/{conversationId} (keyset history)."""

import uuid

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from messaging.models import Message
from projects import services as project_services

pytestmark = pytest.mark.django_db


def _ids(response) -> list[int]:
    return [message["id"] for message in response.data["results"]]


def _history(api, user, conversation, **params):
    return api.as_user(user).get(f"/api/messages/conversation/{conversation.pk}", params)


@pytest.fixture
def thirty(client_user, provider, conversation, send) -> list[int]:
    """Thirty messages, alternating senders; their ids oldest first."""
    return [send((client_user, provider)[n % 2], conversation, f"message {n}").pk for n in range(30)]


# --- history -----------------------------------------------------------------------------------


def test_history_gives_the_newest_page_in_chronological_order(api, client_user, conversation, thirty):
    response = _history(api, client_user, conversation, limit=10)

    assert response.status_code == 200
    assert _ids(response) == thirty[-10:]
    assert response.data["hasMore"] is True
    assert [m["seq"] for m in response.data["results"]] == list(range(21, 31))


def test_history_before_scrolls_back(api, client_user, conversation, thirty):
    response = _history(api, client_user, conversation, before=thirty[10], limit=5)

    assert _ids(response) == thirty[5:10]
    assert response.data["hasMore"] is True


def test_history_before_the_oldest_pages_says_nothing_more(api, client_user, conversation, thirty):
    response = _history(api, client_user, conversation, before=thirty[5], limit=10)

    assert _ids(response) == thirty[:5]
    assert response.data["hasMore"] is False


def test_history_after_catches_up_oldest_first(api, client_user, conversation, thirty):
    response = _history(api, client_user, conversation, after=thirty[3], limit=5)

    assert _ids(response) == thirty[4:9]
    assert response.data["hasMore"] is True
    assert _history(api, client_user, conversation, after=thirty[-1]).data == {"results": [], "hasMore": False}


def test_history_caps_the_limit(api, client_user, conversation, thirty, settings):
    settings.MESSAGE_PAGE_MAX = 7

    response = _history(api, client_user, conversation, limit=1000)

    assert _ids(response) == thirty[-7:]


def test_history_pages_neither_skip_nor_repeat_while_new_messages_arrive(
    api, client_user, provider, conversation, thirty, send
):
    newest = _history(api, client_user, conversation, limit=10)
    arrived = [send(provider, conversation, f"late {n}").pk for n in range(3)]
    older = _history(api, client_user, conversation, before=_ids(newest)[0], limit=10)
    arrived += [send(client_user, conversation, f"later {n}").pk for n in range(2)]
    oldest = _history(api, client_user, conversation, before=_ids(older)[0], limit=10)
    caught_up = _history(api, client_user, conversation, after=_ids(newest)[-1], limit=10)

    seen = _ids(oldest) + _ids(older) + _ids(newest) + _ids(caught_up)
    assert seen == thirty + arrived
    assert oldest.data["hasMore"] is False
    assert caught_up.data["hasMore"] is False


def _page_queries(api, user, conversation, **params) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = _history(api, user, conversation, **params)
    assert response.status_code == 200
    return len(queries)


def test_history_costs_the_same_queries_for_any_page(api, client_user, conversation, thirty):
    newest = _page_queries(api, client_user, conversation, limit=10)
    deep = _page_queries(api, client_user, conversation, before=thirty[3], limit=10)
    catch_up = _page_queries(api, client_user, conversation, after=thirty[0], limit=25)

    assert newest == deep == catch_up


def test_history_refuses_before_and_after_together(api, client_user, conversation, thirty):
    response = _history(api, client_user, conversation, before=thirty[5], after=thirty[1])

    assert response.status_code == 400
    assert "before" in response.data["fields"]


def test_history_rejects_a_non_numeric_cursor(api, client_user, conversation):
    response = _history(api, client_user, conversation, before="yesterday")

    assert response.status_code == 400
    assert "before" in response.data["fields"]


def test_history_is_404_for_an_outsider(api, outsider, conversation, thirty):
    assert _history(api, outsider, conversation).status_code == 404


def test_history_refuses_anonymous(api, conversation):
    assert api.get(f"/api/messages/conversation/{conversation.pk}").status_code == 401


# --- sending -----------------------------------------------------------------------------------


def test_send_persists_the_message_and_answers_it_in_full(api, client_user, conversation):
    response = api.as_user(client_user).post(
        "/api/messages", {"conversationId": conversation.pk, "content": "Hello Bob", "type": "text"}, format="json"
    )

    assert response.status_code == 201
    message = Message.objects.get()
    assert response.data["id"] == message.pk
    assert response.data["conversationId"] == conversation.pk
    assert response.data["seq"] == 1
    assert response.data["sender"]["username"] == "alice"
    assert response.data["type"] == "text"
    assert response.data["content"] == "Hello Bob"
    assert response.data["file"] is None


def test_send_numbers_messages_per_conversation(api, client_user, provider, conversation, send):
    send(provider, conversation, "one")

    response = api.as_user(client_user).post(
        "/api/messages", {"conversationId": conversation.pk, "content": "two"}, format="json"
    )

    assert response.data["seq"] == 2


def test_send_broadcasts_message_new_after_commit(
    api, client_user, conversation, conversation_listener, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.as_user(client_user).post(
            "/api/messages", {"conversationId": conversation.pk, "content": "ping"}, format="json"
        )

    assert conversation_listener.next_event() == {"event": "message:new", "data": response.data}


@pytest.mark.parametrize(
    "content",
    ["", "   \n  ", "\u200b\u200d", "\u202e \u2066\u2069\u200f", "\ufeff\u2060\n", "\u3164\u2800\u115f"],
    ids=["nothing", "whitespace", "zero-width", "bidi-controls", "bom-and-word-joiner", "blank-letters"],
)
def test_send_refuses_an_empty_text(api, client_user, conversation, content):
    response = api.as_user(client_user).post(
        "/api/messages", {"conversationId": conversation.pk, "content": content}, format="json"
    )

    assert response.status_code == 400
    assert "content" in response.data["fields"]
    assert not Message.objects.exclude(type=Message.Type.SYSTEM).exists()


def test_send_keeps_invisible_characters_inside_a_visible_text(api, client_user, conversation):
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # one emoji, joined by zero-width joiners
    response = api.as_user(client_user).post(
        "/api/messages", {"conversationId": conversation.pk, "content": family}, format="json"
    )

    assert response.status_code == 201
    assert Message.objects.get().content == family


def test_send_refuses_an_over_long_text(api, client_user, conversation, settings):
    response = api.as_user(client_user).post(
        "/api/messages",
        {"conversationId": conversation.pk, "content": "x" * (settings.MESSAGE_MAX_LENGTH + 1)},
        format="json",
    )

    assert response.status_code == 400
    assert "content" in response.data["fields"]


def test_send_refuses_an_unknown_type(api, client_user, conversation):
    response = api.as_user(client_user).post(
        "/api/messages", {"conversationId": conversation.pk, "content": "hi", "type": "sticker"}, format="json"
    )

    assert response.status_code == 400
    assert "type" in response.data["fields"]


def test_send_requires_a_conversation_id(api, client_user):
    response = api.as_user(client_user).post("/api/messages", {"content": "hi"}, format="json")

    assert response.status_code == 400
    assert "conversationId" in response.data["fields"]


def test_send_answers_an_outsider_exactly_as_for_a_conversation_that_does_not_exist(api, outsider, conversation):
    foreign = api.as_user(outsider).post(
        "/api/messages", {"conversationId": conversation.pk, "content": "hi"}, format="json"
    )
    missing = api.as_user(outsider).post(
        "/api/messages", {"conversationId": conversation.pk + 1000, "content": "hi"}, format="json"
    )

    assert foreign.status_code == missing.status_code == 404
    assert foreign.data == missing.data
    assert not Message.objects.exclude(type=Message.Type.SYSTEM).exists()


def test_send_refuses_anonymous(api, conversation):
    response = api.post("/api/messages", {"conversationId": conversation.pk, "content": "hi"}, format="json")

    assert response.status_code == 401


@pytest.mark.parametrize("status", ["completed", "cancelled"])
def test_send_is_refused_once_the_project_is_over(api, client_user, conversation, status):
    project_services.project_set_status(project_id=conversation.project_id, status=status)

    response = api.as_user(client_user).post(
        "/api/messages", {"conversationId": conversation.pk, "content": "one more thing"}, format="json"
    )

    assert response.status_code == 409
    assert response.data["code"] == "conversation_read_only"
    assert not Message.objects.exclude(type=Message.Type.SYSTEM).exists()


def test_send_retry_with_the_same_client_message_id_returns_the_original_without_a_second_broadcast(
    api, client_user, conversation, conversation_listener, django_capture_on_commit_callbacks
):
    payload = {"conversationId": conversation.pk, "content": "only once", "clientMessageId": str(uuid.uuid4())}
    with django_capture_on_commit_callbacks(execute=True):
        first = api.as_user(client_user).post("/api/messages", payload, format="json")
    conversation_listener.next_event()

    with django_capture_on_commit_callbacks(execute=True):
        retry = api.as_user(client_user).post("/api/messages", payload, format="json")

    assert (first.status_code, retry.status_code) == (201, 200)
    assert retry.data == first.data
    assert Message.objects.count() == 1
    conversation_listener.assert_silent()


def test_send_same_client_message_id_from_another_sender_is_a_new_message(api, client_user, provider, conversation):
    client_message_id = str(uuid.uuid4())
    payload = {"conversationId": conversation.pk, "content": "hi", "clientMessageId": client_message_id}

    first = api.as_user(client_user).post("/api/messages", payload, format="json")
    other = api.as_user(provider).post("/api/messages", payload, format="json")

    assert (first.status_code, other.status_code) == (201, 201)
    assert first.data["id"] != other.data["id"]


def test_client_message_id_is_unique_per_sender_in_the_database(client_user, conversation, send):
    message = send(client_user, conversation, "hi", client_message_id=uuid.uuid4())

    with pytest.raises(IntegrityError), transaction.atomic():
        Message.objects.create(
            conversation=conversation,
            sender=client_user,
            seq=99,
            content="again",
            client_message_id=message.client_message_id,
        )

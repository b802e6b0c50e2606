"""Abuse limits: one user's flood of sends or socket frames is refused for that user alone, across their
sockets and across server processes; a refused request changes nothing and the socket stays open."""

import asyncio
import json
import logging

import httpx
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from bench.servers import free_port
from kernel.ratelimit import Rate
from messaging.models import Message
from realtime.handlers import socket_handler
from tests.live import bearer, next_frame, open_socket, requires_redis
from tests.live import join as live_join
from tests.messaging.conftest import alice_and_bob, post_text, socket_thread_connections_closed  # noqa: F401
from tests.realtime.sockets import assert_no_frame, connect_as, join, request
from tests.realtime.sockets import next_frame as socket_frame

pytestmark = pytest.mark.django_db(transaction=True)

# Hour-long windows: a burst in a test never straddles two of them, so the counts are exact.
SENDS_PER_HOUR = 3
TYPING_PER_HOUR = 3


@pytest.fixture
def send_rate(settings):
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "message_send": f"{SENDS_PER_HOUR}/h"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}


@pytest.fixture
def socket_rates(settings):
    """``socket_rates(default=..., typing=...)`` sets the per-user socket frame rates."""

    def set_rates(**rates: str) -> None:
        settings.SOCKET_RATES = {**settings.SOCKET_RATES, **rates}

    return set_rates


def _post(api, user, conversation, content="hello"):
    return api.as_user(user).post(
        "/api/messages", {"conversationId": conversation.pk, "content": content}, format="json"
    )


def _flood(api, user, conversation) -> list:
    return [_post(api, user, conversation, f"flood {number}") for number in range(SENDS_PER_HOUR + 1)]


def _typing_frame(conversation, is_typing: bool, ref: str | None = None) -> dict:
    frame = {"event": "conversation:typing", "data": {"conversationId": conversation.pk, "isTyping": is_typing}}
    return frame if ref is None else {**frame, "ref": ref}


async def _type_within_rate(typist, listener, conversation, count: int) -> None:
    """``count`` typing frames, each a change of state so each is forwarded, and each seen by ``listener``."""
    for number in range(count):
        await typist.send_json_to(_typing_frame(conversation, number % 2 == 0))
        assert (await socket_frame(listener))["event"] == "conversation:typing"


# ---- REST: POST /api/messages ------------------------------------------------------------------


@pytest.mark.django_db
def test_a_send_flood_is_answered_429_with_retry_after(api, client_user, conversation, send_rate):
    *admitted, refused = _flood(api, client_user, conversation)

    assert [response.status_code for response in admitted] == [201] * SENDS_PER_HOUR
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 3600
    assert refused.json()["detail"] == f"Request was throttled. Expected available in {refused['Retry-After']} seconds."


@pytest.mark.django_db
def test_a_refused_send_writes_nothing(api, client_user, conversation, send_rate):
    _flood(api, client_user, conversation)

    assert Message.objects.filter(conversation=conversation).count() == SENDS_PER_HOUR
    conversation.refresh_from_db()
    assert conversation.last_message_seq == SENDS_PER_HOUR


@pytest.mark.django_db
def test_another_user_sends_in_the_same_conversation_while_one_is_throttled(
    api, client_user, provider, conversation, send_rate
):
    assert _flood(api, client_user, conversation)[-1].status_code == 429

    response = _post(api, provider, conversation, "still here")

    assert response.status_code == 201
    assert response.json()["sender"]["username"] == "bob"


@pytest.mark.django_db
def test_sends_are_admitted_and_logged_while_the_rate_cache_is_unreachable(
    api, client_user, conversation, send_rate, caplog
):
    unreachable = {
        "default": {
            "BACKEND": "kernel.redis_client.SharedPoolRedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
        }
    }
    with override_settings(CACHES=unreachable), caplog.at_level(logging.WARNING, logger="kernel.ratelimit"):
        responses = _flood(api, client_user, conversation)

    assert [response.status_code for response in responses] == [201] * (SENDS_PER_HOUR + 1)
    assert "rate limiter unreachable" in caplog.text


# ---- sockets -----------------------------------------------------------------------------------


async def test_typing_beyond_its_rate_gets_a_rate_limited_error_and_is_not_forwarded(
    alice_and_bob, conversation, socket_rates
):
    socket_rates(typing=f"{TYPING_PER_HOUR}/h")
    alice, bob = alice_and_bob
    await _type_within_rate(alice, bob, conversation, TYPING_PER_HOUR)

    error = await request(alice, "conversation:typing", _typing_frame(conversation, False)["data"], ref="t4")

    assert error["event"] == "error"
    assert error["ref"] == "t4"
    assert error["data"]["code"] == "rate_limited"
    assert error["data"]["ref"] == "t4"
    assert 1 <= error["data"]["retryAfter"] <= 3600
    await assert_no_frame(bob)


async def test_a_rate_limited_socket_stays_open_and_other_events_still_work(alice_and_bob, conversation, socket_rates):
    socket_rates(typing=f"{TYPING_PER_HOUR}/h")
    alice, bob = alice_and_bob
    await _type_within_rate(alice, bob, conversation, TYPING_PER_HOUR)
    assert (await request(alice, "conversation:typing", _typing_frame(conversation, False)["data"]))["event"] == "error"

    reply = await join(alice, conversation.pk)

    assert reply["data"]["conversationId"] == conversation.pk


async def test_two_sockets_of_one_user_share_the_rate(alice_and_bob, client_user, conversation, socket_rates):
    socket_rates(typing=f"{TYPING_PER_HOUR}/h")
    alice, bob = alice_and_bob
    second_alice = await connect_as(client_user)
    await join(second_alice, conversation.pk)
    await _type_within_rate(alice, bob, conversation, TYPING_PER_HOUR)

    error = await request(second_alice, "conversation:typing", _typing_frame(conversation, True)["data"])

    assert error["data"]["code"] == "rate_limited"
    await assert_no_frame(bob)
    await second_alice.disconnect()


async def test_another_user_is_not_limited_by_a_flooding_user(alice_and_bob, conversation, socket_rates):
    socket_rates(typing=f"{TYPING_PER_HOUR}/h")
    alice, bob = alice_and_bob
    await _type_within_rate(alice, bob, conversation, TYPING_PER_HOUR)
    assert (await request(alice, "conversation:typing", _typing_frame(conversation, False)["data"]))["event"] == "error"

    await _type_within_rate(bob, alice, conversation, TYPING_PER_HOUR)


async def test_a_refused_join_joins_nothing(client_user, provider, conversation, socket_rates, post_text):
    socket_rates(default="1/h")
    alice = await connect_as(client_user)
    await join(alice, conversation.pk)
    await request(alice, "leave", {"conversationId": conversation.pk})

    refused = await request(alice, "join", {"conversationId": conversation.pk})
    await post_text(provider, conversation, "not for alice's socket")

    assert refused["data"]["code"] == "rate_limited"
    await assert_no_frame(alice)
    await alice.disconnect()


async def test_a_rate_limited_event_is_admitted_again_after_retry_after(client_user, conversation, socket_rates):
    socket_rates(default="1/s")
    alice = await connect_as(client_user)
    # At most one frame per second is admitted; keep sending until one is refused (a window may turn meanwhile).
    for _ in range(5):
        reply = await request(alice, "leave", {"conversationId": conversation.pk})
        if reply["event"] == "error":
            break
    assert reply["data"]["code"] == "rate_limited"

    await asyncio.sleep(reply["data"]["retryAfter"])

    assert (await request(alice, "leave", {"conversationId": conversation.pk}))["event"] == "leave"
    await alice.disconnect()


@pytest.mark.parametrize("rates", [{"typing": "fast"}, {"typing": "0/s"}, {}])
def test_a_handler_whose_rate_is_missing_or_malformed_is_refused_at_registration(settings, rates):
    settings.SOCKET_RATES = {"default": "20/10s", **rates}

    with pytest.raises(ImproperlyConfigured):
        socket_handler("test:unregistered", rate="typing")


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("20/10s", Rate(20, 10)),
        ("120/min", Rate(120, 60)),
        ("5/s", Rate(5, 1)),
        ("1000/h", Rate(1000, 3600)),
        ("3/2m", Rate(3, 120)),
        ("5000/day", Rate(5000, 86400)),
    ],
)
def test_rates_read_drf_notation_and_multiples_of_a_unit(text, rate):
    assert Rate.parse(text) == rate


@pytest.mark.parametrize("text", ["", "20", "/s", "0/s", "20/0s", "20/fortnight", "-1/s", "twenty/s"])
def test_a_malformed_rate_is_refused(text):
    with pytest.raises(ValueError):
        Rate.parse(text)


# ---- across server processes (Redis) -------------------------------------------------------------


@pytest.fixture
def two_servers(live_servers):
    """Two daphne processes on this run's database, Redis channel layer and Redis cache."""
    requires_redis()
    rates = {"THROTTLE_MESSAGE_SEND": f"{SENDS_PER_HOUR}/h", "SOCKET_RATE_TYPING": f"{TYPING_PER_HOUR}/h"}
    return [live_servers.start(env=rates, label=label) for label in ("first", "second")]


@pytest.mark.slow
async def test_the_send_limit_holds_across_server_processes(two_servers, client_user, conversation):
    first, second = two_servers
    async with httpx.AsyncClient(timeout=10) as http:

        async def post(server, number: int) -> httpx.Response:
            return await http.post(
                f"{server.url}/api/messages",
                headers=bearer(client_user),
                json={"conversationId": conversation.pk, "content": f"across {number}"},
            )

        admitted = [await post(server, number) for number, server in enumerate([first, second, first])]
        refused = await post(second, SENDS_PER_HOUR)

    assert [response.status_code for response in admitted] == [201] * SENDS_PER_HOUR
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1


@pytest.mark.slow
async def test_concurrent_sends_of_one_user_on_two_processes_admit_exactly_the_limit(
    two_servers, client_user, conversation
):
    attempts = SENDS_PER_HOUR * 10
    async with httpx.AsyncClient(timeout=30) as http:
        responses = await asyncio.gather(
            *(
                http.post(
                    f"{two_servers[number % 2].url}/api/messages",
                    headers=bearer(client_user),
                    json={"conversationId": conversation.pk, "content": f"burst {number}"},
                )
                for number in range(attempts)
            )
        )

    codes = sorted(response.status_code for response in responses)
    assert codes == [201] * SENDS_PER_HOUR + [429] * (attempts - SENDS_PER_HOUR)
    assert await Message.objects.filter(conversation=conversation).acount() == SENDS_PER_HOUR


@pytest.mark.slow
async def test_the_socket_rate_holds_across_a_users_sockets_on_two_processes(
    two_servers, client_user, provider, conversation
):
    first, second = two_servers
    async with (
        open_socket(first, provider) as bob,
        open_socket(first, client_user) as alice_here,
        open_socket(second, client_user) as alice_there,
    ):
        for websocket in (bob, alice_here, alice_there):
            await live_join(websocket, conversation.pk)
        # Each a change of its socket's state, so each is forwarded (typing is de-duplicated per socket).
        for typist, is_typing in [(alice_here, True), (alice_there, True), (alice_here, False)]:
            await typist.send(json.dumps(_typing_frame(conversation, is_typing)))
            assert (await next_frame(bob))["event"] == "conversation:typing"

        await alice_there.send(json.dumps(_typing_frame(conversation, False, ref="over")))
        error = await next_frame(alice_there)

        assert (error["event"], error["ref"], error["data"]["code"]) == ("error", "over", "rate_limited")
        with pytest.raises(TimeoutError):
            await next_frame(bob, timeout=0.5)


# ---- the auth endpoints, per address -------------------------------------------------------------


@pytest.fixture
def auth_rate(settings):
    """Three requests an hour to the auth endpoints from one address."""
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "auth": "3/h"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}


def _login(api, username: str, password: str = "wrong-password"):
    return api.post("/api/auth/token", {"username": username, "password": password}, format="json")


def _refresh(api, body='{"refresh": "not-a-token"}'):
    return api.post("/api/auth/token/refresh", body, content_type="application/json")


@pytest.mark.django_db
def test_token_refreshes_from_one_address_are_answered_429(api, auth_rate):
    answers = [_refresh(api).status_code for _ in range(3)]

    refused = _refresh(api)

    assert answers == [401, 401, 401]
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited"


@pytest.mark.django_db
def test_a_throttled_refresh_is_refused_before_its_body_is_parsed(api, auth_rate):
    for _ in range(3):
        _refresh(api)

    assert _refresh(api, body="[" * 100_000).status_code == 429


@pytest.mark.django_db
def test_logins_from_one_address_are_limited_whatever_account_they_name(api, client_user, auth_rate):
    answers = [_login(api, username).status_code for username in ("alice", "bob", "carol")]

    refused = _login(api, "dave")

    assert answers == [401, 401, 401]
    assert refused.status_code == 429

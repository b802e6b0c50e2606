"""Shared personas and helpers: a client, an approved provider, a teammate of each, an outsider and support
staff, and a project accepted between the first two (with its conversation)."""

import os
import sys
import threading
import time
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from asgiref.sync import SyncToAsync
from channels.layers import channel_layers
from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.db import connection, connections, transaction
from django.utils import timezone
from rest_framework import serializers
from rest_framework.test import APIClient

from accounts.models import User
from kernel.loop_database import loop_pools_close
from kernel.redis_client import shared_redis
from messaging import services as messaging_services
from presence.tracker import forget_sockets
from projects import services as project_services
from tests.live import cache_on_own_redis, live_servers, own_redis  # noqa: F401  (fixtures shared by every test directory)
from tests.server_settings import TEST_PASSWORD_HASHERS

PASSWORD = "correct-horse-battery-staple"


def pytest_configure(config):
    # Each run gets its own test database and channel-layer namespace, so runs side by side
    # on one PostgreSQL and one Redis never drop or hear each other's data.
    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.postgresql":
        database.setdefault("TEST", {})["NAME"] = f"test_{database['NAME']}_{os.getpid()}"
    else:
        # pytest-django runs each test inside a transaction of its own connection; IMMEDIATE would hold SQLite's
        # write lock for the whole test, and a socket consumer writing from its thread would wait it out. Server
        # processes the tests start (tests/live.py) run the settings' IMMEDIATE, and the concurrency tests there.
        database["OPTIONS"]["transaction_mode"] = "DEFERRED"
    # A Bearer send on PostgreSQL runs its queries on the event loop over connections of its own
    # (kernel.loop_database): they see only committed rows, and its pool lives as long as its loop, where the sync
    # test client makes a loop per request. Tests take the thread's path unless they ask for ``sends_on_loop``;
    # the server processes they start (tests/live.py) take the settings' default.
    settings.SEND_DATABASE_ON_LOOP = False
    # Personas are made with a password; hashing it slowly buys the tests nothing. Server processes hash the same way.
    settings.PASSWORD_HASHERS = TEST_PASSWORD_HASHERS
    run_prefix = f"test-{uuid.uuid4().hex[:8]}"
    settings.CHANNEL_LAYERS["default"].setdefault("CONFIG", {})
    if "hosts" in settings.CHANNEL_LAYERS["default"]["CONFIG"]:
        settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = run_prefix
    if _cache_is_redis():
        settings.CACHES["default"]["KEY_PREFIX"] = run_prefix


def _cache_is_redis() -> bool:
    return shared_redis() is not None


def cache_clear_for_this_run() -> None:
    """Forget this run's rate counts. On Redis only this run's keys go: ``cache.clear()`` would flush the
    database that the channel layer and other runs share."""
    if not _cache_is_redis():
        cache.clear()
        return
    client = shared_redis()
    keys = list(client.scan_iter(match=f"{settings.CACHES['default']['KEY_PREFIX']}:*", count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture(autouse=True)
def settings_overrides_undone():
    """``override_settings`` swaps one global: two overrides that end out of order (concurrent requests each in
    its own, say) leave one in place for every later test, which then fail far from the cause. It fails here."""
    before = settings._wrapped
    yield
    assert settings._wrapped is before, "this test left a settings override in place"


@pytest.fixture(autouse=True)
def fresh_throttle_counts():
    """Rate counts are per user id in the cache; ids repeat across rolled-back tests."""
    cache_clear_for_this_run()


@pytest.fixture(autouse=True)
def fresh_channel_layer():
    """Each test gets its own channel layer instance: every async test runs on a new event loop, and a
    channels_redis receive lock still held by a consumer of the previous test's loop would fail the next
    test's receive ("bound to a different event loop")."""
    yield
    channel_layers.backends.clear()


@pytest.fixture(autouse=True)
def asgi_request_threads_closed():
    """The threads config.asgi's Django handler keeps for its next requests (kernel.asgi_handler) end with the
    test that used them, with their database connections: none may hold one when the test database is dropped."""
    yield
    asgi = sys.modules.get("config.asgi")
    if asgi is not None:
        asgi.django_http.close_idle_threads()


@pytest.fixture
async def sends_on_loop(transactional_db):
    """Sends on the test's event loop (kernel.loop_database), on committed rows; the loop's pool closes after."""
    settings.SEND_DATABASE_ON_LOOP = True
    try:
        yield
    finally:
        settings.SEND_DATABASE_ON_LOOP = False
        await loop_pools_close()


@pytest.fixture(autouse=True)
def fresh_presence():
    """Presence is per user id, in memory or under this run's cache prefix (cleared above); ids repeat across
    rolled-back tests, and a socket a test left open must not keep a later test's user online."""
    forget_sockets()


def requires_postgres():
    """Skip on SQLite during local runs; under CI the suite runs on PostgreSQL and this never skips."""
    if connection.vendor != "postgresql":
        if os.environ.get("CI") == "true":
            pytest.fail("CI must run on PostgreSQL (DATABASE_URL)")
        pytest.skip("needs PostgreSQL: set DATABASE_URL")


def run_behind_a_removal(action, *, conversation_id: int, user_id: int, by: User) -> None:
    """Remove ``user_id`` from the conversation in a transaction that stays open until ``action``, run in a
    thread on its own connection, waits for a lock the removal holds (or has ended): the race the removal wins."""
    run_behind(
        action,
        holding=lambda: messaging_services.participant_remove(conversation_id=conversation_id, user_id=user_id, by=by),
    )


def run_behind(action, *, holding) -> None:
    """Run ``holding`` in a transaction that stays open until ``action``, run in a thread on its own connection,
    waits for a lock ``holding`` took (or has ended): the race ``holding`` wins."""

    def run():
        try:
            action()
        finally:
            connections.close_all()

    racer = threading.Thread(target=run)
    with transaction.atomic():
        holding()
        racer.start()
        while racer.is_alive() and not _waiting_for_a_lock():
            time.sleep(0.01)
    racer.join(timeout=10)


def _waiting_for_a_lock() -> bool:
    with connection.cursor() as cursor:
        # This run's database only: other runs share the server.
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        return cursor.fetchone()[0] > 0


def make_user(username: str, *, role=User.Role.CLIENT, **fields) -> User:
    if role == User.Role.PROVIDER:
        fields.setdefault("provider_status", User.ProviderStatus.APPROVED)
    return User.objects.create_user(
        username=username, email=f"{username}@example.com", password=PASSWORD, role=role, **fields
    )


def documented(serializer_class, instance) -> dict:
    """What a payload serializer's declared fields (the OpenAPI schema's source) read from ``instance``, to
    hold against its builder (``kernel.schema.BuiltPayload``)."""
    return dict(serializers.ModelSerializer.to_representation(serializer_class(), instance))


def make_project(client: User, provider: User, *, title: str = "Website", price: str = "1500.00"):
    service_request = project_services.service_request_create(client=client, title=title, description="")
    proposal = project_services.proposal_submit(
        provider=provider,
        request_id=service_request.pk,
        price=Decimal(price),
        scope="Five pages",
        deadline=(timezone.now() + timedelta(days=30)).date(),
    )
    project = project_services.proposal_accept(proposal_id=proposal.pk, user=client)
    # Loaded here, so that async tests read project.conversation without a query of their own.
    project.conversation  # noqa: B018
    return project


@pytest.fixture
def client_user(db):
    return make_user("alice", role=User.Role.CLIENT)


@pytest.fixture
def provider(db):
    return make_user("bob", role=User.Role.PROVIDER)


@pytest.fixture
def outsider(db):
    """A user with a project of their own, but not ours."""
    return make_user("charlie", role=User.Role.CLIENT)


@pytest.fixture
def client_teammate(db):
    """A colleague of the client's: a client account, on no project until an owner adds them."""
    return make_user("cleo", role=User.Role.CLIENT)


@pytest.fixture
def provider_teammate(db):
    """A colleague of the provider's: an approved provider, on no project until an owner adds them."""
    return make_user("piet", role=User.Role.PROVIDER)


@pytest.fixture
def staff(db):
    return make_user("support", role=User.Role.CLIENT, is_staff=True)


@pytest.fixture
def project(client_user, provider):
    return make_project(client_user, provider)


@pytest.fixture
def conversation(project):
    return project.conversation


@pytest.fixture
def api():
    """An API client; ``api.as_user(user)`` authenticates it, ``None`` leaves it anonymous."""

    class PersonaClient(APIClient):
        def as_user(self, user):
            self.force_authenticate(user=user)
            return self

    return PersonaClient()


@pytest.fixture
def staff_admin(client, staff):
    """Django's test client logged in to the admin as the staff persona, with the model permissions support has."""
    staff.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label__in=["accounts", "projects", "messaging", "meetings", "moderation"]
        )
    )
    client.force_login(staff)
    return client


# The thread hops of Django's ASGI handler itself, outside the middleware and the view: the request_started
# receivers (closing stale database connections) and response.close(), which sends request_finished.
HANDLER_HOPS = ["Signal.asend.<locals>.sync_send", "HttpResponseBase.close"]


@pytest.fixture
def hops(monkeypatch):
    """The name of every function run through sync_to_async from here on, in order."""
    names: list[str] = []
    hop = SyncToAsync.__call__

    async def counted_hop(self, *args, **kwargs):
        names.append(getattr(self.func, "__qualname__", repr(self.func)))
        return await hop(self, *args, **kwargs)

    monkeypatch.setattr(SyncToAsync, "__call__", counted_hop)
    return names

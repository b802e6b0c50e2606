"""Presence on Redis costs one round trip (one script) per connect, disconnect and renewal."""

import pytest

from presence.store import presence_store
from tests.live import commands_run, commands_since

pytestmark = pytest.mark.django_db


async def _connect_renew_and_close(store, user_id: int) -> None:
    await store.open(user_id, "channel-a")
    await store.renew([("channel-a", user_id)])
    await store.close(user_id, "channel-a")


async def test_a_connect_a_renewal_and_a_disconnect_are_one_script_each(cache_on_own_redis):
    store = presence_store()
    await _connect_renew_and_close(store, 7)  # loads the scripts into the server
    before = commands_run(cache_on_own_redis)

    await _connect_renew_and_close(store, 8)

    assert commands_since(cache_on_own_redis, before)["evalsha"] == 3


async def test_a_socket_that_lapsed_is_not_renewed_but_reported(cache_on_own_redis):
    store = presence_store()

    assert await store.renew([("channel-gone", 7)]) == ["channel-gone"]

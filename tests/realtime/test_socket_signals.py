"""The socket session announces each admitted socket and each end of a session (``realtime.signals``), the way
presence learns of them without realtime knowing presence; a receiver that fails is logged and the socket
carries on."""

import logging

import pytest

from realtime.signals import socket_closed, socket_opened
from tests.realtime.sockets import connect_as, join

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def received():
    """What the sockets announced: ("opened", user id, channel) and ("closed", channel)."""
    calls: list[tuple] = []

    async def opened(sender, *, user_id, channel_name, **kwargs):
        calls.append(("opened", user_id, channel_name))

    async def closed(sender, *, channel_name, **kwargs):
        calls.append(("closed", channel_name))

    socket_opened.connect(opened, dispatch_uid="tests.socket_opened")
    socket_closed.connect(closed, dispatch_uid="tests.socket_closed")
    yield calls
    socket_opened.disconnect(dispatch_uid="tests.socket_opened")
    socket_closed.disconnect(dispatch_uid="tests.socket_closed")


@pytest.fixture
def failing_receivers():
    async def fail(sender, **kwargs):
        raise RuntimeError("a receiver failed")

    socket_opened.connect(fail, dispatch_uid="tests.socket_opened_fails")
    socket_closed.connect(fail, dispatch_uid="tests.socket_closed_fails")
    yield
    socket_opened.disconnect(dispatch_uid="tests.socket_opened_fails")
    socket_closed.disconnect(dispatch_uid="tests.socket_closed_fails")


async def test_a_socket_announces_its_opening_and_its_end_with_its_channel(client_user, received):
    communicator = await connect_as(client_user)

    await communicator.disconnect()

    channel_name = received[0][2]
    assert received == [("opened", client_user.pk, channel_name), ("closed", channel_name)]


async def test_a_failing_receiver_is_logged_and_the_socket_carries_on(
    client_user, conversation, failing_receivers, caplog
):
    with caplog.at_level(logging.ERROR, logger="django.dispatch"):
        communicator = await connect_as(client_user)

        await join(communicator, conversation.pk)
        await communicator.disconnect()

    assert [record.exc_info[1].args for record in caplog.records] == [("a receiver failed",)] * 2

"""``conversation:new`` in each member's personal group when a proposal is accepted."""

import pytest
from channels.db import database_sync_to_async

from tests.conftest import make_project
from tests.realtime.sockets import assert_no_frame, connect_as, next_frame

pytestmark = pytest.mark.django_db(transaction=True)


async def test_accepting_a_proposal_announces_the_conversation_to_both_members_only(client_user, provider, outsider):
    alice, bob, charlie = [await connect_as(user) for user in (client_user, provider, outsider)]

    project = await database_sync_to_async(make_project)(client_user, provider, title="Mobile app")

    conversation_id = await database_sync_to_async(lambda: project.conversation.pk)()
    announcement = {
        "event": "conversation:new",
        "data": {"id": conversation_id, "projectId": project.pk, "projectTitle": "Mobile app"},
    }
    assert await next_frame(alice) == announcement
    assert await next_frame(bob) == announcement
    await assert_no_frame(charlie)
    for communicator in (alice, bob, charlie):
        await communicator.disconnect()

"""Socket handlers of the messaging module: join (with catch-up), leave, typing, read receipts.

Typing touches no database: membership is checked once at ``join`` and remembered on the socket, and
suspension is read from the socket's user, which the ``account:provider_status`` effect keeps current.
"""

import time

from channels.db import database_sync_to_async
from django.conf import settings

from accounts.suspension import require_not_suspended
from kernel.errors import Invalid, NotFound
from kernel.ids import require_id
from messaging import events, selectors, services
from realtime.handlers import socket_handler
from realtime.publish import publish
from realtime.session import socket_effect

REPLAY_PAGE = 100


def _joined(consumer, conversation_id: int) -> bool:
    return events.conversation_group(conversation_id) in consumer.joined_groups


@database_sync_to_async
def _replay_page(conversation_id: int, after: int, viewer_id: int) -> tuple[list[dict], bool]:
    messages, has_more = selectors.message_list_page(conversation_id=conversation_id, after=after, limit=REPLAY_PAGE)
    return [events.message_payload(message, viewer_id=viewer_id) for message in messages], has_more


@socket_handler(events.JOIN)
async def join(consumer, data: dict) -> dict:
    conversation_id = require_id(data, "conversationId")
    # A message id to catch up after; 0 replays the whole history.
    after = require_id(data, "after", minimum=0) if data.get("after") is not None else None
    is_member = await database_sync_to_async(selectors.conversation_is_member)(
        user_id=consumer.user.pk, conversation_id=conversation_id
    )
    if not is_member:
        raise NotFound("No such conversation.", field="conversationId")
    # Join before replaying, so a message committed meanwhile arrives live or in the replay (or both:
    # clients drop a message id they already hold), never in neither.
    await consumer.join_group(events.conversation_group(conversation_id))
    replayed = 0
    while after is not None:
        page, has_more = await _replay_page(conversation_id, after, consumer.user.pk)
        for message in page:
            await consumer.send_event(events.MESSAGE_NEW, message)
        replayed += len(page)
        after = page[-1]["id"] if has_more else None
    return {"conversationId": conversation_id, "replayed": replayed}


@socket_handler(events.LEAVE)
async def leave(consumer, data: dict) -> dict:
    conversation_id = require_id(data, "conversationId")
    await consumer.leave_group(events.conversation_group(conversation_id))
    return {"conversationId": conversation_id}


@socket_handler(events.CONVERSATION_TYPING, rate="typing")
async def typing(consumer, data: dict) -> None:
    conversation_id = require_id(data, "conversationId")
    is_typing = data.get("isTyping")
    if not isinstance(is_typing, bool):
        raise Invalid("isTyping must be true or false.", field="isTyping")
    if not _joined(consumer, conversation_id):
        raise NotFound("Join the conversation first.", field="conversationId")
    require_not_suspended(consumer.user)
    now = time.monotonic()
    last_state, last_at = consumer.typing_forwarded_at.get(conversation_id, (None, 0.0))
    if is_typing == last_state and now - last_at < settings.TYPING_FORWARD_INTERVAL_SECONDS:
        return None
    consumer.typing_forwarded_at[conversation_id] = (is_typing, now)
    payload = events.typing_payload(conversation_id=conversation_id, user=consumer.user, is_typing=is_typing)
    await publish(
        [events.conversation_group(conversation_id)],
        events.CONVERSATION_TYPING,
        payload,
        exclude_user_id=consumer.user.pk,
    )
    return None


@socket_handler(events.MESSAGE_READ)
async def message_read(consumer, data: dict) -> dict:
    conversation_id = require_id(data, "conversationId")
    message_id = require_id(data, "messageId")
    marker = await database_sync_to_async(services.message_mark_read)(
        user=consumer.user, conversation_id=conversation_id, message_id=message_id
    )
    return events.read_marker_payload(marker)


@socket_effect(events.CONVERSATION_REMOVED)
async def removed(consumer, data: dict) -> None:
    """Support staff removed the user: the conversation's events stop reaching this socket."""
    await consumer.leave_group(events.conversation_group(data["conversationId"]))

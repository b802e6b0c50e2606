"""Socket handlers of the meetings module: an invitee's answer, and the call screen's joined / left.

Each calls the same service as its REST twin; the reply goes back on the same event name.
"""

from collections.abc import Callable

from channels.db import database_sync_to_async

from kernel.ids import require_id
from meetings import events, services
from meetings.models import MeetingParticipant
from realtime.handlers import socket_handler


async def _serve(
    consumer, data: dict, service: Callable[..., MeetingParticipant], payload: Callable[[MeetingParticipant], dict]
) -> dict:
    meeting_id = require_id(data, "meetingId")

    # The payload reads related rows too, so it is built on the same database thread as the service.
    def run() -> dict:
        return payload(service(user=consumer.user, meeting_id=meeting_id))

    return await database_sync_to_async(run)()


@socket_handler(events.MEETING_ACCEPT)
async def accept(consumer, data: dict) -> dict:
    return await _serve(consumer, data, services.meeting_accept, events.answer_payload)


@socket_handler(events.MEETING_DECLINE)
async def decline(consumer, data: dict) -> dict:
    return await _serve(consumer, data, services.meeting_decline, events.answer_payload)


@socket_handler(events.MEETING_JOINED)
async def joined(consumer, data: dict) -> dict:
    return await _serve(consumer, data, services.meeting_session_join, events.session_payload)


@socket_handler(events.MEETING_LEFT)
async def left(consumer, data: dict) -> dict:
    return await _serve(consumer, data, services.meeting_session_leave, events.session_payload)

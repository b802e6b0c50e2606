"""The ceiling: the benchmark's load shape (POST a message, a joined socket gets ``message:new``)
through Channels and the same channels_redis layer, with no authentication and no database.

It speaks the product's wire format, so the load generator drives it unchanged.
"""

import itertools
import json

from channels.generic.http import AsyncHttpConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.utils import timezone

RELAY_EVENT_TYPE = "relay.event"
_message_ids = itertools.count(1)


def relay_group(conversation_id: int) -> str:
    return f"relay_{conversation_id}"


class RelaySocketConsumer(AsyncJsonWebsocketConsumer):
    """Joins the groups it is told to and forwards whatever is sent to them, like the product's socket."""

    async def connect(self):
        self.joined_groups: set[str] = set()
        await self.accept()

    async def disconnect(self, code):
        for group in self.joined_groups:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, frame, **kwargs):
        data = frame.get("data") or {}
        if frame.get("event") == "join" and isinstance(data.get("conversationId"), int):
            group = relay_group(data["conversationId"])
            await self.channel_layer.group_add(group, self.channel_name)
            self.joined_groups.add(group)
            await self.send_json(
                {"event": "join", "data": {"conversationId": data["conversationId"]}, "ref": frame.get("ref")}
            )

    async def relay_event(self, message):
        await self.send_json({"event": message["event"], "data": message["data"]})


class RelayMessageConsumer(AsyncHttpConsumer):
    """``POST /api/messages``: answer 201 with a message shaped like the product's, and publish it."""

    async def handle(self, body):
        payload = json.loads(body)
        message = {
            "id": next(_message_ids),
            "conversationId": payload["conversationId"],
            "seq": 0,
            "sender": {"id": 0, "username": "relay", "role": "client"},
            "type": payload.get("type", "text"),
            "content": payload["content"],
            "file": None,
            "clientMessageId": payload.get("clientMessageId"),
            "createdAt": timezone.now().isoformat(),
        }
        await self.channel_layer.group_send(
            relay_group(payload["conversationId"]), {"type": RELAY_EVENT_TYPE, "event": "message:new", "data": message}
        )
        encoded = json.dumps(message).encode()
        await self.send_response(
            201, encoded, headers=[(b"content-type", b"application/json"), (b"content-length", b"%d" % len(encoded))]
        )

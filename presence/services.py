"""Announcing a user's change of presence: their ``lastSeenAt`` is recorded and their conversation peers told."""

from django.db import transaction
from django.utils import timezone

from accounts import services as accounts_services
from messaging import selectors as messaging_selectors
from presence import events
from realtime.events import user_group
from realtime.publish import publish_on_commit


def presence_announce(*, user_id: int, online: bool) -> None:
    """``presence:update`` to the user group of everyone who shares a conversation with the user, after commit."""
    with transaction.atomic():
        last_seen_at = accounts_services.user_last_seen_record(user_id=user_id, at=timezone.now())
        peers = messaging_selectors.conversation_peer_ids(user_id=user_id)
        if peers:
            payload = events.presence_payload(user_id=user_id, online=online, last_seen_at=last_seen_at)
            publish_on_commit([user_group(peer) for peer in peers], events.PRESENCE_UPDATE, payload)

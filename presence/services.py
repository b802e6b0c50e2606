"""Announcing a user's change of presence: their ``lastSeenAt`` is recorded and ``presence_changed`` sent, in one
transaction. Presence does not know whom it concerns: messaging, which knows the user's conversation peers,
receives the signal and tells them (``messaging.services.presence_publish_to_peers``)."""

from django.db import transaction
from django.utils import timezone

from accounts import services as accounts_services
from presence.signals import presence_changed


def presence_announce(*, user_id: int, online: bool) -> None:
    with transaction.atomic():
        last_seen_at = accounts_services.user_last_seen_record(user_id=user_id, at=timezone.now())
        presence_changed.send(sender=None, user_id=user_id, online=online, last_seen_at=last_seen_at)

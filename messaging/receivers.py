"""Signal handlers: each a one-line call into a service."""

from messaging import services


def presence_changed(sender, *, user_id, online, last_seen_at, **kwargs):
    services.presence_publish_to_peers(user_id=user_id, online=online, last_seen_at=last_seen_at)

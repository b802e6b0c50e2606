"""Signal handlers: each a one-line call."""

from django.db import connections

from messaging import search, services


def presence_changed(sender, *, user_id, online, last_seen_at, **kwargs):
    services.presence_publish_to_peers(user_id=user_id, online=online, last_seen_at=last_seen_at)


def search_index_ensure(sender, using: str, **kwargs) -> None:
    """SQLite's table rebuilds in later migrations drop the search triggers: put them back after each migrate."""
    search.fts5_index_ensure(connections[using])

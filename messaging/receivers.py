"""Signal handlers of the messaging module, one call each."""

from django.db import connections

from messaging import search


def search_index_ensure(sender, using: str, **kwargs) -> None:
    """SQLite's table rebuilds in later migrations drop the search triggers: put them back after each migrate."""
    search.fts5_index_ensure(connections[using])

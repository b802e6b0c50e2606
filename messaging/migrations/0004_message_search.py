"""Message search (issue 18): on PostgreSQL a stored ``search_vector`` column, ``to_tsvector(SEARCH_CONFIG,
content)``, under a GIN index; on SQLite an FTS5 table over ``content`` kept by triggers (messaging.search).

The column is generated, so every write of ``content`` (a send, an edit, a deletion emptying it) keeps it
current in the same statement, with no code of its own; it is not a model field (the ORM never writes it).
Adding it rewrites the table under an exclusive lock: on a large deployment run this in a quiet hour.
"""

from django.conf import settings
from django.db import migrations

from messaging import search


def _postgresql_sql(forward: bool) -> str:
    if not forward:
        return "ALTER TABLE messaging_message DROP COLUMN search_vector"
    # The configuration is a literal here: a generated column's expression must be immutable.
    return f"""
        ALTER TABLE messaging_message ADD COLUMN search_vector tsvector
            GENERATED ALWAYS AS (to_tsvector('{settings.SEARCH_CONFIG}'::regconfig, content)) STORED;
        CREATE INDEX message_search_vector_idx ON messaging_message USING gin (search_vector);
    """


def index_create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_postgresql_sql(forward=True))
    else:
        search.fts5_index_ensure(schema_editor.connection)


def index_drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_postgresql_sql(forward=False))
    else:
        search.fts5_index_drop(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("messaging", "0003_edit_delete")]

    operations = [migrations.RunPython(index_create, index_drop)]

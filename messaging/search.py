"""Full-text search over messages' ``content``, ranked, with highlighted snippets and a (rank, id) cursor.

The index follows ``content`` itself, so an edit (``content`` changed in place) is found in its new form
only and a deleted message (``content`` emptied) is never found; system messages are indexed like the rest.

- **PostgreSQL**: a stored generated ``search_vector`` column, ``to_tsvector(SEARCH_CONFIG, content)``, with a
  GIN index (migration 0003); ``websearch_to_tsquery`` reads the query (quotes, ``or``, ``-word``, never a
  syntax error), ``ts_rank_cd`` ranks and ``ts_headline`` cuts the snippet.
- **SQLite**: an FTS5 external-content table over ``messaging_message.content`` kept by triggers, ``bm25``
  ranking and ``snippet()``. Where FTS5 is missing, every word must occur (``LIKE``), newest first.

Snippets are HTML: the matches in ``<mark>``…``</mark>``, everything else escaped (``snippet_html``).
"""

import base64
import binascii
import html
import json
import math
import re
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.db import connection
from django.db.models import Q

from kernel.contact_review import SHOWN_OTHERWISE_TO_RECIPIENTS
from kernel.errors import Invalid
from kernel.ids import is_id
from messaging.models import Message

# What the database wraps around a match in a snippet: private-use characters, removed from the text first on
# PostgreSQL, so that only the database's markers are read as highlights (``snippet_html``).
MARK_START = "\ue000"
MARK_STOP = "\ue001"
# ts_headline's parser drops whatever looks like an HTML tag from its output, so "<" and ">" go in as these
# and come back (then escaped) in ``snippet_html``: the snippet shows the text as written.
LESS_THAN = "\ue002"
GREATER_THAN = "\ue003"
SNIPPET_WORDS = 24

FTS_TABLE = "messaging_message_fts"
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Hit:
    message_id: int
    rank: float
    snippet: str


# The cursor: where the last page ended in the order (rank descending, id descending), so ties on rank
# neither skip nor repeat a message across pages.


def cursor_encode(hit: Hit) -> str:
    return base64.urlsafe_b64encode(json.dumps([hit.rank, hit.message_id]).encode()).decode().rstrip("=")


def cursor_decode(raw: str) -> tuple[float, int]:
    try:
        rank, message_id = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (ValueError, TypeError, binascii.Error):
        raise Invalid("The cursor is not one this API gave.", field="cursor") from None
    if not isinstance(rank, int | float) or isinstance(rank, bool) or not math.isfinite(rank) or not is_id(message_id):
        raise Invalid("The cursor is not one this API gave.", field="cursor")
    return float(rank), message_id


def snippet_html(marked: str) -> str:
    """The database's snippet as safe HTML: text escaped, each marked match in one ``<mark>`` element.

    Markers are read as a toggle, so the tags always balance whatever the text holds."""
    parts, open_mark = [], False
    for piece in re.split(f"([{MARK_START}{MARK_STOP}])", marked):
        if piece == MARK_START and not open_mark:
            parts.append("<mark>")
            open_mark = True
        elif piece == MARK_STOP and open_mark:
            parts.append("</mark>")
            open_mark = False
        elif piece not in (MARK_START, MARK_STOP):
            parts.append(html.escape(piece.replace(LESS_THAN, "<").replace(GREATER_THAN, ">"), quote=True))
    if open_mark:
        parts.append("</mark>")
    return "".join(parts)


def search(
    *, user_id: int, query: str, conversation_id: int | None, after: tuple[float, int] | None, limit: int
) -> list[Hit]:
    """Up to ``limit`` hits in the conversations ``user_id`` takes part in now (or in ``conversation_id``, which
    the caller has checked is one of them), best first, after the cursor ``after``."""
    if connection.vendor == "postgresql":
        return _search_postgresql(user_id, query, conversation_id, after, limit)
    if fts5_index_present():
        return _search_fts5(user_id, query, conversation_id, after, limit)
    return _search_like(user_id, query, conversation_id, after, limit)


# Both the rank and the page are in SQL: "members only" is the subquery of the caller's participant rows,
# read in the same statement, so a removed member's query finds nothing of that conversation.
_MEMBER_CONVERSATIONS = "SELECT conversation_id FROM messaging_participant WHERE user_id = %(user)s"
# The index holds what was sent: a masked, held or rejected message of someone else's is not found at all, or its
# hit and snippet would tell what its recipients were not shown (docs/moderation.md).
_SHOWN_AS_SENT = "(m.review NOT IN ({}) OR m.sender_id = %(user)s)".format(
    ", ".join(f"'{review}'" for review in SHOWN_OTHERWISE_TO_RECIPIENTS)
)


def _scope(conversation_id: int | None) -> str:
    if conversation_id is None:
        return f"m.conversation_id IN ({_MEMBER_CONVERSATIONS}) AND {_SHOWN_AS_SENT}"
    return (
        f"m.conversation_id = %(conversation)s AND m.conversation_id IN ({_MEMBER_CONVERSATIONS}) AND {_SHOWN_AS_SENT}"
    )


def _params(user_id: int, conversation_id: int | None, after: tuple[float, int] | None, limit: int) -> dict:
    rank, message_id = after if after is not None else (0.0, 0)
    return {
        "user": user_id,
        "conversation": conversation_id,
        "after": after is not None,
        "after_rank": rank,
        "after_id": message_id,
        "limit": limit,
    }


# The rank is float8 so that the cursor's number (Python's float) compares equal to it. ts_headline runs on
# the page's rows only.
_POSTGRESQL_SEARCH = """
SELECT hit.id, hit.rank, ts_headline(
    %(config)s::regconfig, translate(m.content, %(translated)s, %(translations)s), hit.query, %(headline_options)s
)
FROM (
    SELECT m.id, ts_rank_cd(m.search_vector, q.query)::float8 AS rank, q.query
    FROM messaging_message m, websearch_to_tsquery(%(config)s::regconfig, %(query)s) AS q(query)
    WHERE m.search_vector @@ q.query AND {scope}
) hit
JOIN messaging_message m ON m.id = hit.id
WHERE NOT %(after)s OR (hit.rank, hit.id) < (%(after_rank)s, %(after_id)s)
ORDER BY hit.rank DESC, hit.id DESC
LIMIT %(limit)s
"""


def _search_postgresql(
    user_id: int, query: str, conversation_id: int | None, after: tuple[float, int] | None, limit: int
) -> list[Hit]:
    params = _params(user_id, conversation_id, after, limit) | {
        "config": settings.SEARCH_CONFIG,
        "query": query,
        # Each "<" and ">" to its stand-in; the markers (with nothing to map to) removed.
        "translated": "<>" + MARK_START + MARK_STOP,
        "translations": LESS_THAN + GREATER_THAN,
        "headline_options": (
            f"StartSel={MARK_START}, StopSel={MARK_STOP}, MaxWords={SNIPPET_WORDS}, MinWords=8, MaxFragments=2"
        ),
    }
    with connection.cursor() as cursor:
        cursor.execute(_POSTGRESQL_SEARCH.format(scope=_scope(conversation_id)), params)
        return [Hit(message_id, rank, snippet_html(snippet)) for message_id, rank, snippet in cursor.fetchall()]


# bm25() is lower for better matches: its negation ranks like ts_rank_cd, higher first.
_FTS5_SEARCH = f"""
SELECT hit.id, hit.rank, hit.snippet FROM (
    SELECT m.id AS id, -bm25({FTS_TABLE}) AS rank,
           snippet({FTS_TABLE}, 0, '{MARK_START}', '{MARK_STOP}', '…', {SNIPPET_WORDS}) AS snippet
    FROM {FTS_TABLE} JOIN messaging_message m ON m.id = {FTS_TABLE}.rowid
    WHERE {FTS_TABLE} MATCH %(query)s AND {{scope}}
) hit
WHERE NOT %(after)s OR (hit.rank, hit.id) < (%(after_rank)s, %(after_id)s)
ORDER BY hit.rank DESC, hit.id DESC
LIMIT %(limit)s
"""


def fts5_query(query: str) -> str | None:
    """The words of ``query`` as an FTS5 query that every one of them must match, each quoted so that no
    input is FTS5 syntax (which would be an error, or a column filter); None without a word."""
    words = _WORD.findall(query)
    return " ".join(f'"{word}"' for word in words) or None


def _search_fts5(
    user_id: int, query: str, conversation_id: int | None, after: tuple[float, int] | None, limit: int
) -> list[Hit]:
    match = fts5_query(query)
    if match is None:
        return []
    params = _params(user_id, conversation_id, after, limit) | {"query": match}
    with connection.cursor() as cursor:
        cursor.execute(_FTS5_SEARCH.format(scope=_scope(conversation_id)), params)
        return [Hit(message_id, rank, snippet_html(snippet)) for message_id, rank, snippet in cursor.fetchall()]


def _search_like(
    user_id: int, query: str, conversation_id: int | None, after: tuple[float, int] | None, limit: int
) -> list[Hit]:
    """Without FTS5: messages holding every word (case-insensitive for ASCII, as SQLite's LIKE), newest first
    (all rank 0), the snippet cut around the first match by ``_snippet_around``."""
    words = _WORD.findall(query)
    if not words:
        return []
    found = (
        Message.objects.exclude(content="")
        .filter(conversation__participants__user_id=user_id)
        .exclude(Q(review__in=SHOWN_OTHERWISE_TO_RECIPIENTS) & ~Q(sender_id=user_id))
    )
    if conversation_id is not None:
        found = found.filter(conversation_id=conversation_id)
    for word in words:
        found = found.filter(content__icontains=word)
    if after is not None:
        found = found.filter(id__lt=after[1])
    page = found.order_by("-id").values_list("id", "content")[:limit]
    return [Hit(message_id, 0.0, snippet_html(_snippet_around(content, words))) for message_id, content in page]


def _snippet_around(content: str, words: list[str]) -> str:
    text = content.replace(MARK_START, "").replace(MARK_STOP, "")
    pattern = re.compile("|".join(re.escape(word) for word in words), re.IGNORECASE)
    tokens = text.split()
    first = next((index for index, token in enumerate(tokens) if pattern.search(token)), 0)
    start = max(first - SNIPPET_WORDS // 3, 0)
    window = " ".join(tokens[start : start + SNIPPET_WORDS])
    marked = pattern.sub(lambda match: MARK_START + match.group(0) + MARK_STOP, window)
    return ("…" if start else "") + marked + ("…" if start + SNIPPET_WORDS < len(tokens) else "")


# The SQLite index: created by migration 0003 and re-created after every migration (``fts5_index_ensure``,
# on post_migrate) because SQLite's table rebuilds, which Django's migrations use for most changes to a
# table, drop its triggers with the old table.
_FTS5_TRIGGERS = {
    f"{FTS_TABLE}_insert": f"""AFTER INSERT ON messaging_message BEGIN
        INSERT INTO {FTS_TABLE}(rowid, content) VALUES (new.id, new.content); END""",
    f"{FTS_TABLE}_delete": f"""AFTER DELETE ON messaging_message BEGIN
        INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, content) VALUES ('delete', old.id, old.content); END""",
    f"{FTS_TABLE}_update": f"""AFTER UPDATE OF content ON messaging_message BEGIN
        INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, content) VALUES ('delete', old.id, old.content);
        INSERT INTO {FTS_TABLE}(rowid, content) VALUES (new.id, new.content); END""",
}


def fts5_available(db) -> bool:
    with db.cursor() as cursor:
        cursor.execute("SELECT sqlite_compileoption_used('ENABLE_FTS5')")
        if cursor.fetchone()[0]:
            return True
        cursor.execute("SELECT 1 FROM pragma_module_list WHERE name = 'fts5'")
        return cursor.fetchone() is not None


def fts5_index_ensure(db) -> None:
    """Create the FTS5 table and its triggers where missing; rebuild the index if any trigger was missing."""
    if db.vendor != "sqlite" or not fts5_available(db):
        return
    with db.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE name LIKE %s", [f"{FTS_TABLE}%"])
        present = {name for (name,) in cursor.fetchall()}
        if "messaging_message" not in db.introspection.table_names(cursor):
            return
        cursor.execute(
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5(content, content='messaging_message', "
            "content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')"
        )
        for name, body in _FTS5_TRIGGERS.items():
            cursor.execute(f"CREATE TRIGGER IF NOT EXISTS {name} {body}")
        if not set(_FTS5_TRIGGERS) <= present:
            cursor.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")
    fts5_index_present.cache_clear()


def fts5_index_drop(db) -> None:
    if db.vendor != "sqlite":
        return
    with db.cursor() as cursor:
        for name in _FTS5_TRIGGERS:
            cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
        cursor.execute(f"DROP TABLE IF EXISTS {FTS_TABLE}")
    fts5_index_present.cache_clear()


@cache
def fts5_index_present() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = %s", [FTS_TABLE])
        return cursor.fetchone() is not None

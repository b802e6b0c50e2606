"""Message search over a million messages on PostgreSQL: ``python -m bench.search [--messages N] [--keep]``.

Seeds, in a database of its own on ``DATABASE_URL``'s server (``search_bench``, migrated), one client in
``--conversations`` conversations (1,000) holding ``--messages`` messages (1,000,000) spread evenly, written by
one ``INSERT ... SELECT`` over ``generate_series`` with the GIN index dropped and built again afterwards;
then ``VACUUM (ANALYZE)``. Each message is 8 to 15 words drawn from a vocabulary of 2,000 made-up words with a
Zipf-like skew (word k about as frequent as 1/k), so that common and rare words occur as in real text.

Then it times ``selectors.message_search_page`` (the endpoint's whole database work: the ranked page with
its snippets, then its messages), pages of 20, for two-word queries drawn from words of rank 10 to 200: in
one conversation (a different one each time), across all the client's conversations, and across them again
from the first page's cursor. Prints p50/p95 in ms, and the mean number of matching messages per query.
``--keep`` keeps the database for the next run, which then skips the seeding.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

import argparse  # noqa: E402
import itertools  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

from django.conf import settings  # noqa: E402
from django.db import connection, connections, transaction  # noqa: E402

from accounts.models import User  # noqa: E402
from bench import seed  # noqa: E402
from messaging import selectors  # noqa: E402
from messaging.models import Participant  # noqa: E402

VOCABULARY_SIZE = 2000
QUERY_WORD_RANKS = range(10, 200)
SEARCHER = "lister-0"  # seed.user_with_conversations's client

_SEED_MESSAGES = """
INSERT INTO messaging_message
    (conversation_id, sender_id, seq, type, content, file, file_name, file_content_type, created_at, chain_hash)
SELECT conversation.ids[1 + n %% conversation.count], %(sender)s, 2 + n / conversation.count, 'text',
    -- Correlated on n, so each row draws its own words: word k with probability about 1 / (k ln V).
    (SELECT string_agg((%(words)s::text[])[floor(power(%(vocabulary)s, random()))::int], ' ')
     FROM generate_series(1, 8 + (n / 7) %% 8)),
    '', '', '', now() - (%(count)s - n) * interval '1 second', ''
FROM (SELECT array_agg(id ORDER BY id) AS ids, count(*) AS count FROM unnest(%(conversations)s::bigint[]) AS id)
    AS conversation, generate_series(0, %(count)s - 1) AS n
"""


def vocabulary() -> list[str]:
    """Made-up words of consonant-vowel syllables: no English stop word or stem among them, so that each is
    one lexeme under any configuration. Shuffled, so that frequency and spelling are unrelated."""
    syllables = [consonant + vowel for consonant in "bdfgklmnprstvz" for vowel in "aiou"]
    words = ["".join(pair) for pair in itertools.product(syllables, repeat=2)]
    random.Random(18).shuffle(words)
    return words[:VOCABULARY_SIZE]


def seed_messages(*, conversations: int, messages: int) -> User:
    searcher = seed.user_with_conversations(conversations)
    conversation_ids = list(Participant.objects.filter(user=searcher).values_list("conversation_id", flat=True))
    provider_id = Participant.objects.exclude(user=searcher).values_list("user_id", flat=True)[0]
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        # Built once after the rows rather than row by row: the bulk load takes a fraction of the time.
        cursor.execute("DROP INDEX message_search_vector_idx")
        cursor.execute(
            _SEED_MESSAGES,
            {
                "sender": provider_id,
                "words": vocabulary(),
                "vocabulary": VOCABULARY_SIZE,
                "count": messages,
                "conversations": conversation_ids,
            },
        )
    # After the commit: the rows' deferred foreign key checks must have run before an index is built.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        cursor.execute("CREATE INDEX message_search_vector_idx ON messaging_message USING gin (search_vector)")
    print(f"seeded {messages} messages in {conversations} conversations in {time.perf_counter() - started:.0f} s")
    seed.database_vacuum()
    return searcher


def percentiles(timings: list[float]) -> str:
    if len(timings) < 2:
        return f"{len(timings)} timing(s): too few for percentiles"
    cuts = statistics.quantiles(timings, n=20)
    return f"p50 {statistics.median(timings):7.1f} ms   p95 {cuts[18]:7.1f} ms"


def measure(searcher: User, *, queries: int) -> dict[str, list[float]]:
    """Each case's timings in ms, printed as p50/p95, and the mean number of messages a query matches."""
    words = vocabulary()
    rng = random.Random(1)
    pairs = [" ".join(words[rank - 1] for rank in rng.sample(QUERY_WORD_RANKS, 2)) for _ in range(queries)]
    conversation_ids = list(Participant.objects.filter(user=searcher).values_list("conversation_id", flat=True))
    across = f"across {len(conversation_ids)} conversations"

    def next_page(query: str) -> dict | None:
        cursor = selectors.message_search_page(user=searcher, query=query)[1]
        return None if cursor is None else {"query": query, "cursor": cursor}

    # Each case: the arguments of the n-th timed call (None: nothing to time, no second page).
    cases = {
        "one conversation": lambda query, n: {
            "query": query,
            "conversation_id": conversation_ids[n * 7 % len(conversation_ids)],
        },
        across: lambda query, n: {"query": query},
        f"{across}, page 2": lambda query, n: next_page(query),
    }
    for query in pairs[:10]:  # warm the caches: the figures are of a server in use
        selectors.message_search_page(user=searcher, query=query)
    figures: dict[str, list[float]] = {}
    for name, arguments in cases.items():
        timings = figures[name] = []
        for n, query in enumerate(pairs):
            call = arguments(query, n)
            if call is None:
                continue
            started = time.perf_counter()
            selectors.message_search_page(user=searcher, **call)
            timings.append((time.perf_counter() - started) * 1000)
        print(f"{name:<40} {percentiles(timings)}   ({len(timings)} queries)")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT avg((SELECT count(*) FROM messaging_message"
            " WHERE search_vector @@ websearch_to_tsquery(%s::regconfig, q))) FROM unnest(%s::text[]) AS q",
            [settings.SEARCH_CONFIG, pairs],
        )
        print(f"matching messages per query across all: mean {cursor.fetchone()[0]:.0f}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.search", description=__doc__)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--conversations", type=int, default=1000)
    parser.add_argument("--queries", type=int, default=100, help="two-word queries per case")
    parser.add_argument("--keep", action="store_true", help="keep the database (and reuse a kept one)")
    options = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit("bench.search measures PostgreSQL: set DATABASE_URL")
    print(f"load average {' '.join(f'{load:.2f}' for load in os.getloadavg())}")
    connection.settings_dict["TEST"]["NAME"] = "search_bench"
    name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False, keepdb=options.keep)
    try:
        searcher = User.objects.filter(username=SEARCHER).first() or seed_messages(
            conversations=options.conversations, messages=options.messages
        )
        measure(searcher, queries=options.queries)
    finally:
        connections.close_all()
        if not options.keep:
            connection.creation.destroy_test_db(name, verbosity=0)
    print(f"load average {' '.join(f'{load:.2f}' for load in os.getloadavg())}")


if __name__ == "__main__":
    main()

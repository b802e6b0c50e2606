"""The search benchmark still seeds by SQL what it says and times real searches in each of its cases."""

import pytest

from bench.search import measure, seed_messages
from messaging.models import Message
from tests.conftest import requires_postgres


@pytest.mark.django_db(transaction=True)
def test_the_search_benchmark_seeds_the_messages_and_times_every_case():
    requires_postgres()
    searcher = seed_messages(conversations=3, messages=600)

    figures = measure(searcher, queries=4)

    # Each conversation also holds the one message seed.user_with_conversations wrote.
    assert Message.objects.count() == 603
    assert set(figures) == {"one conversation", "across 3 conversations", "across 3 conversations, page 2"}
    assert len(figures["one conversation"]) == len(figures["across 3 conversations"]) == 4

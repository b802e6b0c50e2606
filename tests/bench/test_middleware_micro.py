"""The middleware micro-benchmark still runs, and counts what it says: the hops of each stack per request."""

from django.conf import settings

from bench.middleware_micro import STOCK_MIDDLEWARE, measure


def test_the_micro_benchmark_measures_both_stacks_and_counts_their_hops():
    figures = measure({"stock": STOCK_MIDDLEWARE, "async-native": list(settings.MIDDLEWARE)}, "POST", requests=10)

    assert (figures["stock"]["hops"], figures["async-native"]["hops"]) == (15, 2)

"""The middleware micro-benchmark still runs, and counts what it says: the hops of each stack per request."""

from django.conf import settings

from bench.middleware_micro import STOCK_MIDDLEWARE, measure


def test_the_micro_benchmark_measures_both_stacks_and_counts_their_hops():
    stock, async_native = (
        measure(list(stack), "POST", requests=10) for stack in (STOCK_MIDDLEWARE, settings.MIDDLEWARE)
    )

    assert (stock["hops"], async_native["hops"]) == (15, 2)

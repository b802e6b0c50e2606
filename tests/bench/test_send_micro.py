"""The send micro-benchmark still runs real sends, and counts what it says: Django's stock handler starts
threads for every send, config.asgi's handler none once warm."""

import pytest
from django.core.handlers.asgi import ASGIHandler

from bench.send_micro import measure
from config.asgi import django_http


@pytest.mark.django_db(transaction=True)
def test_the_send_micro_benchmark_sends_through_both_handlers_and_counts_the_threads_they_start():
    figures = measure({"stock": ASGIHandler(), "config.asgi": django_http}, requests=3)

    assert figures["stock"]["threads_started"] > 0
    assert figures["config.asgi"]["threads_started"] == 0

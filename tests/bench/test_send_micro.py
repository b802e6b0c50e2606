"""The send micro-benchmark still runs real sends, and counts what it says: Django's stock handler starts
threads for every send, config.asgi's handler none once warm, on a thread as on the loop."""

import pytest
from django.core.handlers.asgi import ASGIHandler

from bench.send_micro import measure
from config.asgi import django_http
from kernel import loop_database


@pytest.mark.django_db(transaction=True)
def test_the_send_micro_benchmark_sends_through_both_handlers_and_counts_the_threads_they_start():
    variants = {"stock": (ASGIHandler(), False), "config.asgi": (django_http, False)}
    if loop_database.is_available():
        variants["config.asgi on the loop"] = (django_http, True)

    figures = measure(variants, requests=3)

    assert figures["stock"]["threads_started"] > 0
    assert all(figures[name]["threads_started"] == 0 for name in variants if name != "stock")

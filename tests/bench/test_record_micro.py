"""The record micro-benchmark seals and verifies real links, and measures both."""

from bench.record_micro import measure


def test_the_record_micro_benchmark_seals_and_verifies_its_links():
    figures = measure(links=20)

    assert figures["seal_us"] > 0 and figures["verify_us"] > 0

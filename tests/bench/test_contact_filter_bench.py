"""The contact filter's benchmark still times every corpus message under every policy."""

from bench.contact_filter import corpus, measure


def test_the_contact_filter_benchmark_times_each_corpus_message_under_each_policy():
    figures = measure(rounds=1)

    assert {policy for policy, _ in figures} == {"off", "flag", "mask", "hold"}
    assert len(figures["mask", "attempts"]) == len(corpus("attempts")) >= 100
    assert len(figures["hold", "business"]) == len(corpus("benign")) >= 200

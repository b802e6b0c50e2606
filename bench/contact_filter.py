"""What the off-platform contact filter adds to a send: ``python -m bench.contact_filter [--rounds N]``.

A send pays for the filter in Python only (``kernel.contact_review.contact_review`` before the lock; its
result is two more values of the same INSERT, no round trip), and a masked or held message for one more payload,
the recipients' version (``messaging.events.message_pushes``). This times both on the messages of the corpus
(tests/moderation/corpus: business messages, which are clean, and off-platform attempts), each message the median
of ``--rounds`` runs, and prints p50/p95/max over the messages in microseconds per policy. Acceptance (issue 19):
at most 1 ms p95 added.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from django.test import override_settings  # noqa: E402

from accounts.models import User  # noqa: E402
from bench.report import percentile  # noqa: E402
from kernel.contact_review import contact_matches_recent, contact_review  # noqa: E402
from messaging import events  # noqa: E402
from messaging.models import Message  # noqa: E402

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "moderation" / "corpus"
SENDER = User(pk=1, username="bench", role=User.Role.PROVIDER)


def corpus(kind: str) -> list[str]:
    return [
        line
        for path in sorted(CORPUS.glob(f"{kind}_*.txt"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


def added_by_filter(text: str) -> None:
    """The send's extra work: the scan, and for a message recipients read otherwise, their payload."""
    review, kinds = contact_review(text)
    if review:
        message = Message(
            pk=1, conversation_id=1, seq=1, sender=SENDER, content=text, review=review, contact_kinds=kinds
        )
        events.message_pushes(message, sender_payload={})


def microseconds_per_message(texts: list[str], rounds: int) -> list[float]:
    timings = []
    for text in texts:
        runs = []
        for _ in range(rounds):
            contact_matches_recent.cache_clear()  # each run scans as a new message's send does
            started = time.perf_counter()
            added_by_filter(text)
            runs.append(time.perf_counter() - started)
        timings.append(statistics.median(runs) * 1e6)
    return sorted(timings)


def measure(rounds: int) -> dict[tuple[str, str], list[float]]:
    """(policy, "business" or "attempts") -> the sorted microseconds each message of that part added."""
    texts = {"business": corpus("benign"), "attempts": corpus("attempts")}
    figures = {}
    for policy in ("off", "flag", "mask", "hold"):
        with override_settings(CONTACT_FILTER=policy):
            for kind, messages in texts.items():
                figures[policy, kind] = microseconds_per_message(messages, rounds)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=25)
    args = parser.parse_args()
    print(f"{'policy':<6} {'messages':<9} {'n':>4} {'p50 µs':>8} {'p95 µs':>8} {'max µs':>8}")
    for (policy, kind), timings in measure(args.rounds).items():
        p50, p95 = percentile(timings, 0.50), percentile(timings, 0.95)
        print(f"{policy:<6} {kind:<9} {len(timings):>4} {p50:>8.0f} {p95:>8.0f} {timings[-1]:>8.0f}")


if __name__ == "__main__":
    main()

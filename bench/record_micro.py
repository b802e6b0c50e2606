"""What the conversation record adds to a send, in-process: ``python -m bench.record_micro [--links N]``.

Seals ``N`` messages as ``messaging.send`` seals one before its statement (``chain.message_seal`` after the
previous head), then rehashes them as the verifier does (``chain.conversation_links`` and ``chain.link_hash``),
in rounds; prints the median microseconds per link of each. No database: the send adds no statement, so
this is the whole of what it adds; ``bench.send_micro`` measures a whole send (docs/record.md, "Cost").
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402

from django.utils import timezone  # noqa: E402

from messaging import chain  # noqa: E402
from messaging.models import Message  # noqa: E402

ROUNDS = 7


def _sealed(links: int) -> tuple[list[Message], float]:
    """``links`` messages as the send builds them, sealed in turn, and the microseconds each seal took."""
    messages = [
        Message(
            conversation_id=1,
            sender_id=1 + seq % 2,
            seq=seq,
            type=Message.Type.TEXT,
            content=f"Message number {seq}, long enough to look like a sentence someone typed.",
            client_message_id=uuid.uuid4(),
            created_at=timezone.now(),
        )
        for seq in range(1, links + 1)
    ]
    head = chain.GENESIS
    started = time.perf_counter()
    for message in messages:
        head = chain.message_seal(message, head=head)
    return messages, (time.perf_counter() - started) * 1e6 / links


def _rehashed(messages: list[Message]) -> float:
    """Microseconds per link of the verifier's rehash of ``messages`` (as it walks rows read from the database)."""
    started = time.perf_counter()
    head = chain.GENESIS
    for link in chain.conversation_links(messages, []):
        assert link.record is not None
        head = chain.link_hash(head, link.record)
        assert head == link.row.chain_hash
    return (time.perf_counter() - started) * 1e6 / len(messages)


def measure(links: int) -> dict[str, float]:
    """The median over the rounds of µs per seal and µs per verified link."""
    seals, rehashes = [], []
    for _ in range(ROUNDS):
        messages, seal = _sealed(links)
        seals.append(seal)
        rehashes.append(_rehashed(messages))
    return {"seal_us": statistics.median(seals), "verify_us": statistics.median(rehashes)}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.record_micro", description=__doc__)
    parser.add_argument("--links", type=int, default=10_000, help=f"messages per round ({ROUNDS} rounds)")
    links = parser.parse_args().links
    print(f"load average {' '.join(f'{load:.2f}' for load in os.getloadavg())}")
    figures = measure(links)
    print(f"median of {ROUNDS} rounds x {links} links")
    print(f"seal (the send's hash) {figures['seal_us']:8.1f} µs per message")
    print(f"verify (rehash)        {figures['verify_us']:8.1f} µs per link")


if __name__ == "__main__":
    main()

"""The corpus of the contact filter's tests, and the messaging tests' fixtures they share."""

from pathlib import Path

from tests.messaging.conftest import (  # noqa: F401  (fixtures of the messaging tests)
    conversation_listener,
    post_text,
)

CORPUS = Path(__file__).parent / "corpus"
SPLITS = ("dev", "heldout", "final")


def corpus_lines(name: str) -> list[str]:
    """The messages of one corpus file (``benign_dev``, ``attempts_final``...), one a line."""
    return [line for line in (CORPUS / f"{name}.txt").read_text(encoding="utf-8").splitlines() if line.strip()]

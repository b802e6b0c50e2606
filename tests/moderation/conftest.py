"""Reports on the shared personas: bob (the provider) sent a message in the project's conversation, which
alice (the client) reports; support staff decide on it. And the corpus of the contact filter's tests, with the
messaging tests' fixtures they share."""

from pathlib import Path

import pytest

from messaging import services as messaging_services
from moderation import services
from tests.messaging.conftest import (  # noqa: F401  (fixtures of the messaging tests)
    conversation_listener,
    post_text,
)

CORPUS = Path(__file__).parent / "corpus"
SPLITS = ("dev", "heldout", "final")


def corpus_lines(name: str) -> list[str]:
    """The messages of one corpus file (``benign_dev``, ``attempts_final``...), one a line."""
    return [line for line in (CORPUS / f"{name}.txt").read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture
def bobs_message(provider, conversation):
    return messaging_services.message_send(
        user=provider, conversation_id=conversation.pk, content="Pay me at bob at gmail dot com instead"
    ).message


@pytest.fixture
def report(client_user, bobs_message):
    """Alice's open report of bob's message."""
    return services.report_create(
        user=client_user, message_id=bobs_message.pk, reason="off_platform", details="Asks to pay outside"
    ).report


def report_url(message) -> str:
    return f"/api/messages/{message.pk}/report"

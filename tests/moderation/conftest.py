"""Reports on the shared personas: bob (the provider) sent a message in the project's conversation, which
alice (the client) reports; support staff decide on it."""

import pytest

from messaging import services as messaging_services
from moderation import services


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

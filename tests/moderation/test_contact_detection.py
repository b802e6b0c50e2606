"""The off-platform contact detector on its corpus: business messages that must pass and attempts that must be
caught (tests/moderation/corpus, 450 business messages and 160 attempts).

The corpus was written by two authors who never saw the patterns, in three parts: ``dev`` was tuned on first;
``heldout`` and then ``final`` were each measured before being looked at, and only then tuned on. Those
blind measurements, the honest figure for messages nobody tuned on, are in docs/moderation.md."""

import pytest

from kernel.contact_filter import MASK, ContactKind, contact_matches, masked
from tests.moderation.conftest import corpus_lines as _lines

BENIGN_FLAGGED_AT_MOST = 0.01
ATTEMPTS_CAUGHT_AT_LEAST = 0.90


@pytest.mark.parametrize("split", ["dev", "heldout", "final"])
def test_business_messages_are_almost_never_flagged(split):
    benign = _lines(f"benign_{split}")
    flagged = [line for line in benign if contact_matches(line)]

    assert len(benign) >= 100
    assert len(flagged) / len(benign) <= BENIGN_FLAGGED_AT_MOST, flagged


@pytest.mark.parametrize("split", ["dev", "heldout", "final"])
def test_off_platform_attempts_are_caught(split):
    attempts = _lines(f"attempts_{split}")
    missed = [line for line in attempts if not contact_matches(line)]

    assert len(attempts) >= 50
    assert 1 - len(missed) / len(attempts) >= ATTEMPTS_CAUGHT_AT_LEAST, missed


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("write to john.doe@example.com", ContactKind.EMAIL),
        ("john at gmail dot com", ContactKind.EMAIL),
        ("j.doe(at)acme(dot)io", ContactKind.EMAIL),
        ("john [at] outlook [dot] com", ContactKind.EMAIL),
        ("call me +44 20 7946 0958", ContactKind.PHONE),
        ("(555) 123-4567 after six", ContactKind.PHONE),
        ("5 5 5 1 2 3 4 5 6 7", ContactKind.PHONE),
        ("five five five one two three four five six seven", ContactKind.PHONE),
        ("add me on WhatsApp", ContactKind.HANDLE),
        ("my telegram is @johnd", ContactKind.HANDLE),
        ("see wa.me/15551234567", ContactKind.LINK),
        ("book me on calendly.com/john", ContactKind.LINK),
        ("pay me via PayPal instead", ContactKind.PAYMENT),
        ("we can skip the platform fee", ContactKind.PAYMENT),
    ],
)
def test_each_kind_of_contact_is_named(text, kind):
    assert kind in {match.kind for match in contact_matches(text)}


@pytest.mark.parametrize(
    "text",
    [
        "The total is $1,500.00, due 2026-12-01.",
        "Invoice INV-2026-000123 and PO 4500012345 are attached.",
        "Order #123456789 shipped, tracking 1Z999AA10123456784.",
        "Upgraded to v2.14.3 (build 20261201.3) on 10.0.0.12.",
        "We add a PayPal checkout next to Stripe in the shop.",
        "Zoom into the hero image at 1200x800 px.",
        "The review is at https://github.com/acme/shop/pull/12 and in Figma.",
    ],
)
def test_prices_dates_versions_order_numbers_and_work_links_pass(text):
    assert contact_matches(text) == []


def test_masking_replaces_only_the_contact():
    text = "Great work! Mail me at john at gmail dot com and call +1 555 123 4567 tomorrow."

    assert masked(text, contact_matches(text)) == f"Great work! Mail me at {MASK} and call {MASK} tomorrow."

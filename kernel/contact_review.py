"""The ``CONTACT_FILTER`` policies around the detector: what a sent or edited message's review state is, and what
its recipients may read of it (docs/moderation.md, "Policies").

Pure functions of the text and the setting, so the send path pays for the scan in Python and nothing more: the
state goes into the same INSERT (or UPDATE) as the message. Staff's decisions are ``messaging.services``'s
(``message_review_decide``), which own the message rows.
"""

from functools import lru_cache

from django.conf import settings
from django.db import models

from kernel.contact_filter import ContactMatch, contact_matches, masked


class Review(models.TextChoices):
    """A message's review state; the empty string for a message nobody needs to look at."""

    NONE = "", "Not reviewed"
    FLAGGED = "flagged", "Flagged"
    MASKED = "masked", "Masked"
    HELD = "held", "Held"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


POLICY_REVIEW = {"flag": Review.FLAGGED, "mask": Review.MASKED, "hold": Review.HELD}
# What recipients do not see as sent. A flag is for staff only: participants learn nothing of it.
HIDDEN_FROM_RECIPIENTS = (Review.HELD, Review.REJECTED)
SHOWN_OTHERWISE_TO_RECIPIENTS = (Review.MASKED, *HIDDEN_FROM_RECIPIENTS)


def contact_review(*texts: str) -> tuple[str, str]:
    """The review state the current ``CONTACT_FILTER`` gives a message made of ``texts`` (its content, a file's
    name), and the kinds of contact found in them (comma-separated, in the order found); ``("", "")`` if none."""
    policy = settings.CONTACT_FILTER
    if policy == "off":
        return Review.NONE, ""
    kinds = list(dict.fromkeys(match.kind.value for text in texts if text for match in contact_matches_recent(text)))
    if not kinds:
        return Review.NONE, ""
    return POLICY_REVIEW[policy], ",".join(kinds)


def recipients_text(text: str) -> str:
    """``text`` as recipients of a masked message read it: each contact replaced by ``MASK``."""
    return masked(text, list(contact_matches_recent(text)))


# The texts scanned last, with their matches: a masked message is scanned at its send and masked for its
# recipients' push right after, and its history pages mask it again; the scan is the costly half of each.
@lru_cache(maxsize=1024)
def contact_matches_recent(text: str) -> tuple[ContactMatch, ...]:
    """``contact_matches(text)``, remembered for the last 1,024 texts."""
    return tuple(contact_matches(text))


def moderation_shown(review: str) -> str | None:
    """What a message's payload says of its review (``moderation``): masked, held or rejected; nothing for a
    flag or an approval, which are staff's business."""
    return review if review in SHOWN_OTHERWISE_TO_RECIPIENTS else None

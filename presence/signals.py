"""What presence announces to the apps that know whom it concerns (messaging: a user's conversation peers)."""

from django.dispatch import Signal

# A user came online or went offline; sent inside the transaction that recorded ``last_seen_at``, so a receiver's
# writes and after-commit publishes share it. Arguments: user_id, online, last_seen_at.
presence_changed = Signal()

"""What the other apps ask of presence: who is online (``presence.store`` keeps it and answers in one round trip)."""

from presence.store import users_online as users_online

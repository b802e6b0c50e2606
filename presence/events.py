"""Socket event names of the presence module and the builder of their payload."""

from datetime import datetime

from kernel.json_values import iso_datetime

# Pushed to the user groups of a user's conversation peers when the user comes online (their first socket on
# any process) or goes offline (their last socket closed and none reopened within the grace period).
PRESENCE_UPDATE = "presence:update"


def presence_payload(*, user_id: int, online: bool, last_seen_at: datetime | None) -> dict:
    return {"userId": user_id, "online": online, "lastSeenAt": iso_datetime(last_seen_at)}

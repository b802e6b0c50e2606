"""Event names the socket layer itself sends, their payloads, and the group every socket of a user joins."""

ERROR = "error"


def user_group(user_id: int) -> str:
    """The user's personal group: every socket of theirs, on every server process."""
    return f"user_{user_id}"

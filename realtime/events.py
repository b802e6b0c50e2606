"""Event names the socket layer itself sends, their payloads, and the group every socket of a user joins."""

ERROR = "error"


def user_group(user_id: int) -> str:
    """The user's personal group: every socket of theirs, on every server process."""
    return f"user_{user_id}"


def error_payload(code: str, message: str, *, retry_after: int | None = None) -> dict:
    """What a refused frame gets back: a domain error's code (``config.errors``) and message, and for a rate
    limit the seconds to wait."""
    payload: dict[str, str | int] = {"code": code, "message": message}
    if retry_after is not None:
        payload["retryAfter"] = retry_after
    return payload

"""Socket effects of the accounts module: sockets close when their user is deactivated, when every credential
of the user is revoked, or when the session they were opened with logs out; a provider's follow their status."""

from accounts import events
from realtime.session import CLOSE_UNAUTHENTICATED, socket_effect


@socket_effect(events.ACCOUNT_DEACTIVATED)
@socket_effect(events.CREDENTIALS_REVOKED)
async def signed_out(consumer, data: dict) -> None:
    """Closed as unauthenticated, as a new socket of theirs would be: the client's cue to log in again."""
    await consumer.close_socket(CLOSE_UNAUTHENTICATED)


@socket_effect(events.ACCOUNT_PROVIDER_STATUS)
async def provider_status(consumer, data: dict) -> None:
    """The socket's user was loaded at connect; suspension (``accounts.suspension``) is read from it."""
    consumer.user.provider_status = data["providerStatus"]


@socket_effect(events.SESSION_ENDED, forward=False)
async def session_ended(consumer, data: dict) -> None:
    """Only the sockets opened with that session (its cookie, or a ticket it asked for) close."""
    if consumer.scope.get("auth_session") == data["session"]:
        await consumer.close_socket(CLOSE_UNAUTHENTICATED)

"""Socket effects of the accounts module: a deactivated user's open sockets close; a provider's follow
their status."""

from accounts import events
from realtime.session import CLOSE_UNAUTHENTICATED
from realtime.handlers import socket_effect


@socket_effect(events.ACCOUNT_DEACTIVATED)
async def deactivated(consumer, data: dict) -> None:
    """Closed as unauthenticated, as a new socket of theirs would be: the client's cue to log in again."""
    await consumer.close_socket(CLOSE_UNAUTHENTICATED)


@socket_effect(events.ACCOUNT_PROVIDER_STATUS)
async def provider_status(consumer, data: dict) -> None:
    """The socket's user was loaded at connect; suspension (``accounts.suspension``) is read from it."""
    consumer.user.provider_status = data["providerStatus"]

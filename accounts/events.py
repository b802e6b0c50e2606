"""Socket event names of the accounts module, and the payload builders of what it sends or others embed."""

# Pushed to a deactivated user's personal group; its effect (accounts.socket_handlers) closes each socket
# with 4401 before it could be forwarded, so clients see the close code, never this event.
ACCOUNT_DEACTIVATED = "account:deactivated"

# Pushed to a provider's personal group when support staff change their status; its effect
# (accounts.socket_handlers) updates the socket's user, so socket writes see a suspension at once.
ACCOUNT_PROVIDER_STATUS = "account:provider_status"
# Pushed to the user's group when a password change, a logout everywhere or a reused refresh token revokes
# every credential of theirs: each socket closes with 4401, as for a deactivation.
CREDENTIALS_REVOKED = "account:credentials_revoked"
# Pushed to the user's group when one session logs out, with ``{"session": <SHA-256 of its key>}``: the
# sockets opened with that session close with 4401; the others drop it unseen.
SESSION_ENDED = "account:session_ended"


def user_brief_payload(user) -> dict:
    """A user as other payloads name them (a message's sender, a meeting's host)."""
    return {"id": user.pk, "username": user.username, "role": str(user.role)}


def user_payload(user_id: int) -> dict:
    """Whose account a deactivation or a revocation of every credential concerns."""
    return {"userId": user_id}


def provider_status_payload(provider) -> dict:
    return {"userId": provider.pk, "providerStatus": str(provider.provider_status)}


def session_ended_payload(session_digest: str) -> dict:
    return {"session": session_digest}

"""Socket event names of the accounts module."""

# Pushed to a deactivated user's personal group; its effect (accounts.consumers) closes each socket
# with 4401 before it could be forwarded, so clients see the close code, never this event.
ACCOUNT_DEACTIVATED = "account:deactivated"

# Pushed to a provider's personal group when support staff change their status; its effect
# (accounts.consumers) updates the socket's user, so socket writes see a suspension at once.
ACCOUNT_PROVIDER_STATUS = "account:provider_status"
